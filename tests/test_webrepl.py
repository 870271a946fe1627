"""%websocketconnect against a WebREPL server that speaks MicroPython's protocol, bridged to a
virtual board (testbeds/webrepl_server.py), on 127.0.0.1 only."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager
from conftest import require_testbed
from kernel_driver import CellResult, KernelSession
from network_link_checks import check_drop_ends_the_cell_and_reconnecting_works, check_interrupt_stops_a_loop

from metakernel_micropython.protocol.raw_repl import FRIENDLY_PROMPT, RawRepl
from metakernel_micropython.transport import LinkClosed, TransportError
from metakernel_micropython.transport.virtual_board import unavailable_reason
from metakernel_micropython.transport.webrepl_link import WebReplTransport, normalise_url
from testbeds.webrepl_server import WebReplServer

PASSWORD = "s3cr3t-pw"  # at most 9 characters, as on a board


@pytest.fixture
def webrepl_server(board_dir: Path) -> Iterator[WebReplServer]:
    require_testbed(unavailable_reason())
    with WebReplServer(board_dir, password=PASSWORD) as server:
        yield server


@pytest.fixture
def webrepl_kernel(kernel: KernelSession, webrepl_server: WebReplServer) -> KernelSession:
    result = kernel.run(f"%websocketconnect {webrepl_server.url} --password {PASSWORD}")
    assert result.status == "ok", result.error_text
    return kernel


def shows_no_password(result: CellResult) -> bool:
    return PASSWORD not in result.stdout + result.stderr + result.error_text + str(result.result)


def test_connect_prints_the_board_and_cells_run(kernel: KernelSession, webrepl_server: WebReplServer) -> None:
    connected = kernel.run(f"%websocketconnect {webrepl_server.url} --password {PASSWORD}")
    assert connected.status == "ok", connected.error_text
    assert f"Connected to WebREPL {webrepl_server.url}: MicroPython" in connected.stdout
    assert shows_no_password(connected)
    printed = kernel.run("for n in range(3):\n    print('line', n)")
    assert printed.stdout == "line 0\nline 1\nline 2\n"
    assert kernel.run("6 * 7").result == "42"
    failed = kernel.run("1 / 0")
    assert failed.error["ename"] == "ZeroDivisionError"
    kernel.run("forgotten = 1")
    rebooted = kernel.run("%reboot", timeout=120)
    assert rebooted.status == "ok", rebooted.error_text
    assert "MicroPython" in rebooted.stdout
    assert kernel.run("'forgotten' in globals()").result == "False"


def test_wrong_password_is_access_denied_and_leaves_no_connection(
        kernel: KernelSession, webrepl_server: WebReplServer) -> None:
    wrong = "not-it"
    result = kernel.run(f"%websocketconnect {webrepl_server.url} --password {wrong}")
    assert result.status == "error"
    assert "Access denied" in result.error_text
    assert wrong not in result.error_text + result.stdout + result.stderr
    assert not webrepl_server.has_client
    after = kernel.run("1 + 1")
    assert after.status == "error"
    assert "No board is connected" in after.error_text


def test_password_from_the_environment(board_dir: Path, webrepl_server: WebReplServer,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROPYTHON_WEBREPL_PASSWORD", PASSWORD)
    session = KernelSession()  # inherits the variable, as a kernel started from a shell would
    try:
        result = session.run(f"%websocketconnect {webrepl_server.url}")
        assert result.status == "ok", result.error_text
        assert shows_no_password(result)
        assert session.run("'env' + 'ok'").result == "'envok'"
        # A board refuses a second WebREPL client: connecting again must close the first.
        again = session.run(f"%websocketconnect {webrepl_server.url}")
        assert again.status == "ok", again.error_text
        assert webrepl_server.connections_accepted == 2
        assert session.run("3 + 4").result == "7"
    finally:
        session.close()


def test_password_prompt_is_not_echoed(kernel: KernelSession, webrepl_server: WebReplServer) -> None:
    prompts: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []

    def answer(message: dict[str, Any]) -> None:
        prompts.append(message["content"])
        kernel.client.input(PASSWORD)

    reply = kernel.client.execute_interactive(
        f"%websocketconnect {webrepl_server.url}", allow_stdin=True, stdin_hook=answer,
        output_hook=outputs.append, timeout=60)
    assert reply["content"]["status"] == "ok"
    assert len(prompts) == 1 and prompts[0]["password"] is True
    assert webrepl_server.url in prompts[0]["prompt"]
    assert PASSWORD not in repr(outputs)
    assert kernel.run("'prompted'").result == "'prompted'"


def test_passwords_stay_out_of_the_kernel_log_even_when_debugging(
        webrepl_server: WebReplServer, tmp_path: Path) -> None:
    log_path = tmp_path / "kernel.log"
    with open(log_path, "w") as log:
        manager = KernelManager(kernel_name="micropython")
        manager.start_kernel(stdout=log, stderr=log, extra_arguments=["--debug"])
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        for typed, status in [("wrong-pw1", "error"), (PASSWORD, "ok")]:
            reply = client.execute_interactive(
                f"%websocketconnect {webrepl_server.url}", allow_stdin=True, timeout=60,
                stdin_hook=lambda _message, typed=typed: client.input(typed), output_hook=lambda _message: None)
            assert reply["content"]["status"] == status
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    logged = log_path.read_text()
    assert "websocketconnect" in logged  # the log is real, and debug level
    assert "wrong-pw1" not in logged and PASSWORD not in logged


def test_interrupt_stops_a_loop_over_webrepl(webrepl_kernel: KernelSession) -> None:
    check_interrupt_stops_a_loop(webrepl_kernel)


def test_drop_ends_the_running_cell_and_connecting_again_works(
        webrepl_kernel: KernelSession, webrepl_server: WebReplServer) -> None:
    check_drop_ends_the_cell_and_reconnecting_works(
        webrepl_kernel, webrepl_server.drop_clients, f"The WebREPL connection to {webrepl_server.url} is gone",
        f"%websocketconnect {webrepl_server.url} --password {PASSWORD}")


def test_mistakes_give_one_line_and_help_says_how(kernel: KernelSession) -> None:
    for cell, message in [
        ("%websocketconnect ftp://host/ --password x", "Not a WebREPL address: 'ftp://host/'"),
        (f"%websocketconnect ws://127.0.0.1:1/ --password {PASSWORD}", "Nothing answers at ws://127.0.0.1:1/"),
        (f"%websocketconnect ws://127.0.0.1:1/ {PASSWORD}", "the password only with --password"),
        # No --password, no variable, and this client allows no input prompt:
        ("%websocketconnect ws://127.0.0.1:1/", "give --password, or set MICROPYTHON_WEBREPL_PASSWORD"),
    ]:
        result = kernel.run(cell)
        assert result.status == "error"
        assert message in result.error_text
        assert len(result.error_text.strip().splitlines()) == 1, result.error_text
        assert PASSWORD not in result.error_text
    text = kernel.run("%help %websocketconnect").help_text
    assert text.lstrip().startswith("%websocketconnect [URL] [--password PW]")
    assert "MICROPYTHON_WEBREPL_PASSWORD" in text and "Examples:" in text


def test_file_magics_round_trip_all_byte_values_over_the_binary_protocol(
        webrepl_kernel: KernelSession, webrepl_server: WebReplServer, tmp_path: Path) -> None:
    data = bytes(range(256)) * 64 + os.urandom(3000)
    source, copy = tmp_path / "all_bytes.bin", tmp_path / "copy.bin"
    source.write_bytes(data)
    sent = webrepl_kernel.run(f"%sendtofile -b --source {source} data/all_bytes.bin -d")
    assert sent.status == "ok", sent.error_text
    assert (webrepl_server.directory / "data" / "all_bytes.bin").read_bytes() == data
    assert webrepl_server.file_requests == 1  # the bytes went as a WebREPL put, not through the REPL
    assert [path.name for path in (webrepl_server.directory / "data").iterdir()] == ["all_bytes.bin"]
    fetched = webrepl_kernel.run(f"%fetchfile data/all_bytes.bin {copy}")
    assert fetched.status == "ok", fetched.error_text
    assert copy.read_bytes() == data
    assert webrepl_server.file_requests == 2
    for cell in ["%mkdir logs", "%ls -l data", "%rm data/all_bytes.bin", "%df"]:
        assert webrepl_kernel.run(cell).status == "ok", cell
    assert (webrepl_server.directory / "logs").is_dir()
    assert not (webrepl_server.directory / "data" / "all_bytes.bin").exists()
    missing = webrepl_kernel.run("%fetchfile no_such_file.txt")
    assert missing.status == "error" and "no_such_file.txt" in missing.error_text
    assert webrepl_kernel.run("'still' + ' connected'").result == "'still connected'"


# -- the binary file protocol, straight through the transport (the file magics use it) -------

def test_binary_put_and_get_round_trip_all_byte_values(webrepl_server: WebReplServer) -> None:
    data = bytes(range(256)) * 41 + b"\x00\x03\x04\x1c"  # not a multiple of a chunk
    link = WebReplTransport(webrepl_server.url, PASSWORD)
    try:
        link.put_file("/all_bytes.bin", data)
        assert (webrepl_server.directory / "all_bytes.bin").read_bytes() == data
        assert link.get_file("all_bytes.bin") == data
        link.put_file("empty.bin", b"")
        assert link.get_file("empty.bin") == b""
        assert webrepl_server.file_requests == 4
    finally:
        link.close()


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 512, 4096 + 17, 20_000])
def test_a_get_that_asks_ahead_takes_exactly_the_chunks_a_file_has(webrepl_server: WebReplServer, size: int) -> None:
    # One request too many would be taken by the board as the start of the next file request:
    # the link must still be in step afterwards, for files and for the REPL.
    data = os.urandom(size)
    (webrepl_server.directory / "sized.bin").write_bytes(data)
    link = WebReplTransport(webrepl_server.url, PASSWORD)
    try:
        assert link.get_file("sized.bin", size=size) == data
        assert link.get_file("sized.bin", size=size) == data
        link.put_file("after.bin", b"in step")
        assert (webrepl_server.directory / "after.bin").read_bytes() == b"in step"
        link.write(b"\r\x02")  # the friendly REPL still answers
        RawRepl(link).read_until(FRIENDLY_PROMPT, 2.0)
    finally:
        link.close()


def test_a_file_longer_than_its_size_said_still_arrives_whole(webrepl_server: WebReplServer) -> None:
    data = os.urandom(3000)
    (webrepl_server.directory / "grew.bin").write_bytes(data)
    link = WebReplTransport(webrepl_server.url, PASSWORD)
    try:
        assert link.get_file("grew.bin", size=1000) == data
        assert link.get_file("grew.bin", size=3000) == data
    finally:
        link.close()


def test_a_file_that_shrank_during_a_get_closes_the_link_with_a_reason(webrepl_server: WebReplServer) -> None:
    (webrepl_server.directory / "shrank.bin").write_bytes(os.urandom(600))
    link = WebReplTransport(webrepl_server.url, PASSWORD)
    try:
        with pytest.raises(LinkClosed, match="got shorter on the board while it was fetched"):
            link.get_file("shrank.bin", size=1600)
    finally:
        link.close()


def test_getting_a_missing_file_says_the_board_dropped_the_connection(webrepl_server: WebReplServer) -> None:
    link = WebReplTransport(webrepl_server.url, PASSWORD)
    try:
        with pytest.raises(LinkClosed, match="cannot open the file"):
            link.get_file("no_such_file.txt")
    finally:
        link.close()


def test_too_long_a_name_is_refused_before_sending(webrepl_server: WebReplServer) -> None:
    link = WebReplTransport(webrepl_server.url, PASSWORD)
    try:
        with pytest.raises(TransportError, match="too long"):
            link.put_file("x" * 64, b"data")
        link.put_file("short.txt", b"still fine")
    finally:
        link.close()


@pytest.mark.parametrize("typed, url", [
    ("192.168.4.1", "ws://192.168.4.1:8266/"),
    ("esp32.local:8270", "ws://esp32.local:8270/"),
    ("ws://10.0.0.7:8266/", "ws://10.0.0.7:8266/"),
    ("wss://board.example/repl", "wss://board.example:8266/repl"),
])
def test_addresses_are_completed_to_webrepl_urls(typed: str, url: str) -> None:
    assert normalise_url(typed) == url


@pytest.mark.parametrize("typed", ["http://host/", "ws://", "ws://host:99999/", "ws://host:port/"])
def test_addresses_that_are_not_webrepl_urls_are_refused(typed: str) -> None:
    with pytest.raises(TransportError, match="Not a WebREPL address"):
        normalise_url(typed)


def test_binary_put_and_get_report_their_progress(webrepl_server: WebReplServer, board_dir: Path) -> None:
    # What the file magics' progress bar is fed while a long file crosses a slow Wi-Fi link.
    data = os.urandom(100_000)
    link = WebReplTransport(webrepl_server.url, PASSWORD)
    sent: list[int] = []
    received: list[int] = []
    try:
        link.put_file("progress.bin", data, sent.append)
        assert link.get_file("progress.bin", received.append) == data
    finally:
        link.close()
    assert len(sent) > 10 and sent == sorted(sent) and sent[-1] == len(data)
    assert len(received) > 10 and received == sorted(received) and received[-1] == len(data)
    assert (board_dir / "progress.bin").read_bytes() == data
