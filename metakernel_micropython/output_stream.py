"""Turning the board's stdout bytes into notebook stream text, as they arrive."""
from __future__ import annotations

import codecs
from collections.abc import Callable

from .cell_code import VALUE_END, VALUE_MARKER


class OutputSplitter:
    """Decodes stdout incrementally, passes text on, and keeps the last-expression value apart."""

    def __init__(self, write: Callable[[str], None], on_finish: Callable[[], None] | None = None) -> None:
        self._write = write
        self._on_finish = on_finish
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held = ""  # text that may be the start of the value marker
        self._value_text: str | None = None

    def feed(self, data: bytes) -> None:
        text = self._held + self._decoder.decode(data)
        self._held = ""
        if self._value_text is not None:
            self._value_text += text
            return
        marker_at = text.find(VALUE_MARKER)
        if marker_at >= 0:
            self._emit(text[:marker_at])
            self._value_text = text[marker_at + len(VALUE_MARKER):]
            return
        # A "\r" at the end may be the first half of a "\r\n" cut in two by the link.
        keep = _longest_marker_prefix_at_end(text) or int(text.endswith("\r"))
        self._held = text[len(text) - keep:] if keep else ""
        self._emit(text[: len(text) - keep])

    def finish(self) -> str | None:
        """Flush what is left; returns the repr of the cell's value, if it printed one."""
        self._emit(self._held + self._decoder.decode(b"", final=True))
        self._held = ""
        value = None
        if self._value_text is not None:
            value, _, after = self._value_text.partition(VALUE_END)
            self._emit(after.lstrip("\r\n"))
        if self._on_finish:
            self._on_finish()
        return value

    def _emit(self, text: str) -> None:
        if text:
            self._write(text.replace("\r\n", "\n"))


def _longest_marker_prefix_at_end(text: str) -> int:
    for length in range(min(len(VALUE_MARKER) - 1, len(text)), 0, -1):
        if VALUE_MARKER.startswith(text[-length:]):
            return length
    return 0


def mark_board_lines(printed: bytes) -> str:
    """What the board printed outside a cell, each line marked `[board]`. Lines that are
    mostly unreadable (a wrong baud rate, a boot ROM's own baud rate) are summarized."""
    text = printed.decode(errors="replace").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return "\n".join(f"[board] {_readable(line)}" for line in text.split("\n") if line.strip())


def _readable(line: str) -> str:
    unreadable = sum(1 for char in line if char == "\ufffd" or (not char.isprintable() and char != "\t"))
    if unreadable * 4 > len(line):
        return f"<{len(line)} unreadable characters: output at another baud rate, e.g. a boot ROM's>"
    return "".join(char for char in line if char.isprintable() or char == "\t")
