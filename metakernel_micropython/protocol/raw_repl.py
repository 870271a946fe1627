"""The raw REPL engine: one implementation of MicroPython's machine protocol for every link.

A run in raw REPL mode looks like this on the wire (see MicroPython's pyexec.c):

    host: code ... Ctrl-D          board: OK <stdout> Ctrl-D <stderr> Ctrl-D >

Raw-paste mode (MicroPython 1.14+) adds flow control: the host asks with Ctrl-E 'A' Ctrl-A,
the board answers 'R' 0x01 and a 16-bit window size, and grants a further window with
each 0x01 it sends. Old firmware (the micro:bit's 1.9.2) ignores the request and re-prints
the raw REPL banner; the engine then falls back to writing plain raw mode in small chunks.
"""
from __future__ import annotations

import contextlib
import re
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..transport import LinkClosed, Transport
from .board_errors import BoardError, BoardNotAnswering, BoardRebooted, CellTooLarge, ProtocolError

RAW_REPL_BANNER = b"raw REPL; CTRL-B to exit\r\n>"
FRIENDLY_PROMPT = b">>> "
#: Texts a board prints only when it (re)boots; seeing one in the middle of a run means reset.
#: The last is the friendly REPL's boot banner ("MicroPython v1.9.2-34-gd64154c73 on
#: 2017-09-01; micro:bit ..."), the only sign a board without a boot log (RP2040, micro:bit,
#: the virtual board) gives after a hard reset.
#: The banner's second line is a sign too: the banner itself may follow output that did not
#: end its line (a reset during `print('.', end='')`), the second line never does.
_REBOOT_LINE_STARTS = (b"MPY: soft reboot", b"rst:0x", b"ets Jun", b"ESP-ROM:", b'Type "help()" for more',
                       b"MicroPython ")
# Only at the start of a line: the same words inside a line are output (os.uname().version
# on a micro:bit reads "micro:bit v1.0.1 on ...; MicroPython v1.9.2 on 2017-09-01; ...").
# A NUL counts as a line start: a micro:bit's UART sends one as it resets.
_REBOOT_SIGN_TEXT = (b"(?:" + b"|".join(re.escape(start) for start in _REBOOT_LINE_STARTS[:-1])
                     + rb"|MicroPython \S+ on \d{4}-\d\d-\d\d; )")
REBOOT_SIGN = re.compile(rb"(?:^|[\n\x00])" + _REBOOT_SIGN_TEXT)
#: The same in a sliding window of a stream, whose first byte may be inside a line.
_REBOOT_SIGN_IN_WINDOW = re.compile(rb"[\n\x00]" + _REBOOT_SIGN_TEXT)
#: How much earlier output to keep, to see a reboot sign cut into pieces (a micro:bit under
#: QEMU sends two bytes at a time; banners with long version strings run past 64 bytes).
REBOOT_SIGN_SPAN = 128
#: Plain raw mode has no flow control: old boards need small writes with a pause between.
PLAIN_RAW_CHUNK = 256
PLAIN_RAW_PAUSE = 0.01
#: Cells larger than this are checked against the board's free RAM before plain raw mode.
PLAIN_RAW_CHECKED_SIZE = 1024
#: Reading what a board prints outside a run stops after this long, keeping this much.
DRAIN_AT_MOST = 2.0
DRAIN_KEEP = 64 * 1024
#: A Ctrl-C that lands before the code starts running can be lost; resend it for this long.
INTERRUPT_RETRY_WINDOW = 1.0
INTERRUPT_RETRY_EVERY = 0.25

OutputHandler = Callable[[bytes], None]


@dataclass
class RunResult:
    """What a finished run left behind. stdout went to the handler as it arrived."""

    stderr: bytes
    interrupted: bool


