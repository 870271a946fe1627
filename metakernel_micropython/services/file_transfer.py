"""Moving whole files between the host and the board: fast, verified and atomic.

Upload: the data goes to a temporary name beside the destination in chunks of one run
each (a bytes literal with few escapes, deflated where that is shorter and the board has
`deflate`), is verified (SHA-256 on the board, else read back), and only then replaces the
destination with os.rename. Firmware without os.rename (the micro:bit) gets the verified
temporary file copied over the destination by a single run on the board; the host keeps
the old content and writes it back if that copy fails (a full file system). What is left:
a power cut during that copy (milliseconds on the board) loses the old file, while the new
one stays complete under its temporary name.

An interrupt is taken between two runs, never inside one, so the board's state stays known;
the temporary file is removed and the old file is untouched. When the link is lost in the
middle, the temporary file is removed on the next connection to the same board.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from ..transport import FileTransferLink, TransportError
from . import board_scripts
from .filesystem import BoardEntry, BoardFileError, BoardFileSystem, BoardFull, join, normalize, parent

ProgressHandler = Callable[[int, int], None]

#: Deflate a chunk only when that saves at least this share of the bytes on the wire.
DEFLATE_WORTHWHILE = 0.9


class TransferInterrupted(BoardFileError):
    """The user interrupted a transfer; nothing on the board changed."""


@dataclass
class TransferControl:
    """How a caller follows a transfer and stops it (from a signal handler or another thread)."""

    on_progress: ProgressHandler | None = None
    _stop: threading.Event = field(default_factory=threading.Event, init=False)

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def progress(self, done: int, total: int) -> None:
        if self.on_progress is not None:
            self.on_progress(done, total)

    def check(self, message: str) -> None:
        """Raise TransferInterrupted(message) if a stop was requested."""
        if self.stop_requested:
            raise TransferInterrupted(message)


@dataclass(frozen=True)
class SendOutcome:
    destination: str
    size: int
    unchanged: bool  #: the board already had exactly this content: nothing was sent
    seconds: float


def temporary_name(destination: str) -> str:
    """Beside the destination (same file system, so that rename is atomic) and hidden."""
    return join(parent(destination), "." + destination.rstrip("/").rsplit("/", 1)[-1] + ".part")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def encode_chunk(data: bytes, can_deflate: bool) -> bytes:
    """The run that appends `data` to the open file: deflated when the board can inflate it
    and that makes the literal shorter by enough to pay for inflating on the board."""
    plain = board_scripts.write_chunk(data, deflated=False)
    if not can_deflate:
        return plain
    packer = zlib.compressobj(9, zlib.DEFLATED, -board_scripts.DEFLATE_WINDOW_BITS)
    deflated = board_scripts.write_chunk(packer.compress(data) + packer.flush(), deflated=True)
    return deflated if len(deflated) < DEFLATE_WORTHWHILE * len(plain) else plain


class _Upload:
    """One file to one board path; `run()` does it all or leaves the board as it was."""

    def __init__(self, files: BoardFileSystem, data: bytes, destination: str, append: bool,
                 control: TransferControl) -> None:
        self.files = files
        self.features = files.features
        self.data = data
        self.destination = destination
        self.temporary = temporary_name(destination)
        self.append = append
        self.control = control
        self.unchanged_message = f"Interrupted: {destination} is unchanged on the board."
        self.prefix_size = 0  #: bytes of the old file kept in front (appending)
        self.written = 0  #: bytes of `data` the board has taken so far
        self.old_content: bytes | None = None  #: kept on the host where there is no rename

    def run(self) -> bool:
        """True when sent, False when the board already had this content."""
        existing = self.files.describe(self.destination, with_hash=not self.append)
        if existing is not None and existing.is_directory:
            raise IsADirectoryError(21, "Is a directory on the board", self.destination)
        if existing is not None and not self.append and self._same_content(existing):
            return False
        if existing is not None and self.append:
            self.prefix_size = existing.size
        if existing is not None and not self.features.has_rename:
            self.old_content = fetch_bytes(self.files, self.destination)
        self._check_room()
        try:
            self._write_temporary(copy_from=self.destination if self.prefix_size else None)
            self._verify_temporary()
            self.control.check(self.unchanged_message)
        except TransportError:
            self.files.leave_behind(self.temporary)
            raise
        except BoardFull:
            self._discard_temporary()
            raise self._full_error() from None
        except BaseException:
            self._discard_temporary()
            raise
        self._replace_destination()
        return True

    def _same_content(self, existing: BoardEntry) -> bool:
        if existing.size != len(self.data):
            return False
        if existing.sha256 is not None:
            return existing.sha256 == sha256(self.data)
        return fetch_bytes(self.files, self.destination) == self.data

    def _check_room(self) -> None:
        """Fail before writing anything when the file clearly cannot fit beside the old one."""
        space = self.files.space(parent(self.destination))
        if space is not None and self.prefix_size + len(self.data) > space[1]:
            raise self._full_error()

    def _full_error(self) -> BoardFull:
        space = self.files.space(parent(self.destination))
        free = (f"{space[1]} of {space[0]} bytes are free" if space is not None
                else f"about {self.prefix_size + self.written} bytes were free")
        return BoardFull(f"The board's file system is full: {self.destination} needs "
                         f"{self.prefix_size + len(self.data)} bytes, {free}; the old file is unchanged.")

    def _discard_temporary(self) -> None:
        try:
            self.files.run(board_scripts.discard(self.temporary), self.temporary)
        except TransportError:  # the link went while we waited for the board: remove it later
            self.files.leave_behind(self.temporary)
            raise

    def _write_temporary(self, copy_from: str | None) -> None:
        total = len(self.data)
        link = self.files.board.transport
        if isinstance(link, FileTransferLink) and copy_from is None:
            self.control.progress(0, total)
            link.put_file(self.temporary, self.data, lambda done: self.control.progress(done, total))
        else:
            chunk_size = self.features.chunk_size
            self.files.run(board_scripts.open_for_writing(self.temporary, copy_from, self.features.deflate),
                           self.temporary)
            for start in range(0, total, chunk_size):
                self.control.check(self.unchanged_message)
                self.control.progress(start, total)
                self.files.run(encode_chunk(self.data[start:start + chunk_size], self.features.deflate),
                               self.temporary)
                self.written = min(total, start + chunk_size)
        self.written = total
        self.control.progress(total, total)

    def _verify_temporary(self) -> None:
        features = self.features
        size, digest = ast.literal_eval(self.files.run(
            board_scripts.close_written(self.temporary, self.prefix_size, features.hash_module, features.has_stat),
            self.temporary).decode().strip())
        expected_size = self.prefix_size + len(self.data)
        if size != expected_size:
            raise BoardFileError(f"Verification failed: the board holds {size} bytes of {expected_size}; "
                                 f"{self.destination} is unchanged.")
        if digest is None:
            matches = fetch_bytes(self.files, self.temporary)[self.prefix_size:] == self.data
        else:
            matches = digest == sha256(self.data)
        if not matches:
            raise BoardFileError(f"Verification failed: the data on the board differs; "
                                 f"{self.destination} is unchanged.")

    def _replace_destination(self) -> None:
        if self.features.has_rename:
            self.files.run(board_scripts.rename(self.temporary, self.destination), self.destination)
            return
        try:
            size = int(self.files.run(board_scripts.copy_over(self.temporary, self.destination),
                                      self.destination))
        except BoardFull:
            self._restore_old_content()
            raise BoardFull(f"The board's file system is full: without os.rename on this firmware "
                            f"{self.destination} needs room for two copies of its {len(self.data)} bytes "
                            f"while it is replaced; the old file is unchanged.") from None
        if size != self.prefix_size + len(self.data):
            self._restore_old_content()
            raise BoardFileError(f"Verification failed after copying into place; {self.destination} is unchanged.")

    def _restore_old_content(self) -> None:
        """Where there is no rename, a failed copy-over leaves the destination broken: put back
        the old content, which fitted before and has the temporary file's room now."""
        self._discard_temporary()
        self.files.run(board_scripts.discard(self.destination), self.destination)
        if self.old_content is not None:
            _Upload(self.files, self.old_content, self.destination, False, TransferControl()).write_in_place()

    def write_in_place(self) -> None:
        """Write straight to the destination: only to put back old content."""
        self.temporary = self.destination
        self._write_temporary(copy_from=None)
        self._verify_temporary()


