"""%socketconnect against a raw TCP server bridged to a virtual board (testbeds/tcp_board_server.py),
as ESP-Link or ser2net would offer a board's UART, on 127.0.0.1 only."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_testbed
from kernel_driver import KernelSession
from network_link_checks import check_drop_ends_the_cell_and_reconnecting_works, check_interrupt_stops_a_loop

from metakernel_micropython.transport.virtual_board import unavailable_reason
from testbeds.tcp_board_server import TcpBoardServer


@pytest.fixture
def tcp_server(board_dir: Path) -> Iterator[TcpBoardServer]:
    require_testbed(unavailable_reason())
    with TcpBoardServer(board_dir) as server:
        yield server


@pytest.fixture
def tcp_kernel(kernel: KernelSession, tcp_server: TcpBoardServer) -> KernelSession:
    result = kernel.run(f"%socketconnect 127.0.0.1 {tcp_server.port}")
    assert result.status == "ok", result.error_text
    return kernel


def test_connect_prints_the_board_and_cells_and_file_magics_run(
        kernel: KernelSession, tcp_server: TcpBoardServer, tmp_path: Path) -> None:
    connected = kernel.run(f"%socketconnect 127.0.0.1 {tcp_server.port}")
    assert connected.status == "ok", connected.error_text
    assert f"Connected to tcp://127.0.0.1:{tcp_server.port}: MicroPython" in connected.stdout
    assert kernel.run("for n in range(2):\n    print('tcp', n)").stdout == "tcp 0\ntcp 1\n"
    assert kernel.run("[n * n for n in range(4)]").result == "[0, 1, 4, 9]"
    assert kernel.run("import os\nopen('made_here.txt', 'w').write('x')").status == "ok"
    assert (tcp_server.directory / "made_here.txt").read_text() == "x"
    data = bytes(range(256)) * 8  # Ctrl-C and every other byte, through the REPL
    (tmp_path / "all.bin").write_bytes(data)
    assert kernel.run(f"%sendtofile -b --source {tmp_path / 'all.bin'} all.bin").status == "ok"
    assert (tcp_server.directory / "all.bin").read_bytes() == data
    assert kernel.run(f"%fetchfile all.bin {tmp_path / 'back.bin'}").status == "ok"
    assert (tmp_path / "back.bin").read_bytes() == data
    # A bridge serves one client: connecting again must close the first connection.
    again = kernel.run(f"%socketconnect 127.0.0.1 {tcp_server.port}")
    assert again.status == "ok", again.error_text
    assert tcp_server.connections_accepted == 2


def test_interrupt_and_reboot_over_tcp(tcp_kernel: KernelSession) -> None:
    check_interrupt_stops_a_loop(tcp_kernel)
    rebooted = tcp_kernel.run("%reboot", timeout=120)
    assert rebooted.status == "ok", rebooted.error_text
    assert "MicroPython" in rebooted.stdout


def test_drop_ends_the_running_cell_and_connecting_again_works(
        tcp_kernel: KernelSession, tcp_server: TcpBoardServer) -> None:
    check_drop_ends_the_cell_and_reconnecting_works(
        tcp_kernel, tcp_server.drop_clients, f"tcp://127.0.0.1:{tcp_server.port}",
        f"%socketconnect 127.0.0.1 {tcp_server.port}")


def test_mistakes_give_one_line(kernel: KernelSession) -> None:
    for arguments, message in [
        ("127.0.0.1 telnet", "PORT must be a number from 1 to 65535, not 'telnet'"),
        ("127.0.0.1 70000", "PORT must be a number from 1 to 65535"),
        ("127.0.0.1", "the following arguments are required: port"),
    ]:
        result = kernel.run(f"%socketconnect {arguments}")
        assert result.status == "error"
        assert message in result.error_text
        assert "Usage: %socketconnect HOST PORT" in result.error_text
        assert "Traceback" not in result.error_text
    refused = kernel.run("%socketconnect 127.0.0.1 1")
    assert refused.status == "error"
    assert "Cannot connect to 127.0.0.1:1" in refused.error_text
    assert len(refused.error_text.strip().splitlines()) == 1
