"""The file service on the virtual board (a real MicroPython), without a kernel in between."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require_testbed
from metakernel_micropython.services import board_scripts
from metakernel_micropython.services.board import Board
from metakernel_micropython.services.file_transfer import (
    TransferControl, TransferInterrupted, encode_chunk, fetch_bytes, send_bytes, temporary_name,
)
from metakernel_micropython.services.filesystem import BoardFileError, BoardFull, file_system
from metakernel_micropython.services.host_files import fetch_destination, plan_sends
from metakernel_micropython.transport import LinkClosed
from metakernel_micropython.transport.serial_link import SerialTransport
from metakernel_micropython.transport.virtual_board import VirtualBoardTransport, unavailable_reason

EVERY_BYTE = bytes(range(256))

#: A 32 KiB littlefs in the board's RAM, mounted at /small (once): a file system that can run full.
MOUNT_SMALL_FILE_SYSTEM = """import os
class RamDisk:
    def __init__(self, blocks):
        self.data = bytearray(blocks * 512)
    def readblocks(self, block, buffer, offset=0):
        start = block * 512 + offset
        buffer[:] = self.data[start:start + len(buffer)]
    def writeblocks(self, block, buffer, offset=0):
        start = block * 512 + offset
        self.data[start:start + len(buffer)] = buffer
    def ioctl(self, operation, argument):
        return {4: len(self.data) // 512, 5: 512, 6: 0}.get(operation)
try:
    small_disk  # mounted already, by an earlier cell
except NameError:
    small_disk = RamDisk(64)
    os.VfsLfs2.mkfs(small_disk)
    os.mount(os.VfsLfs2(small_disk), '/small')
"""


@pytest.fixture
def board(board_dir: Path) -> Iterator[Board]:
    require_testbed(unavailable_reason())
    connected = Board(VirtualBoardTransport(board_dir))
    connected.start()
    yield connected
    connected.close()


def board_files_in(board: Board, directory: str = ".") -> list[str]:
    return sorted(entry.path for entry in file_system(board).list_entries(directory, recursive=True))


def test_bytes_literal_carries_every_byte_value_through_the_raw_repl(board: Board) -> None:
    code = b"print(" + board_scripts.bytes_literal(EVERY_BYTE * 2) + b" == bytes(range(256)) * 2)"
    assert board.exec_capture(code).strip() == b"True"


def test_round_trip_of_every_byte_value(board: Board, board_dir: Path) -> None:
    files = file_system(board)
    data = EVERY_BYTE * 100 + os.urandom(10_000)
    outcome = send_bytes(files, data, "data.bin")
    assert not outcome.unchanged
    assert (board_dir / "data.bin").read_bytes() == data
    assert fetch_bytes(files, "data.bin") == data
    assert board_files_in(board) == ["data.bin"]  # no temporary file left


def test_the_probe_finds_what_the_unix_port_has(board: Board) -> None:
    features = file_system(board).features
    assert features.hash_module == "hashlib" and features.base64_module == "binascii" and features.deflate
    assert features.has_rename and features.has_directories and features.raw_paste


def test_unchanged_file_is_not_sent_again(board: Board) -> None:
    files = file_system(board)
    data = os.urandom(65536)
    send_bytes(files, data, "same.bin")
    assert send_bytes(files, data, "same.bin").unchanged
    assert not send_bytes(files, data[:-1] + b"!", "same.bin").unchanged


def test_append_keeps_the_old_content_in_front(board: Board, board_dir: Path) -> None:
    files = file_system(board)
    send_bytes(files, b"first\n", "log.txt")
    send_bytes(files, b"second\n", "log.txt", append=True)
    assert (board_dir / "log.txt").read_bytes() == b"first\nsecond\n"


def test_text_is_deflated_and_random_data_is_not() -> None:
    text = b"print('hello')\n" * 300
    assert b"_mpk_z(" in encode_chunk(text, can_deflate=True)
    assert b"_mpk_z(" not in encode_chunk(os.urandom(4096), can_deflate=True)
    assert b"_mpk_z(" not in encode_chunk(text, can_deflate=False)


def test_deflated_text_arrives_intact(board: Board, board_dir: Path) -> None:
    text = "".join(f"value_{number} = {number * number}\n" for number in range(3000)).encode()
    send_bytes(file_system(board), text, "values.py")
    assert (board_dir / "values.py").read_bytes() == text


def test_missing_directory_is_an_error_unless_asked_to_create_it(board: Board, board_dir: Path) -> None:
    files = file_system(board)
    with pytest.raises(BoardFileError, match="-d"):
        send_bytes(files, b"x = 1\n", "lib/tools.py")
    send_bytes(files, b"x = 1\n", "lib/deeper/tools.py", make_directories=True)
    assert (board_dir / "lib" / "deeper" / "tools.py").read_bytes() == b"x = 1\n"


def test_a_directory_is_not_overwritten(board: Board) -> None:
    files = file_system(board)
    files.make_directories("lib")
    with pytest.raises(IsADirectoryError):
        send_bytes(files, b"x", "lib")
    with pytest.raises(IsADirectoryError):
        fetch_bytes(files, "lib")


def test_interrupted_upload_leaves_the_old_file_and_no_temporary(board: Board, board_dir: Path) -> None:
    files = file_system(board)
    send_bytes(files, b"old content", "main.py")
    control = TransferControl()
    control.on_progress = lambda done, total: control.request_stop() if done > 0 else None
    with pytest.raises(TransferInterrupted, match="unchanged"):
        send_bytes(files, os.urandom(50_000), "main.py", control=control)
    assert (board_dir / "main.py").read_bytes() == b"old content"
    assert board_files_in(board) == ["main.py"]


def test_full_file_system_leaves_the_old_file_and_no_temporary(board: Board) -> None:
    board.exec_capture(MOUNT_SMALL_FILE_SYSTEM)
    files = file_system(board)
    send_bytes(files, b"old", "/small/data.bin")
    for size in (40_000, 31_500):  # more than the free space; less, but more than fits with the overhead
        with pytest.raises(BoardFull, match=r"full: /small/data.bin needs \d+ bytes, \d+ of 32768 bytes are free"):
            send_bytes(files, os.urandom(size), "/small/data.bin")
        assert fetch_bytes(files, "/small/data.bin") == b"old"
        assert board_files_in(board, "/small") == ["/small/data.bin"]


def test_lost_link_leaves_the_old_file_and_the_temporary_goes_on_reconnect(tmp_path: Path) -> None:
    require_testbed(unavailable_reason())
    from testbeds.serial_relay import VirtualBoardOnPty

    (tmp_path / "main.py").write_bytes(b"old")
    with VirtualBoardOnPty(tmp_path, baudrate=115200) as relay:
        board = Board(SerialTransport(relay.port))
        board.start()
        control = TransferControl(on_progress=lambda done, total: relay.unplug() if done > 8000 else None)
        with pytest.raises(LinkClosed):
            send_bytes(file_system(board), os.urandom(30_000), "main.py", control=control)
        board.transport.close()
        relay.replug()
        again = Board(SerialTransport(relay.port))
        again.start()
        assert board_files_in(again) == ["main.py"]
        assert (tmp_path / "main.py").read_bytes() == b"old"
        again.close()


def test_links_with_their_own_file_protocol_carry_the_bytes(tmp_path: Path) -> None:
    """Over WebREPL the bulk bytes go through its binary put/get; verify and rename stay ours."""
    require_testbed(unavailable_reason())
    from metakernel_micropython.transport import FileTransferLink
    from metakernel_micropython.transport.webrepl_link import WebReplTransport
    from testbeds.webrepl_server import WebReplServer

    data = EVERY_BYTE * 40
    with WebReplServer(tmp_path, password="secret") as server:
        board = Board(WebReplTransport(server.url, "secret"))
        board.start()
        assert isinstance(board.transport, FileTransferLink)
        files = file_system(board)
        send_bytes(files, b"old", "data.bin")
        assert send_bytes(files, data, "data.bin").unchanged is False
        assert send_bytes(files, data, "data.bin").unchanged
        assert (tmp_path / "data.bin").read_bytes() == data
        assert fetch_bytes(files, "data.bin") == data
        assert board_files_in(board) == ["data.bin"]
        board.close()


def test_plan_sends_mirrors_a_directory_tree(tmp_path: Path) -> None:
    (tmp_path / "web" / "css").mkdir(parents=True)
    (tmp_path / "web" / "index.html").write_text("<p>")
    (tmp_path / "web" / "css" / "site.css").write_text("p {}")
    planned = [board_path for _, board_path in plan_sends(tmp_path / "web", None, False)]
    assert planned == ["web/index.html", "web/css/site.css"] or planned == ["web/css/site.css", "web/index.html"]
    assert [path for _, path in plan_sends(tmp_path / "web" / "index.html", "www", True)] == ["www/index.html"]


@pytest.mark.parametrize("board_path", ["../../etc/passwd", "/etc/passwd", "a/../../../b/x.py"])
def test_fetched_files_never_land_outside_the_notebook_folder(tmp_path: Path, board_path: str) -> None:
    target = fetch_destination(board_path, None, tmp_path)
    assert target.resolve().is_relative_to(tmp_path.resolve())


def test_temporary_name_is_beside_the_destination() -> None:
    assert temporary_name("lib/tools.py") == "lib/.tools.py.part"
    assert temporary_name("/main.py") == "/.main.py.part"
    assert temporary_name("main.py") == ".main.py.part"
