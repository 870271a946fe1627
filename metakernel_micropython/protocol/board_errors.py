"""What can go wrong when talking to a board, as exceptions with messages for the user."""
from __future__ import annotations

import re


class ProtocolError(Exception):
    """The board answered something the raw REPL protocol does not allow."""


class BoardNotAnswering(ProtocolError):
    """No expected answer in time. `received` holds what the board did print."""

    def __init__(self, received: bytes) -> None:
        self.received = received
        shown = received.decode(errors="replace").strip()[-300:]
        super().__init__("The board is not answering" + (f"; it printed: {shown}" if shown else "."))


class BoardRebooted(ProtocolError):
    """The board restarted in the middle of a run (reset button, crash, power)."""

    def __init__(self, printed: bytes) -> None:
        self.printed = printed
        super().__init__("The board rebooted while the cell was running.")


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")


class CellTooLarge(ProtocolError):
    """A cell the board could not hold: it has no raw-paste mode and too little free RAM."""

    def __init__(self, size: int, free: int) -> None:
        super().__init__(
            f"This cell is {size} bytes (without comments) and the board has only {free} bytes of RAM free "
            "and no raw-paste mode to compile it piece by piece: split the cell, or save it with "
            "%sendtofile and import it.")


class BoardError(Exception):
    """An exception raised by code on the board; carries the board's own traceback."""

    def __init__(self, traceback_text: str) -> None:
        self.traceback_text = traceback_text.replace("\r\n", "\n").rstrip("\n")
        lines = self.traceback_text.split("\n")
        match = _EXCEPTION_LINE.match(lines[-1].strip()) if lines else None
        self.ename = match.group(1) if match else "Error"
        self.evalue = (match.group(2) or "") if match else lines[-1]
        super().__init__(f"{self.ename}: {self.evalue}" if self.evalue else self.ename)

    @property
    def errno(self) -> int | None:
        """The errno of an OSError on the board (MicroPython prints `OSError: [Errno 2] ENOENT`)."""
        found = re.search(r"\[Errno (\d+)\]|^(\d+)$", self.evalue)
        if self.ename != "OSError" or not found:
            return None
        return int(found.group(1) or found.group(2))
