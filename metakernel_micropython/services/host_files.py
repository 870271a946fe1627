"""The host side of file transfers: which host files go where, and where fetched files land."""
from __future__ import annotations

import os
import posixpath
from pathlib import Path

from .filesystem import join


def as_board_text(data: bytes) -> bytes:
    """Text for the board: Windows line ends become '\\n'. Bytes that are not UTF-8 are left as they are."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return data.replace(b"\r\n", b"\n")


def plan_sends(source: Path, destination: str | None, destination_is_directory: bool) -> list[tuple[Path, str]]:
    """(host file, board path) pairs for sending `source`, a file or a whole directory tree.

    A file goes to `destination`, or into it when that is a board directory, or under its own
    name; a directory's files go below `destination` (default: the directory's name).
    """
    if not source.exists():
        raise FileNotFoundError(2, "No such file or directory on this computer", str(source))
    if source.is_file():
        if destination is None or destination.endswith("/") or destination_is_directory:
            return [(source, join((destination or "").rstrip("/") or ".", source.name))]
        return [(source, destination)]
    base = destination.rstrip("/") if destination else source.resolve().name
    planned = []
    for folder, subfolders, names in os.walk(source):
        subfolders.sort()
        relative = Path(folder).relative_to(source)
        for name in sorted(names):
            planned.append((Path(folder) / name, posixpath.join(base, *relative.parts, name)))
    return planned


def fetch_destination(board_path: str, destination: str | None, host_folder: Path) -> Path:
    """Where a fetched file lands: `destination` as given, else the board path made relative to
    `host_folder` (the notebook's folder) and kept inside it: no absolute path, no '..'."""
    if destination:
        target = Path(destination).expanduser()
        return target / posixpath.basename(board_path) if target.is_dir() else target
    inside = posixpath.normpath("/" + board_path).lstrip("/")
    if not inside:
        raise IsADirectoryError(21, "Is a directory on the board", board_path)
    return host_folder / inside


def write_host_file(path: Path, data: bytes) -> None:
    """Written under a temporary name and renamed, so an interrupted fetch leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name("." + path.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, path)
