"""The list of boards to choose from: serial ports (likely boards marked) and the virtual board.

Plain text, no ipywidgets: the port picker shows these labels, and where widgets cannot
be shown the same list is printed.
"""
from __future__ import annotations

from ..services.ports import PortInfo

VIRTUAL_BOARD = "virtual board"
VIRTUAL_BOARD_LABEL = "Virtual board: MicroPython on this computer, no hardware needed"
LIKELY_BOARD_MARK = "★"


def port_label(port: PortInfo) -> str:
    """One line per port: device, description, VID:PID, and a mark on likely boards."""
    return f"{LIKELY_BOARD_MARK if port.board_hint else ' '} {port.summary()}"


def port_choices(ports: list[PortInfo]) -> list[tuple[str, str]]:
    """(label, value) pairs: the serial ports (likely boards first), then the virtual board."""
    return [(port_label(port), port.device) for port in ports] + [(VIRTUAL_BOARD_LABEL, VIRTUAL_BOARD)]


def port_list_text(ports: list[PortInfo]) -> str:
    """The picker's list as text, for where widgets cannot be shown."""
    lines = ["Boards and ports found (★ = likely a MicroPython board):"]
    lines += [f"  {port_label(port)}" for port in ports] or ["  (no serial port found)"]
    lines.append(f"  {VIRTUAL_BOARD_LABEL}")
    lines.append("Connect with %serialconnect --port PORT [--baud BAUD], or %virtualboard.")
    return "\n".join(lines)
