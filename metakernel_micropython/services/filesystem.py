"""The board's file system, through the raw REPL only, so that it works on every link.

`file_system(board)` gives the one `BoardFileSystem` of a connection: it asks the board once
what it has (hashlib, binascii, deflate, os.rename/stat/mkdir/statvfs, free memory) and picks
snippets to match, down to the micro:bit's flat file system with os.size only.
Board errors come back as Python exceptions with messages for the user.
"""
from __future__ import annotations

import ast
import errno
import posixpath
import weakref
from dataclasses import dataclass
from typing import Any

from ..protocol import BoardError
from . import board_scripts
from .board import Board
from .kernel_state import load_state, save_state

#: Bounds of the data carried by one run: small boards compile a whole run in RAM.
SMALLEST_CHUNK = 256
LARGEST_CHUNK = 4096


class BoardFileError(Exception):
    """A file operation failed; the message is meant for the user."""


class BoardFull(BoardFileError):
    """The board's file system has no room left."""


@dataclass(frozen=True)
class BoardFeatures:
    """What the firmware offers for file work, as probed once per connection."""

    memory_free: int
    os_functions: frozenset[str]
    hash_module: str | None  #: hashlib or uhashlib, with sha256
    base64_module: str | None  #: binascii or ubinascii
    deflate: bool
    raw_paste: bool

    @property
    def has_directories(self) -> bool:
        return "mkdir" in self.os_functions

    @property
    def has_stat(self) -> bool:
        return "stat" in self.os_functions

    @property
    def has_rename(self) -> bool:
        return "rename" in self.os_functions

    @property
    def chunk_size(self) -> int:
        """Bytes of file data per run: plain raw mode holds the whole source, and the lexer
        and the bytes object each hold a copy of the data, hence a larger share with raw-paste."""
        share = self.memory_free // (8 if self.raw_paste else 12)
        return max(SMALLEST_CHUNK, min(LARGEST_CHUNK, share))


@dataclass(frozen=True)
class BoardEntry:
    """A file or directory on the board."""

    path: str
    is_directory: bool
    size: int  #: 0 for directories
    sha256: bytes | None = None  #: only from `describe`, on boards with hashlib

    @property
    def name(self) -> str:
        return posixpath.basename(self.path.rstrip("/")) or self.path


def normalize(path: str) -> str:
    """A board path without '.', '..' or doubled slashes; relative stays relative (to the board's cwd)."""
    cleaned = posixpath.normpath(path.strip() or ".")
    return "/" if cleaned.startswith("//") else cleaned


def join(directory: str, name: str) -> str:
    return name if directory in ("", ".") else posixpath.join(directory, name)


def parent(path: str) -> str:
    return posixpath.dirname(path.rstrip("/")) or ("/" if path.startswith("/") else ".")


_MICROPYTHON_ERRNO = {"ENOENT": errno.ENOENT, "EEXIST": errno.EEXIST, "ENOSPC": errno.ENOSPC,
                      "EISDIR": errno.EISDIR, "ENOTDIR": errno.ENOTDIR, "ENOTEMPTY": errno.ENOTEMPTY,
                      "EACCES": errno.EACCES, "EROFS": errno.EROFS, "EINVAL": errno.EINVAL}


def board_errno(error: BoardError) -> int | None:
    """The errno of a board OSError, also from old firmware's words ("file not found")."""
    if error.ename != "OSError":
        return None
    if error.errno is not None:
        return error.errno
    for name, number in _MICROPYTHON_ERRNO.items():
        if name in error.evalue:
            return number
    return errno.ENOENT if "not found" in error.evalue else None


def as_user_error(error: BoardError, path: str) -> Exception:
    """A board exception about `path` as the matching Python exception with a clear message."""
    number = board_errno(error)
    if number == errno.ENOENT:
        return FileNotFoundError(errno.ENOENT, "No such file or directory on the board", path)
    if number == errno.EISDIR:
        return IsADirectoryError(errno.EISDIR, "Is a directory on the board", path)
    if number == errno.ENOTDIR:
        return BoardFileError(f"A part of {path} is a file on the board, not a directory.")
    if number == errno.EEXIST:
        return BoardFileError(f"{path} already exists on the board.")
    if number == errno.ENOTEMPTY:
        return BoardFileError(f"The directory {path} is not empty: use -r to remove it with its contents.")
    if number == errno.ENOSPC:
        return BoardFull(f"The board's file system is full: no room for {path}.")
    if number in (errno.EACCES, errno.EROFS):
        return BoardFileError(f"The board does not allow writing {path} (read-only file system).")
    return error


