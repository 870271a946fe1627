"""A connected board: a transport and its raw REPL engine, with the queries every layer uses."""
from __future__ import annotations

from typing import Any

from ..protocol import RawRepl, RunResult
from ..protocol.raw_repl import OutputHandler
from ..transport import Transport
from .board_values import parse_value, value_code

# Prints the banner without its "MicroPython " start: that text in the middle of a run is how
# the protocol recognises a board that rebooted. Inside a function that deletes itself, so the
# user's globals gain no names.
_DESCRIBE = (
    "def _mpk_describe():\n"
    " import sys\n"
    " try:\n  import os;u=os.uname();return '%s; %s' % (u.version, u.machine)\n"
    " except Exception:\n  return '%s; %s' % ('.'.join(str(n) for n in sys.implementation.version[:3]), sys.platform)\n"
    "print(_mpk_describe())\n"
    "del _mpk_describe\n"
)


class Board:
    """Everything above the protocol talks to a board through this object."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.repl = RawRepl(transport)

    @property
    def description(self) -> str:
        return self.transport.description

    def start(self) -> bytes:
        """Enter the raw REPL; returns what the board printed before (banner, boot log)."""
        return self.repl.enter_raw_repl()

    def run(self, code: str | bytes, on_stdout: OutputHandler) -> RunResult:
        return self.repl.run(code, on_stdout)

    def exec_capture(self, code: str | bytes) -> bytes:
        return self.repl.exec_capture(code)

    def eval(self, expression: str) -> Any:
        """The value of a board expression, carried as its repr (never evaluated as code here).

        Raises NotPlainData (a ValueError) when the value has no literal form."""
        return parse_value(self.exec_capture(value_code(expression)).decode(errors="replace"))

    def firmware_banner(self) -> str:
        """A banner like the board prints at boot: "MicroPython v1.22.0 on 2023-12-27; ESP32 module"."""
        return "MicroPython " + self.exec_capture(_DESCRIBE).decode(errors="replace").strip()

    def soft_reboot(self) -> str:
        self.repl.soft_reboot()
        return self.firmware_banner()

    def close(self) -> None:
        """Leave the board in its friendly REPL and release the link."""
        try:
            if self.repl.in_raw_mode:
                self.repl.exit_raw_repl()
        except Exception:  # the link may already be gone; closing must still succeed
            pass
        self.transport.close()