def send_bytes(files: BoardFileSystem, data: bytes, destination: str, *, append: bool = False,
               make_directories: bool = False, control: TransferControl | None = None) -> SendOutcome:
    """Write `data` to the board file `destination`, verified and atomically.

    Skips the transfer when the board already has exactly this content (not when appending).
    """
    started = time.monotonic()
    destination = normalize(destination)
    folder = parent(destination)
    if not files.features.has_directories:
        if "/" in destination.lstrip("/"):
            raise BoardFileError(f"This board's file system has no directories: send {destination} "
                                 f"under a plain name.")
    elif not files.is_directory(folder):
        if not make_directories:
            raise BoardFileError(f"The board has no directory {folder}: add -d to create it "
                                 f"(or %mkdir {folder}).")
        files.make_directories(folder)
    upload = _Upload(files, data, destination, append, control or TransferControl())
    sent = upload.run()
    return SendOutcome(destination, len(data), not sent, time.monotonic() - started)


def fetch_bytes(files: BoardFileSystem, path: str, control: TransferControl | None = None) -> bytes:
    """The content of the board file `path`, verified by SHA-256 where the board has hashlib."""
    control = control or TransferControl()
    path = normalize(path)
    entry = files.describe(path, with_hash=True)
    if entry is None:
        raise FileNotFoundError(2, "No such file or directory on the board", path)
    if entry.is_directory:
        raise IsADirectoryError(21, "Is a directory on the board", path)
    link = files.board.transport
    if isinstance(link, FileTransferLink):
        data = link.get_file(path, lambda done: control.progress(done, entry.size), entry.size)
    else:
        data = _read_in_chunks(files, path, entry.size, control)
    if len(data) != entry.size or (entry.sha256 is not None and entry.sha256 != sha256(data)):
        raise BoardFileError(f"Verification failed: what arrived differs from {path} on the board.")
    return data


def _read_in_chunks(files: BoardFileSystem, path: str, size: int, control: TransferControl) -> bytes:
    features = files.features
    # A bytes literal of random data is about 3 times as long as the data: read less at once.
    read_size = features.chunk_size if features.base64_module else features.chunk_size // 3
    files.run(board_scripts.open_for_reading(path), path)
    received = bytearray()
    try:
        while True:
            control.check(f"Interrupted: {path} was not copied.")
            control.progress(len(received), size)
            printed = files.run(board_scripts.read_chunk(read_size, features.base64_module), path)
            chunk = (base64.b64decode(printed) if features.base64_module
                     else ast.literal_eval(printed.decode().strip()))
            if not chunk:
                break
            received += chunk
    finally:
        files.run(board_scripts.CLOSE_OPEN_FILE, path)
    control.progress(size, size)
    return bytes(received)
