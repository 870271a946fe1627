"""Cell round trip over each kind of link, side by side in one run.

The same virtual board behind: a pty serial relay, a raw TCP server (also reached as a
pyserial socket:// URL, as ser2net is) and a WebREPL server (both servers keep Nagle's
algorithm on, as a board's lwIP does). For each link, a silent cell and
a cell that prints: were printing much slower than silent, the link would be waiting on
something (delayed TCP acknowledgements once cost 40 ms a cell here).

Run:  python benchmarks/bench_links.py [--repeats 60]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernels import python_module_kernel, run_cell, stop, timings  # noqa: E402
from testbeds.serial_relay import VirtualBoardOnPty  # noqa: E402
from testbeds.tcp_board_server import TcpBoardServer  # noqa: E402
from testbeds.webrepl_server import WebReplServer  # noqa: E402

SILENT = "x = 1"
PRINTING = "for i in range(20): print(i)"
PASSWORD = "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=60, help="cells timed per link and per cell")
    options = parser.parse_args()

    with ExitStack() as stack:
        serial_board = stack.enter_context(VirtualBoardOnPty(tempfile.mkdtemp(prefix="bench-board-")))
        tcp_board = stack.enter_context(TcpBoardServer(tempfile.mkdtemp(prefix="bench-board-")))
        webrepl_board = stack.enter_context(WebReplServer(tempfile.mkdtemp(prefix="bench-board-"), password=PASSWORD))
        links = {
            "serial (pty relay)": f"%serialconnect --port {serial_board.port}",
            "TCP socket": f"%socketconnect 127.0.0.1 {tcp_board.port}",
            "serial URL socket://": f"%serialconnect --port socket://127.0.0.1:{tcp_board.port}",
            "WebREPL": f"%websocketconnect {webrepl_board.url} --password {PASSWORD}",
        }
        kernel = python_module_kernel("ours", "metakernel_micropython")
        rows = []
        for name, connect in links.items():
            assert run_cell(kernel[1], connect)["reply"]["content"]["status"] == "ok", name
            medians = []
            for cell in (SILENT, PRINTING):
                run_cell(kernel[1], cell)
                medians.append(statistics.median(timings(lambda: run_cell(kernel[1], cell), options.repeats)))
            run_cell(kernel[1], "%disconnect")
            rows.append((name, *medians))
        stop(*kernel)

    print(f"{'link':<22}{'silent ms':>10}{'printing ms':>13}{'ratio':>7}")
    for name, silent, printing in rows:
        print(f"{name:<22}{silent * 1000:>10.2f}{printing * 1000:>13.2f}{printing / silent:>7.2f}")


if __name__ == "__main__":
    main()
