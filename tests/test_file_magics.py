"""The file magics driven through the kernel as Jupyter drives them, on the virtual board and the micro:bit."""
from __future__ import annotations

import os
import queue
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import require_testbed
from kernel_driver import KernelSession

EVERY_BYTE = bytes(range(256))

# One kernel per testbed for the whole module (a kernel takes seconds to start); each test
# starts from an empty board file system.


@pytest.fixture(scope="module")
def shared_virtual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KernelSession, Path]]:
    from metakernel_micropython.transport.virtual_board import unavailable_reason

    require_testbed(unavailable_reason())
    directory = tmp_path_factory.mktemp("board")
    session = KernelSession()
    ok(session, f"%virtualboard --dir {directory}")
    yield session, directory
    session.close()


@pytest.fixture(scope="module")
def shared_microbit(microbit: Any) -> Iterator[KernelSession]:
    session = KernelSession()
    ok(session, f"%serialconnect --port {microbit.port}")
    yield session
    session.close()


@pytest.fixture(scope="module")
def paced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KernelSession, Path, Any]]:
    """A kernel on the virtual board behind a serial port paced at 115200 baud, as a real UART:
    transfers take seconds there, long enough to watch and to interrupt."""
    from metakernel_micropython.transport.virtual_board import unavailable_reason
    from testbeds.serial_relay import VirtualBoardOnPty

    require_testbed(unavailable_reason())
    directory = tmp_path_factory.mktemp("paced")
    with VirtualBoardOnPty(directory, baudrate=115200) as relay:
        session = KernelSession()
        ok(session, f"%serialconnect --port {relay.port}")
        yield session, directory, relay
        session.close()


@pytest.fixture
def virtual(shared_virtual: tuple[KernelSession, Path]) -> KernelSession:
    return shared_virtual[0]


@pytest.fixture
def board_dir(shared_virtual: tuple[KernelSession, Path]) -> Path:
    """The virtual board's file system, emptied for each test."""
    directory = shared_virtual[1]
    for entry in directory.iterdir():
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    return directory


@pytest.fixture
def microbit_board(shared_microbit: KernelSession) -> KernelSession:
    ok(shared_microbit, "import os\nfor name in os.listdir():\n    os.remove(name)\n")
    ok(shared_microbit, "%reboot")  # a fresh heap: 8 KB fragment quickly over many tests
    return shared_microbit


@pytest.fixture(params=["virtual", "microbit"])
def any_board(request: pytest.FixtureRequest) -> KernelSession:
    """The same test on the virtual board and on the micro:bit."""
    if request.param == "virtual":
        request.getfixturevalue("board_dir")
        return request.getfixturevalue("virtual")
    return request.getfixturevalue("microbit_board")


def ok(session: KernelSession, code: str, timeout: float = 120) -> Any:
    result = session.run(code, timeout=timeout)
    assert result.status == "ok", result.error_text
    return result


def failed(session: KernelSession, code: str) -> str:
    """The one line a failing magic shows."""
    result = session.run(code, timeout=120)
    assert result.status == "error", result.stdout
    lines = result.error_text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.error_text, result.error_text
    return lines[0]