class RawRepl:
    """Drives a board's raw REPL over any Transport."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.in_raw_mode = False
        #: None until the first run tells us whether the firmware has raw-paste mode.
        self.raw_paste_supported: bool | None = None
        #: The board's raw-paste window, once seen: a cell that fits goes in one write.
        self.raw_paste_window: int | None = None
        self._pending = bytearray()
        self._interrupt_requested = threading.Event()
        #: Held for the whole of a run, so that work squeezed in between cells (completion)
        #: can see that the board is busy instead of corrupting the run.
        self._run_lock = threading.RLock()

    # -- reading ---------------------------------------------------------------------
    def _read_some(self, timeout: float = 0.05) -> bytes:
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            return data
        return self.transport.read(4096, timeout)

    def _unread(self, data: bytes) -> None:
        self._pending[:0] = data

    def read_until(self, ending: bytes, timeout: float) -> bytes:
        """Read until `ending` has arrived; return everything up to and including it."""
        received = bytearray()
        deadline = time.monotonic() + timeout
        while True:
            position = received.find(ending)
            if position >= 0:
                self._unread(bytes(received[position + len(ending):]))
                return bytes(received[:position + len(ending)])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BoardNotAnswering(bytes(received))
            received += self._read_some(min(0.05, remaining))

    def drain(self, quiet_for: float = 0.0, at_most: float = DRAIN_AT_MOST) -> bytes:
        """Take whatever the board printed outside a run (boot banner, log lines), until it
        has been quiet for `quiet_for`. A board that never stops printing (a loop in
        main.py) ends it after `at_most` seconds; only the last DRAIN_KEEP bytes are kept."""
        received = bytearray(self._pending)
        self._pending.clear()
        deadline = time.monotonic() + at_most
        while time.monotonic() < deadline:
            chunk = self.transport.read(4096, quiet_for)
            if not chunk:
                break
            received += chunk
            del received[:-DRAIN_KEEP]
        return bytes(received)

    def printed_between_runs(self) -> tuple[bytes, bool]:
        """What the board printed since the last run, and whether that shows it rebooted
        (reset button, watchdog): then the next run enters the raw REPL again first."""
        printed = self.drain()
        rebooted = bool(REBOOT_SIGN.search(printed))
        if rebooted:
            self.in_raw_mode = False
        return printed, rebooted

    # -- interrupts ------------------------------------------------------------------
    def request_interrupt(self) -> None:
        """Ask the current run to stop (Ctrl-C). Safe from a signal handler or another thread."""
        self._interrupt_requested.set()

    # -- mode changes ----------------------------------------------------------------
    def enter_raw_repl(self, timeout: float = 5.0) -> bytes:
        """Stop whatever runs and enter the raw REPL. Returns what the board printed first."""
        self.transport.send_interrupt()
        self.transport.write(b"\r")
        self.transport.send_interrupt()
        noise = self.drain(0.1)
        self.transport.write(b"\r\x01")
        try:
            seen = self.read_until(RAW_REPL_BANNER, timeout)
        except BoardNotAnswering as failure:
            # A busy board may need more than one Ctrl-C (a loop that catches it, boot.py).
            self.transport.send_interrupt()
            self.transport.write(b"\r\x01")
            try:
                seen = self.read_until(RAW_REPL_BANNER, timeout)
            except BoardNotAnswering as second:
                raise BoardNotAnswering(noise + failure.received + second.received) from None
        self.in_raw_mode = True
        # After a reset the firmware may be another (just flashed): ask again on the next run.
        self.raw_paste_supported, self.raw_paste_window = None, None
        return noise + seen[: -len(RAW_REPL_BANNER)]

    def exit_raw_repl(self) -> None:
        """Back to the friendly REPL, so that a terminal program finds the usual prompt."""
        self.transport.write(b"\x02")
        self.in_raw_mode = False

    def soft_reboot(self, timeout: float = 15.0) -> bytes:
        """Soft reset (Ctrl-D in the raw REPL); returns the text the board printed while booting."""
        if not self.in_raw_mode:
            self.enter_raw_repl()
        self.drain()
        self.transport.write(b"\x04")
        printed = bytearray()
        deadline = time.monotonic() + timeout
        # The board either comes back in the raw REPL (newer firmware) or in the friendly
        # REPL (and the virtual board restarts its process, printing its banner).
        while not (printed.endswith(RAW_REPL_BANNER) or printed.endswith(FRIENDLY_PROMPT)):
            if time.monotonic() > deadline:
                raise BoardNotAnswering(bytes(printed))
            printed += self._read_some(0.05)
        printed += self.drain(0.1)
        self.in_raw_mode = printed.endswith(RAW_REPL_BANNER)
        self.raw_paste_supported, self.raw_paste_window = None, None
        if not self.in_raw_mode:
            self.enter_raw_repl()
        return bytes(printed)

    # -- running code ----------------------------------------------------------------
    def run(self, code: str | bytes, on_stdout: OutputHandler) -> RunResult:
        """Run `code` on the board; stdout goes to `on_stdout` as it arrives.

        Never times out: a board may rightly stay silent for minutes. It ends when the
        run ends, when the board reboots (BoardRebooted) or the link goes (LinkClosed).
        """
        with self._run_lock:
            if not self.in_raw_mode:
                self.enter_raw_repl()
            code_bytes = code.encode() if isinstance(code, str) else code
            self._interrupt_requested.clear()
            try:
                self._send_code(code_bytes)
                return self._collect_run_output(on_stdout)
            except (LinkClosed, ProtocolError):
                # Whatever state the board is in now, the next run starts with a fresh
                # Ctrl-C and Ctrl-A rather than trusting that it is still in the raw REPL.
                self.in_raw_mode = False
                raise

    @contextlib.contextmanager
    def between_runs(self) -> Iterator[bool]:
        """For quick work between cells: yields False (and holds nothing) while a run is in
        progress, else True with the board held. What the board printed meanwhile (log lines)
        is kept for the next cell to show."""
        if not self._run_lock.acquire(blocking=False):
            yield False
            return
        printed = b""
        try:
            printed = self.drain()
            yield True
        finally:
            self._unread(printed)
            self._run_lock.release()

    def exec_capture(self, code: str | bytes) -> bytes:
        """Run `code` and return its stdout; a board exception becomes BoardError."""
        output = bytearray()
        result = self.run(code, output.extend)
        if result.stderr:
            raise BoardError(result.stderr.decode(errors="replace"))
        return bytes(output)

    def _send_code(self, code_bytes: bytes) -> None:
        if self.raw_paste_supported is not False:
            if self._send_raw_paste(code_bytes):
                return
        if len(code_bytes) > PLAIN_RAW_CHECKED_SIZE:
            self._check_room_for(len(code_bytes))
        self._send_plain_raw(code_bytes)

    def _check_room_for(self, size: int) -> None:
        """Plain raw mode holds the whole cell in the board's RAM before compiling it; a cell
        that does not fit can hang a small board (a micro:bit) until it is reset."""
        self._send_plain_raw(b"import gc as _mpk_gc\n_mpk_gc.collect()\nprint(_mpk_gc.mem_free())")
        printed = bytearray()
        self._collect_run_output(printed.extend)
        try:
            free = int(printed.strip())
        except ValueError:
            return  # no gc module: nothing to check against
        if size > free // 2:
            raise CellTooLarge(size, free)

    def _send_raw_paste(self, code_bytes: bytes) -> bool:
        """Send with raw-paste flow control; False if the firmware has no raw-paste mode."""
        if self.raw_paste_window is not None and len(code_bytes) <= self.raw_paste_window:
            self._send_within_known_window(code_bytes)
            return True
        self.transport.write(b"\x05A\x01")
        reply = self._await_raw_paste_reply()
        if reply != b"R\x01":
            self.raw_paste_supported = False
            return False
        self.raw_paste_supported = True
        window_size = struct.unpack("<H", self._read_exactly(2, 2.0))[0]
        self.raw_paste_window = window_size
        self._write_with_flow_control(code_bytes, window_size)
        self.transport.write(b"\x04")
        # The board answers the end of data with Ctrl-D once it has read everything.
        self.read_until(b"\x04", 10.0)
        return True

    def _send_within_known_window(self, code_bytes: bytes) -> None:
        """A cell no larger than the window this board granted before needs no flow control:
        request, code and end go in one write, which saves a round trip per cell."""
        self.transport.write(b"\x05A\x01" + code_bytes + b"\x04")
        if self._await_raw_paste_reply() != b"R\x01":
            # The firmware changed under us (flashed, or another board on the port): the
            # board took the bytes as plain raw input, and Ctrl-D ran them.
            self.raw_paste_supported, self.raw_paste_window = False, None
            self.read_until(b"OK", 10.0)
            return
        self._read_exactly(2, 2.0)  # the window size, known already
        self.read_until(b"\x04", 10.0)  # skipping flow-control grants, up to the end-of-data echo

    def _await_raw_paste_reply(self, timeout: float = 2.0) -> bytes:
        """b"R\x01" (raw-paste on), b"R\x00" (refused) or b"" (old firmware, banner again)."""
        received = bytearray()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received += self._read_some(0.05)
            for reply in (b"R\x01", b"R\x00"):  # after any noise (a log line) that came first
                reply_at = received.find(reply)
                if reply_at >= 0:
                    self._unread(bytes(received[reply_at + 2:]))
                    return reply
            sign = REBOOT_SIGN.search(received)
            if sign:  # reset just before this run: the board is in its friendly REPL now
                raise BoardRebooted(bytes(received[sign.start():]) + self.drain(0.3))
            banner_at = received.find(RAW_REPL_BANNER)
            if banner_at >= 0:
                self._unread(bytes(received[banner_at + len(RAW_REPL_BANNER):]))
                return b""
        raise BoardNotAnswering(bytes(received))

    def _write_with_flow_control(self, code_bytes: bytes, window_size: int) -> None:
        sent = 0
        grants = 0
        window_remaining = window_size
        noise = b"\n"  # what else the board printed meanwhile (a log line): skipped
        while sent < len(code_bytes):
            while window_remaining == 0 or self._pending:
                signal_byte = self._read_exactly(1, 10.0)
                if signal_byte == b"\x01":
                    # A grant is genuine only once a window's worth has been read by the
                    # board; the unix port sends one spare grant right after the header.
                    if grants < sent // window_size:
                        grants += 1
                        window_remaining += window_size
                elif signal_byte == b"\x04":
                    # The board ended the paste early (e.g. a compile error): acknowledge.
                    self.transport.write(b"\x04")
                    return
                else:
                    noise = noise[-REBOOT_SIGN_SPAN:] + signal_byte
                    sign = _REBOOT_SIGN_IN_WINDOW.search(noise)
                    if sign:
                        raise BoardRebooted(noise[sign.start():] + self.drain(0.3))
                if not self._pending:
                    self._pending += self.transport.read(4096, 0)
            block = code_bytes[sent:sent + window_remaining]
            self.transport.write(block)
            sent += len(block)
            window_remaining -= len(block)
            if not self._pending:
                self._pending += self.transport.read(4096, 0)

    def _send_plain_raw(self, code_bytes: bytes) -> None:
        # No flow control here: a pause after each full chunk lets the board empty its receive
        # buffer (pyboard.py's pacing). A cell that fits one chunk goes at once, end included.
        data = code_bytes + b"\x04"
        for start in range(0, len(data), PLAIN_RAW_CHUNK):
            if start:
                time.sleep(PLAIN_RAW_PAUSE)
            self.transport.write(data[start:start + PLAIN_RAW_CHUNK])
        self.read_until(b"OK", 10.0)

    def _read_exactly(self, count: int, timeout: float) -> bytes:
        data = bytearray()
        deadline = time.monotonic() + timeout
        while len(data) < count:
            if time.monotonic() > deadline:
                raise BoardNotAnswering(bytes(data))
            data += self._read_some(0.05)
        self._unread(bytes(data[count:]))
        return bytes(data[:count])

    @staticmethod
    def _interrupt_may_be_lost(run_started: float, first: float, last: float, now: float) -> bool:
        """A Ctrl-C sent just as the run started may have reached the board before the code
        ran (the unix port reads it as a plain byte then): repeat it for a short while."""
        return (first - run_started < INTERRUPT_RETRY_WINDOW
                and now - first < 3 * INTERRUPT_RETRY_WINDOW
                and now - last > INTERRUPT_RETRY_EVERY)

    def _reboot_seen(self, recent: bytes, unshown_stdout: bytes, on_stdout: OutputHandler) -> None:
        """Raise BoardRebooted with what the board printed from its first boot line on;
        the cell's own output before that still goes to `on_stdout`."""
        self.in_raw_mode = False
        sign_in_unshown = _REBOOT_SIGN_IN_WINDOW.search(unshown_stdout)
        if sign_in_unshown and sign_in_unshown.start():
            on_stdout(unshown_stdout[:sign_in_unshown.start()])
        sign = _REBOOT_SIGN_IN_WINDOW.search(recent)
        raise BoardRebooted(recent[sign.start() if sign else 0:] + self.drain(0.3))

    def _collect_run_output(self, on_stdout: OutputHandler) -> RunResult:
        run_started = time.monotonic()
        first_interrupt = last_interrupt = 0.0
        stderr = bytearray()
        section = 0  # 0: stdout, 1: stderr, 2: waiting for the prompt
        tail = b"\n"  # the latest output, to see reboot signs cut into pieces; a run starts a line
        held = b""  # stdout that may be the start of a boot banner: shown once it is not
        while True:
            now = time.monotonic()
            if self._interrupt_requested.is_set():
                self._interrupt_requested.clear()
                first_interrupt = first_interrupt or now
                last_interrupt = now
                self.transport.send_interrupt()
            elif first_interrupt and self._interrupt_may_be_lost(run_started, first_interrupt, last_interrupt, now):
                last_interrupt = now
                self.transport.send_interrupt()
            chunk = self._read_some(0.05)
            if not chunk:
                # A banner arrives in one burst: a pause means held text was the user's. A
                # reset's NUL comes a while before its banner, so it stays held.
                if held.strip(b"\x00"):
                    on_stdout(held)
                    held = b""
                continue
            if section < 2 and _REBOOT_SIGN_IN_WINDOW.search(tail + chunk):
                self._reboot_seen(tail + chunk, held + chunk if section == 0 else b"", on_stdout)
            tail = (tail + chunk)[-REBOOT_SIGN_SPAN:]
            while chunk:
                if section == 2:
                    if chunk.startswith(b">"):
                        self._unread(chunk[1:])
                        return RunResult(bytes(stderr), interrupted=bool(first_interrupt))
                    chunk = chunk[1:]
                    continue
                end = chunk.find(b"\x04")
                part, chunk = (chunk, b"") if end < 0 else (chunk[:end], chunk[end + 1:])
                if section == 0:
                    part, held = held + part, b""
                    shown = len(part) if end >= 0 else _unfinished_reboot_line_start(part)
                    if shown:
                        on_stdout(part[:shown])
                    held = part[shown:]
                else:
                    stderr += part
                if end >= 0:
                    section += 1


def _unfinished_reboot_line_start(data: bytes) -> int:
    """Where the last, unfinished line of `data` starts if it may be the start of a reboot
    sign (held back until the line shows whether it is one), else len(data). A micro:bit's
    reset NUL is held with the line it starts."""
    line_start = max(data.rfind(b"\n") + 1, data.rfind(b"\x00"))
    line = data[line_start:].lstrip(b"\x00")
    if (line_start < len(data) and len(line) <= 2 * REBOOT_SIGN_SPAN
            and any(start.startswith(line[:len(start)]) for start in _REBOOT_LINE_STARTS)):
        return line_start
    return len(data)
