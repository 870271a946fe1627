"""Turning the board's stdout bytes into notebook stream text, as they arrive."""
from __future__ import annotations

import codecs
from collections.abc import Callable

from .cell_code import VALUE_END, VALUE_MARKER


class OutputSplitter:
    """Decodes stdout incrementally, passes text on, and keeps the last-expression value apart."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
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
        keep = _longest_marker_prefix_at_end(text)
        self._held = text[len(text) - keep:] if keep else ""
        self._emit(text[: len(text) - keep])

    def finish(self) -> str | None:
        """Flush what is left; returns the repr of the cell's value, if it printed one."""
        self._emit(self._held + self._decoder.decode(b"", final=True))
        self._held = ""
        if self._value_text is None:
            return None
        value, _, after = self._value_text.partition(VALUE_END)
        self._emit(after.lstrip("\r\n"))
        return value

    def _emit(self, text: str) -> None:
        if text:
            self._write(text.replace("\r\n", "\n"))


def _longest_marker_prefix_at_end(text: str) -> int:
    for length in range(min(len(VALUE_MARKER) - 1, len(text)), 0, -1):
        if VALUE_MARKER.startswith(text[-length:]):
            return length
    return 0
