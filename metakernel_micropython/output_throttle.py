"""Keeping a notebook usable when a board prints faster than anyone can read.

A loop that prints as fast as it can (10 MB in seconds on a USB board or the virtual board)
would send every byte to the browser and make the notebook unusable. The throttle lets a
burst through, then a steady rate; beyond that it skips, keeping only the latest text, and
says how much it skipped. A board on a 115200-baud UART (11.5 KB/s at most) is never skipped.
"""
from __future__ import annotations

import time
from collections.abc import Callable

SHOWN_AT_ONCE = 256 * 1024  #: characters a cell may show in one burst
SHOWN_PER_SECOND = 32 * 1024  #: then this many a second
TAIL_KEPT = 4 * 1024  #: characters of skipped text kept, to show where the output stands

SKIPPING_NOTE = ("\n[The board prints faster than the notebook can show: skipping output. "
                 "The latest lines follow when it slows down or the cell ends.]\n")


class OutputThrottle:
    """Passes text to `write`, or skips it (keeping its tail) while it comes too fast."""

    def __init__(self, write: Callable[[str], None], clock: Callable[[], float] = time.monotonic,
                 burst: int = SHOWN_AT_ONCE, rate: int = SHOWN_PER_SECOND, tail: int = TAIL_KEPT) -> None:
        self._write = write
        self._clock = clock
        self._burst, self._rate, self._tail_size = burst, rate, tail
        self._allowance = float(burst)
        self._refilled_at = clock()
        self._skipped = 0
        self._tail = ""
        #: Characters skipped over the whole cell, for the benchmarks.
        self.total_skipped = 0

    def write(self, text: str) -> None:
        self._refill()
        if not self._skipped and len(text) <= self._allowance:
            self._allowance -= len(text)
            self._write(text)
            return
        if not self._skipped:
            self._write(SKIPPING_NOTE)
        self._skipped += len(text)
        self.total_skipped += len(text)
        self._tail = (self._tail + text)[-self._tail_size:]
        # Skipped text costs nothing, so the allowance grows again meanwhile: once half a
        # burst is back, show where the output stands, even if the flood goes on.
        if self._allowance >= self._burst / 2:
            self._show_tail()

    def finish(self) -> None:
        """The cell ended: show the latest text if some was skipped."""
        if self._skipped:
            self._show_tail()

    def _refill(self) -> None:
        now = self._clock()
        self._allowance = min(self._burst, self._allowance + (now - self._refilled_at) * self._rate)
        self._refilled_at = now

    def _show_tail(self) -> None:
        tail = self._tail
        cut = tail.find("\n")
        if 0 <= cut < len(tail) - 1 and len(tail) == self._tail_size:
            tail = tail[cut + 1:]  # start at a line, not in the middle of one
        self._write(f"\n[... {self._skipped - len(tail):,} characters skipped ...]\n{tail}")
        self._allowance -= len(tail)
        self._skipped, self._tail = 0, ""
