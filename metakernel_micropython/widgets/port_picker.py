"""The port picker: choose a board from a list, connect and disconnect with buttons.

It calls the same connection services as %serialconnect, %virtualboard and %disconnect.
Its buttons act between cells (the kernel handles widget messages then), so they never
interrupt a running cell.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import ipywidgets as widgets

from ..services.connect import DEFAULT_BAUD, connect_serial, connect_virtual_board
from ..services.connection import ConnectionManager, remembered_serial_port
from ..services.ports import PortInfo, list_serial_ports
from .port_list import VIRTUAL_BOARD, port_choices, port_list_text

_log = logging.getLogger(__name__)

BAUD_RATES = (9600, 57600, 115200, 230400, 460800, 921600)


class PortPicker:
    """The panel: port list, refresh, baud rate, Connect, Disconnect and a status line."""

    def __init__(self, connection: ConnectionManager,
                 find_ports: Callable[[], list[PortInfo]] = list_serial_ports) -> None:
        self.connection = connection
        self._find_ports = find_ports
        self.ports: list[PortInfo] = []
        layout = widgets.Layout(width="auto")
        self.choice = widgets.Dropdown(description="Board", layout=widgets.Layout(width="42em"))
        self.other_port = widgets.Text(
            description="or port", placeholder="/dev/ttyUSB0, COM5, rfc2217://host:4000",
            layout=widgets.Layout(width="42em"))
        self.baud = widgets.Dropdown(description="Baud", options=BAUD_RATES, value=DEFAULT_BAUD,
                                     layout=widgets.Layout(width="14em"))
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh", layout=layout)
        self.connect_button = widgets.Button(description="Connect", button_style="success", icon="plug",
                                             layout=layout)
        self.disconnect_button = widgets.Button(description="Disconnect", icon="times", layout=layout)
        self.status = widgets.Label(value=self._current_state())
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.connect_button.on_click(lambda _button: self.connect())
        self.disconnect_button.on_click(lambda _button: self.disconnect())
        self.view = widgets.VBox([
            widgets.HTML("<b>Connect to a MicroPython board</b>"),
            self.choice, self.other_port,
            widgets.HBox([self.baud, self.refresh_button, self.connect_button, self.disconnect_button]),
            self.status,
        ])
        self.view.add_class("mpk-port-picker")
        self.refresh()

    def refresh(self) -> None:
        """List the ports again; keeps the selection if that port is still there."""
        previous = self.choice.value
        self.ports = self._find_ports()
        choices = port_choices(self.ports)
        self.choice.options = choices
        values = [value for _label, value in choices]
        self.choice.value = previous if previous in values else self._preferred(values)

    def _preferred(self, values: list[str]) -> str:
        """The only likely board, else the port used last time, else the first in the list."""
        likely = [port.device for port in self.ports if port.board_hint]
        remembered = remembered_serial_port()
        if len(likely) == 1:
            return likely[0]
        if remembered and remembered[0] in values:
            return remembered[0]
        return values[0]

    def connect(self) -> None:
        port = self.other_port.value.strip() or self.choice.value
        self.status.value = f"Connecting to {port} ..."
        try:
            if port == VIRTUAL_BOARD:
                described = connect_virtual_board(self.connection)
            else:
                described = connect_serial(self.connection, port, int(self.baud.value))
        except Exception as error:  # a button has nobody to raise to: the status line tells
            _log.debug("connect from the port picker failed", exc_info=True)
            self.status.value = f"Could not connect to {port}: {_one_line(error)}"
            return
        self.status.value = f"Connected to {described}"

    def disconnect(self) -> None:
        described = self.connection.disconnect()
        self.status.value = f"Disconnected from {described}." if described else "No board was connected."

    def text(self) -> str:
        return port_list_text(self.ports) + "\n" + self.status.value

    def _current_state(self) -> str:
        board = self.connection.board
        return f"Connected to {board.description}" if board is not None else "Not connected."


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
