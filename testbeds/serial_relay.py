"""The virtual board behind a serial port: a pty pair that pyserial, mpremote or the kernel open.

Usage::

    with VirtualBoardOnPty(tmp_dir, baudrate=115200) as board:
        subprocess.run(["mpremote", "connect", board.port, "exec", "print(1)"])

Inside, `VirtualBoardTransport` runs the MicroPython unix port in its own pty; two threads
copy bytes between it and a second pty whose slave is offered to clients.

- `.port` is a stable symlink in a temporary directory. `unplug()` removes it and closes the
  pty master, so an open client's reads and writes fail (EIO) as with a pulled USB cable;
  `replug()` makes a new pty (a new /dev/pts number) and points the same `.port` at it.
- `baudrate` paces each direction like a UART (10 bits a byte) by elapsed line time, in chunks
  of about 10 ms: 115200 baud gives about 11 520 bytes/s. A client that writes faster than
  that is held back by the pty buffer; a board that prints faster waits, as on a real UART.
- A `\\x03` from the client goes to the board as `VirtualBoardTransport.send_interrupt()`
  delivers it (SIGINT only while MicroPython's handler is installed, else as data).
- `reset()` kills the interpreter; the transport starts it again, so the client sees a fresh
  banner on the same open port, as after the reset button.
- A soft reboot (Ctrl-D) ends the unix port's process; the relay makes the restart look like a
  real board's: `MPY: soft reboot` first and, when it came from the raw REPL, the board is put
  back in the raw REPL (mpremote soft-resets that way before every command).
- `inject(data)` makes bytes arrive as if the board printed them (see WRONG_BAUD_GARBAGE,
  ESP_IDF_BOOT_LOG, WIFI_LOG_LINES).
- With no client holding the port, the board's output is dropped, as by a UART nobody reads.
"""
from __future__ import annotations

import collections
import errno
import os
import select
import shutil
import signal
import tempfile
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from metakernel_micropython.transport import LinkClosed
from metakernel_micropython.transport.virtual_board import VirtualBoardTransport, sigint_handler_installed

#: Bytes like those an ESP8266's 74880-baud boot message gives when read at 115200 baud.
WRONG_BAUD_GARBAGE = bytes.fromhex(
    "00e0f8fc1c8ce08f7c0c8c63ec9ce302c2639c1c87e38c6c7c8c3b0c8c6c6c637ce0e3ec9ce3fb1cc31c"
) + b"\xff\xfe\x00\x80\x8c\x1c"
ESP_IDF_BOOT_LOG = (
    b"ets Jun  8 2016 00:22:57\r\n\r\n"
    b"rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"
    b"configsip: 0, SPIWP:0xee\r\nclk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00\r\n"
    b"mode:DIO, clock div:2\r\nload:0x3fff0030,len:4540\r\nentry 0x40080740\r\n"
    b"I (29) boot: ESP-IDF v5.0.4 2nd stage bootloader\r\n"
    b"I (29) boot: compile time 12:04:11\r\n"
)
WIFI_LOG_LINES = (
    b"I (1234) wifi:new:<6,0>, old:<1,0>, ap:<255,255>, sta:<6,0>, prof:1\r\n"
    b"I (1240) wifi:state: init -> auth (b0)\r\n"
    b"W (1302) wifi:Haven't to connect to a suitable AP now!\r\n"
)

RAW_REPL_BANNER = b"raw REPL; CTRL-B to exit\r\n"
FRIENDLY_PROMPT = b">>> "
SOFT_REBOOT_LINE = b"MPY: soft reboot\r\n"

_NO_CLIENT_POLL_S = 0.02  # how often to look for a client opening the port (no event for it)
_SELECT_S = 0.05
_UNPACED_CHUNK = 4096


class _UartPacer:
    """Lets bytes through no faster than a UART line at `baudrate` (start + 8 data + stop bits)."""

    def __init__(self, baudrate: int | None) -> None:
        self.bytes_per_second = baudrate / 10 if baudrate else None
        # About 10 ms of line time per chunk: smooth, and no per-byte sleeping.
        self.chunk_size = max(1, int(self.bytes_per_second / 100)) if self.bytes_per_second else _UNPACED_CHUNK
        self._line_free_at = 0.0

    def wait_to_send(self, count: int) -> None:
        """Sleep until `count` more bytes would have crossed the line."""
        if not self.bytes_per_second:
            return
        now = time.monotonic()
        # Keep a little credit for oversleeping, so the mean rate stays true; an idle
        # line earns no more than that.
        start = max(self._line_free_at, now - 0.02)
        self._line_free_at = start + count / self.bytes_per_second
        if self._line_free_at > now:
            time.sleep(self._line_free_at - now)