def run_and_interrupt(session: KernelSession, code: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Start `code`, press Kernel -> Interrupt once its progress shows, return (reply, iopub messages)."""
    client = session.client
    message_id = client.execute(code)
    messages: list[dict[str, Any]] = []
    interrupted = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            message = client.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            continue
        if message["parent_header"].get("msg_id") != message_id:
            continue
        messages.append(message)
        if message["msg_type"] == "display_data" and not interrupted:
            session.interrupt()
            interrupted = True
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    assert interrupted, "the transfer ended before its progress showed"
    return client.get_shell_msg(timeout=30)["content"], messages


def wait_until_idle(session: KernelSession) -> None:
    """After an error, the kernel refuses (aborts) requests until it has finished with it."""
    while True:
        message = session.client.get_iopub_msg(timeout=30)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return


# -- on every testbed -------------------------------------------------------------------

def test_cell_content_becomes_a_board_file(any_board: KernelSession) -> None:
    result = ok(any_board, "%sendtofile greet.py\ndef greet(name):\n    return 'hello ' + name\n")
    assert "Sent greet.py" in result.stdout
    assert ok(any_board, "%fetchfile --print greet.py").stdout.startswith("def greet(name):")
    assert "greet.py" in ok(any_board, "%ls -l").stdout
    assert "unchanged" in ok(any_board, "%%sendtofile greet.py\ndef greet(name):\n    return 'hello ' + name\n").stdout


def test_every_byte_value_round_trips(any_board: KernelSession, tmp_path: Path) -> None:
    source = tmp_path / "all.bin"
    source.write_bytes(EVERY_BYTE * 4)
    ok(any_board, f"%sendtofile --binary --source {source} all.bin")
    fetched = tmp_path / "back.bin"
    ok(any_board, f"%fetchfile --binary all.bin {fetched}")
    assert fetched.read_bytes() == EVERY_BYTE * 4


def test_execute_runs_the_file_and_keeps_its_names(any_board: KernelSession) -> None:
    result = ok(any_board, "%sendtofile -x setup.py\nanswer = 6 * 7\nprint('set up')\n")
    assert "set up" in result.stdout
    assert ok(any_board, "answer").result == "42"


def test_load_puts_the_file_into_the_next_cell(any_board: KernelSession) -> None:
    ok(any_board, "%sendtofile blink.py\nprint('blink')\n")
    result = ok(any_board, "%fetchfile --load blink.py")
    assert {"source": "set_next_input", "text": "print('blink')\n", "replace": False} in result.payload


def test_rm_removes_and_missing_files_are_one_line_errors(any_board: KernelSession) -> None:
    ok(any_board, "%sendtofile gone.py\nx = 1\n")
    ok(any_board, "%rm gone.py")
    assert "gone.py" not in ok(any_board, "%ls").stdout
    assert failed(any_board, "%fetchfile gone.py") == "%fetchfile: No such file or directory on the board: gone.py"
    assert "No such file or directory on the board: gone.py" in failed(any_board, "%rm gone.py")


@pytest.mark.parametrize("testbed, path, free", [
    ("virtual", "/small/keep.txt", "of 32768 bytes are free"),  # a 32 KiB littlefs mounted in RAM
    ("microbit", "keep.txt", "bytes were free"),  # no os.statvfs: what fitted is the measure
])
def test_full_file_system_leaves_the_old_file(testbed: str, path: str, free: str,
                                              request: pytest.FixtureRequest, tmp_path: Path) -> None:
    session = request.getfixturevalue("virtual" if testbed == "virtual" else "microbit_board")
    if testbed == "virtual":
        from test_filesystem_service import MOUNT_SMALL_FILE_SYSTEM

        ok(session, MOUNT_SMALL_FILE_SYSTEM)
    ok(session, f"%sendtofile {path}\nkeep me\n")
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(40_000))
    message = failed(session, f"%sendtofile --source {source} {path}")
    assert "full" in message and free in message and "unchanged" in message
    assert ok(session, f"%fetchfile --print {path}").stdout == "keep me\n\n"
    assert ".keep.txt.part" not in ok(session, f"%ls {path.rpartition('/')[0] or '.'}").stdout
    ok(session, f"%rm {path}")


def test_missing_source_is_a_one_line_error(any_board: KernelSession, tmp_path: Path) -> None:
    message = failed(any_board, f"%sendtofile --source {tmp_path / 'nothing.py'} x.py")
    assert message == f"%sendtofile: No such file or directory on this computer: {tmp_path / 'nothing.py'}"


# -- virtual board --------------------------------------------------------------------

def test_our_ls_lists_the_board_not_the_host(virtual: KernelSession, board_dir: Path) -> None:
    (board_dir / "on_board.py").write_text("x = 1\n")
    listing = ok(virtual, "%ls").stdout
    assert listing.strip() == "on_board.py"


def test_listing_leaves_the_users_names_alone(virtual: KernelSession, board_dir: Path) -> None:
    (board_dir / "a.txt").write_text("x")
    helpers_modules = "('os', 'gc', 'io', 'deflate', 'binascii')"
    ok(virtual, f"for name in {helpers_modules}:\n    globals().pop(name, None)\nj = 7")  # earlier cells import os
    ok(virtual, "%ls -l")
    ok(virtual, "%sendtofile -d lib/x.py\nx = 1\n")
    ok(virtual, "%fetchfile --print lib/x.py")
    assert ok(virtual, "j").result == "7"
    # Nor do the helpers import modules under their own names: a cell that forgets `import os`
    # fails here as it would in main.py.
    assert ok(virtual, f"[name for name in {helpers_modules} if name in globals()]").result == "[]"


def test_directories_mkdir_ls_df_and_rm(virtual: KernelSession, board_dir: Path) -> None:
    assert "-d" in failed(virtual, "%sendtofile lib/tool.py\nx = 1\n")
    ok(virtual, "%sendtofile -d lib/tool.py\nx = 1\n")
    ok(virtual, "%mkdir data/logs")
    assert ok(virtual, "%ls -r").stdout.split() == ["data/", "data/logs/", "lib/", "lib/tool.py"]
    assert "free of" in ok(virtual, "%df").stdout
    assert "is a directory" in failed(virtual, "%sendtofile lib\nx = 1\n").lower()
    assert "-r" in failed(virtual, "%rm lib")
    assert "whole file system" in failed(virtual, "%rm -r /")  # on the virtual board / is the host's /
    ok(virtual, "%rm -r lib")
    assert not (board_dir / "lib").exists()


def test_a_host_directory_is_sent_and_unchanged_files_are_skipped(virtual: KernelSession,
                                                                  board_dir: Path, tmp_path: Path) -> None:
    web = tmp_path / "web"
    (web / "css").mkdir(parents=True)
    (web / "index.html").write_text("<h1>hi</h1>\n")
    (web / "css" / "site.css").write_text("h1 { color: red }\n")
    assert "Sent 2 of 2 files" in ok(virtual, f"%sendtofile --source {web} www").stdout
    (web / "index.html").write_text("<h1>hello</h1>\n")
    assert "Sent 1 of 2 files" in ok(virtual, f"%sendtofile -q --source {web} www").stdout
    assert (board_dir / "www" / "index.html").read_text() == "<h1>hello</h1>\n"
    assert (board_dir / "www" / "css" / "site.css").read_text() == "h1 { color: red }\n"


def test_fetch_keeps_derived_paths_inside_the_notebook_folder(virtual: KernelSession,
                                                             board_dir: Path, tmp_path: Path) -> None:
    notebook = tmp_path / "notebook"
    notebook.mkdir()
    ok(virtual, f"%cd {notebook}")
    (board_dir / "lib").mkdir()
    (board_dir / "lib" / "tool.py").write_text("x = 1\n")
    ok(virtual, "%fetchfile lib/../lib/tool.py")
    # On the virtual board '..' and absolute paths reach the host's folders: the derived
    # host paths must still stay inside the notebook's folder.
    ok(virtual, f"%fetchfile ../{board_dir.name}/lib/tool.py")
    ok(virtual, f"%fetchfile {board_dir}/lib/tool.py")
    fetched = sorted(str(path.relative_to(notebook)) for path in tmp_path.rglob("*.py"))
    assert fetched == sorted(["lib/tool.py", f"{board_dir.name}/lib/tool.py",
                              str(board_dir.relative_to("/") / "lib" / "tool.py")])
    assert (notebook / "lib" / "tool.py").read_text() == "x = 1\n"


def test_long_transfer_shows_progress(paced: tuple[KernelSession, Path, Any], tmp_path: Path) -> None:
    session, _directory, _relay = paced
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(20_000))
    result = ok(session, f"%sendtofile -b --source {source} progress.bin")
    texts = [display["data"]["text/plain"] for display in result.displays]
    assert texts and texts[-1].startswith("Sending: 19.5 KiB of 19.5 KiB (100%)")
    assert "application/vnd.jupyter.widget-view+json" in result.displays[0]["data"]


def test_interrupt_leaves_the_old_file_and_no_temporary(paced: tuple[KernelSession, Path, Any], tmp_path: Path) -> None:
    session, directory, _relay = paced
    (directory / "interrupted.bin").write_bytes(b"old")
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(64 * 1024))
    reply, _messages = run_and_interrupt(session, f"%sendtofile -b --source {source} interrupted.bin")
    assert reply["status"] == "error" and "unchanged" in reply["evalue"]
    assert not [name for name in os.listdir(directory) if name.endswith(".part")]
    assert (directory / "interrupted.bin").read_bytes() == b"old"
    assert ok(session, "1 + 1").result == "2"


def test_lost_link_ends_the_connection_and_the_temporary_goes_on_reconnect(
        paced: tuple[KernelSession, Path, Any], tmp_path: Path) -> None:
    # Even with the kernel restarted in between, as a user may well do after a lost link.
    session, directory, relay = paced
    (directory / "lost.bin").write_bytes(b"old")
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(64 * 1024))
    session.client.execute(f"%sendtofile -b --source {source} lost.bin")
    while not (directory / ".lost.bin.part").exists() or (directory / ".lost.bin.part").stat().st_size < 8000:
        time.sleep(0.05)
    relay.unplug()
    reply = session.client.get_shell_msg(timeout=60)["content"]
    assert reply["status"] == "error" and "Reconnect" in reply["evalue"]
    wait_until_idle(session)
    assert (directory / ".lost.bin.part").exists()  # the board could not be told
    session.manager.restart_kernel(now=False)
    session.client.wait_for_ready(timeout=60)
    relay.replug()
    # Reconnecting to a board left in the middle of a raw paste sometimes reports a reboot
    # (connection layer, not the file service): a user would connect again, and so do we.
    if session.run(f"%serialconnect --port {relay.port}").status != "ok":
        ok(session, f"%serialconnect --port {relay.port}")
    ok(session, "%ls")
    assert sorted(name for name in os.listdir(directory) if "lost" in name) == ["lost.bin"]
    assert (directory / "lost.bin").read_bytes() == b"old"


def test_not_connected_says_how_to_connect(kernel: KernelSession) -> None:
    result = kernel.run("%ls")
    assert result.status == "error" and "Traceback" not in result.error_text
    assert result.error_text.startswith("%ls: No board is connected.")


# -- micro:bit ------------------------------------------------------------------------

def test_microbit_replaces_a_file_only_with_room_for_two_copies(microbit_board: KernelSession,
                                                                 tmp_path: Path) -> None:
    """Without os.rename the verified copy is copied over the old file: when that runs out of
    room, the old content (kept on the host) is written back."""
    ok(microbit_board, "%sendtofile keep.txt\nkeep me\n")
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(9000))
    assert "two copies" in failed(microbit_board, f"%sendtofile --source {source} keep.txt")
    assert ok(microbit_board, "%fetchfile --print keep.txt").stdout == "keep me\n\n"
    assert ok(microbit_board, "%ls").stdout.split() == ["keep.txt"]


def test_microbit_has_no_directories(microbit_board: KernelSession) -> None:
    assert "no directories" in failed(microbit_board, "%mkdir lib")
    assert "cannot tell its free space" in ok(microbit_board, "%df").stdout
