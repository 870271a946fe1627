"""What the simulated ESP runs once it has booted from flash.

`MicroPythonFirmware` relays the serial port to the MicroPython unix port (the project's
virtual board), so a kernel that reconnects after flashing finds a real REPL. Where the
unix port is not installed, `BannerFirmware` prints a MicroPython banner and a prompt and
runs nothing: enough to see that the board booted, not enough to run cells.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from metakernel_micropython.transport import Transport

ESP32_BANNER = (b"MicroPython v1.24.1 on 2024-11-29; Generic ESP32 module with ESP32\r\n"
                b'Type "help()" for more information.\r\n>>> ')


class Firmware(Protocol):
    def write(self, data: bytes) -> None: ...

    def read(self) -> bytes: ...

    def close(self) -> None: ...


class BannerFirmware:
    """A prompt that echoes lines and answers every one with a new prompt."""

    def __init__(self, banner: bytes = ESP32_BANNER) -> None:
        self._pending = bytearray(banner)

    def write(self, data: bytes) -> None:
        for byte in data:
            if byte == 0x0D:
                self._pending += b"\r\n>>> "
            elif byte >= 0x20:
                self._pending.append(byte)

    def read(self) -> bytes:
        out, self._pending = bytes(self._pending), bytearray()
        return out

    def close(self) -> None:
        self._pending.clear()


class MicroPythonFirmware:
    """The MicroPython unix port behind the simulated UART."""

    def __init__(self, board: "Transport") -> None:
        self._board = board

    def write(self, data: bytes) -> None:
        # Ctrl-C must become SIGINT at the right moment; the transport knows how.
        for index, piece in enumerate(data.split(b"\x03")):
            if index:
                self._board.send_interrupt()
            if piece:
                self._board.write(piece)

    def read(self) -> bytes:
        return self._board.read(timeout=0)

    def close(self) -> None:
        self._board.close()


def start_firmware(kind: str) -> Firmware:
    """"micropython", "banner", or "auto" (MicroPython where the unix port is installed)."""
    if kind == "banner":
        return BannerFirmware()
    try:
        from metakernel_micropython.transport import TransportError
        from metakernel_micropython.transport.virtual_board import VirtualBoardTransport
    except ImportError:
        if kind == "micropython":
            raise
        return BannerFirmware()
    try:
        return MicroPythonFirmware(VirtualBoardTransport())
    except TransportError:
        if kind == "micropython":
            raise
        return BannerFirmware()
