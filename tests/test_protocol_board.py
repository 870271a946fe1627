"""The raw REPL engine on the virtual board, on both of its paths for sending code."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require_testbed
from metakernel_micropython.protocol import RawRepl
from metakernel_micropython.transport.virtual_board import VirtualBoardTransport, unavailable_reason


@pytest.fixture
def repl(tmp_path: Path) -> Iterator[RawRepl]:
    require_testbed(unavailable_reason())
    transport = VirtualBoardTransport(tmp_path)
    engine = RawRepl(transport)
    engine.enter_raw_repl()
    yield engine
    transport.close()


def twenty_kb_of_code() -> tuple[str, int]:
    lines = [f"value_{number} = {number} * 3 + len('{'x' * 20}')" for number in range(420)]
    lines.append("print(sum(globals()['value_%d' % n] for n in range(420)))")
    source = "\n".join(lines)
    assert len(source) >= 20_000
    return source, sum(number * 3 + 20 for number in range(420))


@pytest.mark.parametrize("raw_paste", [True, False], ids=["raw-paste", "plain-raw"])
def test_large_code_arrives_intact(repl: RawRepl, raw_paste: bool) -> None:
    source, expected = twenty_kb_of_code()
    if not raw_paste:
        repl.raw_paste_supported = False  # as on firmware older than 1.14
    assert repl.exec_capture(source).strip() == str(expected).encode()
    assert repl.raw_paste_supported is raw_paste


def test_soft_reboot_restarts_the_virtual_board(repl: RawRepl) -> None:
    repl.exec_capture("kept = 1")
    printed = repl.soft_reboot()
    assert b"MicroPython" in printed
    assert repl.exec_capture("print('kept' in globals())").strip() == b"False"


def test_thousands_of_interrupts_never_kill_the_virtual_board(repl: RawRepl) -> None:
    transport = repl.transport
    assert isinstance(transport, VirtualBoardTransport)
    for _ in range(2000):
        transport.send_interrupt()
    assert repl.exec_capture("print(6 * 7)").strip() == b"42"
    assert transport.restarts == 0


def test_interrupts_aimed_at_the_end_of_short_runs(repl: RawRepl) -> None:
    # BOARD-FACTS: a SIGINT landing between runs killed the unix port about once in 100.
    import threading

    transport = repl.transport
    assert isinstance(transport, VirtualBoardTransport)
    for delay in [0.0005 * (n % 20) for n in range(300)]:
        threading.Timer(delay, repl.request_interrupt).start()
        repl.run("x = 1", lambda data: None)
    assert repl.exec_capture("print('alive')").strip() == b"alive"
    assert transport.restarts == 0


def test_small_cells_after_the_first_go_in_one_write_and_still_run(repl: RawRepl) -> None:
    assert repl.exec_capture("print(1)").strip() == b"1"
    assert repl.raw_paste_window
    for number in range(50):
        assert repl.exec_capture(f"print({number} * 2)").strip() == str(number * 2).encode()
    from metakernel_micropython.protocol import BoardError

    with pytest.raises(BoardError) as failure:
        repl.exec_capture("def broken(:\n    pass")
    assert failure.value.ename == "SyntaxError"
    assert repl.exec_capture("print('after')").strip() == b"after"
