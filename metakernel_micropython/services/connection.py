"""Which board the kernel talks to, and how it got connected."""
from __future__ import annotations

from ..protocol import ProtocolError
from ..transport import Transport, TransportError
from .board import Board
from .kernel_state import load_state, save_state
from .ports import likely_boards, list_serial_ports

_LAST_CONNECTION = "last_connection.json"


class NotConnected(Exception):
    """No board yet; the message says how to connect."""


def remember_serial_port(port: str, baudrate: int) -> None:
    """Kept across kernel restarts so that %serialconnect with no port reconnects."""
    save_state(_LAST_CONNECTION, {"port": port, "baud": baudrate})


def remembered_serial_port() -> tuple[str, int] | None:
    state = load_state(_LAST_CONNECTION)
    try:
        return str(state["port"]), int(state["baud"])
    except (ValueError, KeyError, TypeError):
        return None


def how_to_connect() -> str:
    """A short text listing the likely ports and the magics that connect."""
    ports = list_serial_ports()
    lines = ["No board is connected."]
    if ports:
        lines.append("Serial ports found:")
        lines += [f"  {port.summary()}" for port in ports]
        lines.append("Connect with %serialconnect --port " + ports[0].device
                     + ", or pick one from a list with %connectpanel.")
    else:
        lines.append("No serial port found: plug in a board, or try %virtualboard (no hardware needed).")
    lines.append("Other links: %virtualboard, %websocketconnect URL, %socketconnect HOST PORT.")
    return "\n".join(lines)


class ConnectionManager:
    """Holds the current board and replaces it on every new connect."""

    def __init__(self) -> None:
        self.board: Board | None = None
        #: A link opened with --raw: bytes only, no REPL.
        self.raw_link: Transport | None = None
        #: Set when the link went away by itself: what the next cell tells the user.
        self.lost_link: str | None = None

    def connect(self, transport: Transport) -> tuple[Board, str]:
        """Adopt `transport` as the board; returns it and what it printed on the way in."""
        self.disconnect()
        board = Board(transport)
        try:
            printed = board.start()
        except (ProtocolError, TransportError):
            transport.close()
            raise
        self.board = board
        return board, printed.decode(errors="replace")

    def connect_raw(self, transport: Transport) -> None:
        self.disconnect()
        self.raw_link = transport

    def require_board(self) -> Board:
        if self.board is None:
            if self.raw_link is not None:
                raise NotConnected(f"The link to {self.raw_link.description} is open raw (--raw): no REPL "
                                   "runs cells on it. To enter the REPL, connect again without --raw "
                                   "(e.g. %serialconnect --port PORT); %writebytes and %readbytes work as is.")
            raise NotConnected(self.lost_link or how_to_connect())
        return self.board

    def link_lost(self, reason: str) -> str:
        """The link went away by itself (cable pulled, socket closed): forget it, and keep
        saying how to get it back until the user connects. Returns that message."""
        link = self.board.transport if self.board else self.raw_link
        hint = link.reconnect_hint if link else ""
        description = link.description if link else "the board"
        self.disconnect()
        self.lost_link = f"The link to {description} was lost. {hint}"
        return f"{reason} {hint}"

    def disconnect(self) -> str | None:
        """Close whatever is open; returns its description, or None if nothing was."""
        described = None
        self.lost_link = None
        if self.board is not None:
            described = self.board.description
            self.board.close()
            self.board = None
        if self.raw_link is not None:
            described = self.raw_link.description
            self.raw_link.close()
            self.raw_link = None
        return described

    @staticmethod
    def single_likely_port() -> str | None:
        boards = likely_boards()
        return boards[0].device if len(boards) == 1 else None