class VirtualBoardOnPty:
    """A virtual board (MicroPython unix port) reachable as a serial port at `.port`."""

    def __init__(self, directory: str | os.PathLike[str], baudrate: int | None = None) -> None:
        self.directory = Path(directory)
        self.baudrate = baudrate
        self._temp_dir = Path(tempfile.mkdtemp(prefix="virtualboard-pty-"))
        self.port = str(self._temp_dir / "ttyVIRTUAL")
        #: The /dev/pts node behind `.port`; None while unplugged.
        self.pty: str | None = None
        self._board: VirtualBoardTransport | None = None
        self._board_lock = threading.Lock()  # transport.read/write/send_interrupt, never together
        self._client_fd: int | None = None  # our master side of the client's pty
        self._client_lock = threading.Lock()  # held while writing to or replacing _client_fd
        self._injected: collections.deque[tuple[bytes, threading.Event]] = collections.deque()
        # What a real board would be in after a soft reboot: the raw REPL, if it was in it.
        self._board_in_raw_repl = False
        self._reset_requested = False
        self._booted = threading.Event()  # set once a reset's banner has gone to the client
        self._boot_output: bytes | None = None  # after a reset, what it printed until the prompt
        self._calls: collections.deque[tuple[Callable[[], None], threading.Event]] = collections.deque()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> VirtualBoardOnPty:
        self._board = VirtualBoardTransport(self.directory)
        # Like a board powered up a while ago: booted before anyone talks to it. Bytes sent
        # while the unix port is still starting are discarded when it sets up its terminal.
        self._boot_output = b""
        self._plug()
        self._threads = [
            threading.Thread(target=self._board_to_client, name="relay-board-to-client", daemon=True),
            threading.Thread(target=self._client_to_board, name="relay-client-to-board", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if not self._booted.wait(10):
            self.stop()
            raise TimeoutError("the virtual board did not boot")
        return self

    def stop(self) -> None:
        """End the board and remove the port. Safe to call twice."""
        self._stopping.set()
        self._wake()
        for thread in self._threads:
            thread.join(5)
        self._threads = []
        if self._board is not None:
            self._board.close()
        self._unplug()
        for fd in (self._wake_read, self._wake_write):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_read = self._wake_write = -1
        shutil.rmtree(self._temp_dir, ignore_errors=True)

    def __enter__(self) -> VirtualBoardOnPty:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    # -- fault injection -------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """The MicroPython process id (it changes with every reset or Ctrl-D restart)."""
        return self._board.pid if self._board else -1

    def unplug(self) -> None:
        """The device vanishes: `.port` disappears and an open client's I/O fails.

        The board keeps running (as on battery); what it prints meanwhile is lost.
        """
        self._on_relay_thread(self._unplug)

    def replug(self) -> None:
        """The device comes back at the same `.port` path (a new pty behind it)."""
        self._on_relay_thread(self._plug)

    def reset(self, timeout: float = 10.0) -> None:
        """Press the reset button: the interpreter is killed and started again (fresh banner).

        Returns once the new banner and prompt have gone to the client (or were dropped,
        with no client); variables are gone, files stay.
        """
        assert self._board is not None, "start() first"
        self._booted.clear()
        self._reset_requested = True
        try:
            os.kill(self._board.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if not self._booted.wait(timeout):
            raise TimeoutError("the virtual board did not boot again")

    def inject(self, data: bytes, wait: bool = True, timeout: float = 10.0) -> None:
        """Bytes reach the client as if the board had printed them (after what it printed so far).

        With `wait`, returns once they have been written to the client's side of the pty.
        """
        delivered = threading.Event()
        self._injected.append((bytes(data), delivered))
        if wait and not delivered.wait(timeout):
            raise TimeoutError("the injected bytes were not delivered")

    # -- client pty (only the client-to-board thread opens or closes it once running) -------
    def _plug(self) -> None:
        if self._client_fd is not None:
            return
        master_fd, slave_fd = os.openpty()
        tty.setraw(slave_fd)  # raw, no echo, no CR/LF changes: what a USB-serial device gives
        self.pty = os.ttyname(slave_fd)
        # The slave is not held open, so the master's POLLHUP says whether a client has it.
        os.close(slave_fd)
        os.set_blocking(master_fd, False)
        with self._client_lock:
            self._client_fd = master_fd
        temporary_link = self.port + ".new"
        os.symlink(self.pty, temporary_link)
        os.replace(temporary_link, self.port)  # atomic: a client never sees a half-made port

    def _unplug(self) -> None:
        try:
            os.unlink(self.port)
        except FileNotFoundError:
            pass
        with self._client_lock:
            if self._client_fd is not None:
                os.close(self._client_fd)  # hangs up every open fd of the slave
            self._client_fd, self.pty = None, None

    def _client_present(self) -> bool:
        fd = self._client_fd
        if fd is None:
            return False
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return not any(events & select.POLLHUP for _, events in poller.poll(0))

    def _on_relay_thread(self, action: Callable[[], None]) -> None:
        """Run `action` on the thread that waits on the client's fd, so no fd closes under it."""
        if not self._threads:
            action()
            return
        done = threading.Event()
        self._calls.append((action, done))
        self._wake()
        if not done.wait(10):
            raise TimeoutError(f"the relay did not run {action.__name__}")

    def _wake(self) -> None:
        try:
            os.write(self._wake_write, b"!")
        except OSError:
            pass

    # -- client to board -------------------------------------------------------------------
    def _client_to_board(self) -> None:
        pacer = _UartPacer(self.baudrate)
        while not self._stopping.is_set():
            self._run_calls()
            if not self._client_present():
                select.select([self._wake_read], [], [], _NO_CLIENT_POLL_S)
                continue
            readable, _, _ = select.select([self._client_fd, self._wake_read], [], [], _SELECT_S)
            if self._client_fd not in readable:
                continue
            try:
                data = os.read(self._client_fd, pacer.chunk_size)
            except OSError:  # EIO: the client closed the port just now
                continue
            pacer.wait_to_send(len(data))
            try:
                self._deliver_to_board(data)
            except LinkClosed:
                return

    def _run_calls(self) -> None:
        try:
            os.read(self._wake_read, 4096)
        except BlockingIOError:
            pass
        while self._calls:
            action, done = self._calls.popleft()
            action()
            done.set()

    def _deliver_to_board(self, data: bytes) -> None:
        assert self._board is not None
        # Ctrl-C is no byte to the unix port: it becomes the signal a real board's UART
        # interrupt handler would raise, in order with the bytes around it.
        if b"\x02" in data:
            self._board_in_raw_repl = False
        for index, part in enumerate(data.split(b"\x03")):
            with self._board_lock:
                if index:
                    self._interrupt_board()
                if part:
                    self._board.write(part)

    def _interrupt_board(self) -> None:
        assert self._board is not None
        pid = self._board.pid
        if self.baudrate:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                return
            try:
                # A board on a UART blocks in print() once its small TX FIFO is full; the
                # unix port instead ran ahead into the pty's buffer. Output it wrote there
                # but nobody read yet, a real board would not have produced by now.
                if sigint_handler_installed(pid):
                    termios.tcflush(self._board.fileno(), termios.TCIFLUSH)
                self._board.send_interrupt()
            finally:
                os.kill(pid, signal.SIGCONT)
        else:
            self._board.send_interrupt()

    # -- board to client -------------------------------------------------------------------
    def _board_to_client(self) -> None:
        pacer = _UartPacer(self.baudrate)
        recent_output = b""  # to see the raw REPL banner even when cut in two
        while not self._stopping.is_set():
            delivered = None
            try:
                if self._injected:
                    data, delivered = self._injected.popleft()
                else:
                    data = self._read_board(pacer.chunk_size)
            except LinkClosed:
                return
            recent_output = recent_output[-len(RAW_REPL_BANNER):] + data
            if RAW_REPL_BANNER in recent_output:
                self._board_in_raw_repl = True
                recent_output = b""
            for start in range(0, len(data), pacer.chunk_size):
                chunk = data[start:start + pacer.chunk_size]
                pacer.wait_to_send(len(chunk))
                self._send_to_client(chunk)
            if delivered is not None:
                delivered.set()
            if self._boot_output is not None:
                self._boot_output = self._boot_output[-len(FRIENDLY_PROMPT):] + data
                if FRIENDLY_PROMPT in self._boot_output:
                    self._boot_output = None
                    self._booted.set()

    def _read_board(self, max_bytes: int) -> bytes:
        assert self._board is not None
        readable, _, _ = select.select([self._board.fileno()], [], [], _SELECT_S)
        if not readable:
            return b""
        with self._board_lock:
            restarts_before = self._board.restarts
            # read() itself restarts an interpreter that ended (Ctrl-D, reset()).
            data = self._board.read(max_bytes, 0)
            if self._board.restarts == restarts_before:
                return data
            if self._reset_requested:  # the reset button: a plain boot, friendly REPL
                self._reset_requested = self._board_in_raw_repl = False
                self._boot_output = b""
                return data
            if self._board_in_raw_repl:
                self._return_to_raw_repl()
            return SOFT_REBOOT_LINE

    def _return_to_raw_repl(self, timeout: float = 10.0) -> None:
        """The restarted unix port is in its friendly REPL; a real board soft-rebooted from
        the raw REPL stays there and prints only the raw REPL banner, so the friendly
        banner is swallowed and Ctrl-A sent."""
        assert self._board is not None
        printed = bytearray()
        deadline = time.monotonic() + timeout
        while not printed.endswith(FRIENDLY_PROMPT) and time.monotonic() < deadline:
            printed += self._board.read(4096, 0.05)
        self._board.write(b"\x01")

    def _send_to_client(self, data: bytes) -> None:
        """Write all of `data`, waiting while the client reads slowly; drop it if nobody listens."""
        view = memoryview(data)
        while view and not self._stopping.is_set():
            with self._client_lock:
                if not self._client_present():
                    return
                try:
                    view = view[os.write(self._client_fd, view):]
                    continue
                except BlockingIOError:
                    fd = self._client_fd
                except OSError as error:
                    if error.errno == errno.EIO:
                        return
                    raise
            try:
                select.select([], [fd], [], _SELECT_S)
            except (OSError, ValueError):  # unplugged meanwhile: the next round sees it
                pass
