"""The raw REPL engine against scripted byte streams: one layer, no board.

Each script answers what a board of a given kind answers on the wire.
"""
from __future__ import annotations

import pytest

from metakernel_micropython.protocol import BoardNotAnswering, BoardRebooted, RawRepl
from metakernel_micropython.transport import Transport

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"


class ScriptedBoard(Transport):
    """Answers writes with scripted replies: a list of (expected write suffix, reply)."""

    def __init__(self, replies: list[tuple[bytes, bytes]]) -> None:
        self.replies = replies
        self.written = bytearray()
        self.outbox = bytearray()
        self.interrupts = 0

    def read(self, max_bytes: int = 4096, timeout: float = 0.05) -> bytes:
        data = bytes(self.outbox[:max_bytes])
        del self.outbox[:max_bytes]
        return data

    def write(self, data: bytes) -> None:
        self.written += data
        while self.replies and self.written.endswith(self.replies[0][0]):
            self.outbox += self.replies.pop(0)[1]

    def send_interrupt(self) -> None:
        self.interrupts += 1

    def close(self) -> None:
        pass


def entered(replies: list[tuple[bytes, bytes]]) -> tuple[RawRepl, ScriptedBoard]:
    board = ScriptedBoard([(b"\r\x01", b"\r\n" + RAW_BANNER)] + replies)
    repl = RawRepl(board)
    repl.enter_raw_repl(timeout=0.5)
    return repl, board


def test_raw_paste_respects_the_window() -> None:
    code = b"x" * 300
    script = [(b"\x05A\x01", b"R\x01\x80\x00\x01")]  # window 128, plus the unix port's spare grant
    repl, board = entered(script)
    writes: list[int] = []
    original_write = board.write

    def grant_after_each_window(data: bytes) -> None:
        writes.append(len(data))
        original_write(data)
        if data not in (b"\x04",) and len(data) > 3:
            board.outbox += b"\x01"
        if data == b"\x04":
            board.outbox += b"\x04done\r\n\x04\x04>"

    board.write = grant_after_each_window  # type: ignore[method-assign]
    output = bytearray()
    result = repl.run(code, output.extend)
    assert bytes(output) == b"done\r\n"
    assert result.stderr == b""
    assert max(writes[1:-1]) <= 128
    assert board.written.endswith(code + b"\x04")
    assert repl.raw_paste_supported is True


def test_old_firmware_falls_back_to_plain_raw_mode() -> None:
    # MicroPython 1.9.2 ignores the raw-paste request and prints the banner again.
    repl, board = entered([(b"\x05A\x01", b"\r\n" + RAW_BANNER), (b"\x04", b"OK2\r\n\x04\x04>")])
    output = bytearray()
    repl.run("print(1+1)", output.extend)
    assert bytes(output) == b"2\r\n"
    assert repl.raw_paste_supported is False
    assert board.written.endswith(b"print(1+1)\x04")


def test_board_refusing_raw_paste_falls_back() -> None:
    repl, _ = entered([(b"\x05A\x01", b"R\x00"), (b"\x04", b"OK\x04\x04>")])
    repl.run("pass", lambda data: None)
    assert repl.raw_paste_supported is False


def test_exception_goes_to_stderr_section() -> None:
    traceback = b'Traceback (most recent call last):\r\n  File "<stdin>", line 1\r\nValueError: x\r\n'
    repl, _ = entered([(b"\x05A\x01", b"R\x00"), (b"\x04", b"OK\x04" + traceback + b"\x04>")])
    result = repl.run("raise ValueError('x')", lambda data: None)
    assert result.stderr == traceback


def test_log_lines_before_the_prompt_do_not_break_entry() -> None:
    board = ScriptedBoard([(b"\r\x01", b"I (1234) wifi: connected\r\nE (99) boot: x\r\n" + RAW_BANNER)])
    printed = RawRepl(board).enter_raw_repl(timeout=0.5)
    assert b"wifi" in printed


def test_silent_board_is_reported_with_what_it_printed() -> None:
    board = ScriptedBoard([(b"\r\x01", b"\xff\xfe noise")])
    with pytest.raises(BoardNotAnswering) as failure:
        RawRepl(board).enter_raw_repl(timeout=0.2)
    assert b"noise" in failure.value.received


def test_reboot_banner_mid_run_is_recognised() -> None:
    repl, _ = entered([(b"\x05A\x01", b"R\x00"),
                       (b"\x04", b"OKpartial\r\nets Jun  8 2016 00:22:57\r\nrst:0x1 (POWERON_RESET)\r\n")])
    with pytest.raises(BoardRebooted):
        repl.run("while True: pass", lambda data: None)


def test_interrupt_request_sends_ctrl_c() -> None:
    repl, board = entered([(b"\x05A\x01", b"R\x00"), (b"\x04", b"OK")])
    original_interrupt = board.send_interrupt
    original_write = board.write

    def interrupt_then_finish() -> None:
        original_interrupt()
        board.outbox += b"\x04Traceback\r\nKeyboardInterrupt: \r\n\x04>"

    def press_interrupt_once_running(data: bytes) -> None:
        original_write(data)
        if data.endswith(b"\x04"):  # the end of the cell: it runs now
            repl.request_interrupt()  # the user presses Kernel -> Interrupt

    board.send_interrupt = interrupt_then_finish  # type: ignore[method-assign]
    board.write = press_interrupt_once_running  # type: ignore[method-assign]
    board.interrupts = 0
    result = repl.run("while True: pass", lambda data: None)
    assert result.interrupted
    assert board.interrupts == 1
    assert b"KeyboardInterrupt" in result.stderr
