"""File transfer over WebREPL: its binary protocol against the REPL, on the same connection.

    python benchmarks/bench_webrepl.py [--size 65536] [--runs 3]

A WebREPL test server (testbeds/webrepl_server.py) bridged to a virtual board, on 127.0.0.1.
Each run sends `--size` random bytes with the file service (`send_bytes`: temporary name,
SHA-256 check on the board, rename) and fetches them back (`fetch_bytes`, SHA-256 checked),
once as the kernel does over WebREPL (the bytes travel as binary put/get frames) and once
with the file protocol hidden, so the same service pushes the bytes through the raw REPL.
It prints the median KiB/s of each and the ratio binary/REPL. Nothing is asserted: the figures
depend on the machine. On 127.0.0.1 the link costs nothing; on Wi-Fi each round trip adds
milliseconds (`--latency`, 5 ms by default, delays each message to the server by that much):
a binary get asks for 256 bytes at a time, 4 requests ahead; the REPL runs one cell per chunk.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from metakernel_micropython.services.board import Board  # noqa: E402
from metakernel_micropython.services.file_transfer import fetch_bytes, send_bytes  # noqa: E402
from metakernel_micropython.services.filesystem import file_system  # noqa: E402
from metakernel_micropython.transport import Transport  # noqa: E402
from metakernel_micropython.transport.webrepl_link import WebReplTransport  # noqa: E402
from testbeds.webrepl_server import WebReplServer  # noqa: E402

PASSWORD = "bench"


class ReplOnly(Transport):
    """The same WebREPL link without put_file/get_file: the file service then uses the REPL."""

    def __init__(self, link: WebReplTransport) -> None:
        self._link = link
        self.description = link.description + " (REPL only)"

    def read(self, max_bytes: int = 4096, timeout: float = 0.05) -> bytes:
        return self._link.read(max_bytes, timeout)

    def write(self, data: bytes) -> None:
        self._link.write(data)

    def close(self) -> None:
        self._link.close()


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(server: WebReplServer, wrap: Callable[[WebReplTransport], Transport], size: int) -> tuple[float, float]:
    """Seconds to send and to fetch `size` fresh random bytes."""
    while server.has_client:  # the previous run's connection, still being let go
        time.sleep(0.05)
    board = Board(wrap(WebReplTransport(server.url, PASSWORD)))
    try:
        board.start()
        files = file_system(board)
        data = os.urandom(size)
        send_seconds = timed(lambda: send_bytes(files, data, "bench.bin"))
        fetched: list[bytes] = []
        fetch_seconds = timed(lambda: fetched.append(fetch_bytes(files, "bench.bin")))
        if fetched[0] != data:
            raise SystemExit("the fetched data differs: the benchmark is broken")
        return send_seconds, fetch_seconds
    finally:
        board.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=65536, help="bytes per transfer (default 64 KiB)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.005, help="seconds per message to the board (Wi-Fi)")
    options = parser.parse_args()
    ways: dict[str, Callable[[WebReplTransport], Transport]] = {
        "WebREPL binary": lambda link: link, "through the REPL": ReplOnly}
    with tempfile.TemporaryDirectory() as folder, WebReplServer(folder, password=PASSWORD, latency=options.latency) as server:
        rates: dict[str, tuple[float, float]] = {}
        for name, wrap in ways.items():
            runs = [measure(server, wrap, options.size) for _ in range(options.runs)]
            kib = options.size / 1024
            rates[name] = (kib / statistics.median(run[0] for run in runs),
                           kib / statistics.median(run[1] for run in runs))
    print(f"{options.size} random bytes, median of {options.runs} runs, WebREPL on 127.0.0.1 to a virtual board, "
          f"{options.latency * 1000:g} ms per message to the board")
    print(f"{'':18} {'send KiB/s':>11} {'fetch KiB/s':>12}")
    for name, (send_rate, fetch_rate) in rates.items():
        print(f"{name:18} {send_rate:11.1f} {fetch_rate:12.1f}")
    binary, repl = rates["WebREPL binary"], rates["through the REPL"]
    print(f"{'ratio binary/REPL':18} {binary[0] / repl[0]:11.2f} {binary[1] / repl[1]:12.2f}")


if __name__ == "__main__":
    main()
