"""Issue 7: Tab completion and `obj?` / Shift-Tab inspection, answered by the board itself.

Kernel tests go through jupyter_client (complete_request, inspect_request) on both testbeds;
one service test holds a run in another thread to see that completion answers nothing then.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import require_testbed
from kernel_driver import KernelSession, connected_kernel


@pytest.fixture(scope="module", params=["virtual", "microbit"])
def board_kernel(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    """One kernel per testbed for the whole module: completion only reads, and kernels are slow to start."""
    if request.param == "virtual":
        from metakernel_micropython.transport.virtual_board import unavailable_reason

        require_testbed(unavailable_reason())
        connect = f"%virtualboard --dir {tmp_path_factory.mktemp('board')}"
    else:
        connect = f"%serialconnect --port {request.getfixturevalue('microbit').port}"
    with connected_kernel(connect) as session:
        yield session


def _complete(session: KernelSession, code: str, cursor_pos: int | None = None) -> dict[str, Any]:
    reply = session.client.complete(code, cursor_pos, reply=True, timeout=30)
    assert reply["content"]["status"] == "ok"
    return reply["content"]


def _inspect(session: KernelSession, code: str, detail_level: int = 0) -> dict[str, Any]:
    return session.client.inspect(code, len(code), detail_level, reply=True, timeout=30)["content"]


def test_tab_after_os_completes_from_the_board(board_kernel: KernelSession) -> None:
    content = _complete(board_kernel, "os.li")
    assert "os.listdir" in content["matches"]
    assert content["cursor_start"] == 0 and content["cursor_end"] == len("os.li")


def test_tab_after_machine_lists_the_boards_own_names(board_kernel: KernelSession) -> None:
    # Each port's machine module has its own names: they come from the board's dir().
    matches = _complete(board_kernel, "machine.")["matches"]
    if "microbit" in board_kernel.run("import sys\nsys.platform").result:
        assert "machine.reset" in matches and "machine.soft_reset" not in matches
        assert "microbit.display" in _complete(board_kernel, "microbit.dis")["matches"]
        return
    assert "machine.soft_reset" in matches and "machine.mem32" in matches
    assert "machine.Pin" not in matches


def test_user_variables_complete_inside_an_expression(board_kernel: KernelSession) -> None:
    board_kernel.run("readings = [1, 2, 3]")
    code = "total = sum(readings.cou"
    content = _complete(board_kernel, code)
    assert content["matches"] == ["readings.count"]
    assert content["cursor_start"] == code.index("readings")
    assert "readings" in _complete(board_kernel, "rea")["matches"]


def test_completion_leaves_the_users_globals_and_underscore_alone(board_kernel: KernelSession) -> None:
    board_kernel.run("6 * 7")
    board_kernel.run("names_before = sorted(globals())")
    _complete(board_kernel, "os.")
    _inspect(board_kernel, "os.listdir")
    checked = board_kernel.run(
        "underscore = _\n"
        "names_now = sorted(name for name in globals() if name not in ('names_before', 'underscore'))\n"
        "print(underscore, names_now == names_before)")
    assert checked.stdout == "42 True\n"


def test_user_files_are_not_imported_to_complete_them(virtual_kernel: KernelSession, board_dir: Path) -> None:
    (board_dir / "blink.py").write_text("print('blink ran')\nSPEED = 3\n")
    assert _complete(virtual_kernel, "blink.")["matches"] == []
    assert "blink ran" not in virtual_kernel.run("print('next cell')").stdout


def test_shift_tab_shows_type_and_repr(board_kernel: KernelSession) -> None:
    board_kernel.run("readings = [1, 2, 3]")
    content = _inspect(board_kernel, "readings")
    assert content["found"]
    text = content["data"]["text/plain"]
    assert "list" in text and "[1, 2, 3]" in text


def test_question_mark_cell_shows_the_board_object(board_kernel: KernelSession) -> None:
    result = board_kernel.run("os.listdir?")
    assert result.status == "ok"
    assert "function" in result.help_text


def test_double_question_mark_also_lists_the_names(board_kernel: KernelSession) -> None:
    result = board_kernel.run("machine??")
    assert "module" in result.help_text and "mem32" in result.help_text


def test_unknown_name_and_no_board_answer_in_one_line(kernel: KernelSession) -> None:
    assert _complete(kernel, "os.li")["matches"] == []
    assert not _inspect(kernel, "os")["found"]
    assert kernel.run("os?").help_text == "No help on 'os': no board is connected."


def test_nonsense_is_not_sent_to_the_board(board_kernel: KernelSession) -> None:
    assert not _inspect(board_kernel, "no_such_name")["found"]
    assert "no such name" in board_kernel.run("no_such_name?").help_text
    assert board_kernel.run("print(1 + 1)").stdout == "2\n"


def test_completion_sent_while_a_cell_runs_does_not_disturb_it(board_kernel: KernelSession) -> None:
    client = board_kernel.client
    code = "import time\nfor i in range(3):\n    print(i)\n    time.sleep(0.3)"
    execute_id = client.execute(code)
    time.sleep(0.2)
    client.complete("os.li")  # queued behind the cell by the kernel, or answered empty
    stdout = ""
    while True:
        message = client.get_iopub_msg(timeout=30)
        if message["parent_header"].get("msg_id") != execute_id:
            continue
        if message["msg_type"] == "stream":
            stdout += message["content"]["text"]
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    assert stdout == "0\n1\n2\n"
    assert board_kernel.run("print('still fine')").stdout == "still fine\n"


def test_completion_answers_nothing_while_a_run_holds_the_board(board_dir: Path) -> None:
    """Below the kernel: a run in another thread (as a background task would do)."""
    from metakernel_micropython.completion import complete, describe
    from metakernel_micropython.services.connect import connect_virtual_board
    from metakernel_micropython.services.connection import ConnectionManager
    from metakernel_micropython.transport.virtual_board import unavailable_reason

    require_testbed(unavailable_reason())
    manager = ConnectionManager()
    connect_virtual_board(manager, board_dir)
    board = manager.board
    assert board is not None
    try:
        printed = bytearray()
        started = threading.Event()

        def on_stdout(data: bytes) -> None:
            printed.extend(data)
            started.set()

        run = threading.Thread(target=board.run, args=("import time\nprint('go')\ntime.sleep(1)\nprint('done')", on_stdout))
        run.start()
        assert started.wait(10)
        assert complete(board, "os.li") == []
        assert describe(board, "os") is None
        run.join(30)
        assert bytes(printed).replace(b"\r", b"") == b"go\ndone\n"
        assert complete(board, "os.li") == ["os.listdir"]
    finally:
        manager.disconnect()


@pytest.mark.parametrize("text", ["os.", "machine.", "pri"])
def test_completion_speed_is_printed(board_kernel: KernelSession, text: str) -> None:
    """Not asserted (no timing assertions): printed for the report, `pytest -s`."""
    started = time.monotonic()
    matches = _complete(board_kernel, text)["matches"]
    print(f"completion of {text!r}: {len(matches)} names in {1000 * (time.monotonic() - started):.0f} ms")
    assert matches
