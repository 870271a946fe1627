"""File transfer throughput over a link paced at 115200 baud, side by side with `mpremote cp`.

Run:  python benchmarks/bench_files.py [--baud 115200] [--size 65536]

The virtual board sits behind a pty relay that paces bytes like a UART (testbeds/serial_relay.py);
our file service and mpremote use the same relay in the same run. Prints figures and ratios;
the targets of issue 4 are >= 7 KB/s and >= 2x mpremote for random data, <= 0.2 s to resend
an unchanged file.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metakernel_micropython.services import board_scripts  # noqa: E402
from metakernel_micropython.services.board import Board  # noqa: E402
from metakernel_micropython.services.file_transfer import fetch_bytes, send_bytes  # noqa: E402
from metakernel_micropython.services.filesystem import file_system  # noqa: E402
from metakernel_micropython.transport.serial_link import SerialTransport  # noqa: E402
from testbeds.serial_relay import VirtualBoardOnPty  # noqa: E402


def timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def mpremote(port: str, *command: str) -> None:
    subprocess.run(["mpremote", "connect", port, *command], check=True, capture_output=True)


def rate(size: int, seconds: float) -> str:
    return f"{size / 1024 / seconds:6.2f} KiB/s ({seconds:6.2f} s)"


def python_source(size: int) -> bytes:
    lines = (f"def handler_{number}(event):\n    return event.get('value', {number}) * 2\n\n"
             for number in range(size))
    return "".join(lines).encode()[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--size", type=int, default=64 * 1024)
    options = parser.parse_args()
    size = options.size
    payloads = {"random": os.urandom(size), "python source": python_source(size)}
    wire = len(board_scripts.bytes_literal(payloads["random"])) / size
    print(f"Link: virtual board behind a pty paced at {options.baud} baud; {size // 1024} KiB per file")
    print(f"Encoding of random data: {wire:.3f} bytes on the wire per byte (base64 would be 1.333)")

    with tempfile.TemporaryDirectory() as work, VirtualBoardOnPty(Path(work) / "board", options.baud) as relay:
        host = Path(work)
        for name, data in payloads.items():
            (host / f"{name}.bin").write_bytes(data)
        board = Board(SerialTransport(relay.port, options.baud))
        board.start()
        files = file_system(board)
        files.features  # the probe is once per connection: not part of the figures
        results: dict[str, float] = {}
        for name, data in payloads.items():
            results[f"ours up {name}"] = timed(lambda: send_bytes(files, data, f"ours-{len(name)}.bin"))
        results["ours resend unchanged"] = timed(lambda: send_bytes(files, payloads["random"], "ours-6.bin"))
        results["ours down random"] = timed(lambda: fetch_bytes(files, "ours-6.bin"))
        board.close()

        for name in payloads:
            results[f"mpremote up {name}"] = timed(
                lambda: mpremote(relay.port, "cp", str(host / f"{name}.bin"), f":mp-{len(name)}.bin"))
        results["mpremote down random"] = timed(
            lambda: mpremote(relay.port, "cp", ":mp-6.bin", str(host / "back.bin")))
        assert (host / "back.bin").read_bytes() == payloads["random"]

    print()
    for direction, name in (("up", "random"), ("up", "python source"), ("down", "random")):
        ours, theirs = results[f"ours {direction} {name}"], results[f"mpremote {direction} {name}"]
        label = f"{'upload' if direction == 'up' else 'download'} {name}"
        print(f"{label:24} ours {rate(size, ours)}   mpremote {rate(size, theirs)}   ratio {theirs / ours:4.2f}x")
    print(f"{'resend unchanged':24} ours {results['ours resend unchanged']:.3f} s")
    upload = size / 1000 / results["ours up random"]
    ratio = results["mpremote up random"] / results["ours up random"]
    print(f"\nTargets: upload {upload:.2f} KB/s >= 7: {'yes' if upload >= 7 else 'NO'}; "
          f"{ratio:.2f}x mpremote >= 2: {'yes' if ratio >= 2 else 'NO'}; "
          f"resend {results['ours resend unchanged']:.3f} s <= 0.2: "
          f"{'yes' if results['ours resend unchanged'] <= 0.2 else 'NO'}")


if __name__ == "__main__":
    main()