class BoardFileSystem:
    """File operations on one connected board."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self._features: BoardFeatures | None = None

    @property
    def features(self) -> BoardFeatures:
        if self._features is None:
            found = self._query(board_scripts.probe(), "")
            self._features = BoardFeatures(
                memory_free=int(found.get("mem", 0)),
                os_functions=frozenset(found.get("os", ())),
                hash_module=found.get("hash"),
                base64_module=found.get("base64"),
                deflate="deflate" in found,
                raw_paste=self.board.repl.raw_paste_supported is not False,
            )
        return self._features

    # -- running snippets -------------------------------------------------------------
    def run(self, code: str | bytes, path: str) -> bytes:
        """Run a snippet about `path`; a board exception becomes a user-facing one."""
        try:
            return self.board.exec_capture(code)
        except BoardError as error:
            raise as_user_error(error, path) from None

    def _query(self, code: str, path: str) -> Any:
        return ast.literal_eval(self.run(code, path).decode().strip())

    # -- questions ----------------------------------------------------------------------
    def describe(self, path: str, with_hash: bool = False) -> BoardEntry | None:
        """The entry at `path` (with its SHA-256 when asked and the board can), or None."""
        features = self.features
        found = self._query(board_scripts.describe(path, features.hash_module if with_hash else None,
                                                   features.has_stat), path)
        if found is None:
            return None
        is_directory, size, digest = found
        return BoardEntry(path, is_directory, size, digest)

    def is_directory(self, path: str) -> bool:
        if not self.features.has_directories:
            return path in ("", ".", "/")
        found = self.describe(path)
        return found is not None and found.is_directory

    def list_entries(self, path: str, recursive: bool = False) -> list[BoardEntry]:
        """What is in the directory `path` (or the one file `path` is), sorted by path."""
        features = self.features
        if features.has_stat:
            found = self.describe(path)
            if found is None:
                raise FileNotFoundError(errno.ENOENT, "No such file or directory on the board", path)
            if not found.is_directory:
                return [found]
        elif not self.is_directory(path):
            raise BoardFileError("This board's file system has no directories; %ls lists all its files.")
        code = board_scripts.list_directory(path, recursive, "ilistdir" in features.os_functions, features.has_stat)
        entries = [BoardEntry(*ast.literal_eval(line)) for line in self.run(code, path).decode().splitlines()
                   if line.strip()]
        return sorted(entries, key=lambda entry: entry.path.split("/"))  # a directory's entries follow it

    def space(self, path: str = ".") -> tuple[int, int] | None:
        """(total, free) bytes of the file system that holds `path`, or None when the firmware cannot tell."""
        if "statvfs" not in self.features.os_functions:
            return None
        block_size, total_blocks, free_blocks = self._query(board_scripts.usage(path), path)
        return block_size * total_blocks, block_size * free_blocks

    # -- changes ------------------------------------------------------------------------
    def make_directories(self, path: str) -> list[str]:
        """Create `path` and any missing parents; returns those created."""
        if not self.features.has_directories:
            raise BoardFileError("This board's file system has no directories (os.mkdir is missing).")
        path = normalize(path)
        if path in (".", "/"):
            return []
        found = self.describe(path)
        if found is not None:
            if not found.is_directory:
                raise BoardFileError(f"{path} is a file on the board, not a directory.")
            return []
        created = self.make_directories(parent(path))
        self.run(board_scripts.make_directory(path), path)
        return created + [path]

    def leave_behind(self, temporary: str) -> None:
        """The link went away in the middle of writing `temporary`: remove it on the next
        connection to this board, also from a kernel started again meanwhile."""
        left = _left_behind()
        if temporary not in left.setdefault(self.board.description, []):
            left[self.board.description].append(temporary)
        save_state(_LEFT_BEHIND, left)

    def remove_left_behind(self) -> None:
        left = _left_behind()
        temporaries = left.pop(self.board.description, [])
        for temporary in sorted(temporaries):
            self.run(board_scripts.discard(temporary), temporary)
        if temporaries:
            save_state(_LEFT_BEHIND, left)

    def remove(self, path: str, recursive: bool = False) -> None:
        if normalize(path) in (".", "/"):
            raise BoardFileError(f"{path} is the board's whole file system: remove what is in it by name.")
        if self.features.has_stat:
            self.run(board_scripts.remove(path, recursive), path)
        else:
            self.run(board_scripts.remove_file(path), path)


#: Temporary files a lost link left on a board (by its link's description), for the next connection.
_LEFT_BEHIND = "left_behind.json"


def _left_behind() -> dict[str, list[str]]:
    saved = load_state(_LEFT_BEHIND)
    if not isinstance(saved, dict):
        return {}
    return {str(board): [str(path) for path in paths] for board, paths in saved.items() if isinstance(paths, list)}


_file_systems: "weakref.WeakKeyDictionary[Board, BoardFileSystem]" = weakref.WeakKeyDictionary()


def file_system(board: Board) -> BoardFileSystem:
    """The file service of `board`'s connection (probed once, then remembered)."""
    if board not in _file_systems:
        _file_systems[board] = BoardFileSystem(board)
        _file_systems[board].remove_left_behind()
    return _file_systems[board]
