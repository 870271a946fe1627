"""Cell round trip on the virtual board, side by side in one run (issue 3).

Prints medians and ratios for:
  bare       the raw-paste exchange of `1+1` by a plain pyserial script (no Jupyter at all)
  floor      a trivial MetaKernel subclass answering `2` with no board, through jupyter_client
  kernel     this kernel's `1+1` over the same serial relay to the same virtual board
  seed       the seed's jupyter_micropython_kernel on the same relay (if it is installed)
  start      kernel start to the first result (start, %serialconnect, 1+1)

Run:  python benchmarks/bench_roundtrip.py [--repeats 50]
"""
from __future__ import annotations

import argparse
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

import serial

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernels import kernel_from_argv, median_seconds, python_module_kernel, run_cell, stop, timings  # noqa: E402
from testbeds.serial_relay import VirtualBoardOnPty  # noqa: E402


def read_until(port: serial.Serial, ending: bytes, timeout: float = 10.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(ending):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the board did not answer {ending!r}; it printed {data[-200:]!r}")
        data += port.read(1)
    return data


def bare_raw_paste_exchange(port: serial.Serial) -> bytes:
    """What a minimal client does for one cell in raw-paste mode."""
    port.write(b"\x05A\x01")
    assert port.read(2) == b"R\x01"
    struct.unpack("<H", port.read(2))
    port.write(b"1+1")
    port.write(b"\x04")
    read_until(port, b"\x04")
    return read_until(port, b"\x04>")


def measure_bare(device: str, repeats: int) -> float:
    with serial.Serial(device, timeout=5) as port:
        port.write(b"\r\x03\x03\r\x01")
        read_until(port, b"raw REPL; CTRL-B to exit\r\n>")
        result = median_seconds(lambda: bare_raw_paste_exchange(port), repeats)
        port.write(b"\x02")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=4, help="alternations between this kernel and the seed's")
    options = parser.parse_args()

    with VirtualBoardOnPty(tempfile.mkdtemp(prefix="bench-board-")) as board:
        bare = measure_bare(board.port, options.repeats)

        manager, client = kernel_from_argv(
            "floor", [sys.executable, str(Path(__file__).with_name("floor_kernel.py")), "-f", "{connection_file}"])
        floor = median_seconds(lambda: run_cell(client, "1+1"), options.repeats)
        stop(manager, client)

        started = time.perf_counter()
        ours_kernel = python_module_kernel("ours", "metakernel_micropython")
        run_cell(ours_kernel[1], f"%serialconnect --port {board.port}")
        first = run_cell(ours_kernel[1], "1+1")
        start_to_first = time.perf_counter() - started
        assert any(out["msg_type"] == "execute_result" for out in first["outputs"]), first
        run_cell(ours_kernel[1], "%disconnect")

        try:
            seed_kernel = python_module_kernel("seed", "jupyter_micropython_kernel")
        except Exception as error:  # the seed's kernel is optional for this benchmark
            print(f"seed kernel not measured: {error}")
            seed_kernel = None

        # Rounds that alternate between the kernels, so a noisy moment of the machine
        # falls on both: one board, so each connects in turn.
        samples: dict[str, list[float]] = {"ours": [], "seed": []}
        for _ in range(options.rounds):
            for name, kernel, connect in (("ours", ours_kernel, f"%serialconnect --port {board.port}"),
                                          ("seed", seed_kernel, f"%serialconnect --port={board.port}")):
                if kernel is None:
                    continue
                run_cell(kernel[1], connect)
                run_cell(kernel[1], "1+1")
                samples[name] += timings(lambda: run_cell(kernel[1], "1+1"), options.repeats // options.rounds)
                run_cell(kernel[1], "%disconnect")
        for kernel in (ours_kernel, seed_kernel):
            if kernel is not None:
                stop(*kernel)
        ours = statistics.median(samples["ours"])
        seed = statistics.median(samples["seed"]) if samples["seed"] else None

    print(f"{'what':<34}{'median ms':>10}")
    print(f"{'bare raw-paste exchange (pyserial)':<34}{bare * 1000:>10.2f}")
    print(f"{'framework floor (MetaKernel)':<34}{floor * 1000:>10.2f}")
    print(f"{'this kernel, 1+1':<34}{ours * 1000:>10.2f}")
    if seed is not None:
        print(f"{'seed kernel, 1+1':<34}{seed * 1000:>10.2f}")
    print(f"ratio this / (floor + bare) = {ours / (floor + bare):.2f}   (target <= 1.25)")
    if seed is not None:
        print(f"ratio this / seed            = {ours / seed:.2f}   (target <= 1.0)")
    print(f"kernel start to first result = {start_to_first:.2f} s   (target <= 2 s)")


if __name__ == "__main__":
    main()
