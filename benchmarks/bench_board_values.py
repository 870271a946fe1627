"""How long board values take to reach host Python (%getboard), on the virtual board and the
QEMU micro:bit, through the kernel as Jupyter drives it. Prints timings; asserts nothing.

    python benchmarks/bench_board_values.py
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from kernel_driver import KernelSession  # noqa: E402
from testbeds.qemu_microbit import MicrobitQemu, qemu_available  # noqa: E402

SIZES = (10, 100, 1000)


def measure(session: KernelSession, label: str) -> None:
    for size in SIZES:
        session.run(f"values = [i * 0.5 for i in range({size})]")
        started = time.perf_counter()
        result = session.run("%getboard values")
        seconds = time.perf_counter() - started
        state = "ok" if result.status == "ok" else result.error_text.splitlines()[0]
        print(f"{label:12} %getboard of {size:5} floats: {seconds * 1000:7.1f} ms  ({state})")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        session = KernelSession()
        session.run(f"%virtualboard --dir {folder}")
        measure(session, "virtual")
        session.close()
    if qemu_available() is None:
        with MicrobitQemu() as microbit:
            session = KernelSession()
            session.run(f"%serialconnect --port {microbit.port}", timeout=120)
            measure(session, "micro:bit")
            session.close()
    else:
        print("micro:bit under QEMU not available:", qemu_available())


if __name__ == "__main__":
    main()
