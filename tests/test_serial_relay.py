"""The virtual board behind a pty (testbeds/serial_relay.py), seen by serial clients."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from conftest import require_testbed
from metakernel_micropython.transport.virtual_board import unavailable_reason
from testbeds.serial_relay import ESP_IDF_BOOT_LOG, VirtualBoardOnPty

BANNER_START = b"MicroPython "


@pytest.fixture
def relay(board_dir: Path) -> Iterator[VirtualBoardOnPty]:
    require_testbed(unavailable_reason())
    with VirtualBoardOnPty(board_dir) as board:
        yield board


def read_until(link: serial.Serial, ending: bytes, timeout: float = 10.0) -> bytes:
    received = bytearray()
    deadline = time.monotonic() + timeout
    while ending not in received and time.monotonic() < deadline:
        received += link.read(max(1, link.in_waiting))
    return bytes(received)


def open_prompt(port: str) -> serial.Serial:
    """A client at the friendly prompt, with the banner and earlier prompts read."""
    link = serial.Serial(port, 115200, timeout=0.1)
    # The echo holds 'rea'+'dy', never "ready": only the output does. The interpreter
    # drops what it was sent before it started, so ask again until it answers.
    for _attempt in range(5):
        link.write(b"print('rea' + 'dy')\r")
        if b"ready\n>>> " in read_until(link, b"ready\n>>> ", timeout=3):
            return link
    raise AssertionError("the virtual board behind the pty never answered")


def test_a_serial_client_runs_code_in_the_friendly_repl(relay: VirtualBoardOnPty) -> None:
    with open_prompt(relay.port) as link:
        link.write(b"print(6 * 7)\r")
        assert b"42" in read_until(link, b">>> ")


def test_ctrl_c_from_the_client_stops_a_loop(relay: VirtualBoardOnPty) -> None:
    with open_prompt(relay.port) as link:
        # Ctrl-C before the loop runs would be input, as on a real board: wait for it to run.
        link.write(b"exec('print(1 + 1)\\nwhile True: pass')\r")
        read_until(link, b"2")
        link.write(b"\x03")
        assert b"KeyboardInterrupt" in read_until(link, b">>> ")


def test_reset_shows_a_fresh_banner_and_forgets_variables(relay: VirtualBoardOnPty) -> None:
    with open_prompt(relay.port) as link:
        link.write(b"lost = 1\r")
        read_until(link, b">>> ")
        relay.reset()
        assert BANNER_START in read_until(link, b">>> ")
        link.write(b"print(lost)\r")
        assert b"NameError" in read_until(link, b">>> ")


def test_injected_bytes_arrive_as_if_the_board_printed_them(relay: VirtualBoardOnPty) -> None:
    with open_prompt(relay.port) as link:
        relay.inject(ESP_IDF_BOOT_LOG)
        assert ESP_IDF_BOOT_LOG in read_until(link, ESP_IDF_BOOT_LOG)


def test_unplug_makes_the_port_vanish_and_replug_brings_it_back_at_the_same_path(relay: VirtualBoardOnPty) -> None:
    link = open_prompt(relay.port)
    relay.unplug()
    assert not os.path.exists(relay.port)
    with pytest.raises(serial.SerialException):
        link.read(1)
    link.close()
    relay.replug()
    with open_prompt(relay.port) as again:
        again.write(b"print('back')\r")
        assert b"back" in read_until(again, b">>> ")


def test_mpremote_works_through_a_paced_relay(board_dir: Path) -> None:
    require_testbed(unavailable_reason())
    with VirtualBoardOnPty(board_dir, baudrate=115200) as relay:
        mpremote = [sys.executable, "-m", "mpremote", "connect", relay.port]
        # mpremote soft-resets in the raw REPL first: the relay must make that look like a board.
        printed = subprocess.run(mpremote + ["exec", "print(1 + 1)"], capture_output=True, timeout=60)
        assert printed.stdout.strip() == b"2", printed.stderr
        source = board_dir.parent / "data.bin"
        source.write_bytes(bytes(range(256)) * 8)
        copied = subprocess.run(mpremote + ["cp", str(source), ":data.bin"], capture_output=True, timeout=60)
        assert copied.returncode == 0, copied.stderr
        assert (board_dir / "data.bin").read_bytes() == source.read_bytes()
