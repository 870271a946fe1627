"""Faults a real lesson brings (issue 9), each through the kernel on a real testbed.

Boards: the virtual board (`%virtualboard`), the virtual board behind a pty that the kernel
opens as a serial port (testbeds/serial_relay.py: reset, unplug, noise), and the micro:bit
under QEMU. Long forms are marked slow; by default they run in a reduced form.
"""
from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import require_testbed
from kernel_driver import CellResult, KernelSession, connected_kernel
from kernel_probes import (kernel_memory_mb, mixed_cells_total, run_mixed_cell, virtual_board_pid,
                           when_printed)
from metakernel_micropython.transport.virtual_board import unavailable_reason
from testbeds.serial_relay import ESP_IDF_BOOT_LOG, WIFI_LOG_LINES, WRONG_BAUD_GARBAGE, VirtualBoardOnPty

STARTED_THEN_SILENT = "import time\nprint('started')\ntime.sleep(60)"
MEMORY_LIMIT_MB = 300


# Kernels start slowly (seconds): each testbed gets one kernel for the whole module. Every
# test leaves it connected and ready, which is itself what these tests check.
@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualBoardOnPty]:
    """The virtual board behind a pty, paced like a 115200-baud UART."""
    require_testbed(unavailable_reason())
    with VirtualBoardOnPty(tmp_path_factory.mktemp("relay-board"), baudrate=115200) as board:
        yield board


