"""What every network link must do, checked the same way for WebREPL and raw TCP."""
from __future__ import annotations

import threading
from collections.abc import Callable

from kernel_driver import KernelSession

SLOW_COUNTING_CELL = "import time\nfor n in range(600):\n    print(n)\n    time.sleep(0.1)"


def check_interrupt_stops_a_loop(kernel: KernelSession) -> None:
    timer = threading.Timer(1.5, kernel.interrupt)
    timer.start()
    result = kernel.run("while True:\n    pass", timeout=60)
    timer.join()
    assert result.error["ename"] == "KeyboardInterrupt"
    assert kernel.run("print('after')").stdout == "after\n"


def check_drop_ends_the_cell_and_reconnecting_works(
        kernel: KernelSession, drop: Callable[[], None], expected_error: str, reconnect_cell: str) -> None:
    timer = threading.Timer(1.5, drop)
    timer.start()
    result = kernel.run(SLOW_COUNTING_CELL, timeout=60)
    timer.join()
    assert result.status == "error"
    assert expected_error in result.error_text
    assert reconnect_cell.split()[0] in result.error_text  # says which magic brings it back
    assert "0\n1\n" in result.stdout  # what came before the drop was shown
    assert kernel.run("1 + 1").status == "error"  # no board until connected again
    again = kernel.run(reconnect_cell)
    assert again.status == "ok", again.error_text
    assert kernel.run("2 + 3").result == "5"
