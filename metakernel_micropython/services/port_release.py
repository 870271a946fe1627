"""Lending the kernel's serial port to another user of it (esptool) and taking it back.

A serial port has one user at a time. When the kernel's board is on the port esptool needs,
the board is closed first, and connected again once the board has booted its (new) firmware.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from ..protocol import ProtocolError
from ..transport import TransportError
from ..transport.serial_link import SerialTransport
from .connect import DEFAULT_BAUD, connect_serial
from .connection import ConnectionManager, remembered_serial_port

BOOT_TIME = 1.0  # an ESP32 needs about this long from reset to the MicroPython prompt


@dataclass(frozen=True)
class ReleasedPort:
    port: str
    baudrate: int
    raw: bool  # it was opened with --raw: reopen it the same way


def same_device(first: str, second: str) -> bool:
    return os.path.realpath(first) == os.path.realpath(second)


def held_serial_port(manager: ConnectionManager) -> str | None:
    """The serial port the kernel has open, if any."""
    link = manager.board.transport if manager.board is not None else manager.raw_link
    return link.port_name if isinstance(link, SerialTransport) else None


def release(manager: ConnectionManager, port: str) -> ReleasedPort | None:
    """Close the kernel's link if it is on `port`; returns what `reconnect` needs, else None."""
    held = held_serial_port(manager)
    if held is None or not same_device(held, port):
        return None
    remembered = remembered_serial_port()
    baudrate = remembered[1] if remembered and same_device(remembered[0], held) else DEFAULT_BAUD
    raw = manager.board is None
    manager.disconnect()
    return ReleasedPort(held, baudrate, raw)


def reconnect(manager: ConnectionManager, released: ReleasedPort, timeout: float = 15.0) -> str:
    """Connect again once the board has booted; returns "port at baud: firmware banner"."""
    time.sleep(BOOT_TIME)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return connect_serial(manager, released.port, released.baudrate, raw=released.raw)
        except (TransportError, ProtocolError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
