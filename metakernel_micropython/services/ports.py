"""Finding serial ports and guessing which of them is a MicroPython board."""
from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports

#: USB vendor (and product) ids of boards and USB-serial chips that carry MicroPython boards.
KNOWN_USB_IDS: dict[tuple[int, int | None], str] = {
    (0x303A, None): "Espressif (ESP32-S2/S3/C3/C6 native USB)",
    (0x10C4, 0xEA60): "Silicon Labs CP210x (ESP32/ESP8266 boards)",
    (0x1A86, 0x7523): "WCH CH340 (ESP32/ESP8266 boards)",
    (0x1A86, 0x55D4): "WCH CH9102 (ESP32 boards)",
    (0x1A86, 0x55D3): "WCH CH343 (ESP32 boards)",
    (0x0403, 0x6001): "FTDI FT232",
    (0x0403, 0x6010): "FTDI FT2232",
    (0x0403, 0x6015): "FTDI FT231X",
    (0x2E8A, 0x0005): "Raspberry Pi RP2040 (MicroPython)",
    (0x2E8A, None): "Raspberry Pi (RP2040/RP2350)",
    (0x0D28, 0x0204): "BBC micro:bit (DAPLink)",
    (0xF055, 0x9800): "pyboard (MicroPython)",
    (0x239A, None): "Adafruit",
    (0x1915, None): "Nordic Semiconductor",
}


@dataclass(frozen=True)
class PortInfo:
    device: str
    description: str
    vid: int | None
    pid: int | None
    board_hint: str | None  #: why it looks like a board, or None

    @property
    def usb_id(self) -> str:
        return f"{self.vid:04X}:{self.pid:04X}" if self.vid is not None and self.pid is not None else ""

    def summary(self) -> str:
        parts = [self.device, self.description]
        if self.usb_id:
            parts.append(self.usb_id)
        if self.board_hint:
            parts.append(f"likely a board: {self.board_hint}")
        return "  ".join(part for part in parts if part)


def board_hint(vid: int | None, pid: int | None) -> str | None:
    if vid is None:
        return None
    return KNOWN_USB_IDS.get((vid, pid)) or KNOWN_USB_IDS.get((vid, None))


def list_serial_ports() -> list[PortInfo]:
    """All serial ports, likely boards first."""
    ports = [
        PortInfo(port.device, port.description if port.description != "n/a" else "",
                 port.vid, port.pid, board_hint(port.vid, port.pid))
        for port in list_ports.comports()
    ]
    return sorted(ports, key=lambda port: (port.board_hint is None, port.device))


def likely_boards(ports: list[PortInfo] | None = None) -> list[PortInfo]:
    return [port for port in (list_serial_ports() if ports is None else ports) if port.board_hint]
