"""Flashing 1 MiB on the ESP simulator: %esptool against the esptool command line.

    python benchmarks/bench_flash.py [--runs 3] [--paced 460800] [--size 1048576]

Each run gets a fresh simulated ESP32 in its own process (so each run uploads the flasher
stub) and writes the same image at 0x1000 with compression and the MD5 check, three ways:
- "esptool CLI": `python -m esptool ... write-flash`, a process per run, as users run it;
- "service": `flashing.flash_image` in this process (what the magic calls);
- "%esptool": the magic in a running kernel, timed from the client (kernel start excluded).
It prints the median of each and its ratio to the command line (target: at most 1.1).
Timings are reported, never asserted. --paced holds the simulator to a real UART's speed.
"""
from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from metakernel_micropython.services import flashing  # noqa: E402
from testbeds.esp_images import make_image  # noqa: E402

BAUD = 460800


class SimulatorProcess:
    """The simulator in a process of its own, so that it shares no interpreter lock with
    the flashing code in this process (the service) and is alike for all three methods."""

    def __init__(self, paced: bool) -> None:
        command = [sys.executable, "-m", "testbeds.esp_simulator", "--chip", "esp32"]
        self.process = subprocess.Popen(command + (["--paced"] if paced else []), cwd=ROOT,
                                        stdout=subprocess.PIPE, text=True)
        self.port = self.process.stdout.readline().strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def simulator(paced: bool) -> SimulatorProcess:
    return SimulatorProcess(paced)


def time_cli(image: str, paced: bool) -> float:
    sim = simulator(paced)
    try:
        command = [sys.executable, "-m", "esptool", "--port", sim.port, "--baud", str(BAUD),
                   "--before", "no-reset", "--after", "no-reset-stub", "write-flash", "0x1000", image]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if result.returncode != 0 or "Hash of data verified" not in result.stdout:
            raise SystemExit(f"esptool failed:\n{result.stdout}{result.stderr}")
        return elapsed
    finally:
        sim.stop()


def time_service(image: str, paced: bool) -> float:
    sim = simulator(paced)
    try:
        started = time.perf_counter()
        result = flashing.flash_image(sim.port, image, baud=BAUD)
        elapsed = time.perf_counter() - started
        if not result.verified:
            raise SystemExit("the service did not verify the image")
        return elapsed
    finally:
        sim.stop()


def time_magic(kernel, image: str, paced: bool) -> float:
    sim = simulator(paced)
    try:
        started = time.perf_counter()
        result = kernel.run(f"%esptool --port {sim.port} --baud {BAUD} write {image}", timeout=600)
        elapsed = time.perf_counter() - started
        if result.status != "ok":
            raise SystemExit(f"%esptool failed: {result.error_text}")
        return elapsed
    finally:
        sim.stop()


def start_kernel():
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("micropython")
    except NoSuchKernel:
        from metakernel_micropython.install import install

        install(prefix=sys.prefix)
    from kernel_driver import KernelSession

    return KernelSession()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, default=1024 * 1024, help="payload bytes (random)")
    parser.add_argument("--paced", action="store_true", help=f"pace the simulator at {BAUD} baud")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        image = str(Path(folder) / "firmware.bin")
        Path(image).write_bytes(make_image("esp32", random.Random(1).randbytes(args.size)))
        kernel = start_kernel()
        times: dict[str, list[float]] = {"esptool CLI": [], "service": [], "%esptool": []}
        try:
            for _ in range(args.runs):  # interleaved, so that drifts hit every method alike
                times["esptool CLI"].append(time_cli(image, args.paced))
                times["service"].append(time_service(image, args.paced))
                times["%esptool"].append(time_magic(kernel, image, args.paced))
        finally:
            kernel.close()

    link = f"paced at {BAUD} baud" if args.paced else "unpaced pty"
    print(f"Flashing {Path(image).name}: {args.size} random bytes + header, ESP32 simulator, {link}, "
          f"median of {args.runs} runs")
    cli = statistics.median(times["esptool CLI"])
    print(f"{'method':<14}{'median s':>10}{'runs s':>26}{'ratio to CLI':>14}")
    for method, samples in times.items():
        median = statistics.median(samples)
        runs = " ".join(f"{sample:.2f}" for sample in samples)
        print(f"{method:<14}{median:>10.2f}{runs:>26}{median / cli:>13.2f}x")


if __name__ == "__main__":
    main()
