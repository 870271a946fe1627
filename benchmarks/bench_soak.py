"""Soak and flood figures through the kernel as Jupyter drives it. Prints; asserts nothing.

- soak: a long session of mixed cells (prints, board exceptions, interrupted loops) on the
  virtual board: round-trip time per block of cells and the kernel's memory as it goes;
- flood: a cell printing 10 MB as fast as it can: time, what reached the notebook, the
  kernel's peak memory;
- interrupt: Kernel -> Interrupt during a flood, from the request to the cell's end, on the
  virtual board and on the virtual board behind a pty paced at 115200 baud.

    python benchmarks/bench_soak.py [--cells 1000]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from kernel_driver import KernelSession  # noqa: E402
from kernel_probes import kernel_memory_mb, mixed_cells_total, run_mixed_cell, when_printed  # noqa: E402
from testbeds.serial_relay import VirtualBoardOnPty  # noqa: E402

BLOCK = 100
FLOOD_MB = 10
FLOOD = f"line = 'x' * 1023\nfor n in range({FLOOD_MB * 1024}):\n    print(line)\nprint('the end')"
ENDLESS_FLOOD = "line = 'y' * 1023\nwhile True:\n    print(line)"


def soak(session: KernelSession, cells: int) -> None:
    session.run("total = 0")
    print(f"soak: {cells} mixed cells on the virtual board (every 10th interrupted, every 10th an error)")
    print(f"  {'cells':>11}  {'median ms':>9}  {'p95 ms':>7}  {'max ms':>7}  {'kernel RSS MB':>13}")
    plain_cell_times: list[float] = []
    for number in range(cells):
        started = time.perf_counter()
        run_mixed_cell(session, number)
        if number % 10 not in (5, 9):  # the round trip of a plain cell, not of an interrupt
            plain_cell_times.append((time.perf_counter() - started) * 1000)
        if (number + 1) % BLOCK == 0 or number + 1 == cells:
            ordered = sorted(plain_cell_times)
            p95 = ordered[int(len(ordered) * 0.95) - 1]
            print(f"  {number // BLOCK * BLOCK + 1:>5}-{number + 1:<5}  "
                  f"{statistics.median(ordered):9.1f}  {p95:7.1f}  {ordered[-1]:7.1f}  "
                  f"{kernel_memory_mb(session):13.1f}")
            plain_cell_times.clear()
    total_ok = session.run("total").result == str(mixed_cells_total(cells))
    print(f"  total on the board as expected: {total_ok}")


def flood(session: KernelSession) -> None:
    before = kernel_memory_mb(session)
    started = time.perf_counter()
    result = session.run(FLOOD, timeout=300)
    seconds = time.perf_counter() - started
    print(f"flood: {FLOOD_MB} MB printed by one cell on the virtual board: {seconds:.2f} s, status {result.status}")
    print(f"  reached the notebook: {len(result.stdout):,} characters in {len(result.stream_messages)} messages; "
          f"ends with the last line: {result.stdout.endswith('the end' + chr(10))}")
    print(f"  kernel RSS before {before:.1f} MB, after {kernel_memory_mb(session):.1f} MB, "
          f"peak {kernel_memory_mb(session, 'VmHWM'):.1f} MB")


def interrupt_latency(session: KernelSession, label: str, repeats: int = 5) -> None:
    latencies = []
    for _ in range(repeats):
        asked: list[float] = []

        def interrupt() -> None:
            asked.append(time.perf_counter())
            session.interrupt()

        result = session.run(ENDLESS_FLOOD, timeout=60, on_message=when_printed("yyyy", interrupt))
        latencies.append((time.perf_counter() - asked[0]) * 1000)
        assert result.error and result.error["ename"] == "KeyboardInterrupt", result
    print(f"interrupt during a flood, {label}: request to end of cell "
          f"median {statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms ({repeats} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=1000)
    cells = parser.parse_args().cells
    with tempfile.TemporaryDirectory() as folder:
        session = KernelSession()
        try:
            session.run(f"%virtualboard --dir {folder}")
            soak(session, cells)
            flood(session)
            interrupt_latency(session, "virtual board")
        finally:
            session.close()
    with tempfile.TemporaryDirectory() as folder, VirtualBoardOnPty(folder, baudrate=115200) as relay:
        session = KernelSession()
        try:
            session.run(f"%serialconnect --port {relay.port}")
            interrupt_latency(session, "serial at 115200 baud")
        finally:
            session.close()


if __name__ == "__main__":
    main()
