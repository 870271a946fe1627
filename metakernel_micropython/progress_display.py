"""A progress line for long transfers, shown below the cell while the magic runs.

One display carries two forms of the same news: an ipywidgets progress bar (for front ends
that render widgets) and a text/plain line (for those that do not: a console, nbconvert,
nbclient). Both are updated in place through the display's id. Short transfers show nothing.
"""
from __future__ import annotations

import time
import uuid
from typing import Any

from .widgets import widget_bundle

try:
    import ipywidgets
except ImportError:  # widgets are optional: the text line still works
    ipywidgets = None

#: Show progress only for transfers still running after this long.
SHOW_AFTER_SECONDS = 0.5
#: Refresh the text form at most this often (each refresh is a message to the front end).
TEXT_EVERY_SECONDS = 0.5


def human_size(count: float) -> str:
    """1023 bytes, 1.5 KiB, 12.0 MiB, 3.2 GiB."""
    if count < 1024:
        return f"{int(count)} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        count /= 1024
        if count < 1024 or unit == "GiB":
            break
    return f"{count:.1f} {unit}"


class TransferProgress:
    """Call `update(done, total)` as bytes move and `finish()` at the end."""

    def __init__(self, kernel: Any, label: str) -> None:
        self.kernel = kernel
        self.label = label
        self.started = time.monotonic()
        self.display_id = uuid.uuid4().hex
        self._shown = False
        self._text_sent_at = 0.0
        self._last: tuple[int, int] = (0, 0)
        self._bar: Any = None

    def update(self, done: int, total: int) -> None:
        self._last = (done, total)
        now = time.monotonic()
        if not self._shown:
            if now - self.started < SHOW_AFTER_SECONDS or done >= total:
                return
            self._show()
        if self._bar is not None:
            self._bar.max, self._bar.value = max(total, 1), done
            self._bar.description = self._percent(done, total)
        if now - self._text_sent_at >= TEXT_EVERY_SECONDS:
            self._send("update_display_data")

    def finish(self) -> None:
        """The last state in both forms, if the progress was shown at all."""
        if not self._shown:
            return
        done, total = self._last
        if self._bar is not None:
            self._bar.value = done
            self._bar.description = self._percent(done, total)
        self._send("update_display_data")

    @staticmethod
    def _percent(done: int, total: int) -> str:
        return f"{100 * done // total if total else 100}%"

    def _text(self) -> str:
        done, total = self._last
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return (f"{self.label}: {human_size(done)} of {human_size(total)} ({self._percent(done, total)}), "
                f"{human_size(int(done / elapsed))}/s")

    def _show(self) -> None:
        self._shown = True
        if ipywidgets is not None:
            try:
                self._bar = ipywidgets.IntProgress(min=0, max=max(self._last[1], 1), value=self._last[0],
                                                   description=self._percent(*self._last))
            except Exception:  # no comm support in this front end: the text line is enough
                self._bar = None
        self._send("display_data")

    def _send(self, message_type: str) -> None:
        self._text_sent_at = time.monotonic()
        data = widget_bundle(self._bar, self._text()) if self._bar is not None else {"text/plain": self._text()}
        self.kernel.send_response(self.kernel.iopub_socket, message_type,
                                  {"data": data, "metadata": {}, "transient": {"display_id": self.display_id}})
