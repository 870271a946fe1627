"""esptool 5 in the kernel process: a connected loader, its progress, its errors in one line.

esptool reports through one global logger. While a session runs, `ProgressLog` takes its
place: the progress bars esptool draws become calls of a `progress(stage, done, total)`
callback, its chatter is kept out of the notebook, and the stage is read from the few
messages that mark one (there is no other hook for "verifying").
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, NoReturn

import serial
from esp_pylib.logger import EspLog, EspLogBase
from esptool.cmds import attach_flash, detect_chip, reset_chip, run_stub
from esptool.loader import DEFAULT_CONNECT_ATTEMPTS, ESPLoader
from esptool.util import FatalError

Progress = Callable[[str, int, int], None]

_ESPTOOL_FAILURES = (FatalError, serial.SerialException, OSError)
ROM_BAUD = 115200


class FlashError(Exception):
    """Flashing failed; the message is one line meant for the user."""


def no_sync_message(port: str) -> str:
    return (f"No answer from the ESP bootloader on {port}: hold BOOT (GPIO0) and press RESET (EN), "
            "then try again.")


def _ignore_progress(stage: str, done: int, total: int) -> None:
    pass


class ProgressLog(EspLogBase):
    """Stands in for esptool's logger for the length of a session."""

    _STAGE_MARKERS = (
        ("Erasing flash", "erasing"),  # ROM loader before writing, and erase-flash
        ("Flash will be erased", "erasing"),  # the stub, which erases as it writes
        ("Verifying written data", "verifying"),
    )

    def __init__(self, progress: Progress) -> None:
        # Not `progress`/`stage`: EspLogBase has methods by those names that esptool calls.
        self._report = progress
        self.current_stage = "connecting"
        self.verified = False
        self.warnings: list[str] = []

    def enter_stage(self, stage: str, done: int = 0, total: int = 1) -> None:
        self.current_stage = stage
        self._report(stage, done, total)

    def print(self, *args: Any, **kwargs: Any) -> None:
        text = " ".join(str(arg) for arg in args)
        for marker, stage in self._STAGE_MARKERS:
            if text.startswith(marker):
                self.enter_stage(stage)
        if text.startswith("Hash of data verified"):
            self.verified = True
            self._report("verifying", 1, 1)

    def progress_bar(self, cur_iter: int, total_iters: int, prefix: str = "", suffix: str = "",
                     bar_length: int = 30) -> None:
        if prefix.startswith("Writing"):
            self.current_stage = "writing"
        elif prefix.startswith("Reading"):
            self.current_stage = "reading"
        self._report(self.current_stage, cur_iter, total_iters)

    def warn(self, *args: Any, suggestion: str | None = None) -> None:
        self.warnings.append(" ".join(str(arg) for arg in args))

    def err(self, *args: Any, suggestion: str | None = None) -> None:
        self.warnings.append(" ".join(str(arg) for arg in args))

    def note(self, *args: Any) -> None:
        pass

    def hint(self, *args: Any) -> None:
        pass

    def debug(self, *args: Any) -> None:
        pass

    def die(self, *args: Any, exit_code: int = 1, suggestion: str | None = None) -> NoReturn:
        raise FatalError(" ".join(str(arg) for arg in args))

    def set_verbosity(self, mode: int | str) -> None:
        pass


def is_pseudo_terminal(port: str) -> bool:
    """A pty (the simulator, a relay) has no DTR/RTS lines to reset the chip with."""
    try:
        device = os.stat(port)
    except OSError:
        return False
    return stat.S_ISCHR(device.st_mode) and 136 <= os.major(device.st_rdev) <= 143


def resolve_reset_modes(port: str, before: str, after: str) -> tuple[str, str]:
    """"auto": esptool's DTR/RTS resets on a real port, none where there are no such lines."""
    no_lines = is_pseudo_terminal(port) or port.startswith("socket:")
    if before == "auto":
        before = "no-reset" if no_lines else "default-reset"
    if after == "auto":
        # Leaving the stub running is the one choice that sends nothing more to the chip.
        after = "no-reset-stub" if no_lines else "hard-reset"
    return before, after


def one_line(error: BaseException, port: str) -> str:
    """esptool's exceptions, which span lines and name a troubleshooting page, as one line."""
    text = str(error)
    lowered = text.lower()
    if isinstance(error, FatalError):
        if text.startswith("Failed to connect to") or "wrong boot mode" in lowered:
            return no_sync_message(port)
        if text.startswith("Could not open"):
            if "errno 2" in lowered or "no such file" in lowered:
                return f"Port {port} does not exist: is the board plugged in?"
            return f"Port {port} is busy: close the program that holds it (or %disconnect), then try again."
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else type(error).__name__
    if isinstance(error, (serial.SerialException, OSError)):
        return f"Serial port {port}: {first}"
    return f"esptool: {first}"


def _reset_quietly(esp: ESPLoader, after: str) -> None:
    try:
        reset_chip(esp, after)
    except _ESPTOOL_FAILURES:
        pass  # the failure that brought us here is the one worth reporting


@contextmanager
def installed_log(progress: Progress | None) -> Iterator[ProgressLog]:
    """Route esptool's output to `progress` until the block ends."""
    log = ProgressLog(progress or _ignore_progress)
    previous = EspLog.instance
    EspLog.set_logger(log)
    try:
        yield log
    finally:
        EspLog.instance = previous


@contextmanager
def esptool_session(port: str, *, baud: int, before: str = "auto", after: str = "auto",
                    log: ProgressLog) -> Iterator[ESPLoader]:
    """A loader running esptool's stub, at `baud`, with the flash attached; reset on the way out.

    Every esptool or serial failure inside the block comes out as a one-line FlashError.
    """
    if "://" not in port and not os.path.exists(port):
        raise FlashError(f"Port {port} does not exist: is the board plugged in?")
    before, after = resolve_reset_modes(port, before, after)
    # Real boards get esptool's full round of reset strategies; without reset lines more
    # attempts only delay the "hold BOOT" advice.
    attempts = DEFAULT_CONNECT_ATTEMPTS if before == "default-reset" else 3
    try:
        log.enter_stage("connecting")
        with detect_chip(port, ROM_BAUD, connect_mode=before, connect_attempts=attempts) as rom:
            esp = run_stub(rom)  # shares the ROM loader's port, which the `with` closes
            if baud > ROM_BAUD:
                esp.change_baud(baud)
            attach_flash(esp)
            try:
                yield esp
            except BaseException:
                _reset_quietly(esp, after)  # e.g. an image refused after connecting
                raise
            if after != "no-reset-stub":
                log.enter_stage("resetting")
            reset_chip(esp, after)
    except _ESPTOOL_FAILURES as error:
        raise FlashError(one_line(error, port)) from error
