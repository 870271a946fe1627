"""Issue 7: the port picker panel (%connectpanel).

The panel is driven twice: in this process (its buttons clicked in Python) and through the
kernel as a browser drives it (widget messages over jupyter_client). The browser itself
is in tests/browser/.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from conftest import require_testbed
from kernel_driver import KernelSession
from metakernel_micropython.services.connection import ConnectionManager
from metakernel_micropython.services.ports import PortInfo, board_hint
from metakernel_micropython.widgets import WIDGET_MIME
from metakernel_micropython.widgets.port_list import VIRTUAL_BOARD, port_list_text
from metakernel_micropython.widgets.port_picker import PortPicker

ESP32_ON_CP2102 = PortInfo("/dev/ttyUSB0", "CP2102 USB to UART Bridge Controller", 0x10C4, 0xEA60,
                           board_hint(0x10C4, 0xEA60))
BUILT_IN_UART = PortInfo("/dev/ttyS0", "", None, None, None)


@pytest.fixture
def manager() -> Any:
    connection = ConnectionManager()
    yield connection
    connection.disconnect()


def _virtual_board_reason() -> str | None:
    from metakernel_micropython.transport.virtual_board import unavailable_reason
    return unavailable_reason()


# -- the panel, in this process -------------------------------------------------------
def test_list_shows_description_usb_id_mark_and_the_virtual_board(manager: ConnectionManager) -> None:
    picker = PortPicker(manager, find_ports=lambda: [ESP32_ON_CP2102, BUILT_IN_UART])
    labels = [label for label, _value in picker.choice.options]
    assert labels[0].startswith("★ /dev/ttyUSB0")
    assert "CP2102 USB to UART" in labels[0] and "10C4:EA60" in labels[0]
    assert not labels[1].startswith("★")
    assert picker.choice.options[-1][1] == VIRTUAL_BOARD
    assert picker.choice.value == "/dev/ttyUSB0"  # the only likely board is preselected
    assert picker.baud.value == 115200


def test_text_form_lists_the_same_entries() -> None:
    text = port_list_text([ESP32_ON_CP2102, BUILT_IN_UART])
    assert "★ /dev/ttyUSB0" in text and "10C4:EA60" in text and "/dev/ttyS0" in text
    assert "Virtual board" in text and "%serialconnect --port" in text


def test_refresh_picks_up_a_board_plugged_in_later(manager: ConnectionManager) -> None:
    plugged: list[PortInfo] = []
    picker = PortPicker(manager, find_ports=lambda: list(plugged))
    assert picker.choice.value == VIRTUAL_BOARD
    plugged.append(ESP32_ON_CP2102)
    picker.refresh_button.click()
    assert [value for _label, value in picker.choice.options] == ["/dev/ttyUSB0", VIRTUAL_BOARD]


def test_connect_and_disconnect_buttons_on_the_virtual_board(manager: ConnectionManager) -> None:
    require_testbed(_virtual_board_reason())
    picker = PortPicker(manager, find_ports=list)
    picker.connect_button.click()
    assert picker.status.value.startswith("Connected to virtual board")
    assert "MicroPython" in picker.status.value  # the banner
    assert manager.board is not None and manager.board.eval("6 * 7") == 42
    picker.disconnect_button.click()
    assert picker.status.value.startswith("Disconnected from virtual board")
    assert manager.board is None


def test_typed_port_connects_to_the_microbit(manager: ConnectionManager, microbit: Any) -> None:
    picker = PortPicker(manager, find_ports=list)
    picker.other_port.value = microbit.port
    picker.connect_button.click()
    assert "micro:bit" in picker.status.value, picker.status.value


def test_failed_connect_says_why_in_the_status_line(manager: ConnectionManager, tmp_path: Path) -> None:
    picker = PortPicker(manager, find_ports=list)
    picker.other_port.value = str(tmp_path / "ttyNOPE")
    picker.connect_button.click()
    assert picker.status.value.startswith(f"Could not connect to {tmp_path / 'ttyNOPE'}: ")
    assert "\n" not in picker.status.value and "Traceback" not in picker.status.value
    assert manager.board is None


# -- the panel, through the kernel ----------------------------------------------------
def _run_collecting(session: KernelSession, code: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    reply = session.client.execute_interactive(code, output_hook=messages.append, timeout=60)
    assert reply["content"]["status"] == "ok"
    return messages


def _widget_models(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """comm id -> widget state, as a browser knows it after a cell: opened, then updated."""
    models: dict[str, dict[str, Any]] = {}
    for message in messages:
        if message["msg_type"] in ("comm_open", "comm_msg"):
            state = message["content"]["data"].get("state", {})
            models.setdefault(message["content"]["comm_id"], {}).update(state)
    return models


def _click(session: KernelSession, comm_id: str) -> None:
    """What the browser sends when a Button is clicked."""
    content = {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}}
    session.client.shell_channel.send(session.client.session.msg("comm_msg", content))


def _label_updates(session: KernelSession, comm_id: str, until: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = session.client.get_iopub_msg(timeout=timeout)
        if message["msg_type"] == "comm_msg" and message["content"]["comm_id"] == comm_id:
            value = message["content"]["data"].get("state", {}).get("value", "")
            if value.startswith(until):
                return value
    raise AssertionError(f"the status line never said {until!r}")


def test_connectpanel_shows_the_panel_with_a_text_fallback(kernel: KernelSession) -> None:
    result = kernel.run("%connectpanel")
    assert result.status == "ok"
    bundle = result.displays[0]["data"]
    assert WIDGET_MIME in bundle
    assert "Virtual board" in bundle["text/plain"] and "Not connected." in bundle["text/plain"]


def test_connectpanel_text_prints_the_list(kernel: KernelSession) -> None:
    result = kernel.run("%connectpanel --text")
    assert "Virtual board" in result.stdout and not result.displays


def test_clicking_connect_in_the_panel_gives_a_board_for_the_next_cell(kernel: KernelSession) -> None:
    require_testbed(_virtual_board_reason())
    models = _widget_models(_run_collecting(kernel, "%connectpanel"))
    dropdowns = [comm for comm, state in models.items() if state.get("description") == "Board"]
    connect = [comm for comm, state in models.items() if state.get("description") == "Connect"]
    status = [comm for comm, state in models.items() if state.get("value") == "Not connected."]
    assert len(dropdowns) == len(connect) == len(status) == 1
    labels = models[dropdowns[0]]["_options_labels"]
    virtual_index = next(index for index, label in enumerate(labels) if label.startswith("Virtual board"))
    kernel.client.shell_channel.send(kernel.client.session.msg("comm_msg", {
        "comm_id": dropdowns[0], "data": {"method": "update", "state": {"index": virtual_index}}}))
    _click(kernel, connect[0])
    banner = _label_updates(kernel, status[0], until="Connected to")
    assert "MicroPython" in banner
    result = kernel.run("print('hello from the panel')\n6 * 7")
    assert result.stdout == "hello from the panel\n" and result.result == "42"
