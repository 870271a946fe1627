"""Opening a link of each kind and adopting it as the kernel's board.

Each function returns a line for the user: where the board is and what firmware it runs.
"""
from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Callable

from ..transport import LinkClosed, Transport
from ..transport.serial_link import SerialTransport
from ..transport.socket_link import SocketTransport
from ..transport.virtual_board import VirtualBoardTransport
from ..transport.webrepl_link import WebReplTransport
from .connection import ConnectionManager, remember_serial_port

DEFAULT_BAUD = 115200
#: A bridge or a board's WebREPL serves one client and notices a closed one only after a
#: moment; until then it refuses the next (closes it at once). Try again for this long.
BUSY_RETRY_SECONDS = 3.0


def adopt(manager: ConnectionManager, transport: Transport, raw: bool = False) -> str:
    """Make `transport` the kernel's board (or its raw link) and describe it."""
    if raw:
        manager.connect_raw(transport)
        return f"{transport.description} (raw: bytes only, no REPL)"
    board, _printed = manager.connect(transport)
    return f"{transport.description}: {board.firmware_banner()}"


def connect_serial(manager: ConnectionManager, port: str, baudrate: int = DEFAULT_BAUD, raw: bool = False) -> str:
    address = _plain_tcp_address(port)
    if address is not None:
        # socket:// is a plain TCP stream (ser2net, ESP-Link): our socket link reads it in blocks
        # where pyserial's reads it a byte at a time (a 64 KiB fetch: 1.4 MiB/s against 39 KiB/s).
        host, tcp_port = address
        description = _adopt_single_client_link(
            manager, lambda: SocketTransport(host, tcp_port, description=port.rstrip("/")), raw)
    else:
        if _holds_serial_port(manager, port):
            # The kernel's own link (e.g. one opened with --raw) locks the port: release it first.
            manager.disconnect()
        description = adopt(manager, SerialTransport(port, baudrate), raw)
    remember_serial_port(port, baudrate)
    return description


def _plain_tcp_address(port: str) -> tuple[str, int] | None:
    """(host, port) of a socket:// URL without options; anything else is pyserial's to open."""
    if not port.startswith("socket://"):
        return None
    parts = urllib.parse.urlsplit(port)
    try:
        tcp_port = parts.port
    except ValueError:
        return None
    if parts.query or not parts.hostname or tcp_port is None:
        return None
    return parts.hostname, tcp_port


def _holds_serial_port(manager: ConnectionManager, port: str) -> bool:
    link = manager.raw_link or (manager.board.transport if manager.board else None)
    return isinstance(link, SerialTransport) and link.port_name == port


def connect_virtual_board(manager: ConnectionManager, directory: str | os.PathLike[str] | None = None) -> str:
    return adopt(manager, VirtualBoardTransport(directory))


def connect_socket(manager: ConnectionManager, host: str, port: int, raw: bool = False) -> str:
    return _adopt_single_client_link(manager, lambda: SocketTransport(host, port), raw)


def connect_webrepl(manager: ConnectionManager, url: str, password: str) -> str:
    return _adopt_single_client_link(manager, lambda: WebReplTransport(url, password))


def _adopt_single_client_link(manager: ConnectionManager, open_link: Callable[[], Transport],
                              raw: bool = False) -> str:
    """Links that serve one client at a time (WebREPL, ser2net, ESP-Link): leave the current
    connection first, and try again while the other end still refuses because of it."""
    manager.disconnect()
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    while True:
        try:
            return adopt(manager, open_link(), raw)
        except LinkClosed:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