@pytest.fixture(scope="module")
def relay_kernel(relay: VirtualBoardOnPty, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    """A kernel connected over serial to the virtual board behind the pty."""
    with kernel_connected_by(f"%serialconnect --port {relay.port}", tmp_path_factory) as session:
        yield session


@pytest.fixture(scope="module")
def board_kernel_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    """A kernel on its own virtual board (%virtualboard)."""
    require_testbed(unavailable_reason())
    with kernel_connected_by(f"%virtualboard --dir {tmp_path_factory.mktemp('board')}", tmp_path_factory) as session:
        yield session


@pytest.fixture(scope="module")
def microbit_kernel_module(microbit: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    with kernel_connected_by(f"%serialconnect --port {microbit.port}", tmp_path_factory) as session:
        yield session


def kernel_connected_by(connect_cell: str,
                        tmp_path_factory: pytest.TempPathFactory) -> contextlib.AbstractContextManager[KernelSession]:
    """A kernel that ran `connect_cell`; the serial port it remembers as the last one used
    (for %serialconnect with no port) is its own, not the user's."""
    state_home = tmp_path_factory.mktemp("state")
    return connected_kernel(connect_cell, env={**os.environ, "XDG_STATE_HOME": str(state_home)})


def assert_rebooted_and_ready(kernel: KernelSession, result: CellResult) -> None:
    assert result.status == "error"
    assert result.error["ename"] == "BoardRebooted"
    assert "The board rebooted while the cell was running" in result.error_text
    assert "The connection is ready for the next cell" in result.error_text
    assert "[board] MicroPython " in result.error_text  # the banner it printed
    assert "started" in result.stdout
    assert kernel.run("print(6 * 7)").stdout == "42\n"


# -- board reset in the middle of a cell --------------------------------------------------
def test_virtual_board_killed_mid_cell_ends_the_cell_with_its_banner(board_kernel_module: KernelSession) -> None:
    kill = lambda: os.kill(virtual_board_pid(board_kernel_module), signal.SIGKILL)  # noqa: E731
    result = board_kernel_module.run(STARTED_THEN_SILENT, timeout=30, on_message=when_printed("started", kill))
    assert_rebooted_and_ready(board_kernel_module, result)


def test_reset_button_mid_cell_on_a_serial_board(relay_kernel: KernelSession, relay: VirtualBoardOnPty) -> None:
    relay_kernel.run("lost = 'a variable the reset clears'")
    result = relay_kernel.run(STARTED_THEN_SILENT, timeout=30, on_message=when_printed("started", relay.reset))
    assert_rebooted_and_ready(relay_kernel, result)
    assert relay_kernel.run("print('lost' in globals())").stdout == "False\n"


def test_reset_between_cells_is_reported_and_the_next_cell_runs(relay_kernel: KernelSession,
                                                               relay: VirtualBoardOnPty) -> None:
    relay.reset()
    result = relay_kernel.run("print(1 + 1)")
    assert result.stdout == "2\n"
    assert "The board rebooted since the last cell" in result.stderr


def test_microbit_restarted_mid_cell(microbit_kernel_module: KernelSession, microbit: Any) -> None:
    result = microbit_kernel_module.run(STARTED_THEN_SILENT, timeout=60, on_message=when_printed("started", microbit.restart))
    assert_rebooted_and_ready(microbit_kernel_module, result)


# -- link gone ------------------------------------------------------------------------------
def check_unplug_ends_the_cell_and_serialconnect_reconnects(kernel: KernelSession, board: Any) -> None:
    """`board` is a testbed with .port, .unplug() and .replug(): the relay or the micro:bit."""
    result = kernel.run(STARTED_THEN_SILENT, timeout=60, on_message=when_printed("started", board.unplug))
    assert result.status == "error"
    assert result.error["ename"] == "LinkClosed"
    assert f"run %serialconnect (it reconnects to {board.port})" in result.error_text
    assert "Traceback" not in result.error_text

    next_cell = kernel.run("print(1)")
    assert next_cell.status == "error"
    assert f"The link to {board.port} at 115200 baud was lost" in next_cell.error_text
    assert "%serialconnect" in next_cell.error_text

    board.replug()
    again = kernel.run("%serialconnect", timeout=120)
    assert again.status == "ok", again.error_text
    assert board.port in again.stdout
    assert kernel.run("print('back')").stdout == "back\n"


def test_unplugged_cable_ends_the_cell_and_serialconnect_reconnects(relay_kernel: KernelSession,
                                                                    relay: VirtualBoardOnPty) -> None:
    check_unplug_ends_the_cell_and_serialconnect_reconnects(relay_kernel, relay)


def test_microbit_unplugged_mid_cell(microbit_kernel_module: KernelSession, microbit: Any) -> None:
    check_unplug_ends_the_cell_and_serialconnect_reconnects(microbit_kernel_module, microbit)


# -- boot noise -----------------------------------------------------------------------------
NOISE = WRONG_BAUD_GARBAGE + b"\r\n" + ESP_IDF_BOOT_LOG + WIFI_LOG_LINES


def test_noise_before_connecting_and_between_cells_never_reaches_a_cells_output(
        relay_kernel: KernelSession, relay: VirtualBoardOnPty) -> None:
    relay_kernel.run("%disconnect")
    relay.inject(NOISE)
    connected = relay_kernel.run(f"%serialconnect --port {relay.port}")
    assert connected.status == "ok", connected.error_text
    relay_kernel.run("x = 1")
    for noise in (WIFI_LOG_LINES, WRONG_BAUD_GARBAGE + b"\r\n", NOISE):
        relay.inject(noise)
        result = relay_kernel.run("print('x is', x)")
        assert result.stdout == "x is 1\n", result
    relay.inject(WIFI_LOG_LINES)
    shown = relay_kernel.run("print('clean')")
    assert shown.stdout == "clean\n"
    assert "[board] I (1240) wifi:state: init -> auth (b0)" in shown.stderr


def test_noise_arriving_as_a_cell_starts_does_not_break_the_protocol(relay_kernel: KernelSession,
                                                                     relay: VirtualBoardOnPty) -> None:
    for noise in (WIFI_LOG_LINES, WRONG_BAUD_GARBAGE):
        relay.inject(noise * 4, wait=False)  # still arriving during the paste handshake
        result = relay_kernel.run("print('y' * 3)")
        assert result.status == "ok", result.error_text
        assert result.stdout.endswith("yyy\n")  # what lands mid-run is the board's output
    assert relay_kernel.run("print('z')").stdout == "z\n"


def test_unreadable_noise_is_summarized(relay_kernel: KernelSession, relay: VirtualBoardOnPty) -> None:
    relay.inject(WRONG_BAUD_GARBAGE + b"\r\n")
    result = relay_kernel.run("print(2)")
    assert result.stdout == "2\n"
    assert "unreadable characters" in result.stderr


# -- output flood ---------------------------------------------------------------------------
TEN_MEGABYTES = "line = 'x' * 1023\nfor n in range(10240):\n    print(line)\nprint('the end')"


def test_ten_megabytes_of_output_are_cut_to_the_tail_in_bounded_memory(board_kernel_module: KernelSession) -> None:
    result = board_kernel_module.run(TEN_MEGABYTES, timeout=120)
    assert result.status == "ok", result.error_text
    assert len(result.stdout) < 1_000_000
    assert "skipping output" in result.stdout
    assert "characters skipped" in result.stdout
    assert result.stdout.endswith("the end\n")
    assert kernel_memory_mb(board_kernel_module, "VmHWM") < MEMORY_LIMIT_MB


def test_interrupt_stops_a_flood(board_kernel_module: KernelSession) -> None:
    flood = "line = 'y' * 1023\nwhile True:\n    print(line)"
    result = board_kernel_module.run(flood, timeout=60, on_message=when_printed("yyyy", board_kernel_module.interrupt))
    assert result.error["ename"] == "KeyboardInterrupt"
    assert board_kernel_module.run("print('calm')").stdout == "calm\n"


# -- long session ---------------------------------------------------------------------------
def run_mixed_cells(kernel: KernelSession, count: int) -> None:
    kernel.run("total = 0")
    for number in range(count):
        run_mixed_cell(kernel, number)
    assert kernel.run("total").result == str(mixed_cells_total(count))


def check_long_session(kernel: KernelSession, count: int) -> None:
    run_mixed_cells(kernel, 20)  # warm up: imports, caches, first allocations
    before = kernel_memory_mb(kernel)
    run_mixed_cells(kernel, count)
    assert kernel_memory_mb(kernel) - before < 30, "the kernel's memory grows with every cell"


def test_a_session_of_mixed_cells(board_kernel_module: KernelSession) -> None:
    check_long_session(board_kernel_module, 150)


@pytest.mark.slow
def test_a_lesson_of_a_thousand_cells(board_kernel_module: KernelSession) -> None:
    check_long_session(board_kernel_module, 1000)


# -- slow board -----------------------------------------------------------------------------
def test_a_board_silent_for_longer_than_any_protocol_timeout_is_still_running(board_kernel_module: KernelSession) -> None:
    # The protocol's longest wait for an answer is 10 s (end of a paste, "OK"): 12 s of
    # silence would end a cell that any of them guarded. The slow variant waits a minute.
    result = board_kernel_module.run("import time\ntime.sleep(12)\nprint('awake')", timeout=60)
    assert result.status == "ok", result.error_text
    assert result.stdout == "awake\n"


@pytest.mark.slow
def test_a_board_silent_for_a_minute_is_still_running(board_kernel_module: KernelSession) -> None:
    result = board_kernel_module.run("import time\ntime.sleep(65)\nprint('awake')", timeout=120)
    assert result.status == "ok", result.error_text
    assert result.stdout == "awake\n"


# -- kernel restart -------------------------------------------------------------------------
def restart_and_reconnect(kernel: KernelSession) -> CellResult:
    kernel.manager.restart_kernel(now=False)
    kernel.client.wait_for_ready(timeout=60)
    return kernel.run("%serialconnect", timeout=120)


def test_kernel_restart_leaves_a_serial_board_running(relay_kernel: KernelSession,
                                                      relay: VirtualBoardOnPty) -> None:
    relay_kernel.run("kept = 'still here'\nwith open('notes.txt', 'w') as f:\n    f.write('saved')")
    board_process = relay.pid
    reconnected = restart_and_reconnect(relay_kernel)
    assert reconnected.status == "ok", reconnected.error_text
    assert relay.port in reconnected.stdout
    assert relay.pid == board_process  # never reset
    assert relay_kernel.run("print(kept)").stdout == "still here\n"
    assert (relay.directory / "notes.txt").read_text() == "saved"


def test_kernel_restart_leaves_the_microbit_running(microbit_kernel_module: KernelSession, microbit: Any) -> None:
    microbit_kernel_module.run("kept = 1234")
    boots = microbit.boots
    reconnected = restart_and_reconnect(microbit_kernel_module)
    assert reconnected.status == "ok", reconnected.error_text
    assert microbit.boots == boots
    assert microbit_kernel_module.run("print(kept)").stdout == "1234\n"
