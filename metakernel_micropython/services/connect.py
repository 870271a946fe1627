"""Opening a link of each kind and adopting it as the kernel's board.

Each function returns a line for the user: where the board is and what firmware it runs.
"""
from __future__ import annotations

import os

from ..transport import Transport
from ..transport.serial_link import SerialTransport
from ..transport.socket_link import SocketTransport
from ..transport.virtual_board import VirtualBoardTransport
from ..transport.webrepl_link import WebReplTransport
from .connection import ConnectionManager, remember_serial_port

DEFAULT_BAUD = 115200


def adopt(manager: ConnectionManager, transport: Transport, raw: bool = False) -> str:
    """Make `transport` the kernel's board (or its raw link) and describe it."""
    if raw:
        manager.connect_raw(transport)
        return f"{transport.description} (raw: bytes only, no REPL)"
    board, _printed = manager.connect(transport)
    return f"{transport.description}: {board.firmware_banner()}"


def connect_serial(manager: ConnectionManager, port: str, baudrate: int = DEFAULT_BAUD, raw: bool = False) -> str:
    description = adopt(manager, SerialTransport(port, baudrate), raw)
    remember_serial_port(port, baudrate)
    return description


def connect_virtual_board(manager: ConnectionManager, directory: str | os.PathLike[str] | None = None) -> str:
    return adopt(manager, VirtualBoardTransport(directory))


def connect_socket(manager: ConnectionManager, host: str, port: int, raw: bool = False) -> str:
    # Bridges (ser2net, ESP-Link) serve one client at a time: leave first, as for WebREPL.
    manager.disconnect()
    return adopt(manager, SocketTransport(host, port), raw)


def connect_webrepl(manager: ConnectionManager, url: str, password: str) -> str:
    # A board takes one WebREPL client at a time and refuses a second: leave first.
    manager.disconnect()
    return adopt(manager, WebReplTransport(url, password))
