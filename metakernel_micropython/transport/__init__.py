"""Byte-stream links to a board.

Every link (serial port, virtual board, TCP socket, WebREPL) offers the same small
interface, so the raw REPL engine above never knows which one it talks to.
"""
from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Optional, Protocol, runtime_checkable

#: Called with the number of bytes moved so far, as a file transfer goes.
ByteProgress = Optional[Callable[[int], None]]


class TransportError(Exception):
    """A link could not be opened or used; the message is meant for the user."""


class LinkClosed(TransportError):
    """The other end went away (cable pulled, socket closed, process ended)."""


class Transport(abc.ABC):
    """A bidirectional byte stream to a board."""

    #: Short human description, e.g. "/dev/ttyUSB0 at 115200 baud".
    description: str = ""
    #: What the user can do to get this link back after it went away (LinkClosed).
    reconnect_hint: str = "Connect again with the magic you used before (%lsmagic lists them)."

    @abc.abstractmethod
    def read(self, max_bytes: int = 4096, timeout: float = 0.05) -> bytes:
        """Return up to `max_bytes` bytes, or b"" when nothing arrived within `timeout`.

        Raises LinkClosed when the link is gone for good.
        """

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Send all of `data`."""

    def send_interrupt(self) -> None:
        """Deliver Ctrl-C to the board. Links where a byte is not enough override this."""
        self.write(b"\x03")

    @abc.abstractmethod
    def close(self) -> None:
        """Release the link. Safe to call twice."""

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@runtime_checkable
class FileTransferLink(Protocol):
    """A link that moves whole files itself, beside the REPL (WebREPL's binary GET/PUT).

    The file service uses these when the transport has them, else it goes through the REPL.
    """

    def put_file(self, board_path: str, data: bytes, progress: ByteProgress = None) -> None:
        """Write `data` to `board_path` on the board (no verification, no rename)."""

    def get_file(self, board_path: str, progress: ByteProgress = None, size: int | None = None) -> bytes:
        """Read the whole file `board_path` from the board; its `size`, if known, may speed it up."""
