"""Copying what a cell shows into a host file while the cell runs (the %capture magic)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from metakernel import ExceptionWrapper


class CellOutputCapture:
    """While active, every text the kernel writes to the cell's stdout (all the board's output
    goes through kernel.Write) is also written to a host file, and shown only if `show`."""

    def __init__(self, kernel: Any, path: Path, show: bool) -> None:
        self.path = path
        self.show = show
        self._kernel = kernel
        self._file = path.open("w", encoding="utf-8")  # fails here, before the cell runs
        self._last_text = "\n"
        self._shown_write = kernel.Write
        kernel.Write = self._write  # an instance attribute: shadows the method until finish()

    def _write(self, text: str) -> None:
        self._file.write(text)
        self._last_text = text or self._last_text
        if self.show:
            self._shown_write(text)

    def finish(self, retval: Any) -> int:
        """Stop copying; the cell's value or error goes into the file too. Returns the line count."""
        if self._kernel.__dict__.get("Write") == self._write:
            del self._kernel.Write
        if isinstance(retval, ExceptionWrapper):
            self._add_line("\n".join(retval.traceback or [f"{retval.ename}: {retval.evalue}"]))
        elif isinstance(retval, dict) and "text/plain" in retval:  # the cell's value, as a MIME bundle
            self._add_line(retval["text/plain"])
        elif retval is not None:
            self._add_line(repr(retval))
        self._file.close()
        with self.path.open(encoding="utf-8") as saved:
            return sum(1 for _ in saved)

    def _add_line(self, text: str) -> None:
        self._file.write(("" if self._last_text.endswith("\n") else "\n") + text + "\n")
