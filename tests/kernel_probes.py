"""Looking at a running kernel from outside: acting on its output, its memory, its board process.

Used by the reliability tests and by benchmarks/bench_soak.py.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kernel_driver import CellResult, KernelSession


class when_printed:  # noqa: N801 (reads as a phrase where it is used)
    """An on_message hook that runs `action` once, as soon as the cell has printed `text`."""

    def __init__(self, text: str, action: Callable[[], None]) -> None:
        self.text, self.action = text, action
        self.recent = ""
        self.done = False

    def __call__(self, message: dict[str, Any]) -> None:
        if self.done or message["msg_type"] != "stream":
            return
        self.recent = (self.recent + message["content"]["text"])[-4096:]
        if self.text in self.recent:
            self.done = True
            self.action()


def kernel_memory_mb(kernel: KernelSession, field: str = "VmRSS") -> float:
    """The kernel process's resident memory (VmRSS), or its peak (VmHWM), in MB."""
    with open(f"/proc/{kernel.manager.provisioner.pid}/status") as status:  # type: ignore[union-attr]
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for the kernel process")


def virtual_board_pid(kernel: KernelSession) -> int:
    """The MicroPython unix-port process that the kernel runs for %virtualboard."""
    kernel_pid = kernel.manager.provisioner.pid  # type: ignore[union-attr]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == kernel_pid and b"virtual_board_child" in command:
            return int(entry)
    raise AssertionError("the kernel runs no virtual board")


def run_mixed_cell(kernel: KernelSession, number: int) -> CellResult:
    """Cell `number` of a long session: prints that add to `total` (set it to 0 first), a
    board exception every tenth, an interrupted loop every tenth. Checks what it gave."""
    kind = number % 10
    if kind == 9:
        result = kernel.run("print('spin')\nwhile True:\n    pass", on_message=when_printed("spin", kernel.interrupt))
        assert result.error and result.error["ename"] == "KeyboardInterrupt", (number, result)
    elif kind == 5:
        result = kernel.run("1 / 0")
        assert result.error and result.error["ename"] == "ZeroDivisionError", (number, result)
    else:
        result = kernel.run(f"total += {number}\nprint('cell', {number})\ntotal")
        assert result.stdout == f"cell {number}\n", (number, result)
    return result


def mixed_cells_total(count: int) -> int:
    """What `total` holds after cells 0 .. count-1 of run_mixed_cell."""
    return sum(number for number in range(count) if number % 10 not in (5, 9))
