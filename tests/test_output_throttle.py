"""The output throttle alone, on a hand-driven clock (one layer, no kernel)."""
from __future__ import annotations

from metakernel_micropython.output_throttle import SKIPPING_NOTE, OutputThrottle


class HandClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def throttle_on(clock: HandClock, shown: list[str]) -> OutputThrottle:
    return OutputThrottle(shown.append, clock=clock, burst=1000, rate=100, tail=50)


def test_output_within_the_burst_and_the_rate_passes_untouched() -> None:
    clock, shown = HandClock(), []
    throttle = throttle_on(clock, shown)
    for second in range(30):
        clock.now = second
        throttle.write("x" * 99 + "\n")
    throttle.finish()
    assert "".join(shown) == ("x" * 99 + "\n") * 30


def test_a_flood_is_skipped_with_a_note_and_ends_with_its_tail() -> None:
    clock, shown = HandClock(), []
    throttle = throttle_on(clock, shown)
    lines = [f"line {number}\n" for number in range(10_000)]
    for line in lines:
        throttle.write(line)
    throttle.finish()
    text = "".join(shown)
    assert len(text) < 1000 + len(SKIPPING_NOTE) + 200
    assert SKIPPING_NOTE in text
    assert "characters skipped" in text
    assert text.endswith("line 9999\n")
    assert "\nline 99" in text  # the tail starts at a line, not inside one


def test_an_endless_flood_still_shows_where_it_stands_now_and_then() -> None:
    clock, shown = HandClock(), []
    throttle = throttle_on(clock, shown)
    for step in range(2000):
        clock.now = step * 0.01  # 100 writes a second, far above the rate
        throttle.write(f"step {step}\n")
    progress = [text for text in shown if "characters skipped" in text]
    assert len(progress) >= 2
    assert throttle.total_skipped > 0


def test_skipped_counts_only_what_was_never_shown() -> None:
    clock, shown = HandClock(), []
    throttle = throttle_on(clock, shown)
    throttle.write("a" * 1000)  # the whole burst
    throttle.write("b" * 500)  # skipped: its last 50 are shown at the end
    throttle.finish()
    assert shown[-1] == "\n[... 450 characters skipped ...]\n" + "b" * 50
