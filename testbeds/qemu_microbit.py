r"""A BBC micro:bit (MicroPython 1.9.2) under QEMU, reachable through a serial port.

Install on Debian (what CI needs)::

    apt-get install -y --no-install-recommends qemu-system-arm firmware-microbit-micropython

Usage::

    with MicrobitQemu() as board:
        ser = serial.Serial(board.port, 115200, timeout=5)   # or %serialconnect --port PATH

Measured facts about the firmware: see the end of this docstring.

Design: a relay between QEMU and a pty of our own
-------------------------------------------------
QEMU's UART is connected to a unix socket of ours (QEMU is the client, so the connection
exists before the CPU runs), and a thread copies bytes between it and the master of a pty pair
made here (slave raw, no echo). Clients open the slave, reached through ``.port``, a symlink
that stays the same across ``restart()`` and ``unplug()``/``replug()``.

Why not ``-serial pty`` and hand QEMU's pty to the client:
  * QEMU drops what the guest prints while nobody has its pty open; the banner comes ~50 ms
    after QEMU names the pty, and opening it 50 ms or more later lost the whole banner (4/4).
  * Input: QEMU's nRF51 UART has no baud clock; it takes bytes as fast as the guest drains
    its 6-byte RX FIFO, and the firmware's interrupt copies them into a 64-byte ring that
    drops on overflow. Whatever waits in the pty reaches the guest in a burst whenever the
    host stalls QEMU, and bytes are lost: 600-byte raw-REPL cells lost 1..62 bytes in ~1..7 %
    of sends written whole, and still 1 in 300 when paced at 115200 baud in 4-byte bursts.
    A pty cannot tell how much QEMU has read; a socket can (SIOCOUTQ). So the relay sends at
    most 6 bytes (the FIFO) and only once QEMU has taken the previous ones, paced at
    ``baud``: 0 lost in 300 such cells (and 0 in 300 with 6-byte gating alone).
  * The relay also allows fault injection: ``restart()`` swaps QEMU behind an unchanged, still
    open port (a reset behind a USB-UART bridge); ``unplug()``/``replug()`` make the link vanish.

Output that arrives while no client has the port open
-----------------------------------------------------
A bare UART with nobody listening drops it; a USB bridge (DAPLink, FTDI, CP210x) keeps some in
its FIFO and hands stale bytes to the next opener. We keep it (``keep_backlog=True``, last
64 KiB) because a client that connects late can then still read the boot banner, and stale
bytes at open are a real case a kernel must survive anyway. pyserial flushes input while
opening (``Serial.open`` calls ``reset_input_buffer``), so the backlog is held until the client
has flushed (seen through the master's packet mode, ``TIOCPKT_FLUSHREAD``), has written, or has
had the port open ``OPEN_GRACE_S``. ``keep_backlog=False`` drops instead, like a bare UART.

What a pyserial client sees on ``unplug()`` (measured): the device node disappears at once;
``in_waiting`` raises ``OSError(EIO)``; ``read()`` raises ``SerialException('device reports
readiness to read but returned no data (device disconnected or multiple access on port?)')``;
``write()`` raises ``SerialException('write failed: [Errno 5] Input/output error')``; opening
``.port`` raises ``SerialException`` (``[Errno 2] No such file or directory``) until
``replug()``. That is what a USB serial adapter pulled out looks like too.

Measured facts (QEMU 7.2, Debian firmware-microbit-micropython 1.0.1-4, pyserial through this
relay, on a 2-core machine at load average ~10; times are indications only)
------------------------------------------------------------------------------------------
* Banner at power-on, with a leading NUL (none after a soft reboot)::

    b'\x00MicroPython v1.9.2-34-gd64154c73 on 2017-09-01; micro:bit v1.0.1 with nRF51822\r\n'
    b'Type "help()" for more information.\r\n>>> '

* QEMU start to the first ``>>> ``: 0.30-0.34 s (0.06-0.12 s with ``-serial pty`` at lower
  load). ``start()`` returns when QEMU has connected, before the prompt: use
  ``wait_for_output(b">>> ")`` or read the port.
* ``sys.implementation`` = ``(name='micropython', version=(1, 9, 2))`` (no ``_mpy``);
  ``sys.version`` '3.4.0'; ``sys.platform`` 'microbit'; ``os.uname()`` =
  ``(sysname='microbit', nodename='microbit', release='1.0.1', version='micro:bit
  v1.0.1+unknown on 2023-02-24; MicroPython v1.9.2-34-gd64154c73 on 2017-09-01',
  machine='micro:bit with nRF51822')``; ``gc.mem_free()`` 9216 after ``gc.collect()``.
* ``help('modules')``: __main__ antigravity array audio builtins collections gc love machine
  math microbit micropython music neopixel os radio random speech struct sys this time
  ucollections ustruct utime. ``os`` has only remove, listdir, size, uname. There is no
  ``sys.stdout`` (AttributeError), no io, hashlib, binascii.
* Ctrl-A at ``>>> ``: ``b'\r\nraw REPL; CTRL-B to exit\r\n>'``. Ctrl-B from raw:
  ``b'\r\n'`` + banner without NUL.
* Raw-paste request ``b'\x05A\x01'`` in the raw REPL: ``b'raw REPL; CTRL-B to exit\r\n>'``
  (the ``\x01`` re-enters the raw REPL and discards ``\x05A``; no ``R\x01``). Fall back.
* Exec ``print(1)``: ``b'OK1\r\n\x04\x04>'``.
* Ctrl-C in ``while True: pass`` (after its ``b'OK'``)::

    b'\x04Traceback (most recent call last):\r\n  File "<stdin>", line 1, in <module>\r\n'
    b'KeyboardInterrupt: \r\n\x04>'

  in 8-41 ms (median ~12). A Ctrl-C in the same write as the code or right behind it is
  LOST (read before the code runs): the loop goes on and a second Ctrl-C is needed. Ctrl-C at
  the idle raw prompt prints nothing.
* Ctrl-D on an empty raw REPL: ``b'OK\r\nsoft reboot\r\nraw REPL; CTRL-B to exit\r\n>'`` in
  8-25 ms; it stays in the raw REPL, globals are cleared, files kept. Ctrl-D at ``>>> ``:
  ``b'\r\nsoft reboot\r\n'`` + banner without NUL.
* Writing code: through this relay every chunking worked (a 3070-byte comment-heavy cell in
  one write, or in 256/128/64-byte chunks with or without 10 ms pauses: 35/35); input reaches
  the board at ~3-4 KB/s (the FIFO gating), output leaves it at ~10 KB/s. Straight into QEMU's
  pty no chunking was safe: per 15 sends, whole 12-14 OK, 1024 B 15, 512 B 14, 256 B 15,
  128 B 15, 64 B 12, 256 B + 5 ms 14, 128 B + 5 ms 14; the losses follow host stalls.
* Cell size (free RAM ~9 KB): comment-heavy cells run up to 6.4 KB; from ~6.8 KB the raw REPL
  answers ``MemoryError`` ("memory allocation failed, allocating 887 bytes", or no text) or
  never answers again, not even to Ctrl-C or Ctrl-D: only a reset helps. A 3 KB cell of real
  code (300 assignments) fails with ``MemoryError``.
* File system: ``os.listdir()`` is ``[]`` on a fresh board; ~15 KB free. Creating a file when
  full: ``OSError('no more storage space',)`` (a message, no errno). A write past the end:
  ``OSError(28,)`` (ENOSPC) at 14900-15100 bytes in one file, and that file is then gone
  (also after close). Open for writing, a file is not in ``os.listdir()`` yet.
* Binary: a cell writing ``b'\x00\x01...\xff'`` (all 256 values as ``\xNN`` escapes) to a
  file opened ``'wb'`` reads back equal to ``bytes(range(256))``; its ``repr()`` prints back
  intact. Text is stored as UTF-8 (``'h\xe9llo'`` -> ``b'h\xc3\xa9llo'``).
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import termios
import threading
import time
import tty
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

QEMU_BINARY = "qemu-system-arm"
FIRMWARE_HEX = Path("/usr/share/firmware-microbit-micropython/firmware.hex")
APT_INSTALL = (
    "apt-get install -y --no-install-recommends qemu-system-arm firmware-microbit-micropython"
)

UART_FIFO = 6  # QEMU's nRF51 RX FIFO: never have more than this in flight to the board
BACKLOG_LIMIT = 64 * 1024  # bytes kept for a client that has not opened the port yet
OPEN_GRACE_S = 0.5  # deliver the backlog this long after open even if the client never flushed
POLL_CLIENT_S = 0.02  # a client opening the port raises no event on the master: poll for it
POLL_BOARD_S = 0.0002  # nor does QEMU taking bytes from the socket: poll while input waits

# States of the client side of the relay's pty.
_ABSENT, _OPENING, _OPEN, _UNPLUGGED = "absent", "opening", "open", "unplugged"


def qemu_available(qemu: str = QEMU_BINARY, firmware: Path = FIRMWARE_HEX) -> str | None:
    """None if the testbed can run here, else why not (for pytest.skip / pytest.fail)."""
    exe = shutil.which(qemu)
    if exe is None:
        return f"{qemu} not found (install: {APT_INSTALL})"
    if not Path(firmware).is_file():
        return f"{firmware} missing (install: {APT_INSTALL})"
    try:
        machines = subprocess.run(
            [exe, "-M", "help"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{exe} does not run: {exc}"
    if not re.search(r"^microbit\s", machines, re.M):
        return f"{exe} has no 'microbit' machine"
    return None


class MicrobitQemu:
    """A micro:bit under QEMU behind a pty relay; use as a context manager.

    ``port``: path for clients (a symlink, stable for the object's life). ``pty``: the
    /dev/pts node behind it (None while unplugged). ``boots``: how many times QEMU started.
    ``baud``: pacing of both directions in bits/s (10 bits a byte), None for none.
    """

    def __init__(
        self,
        *,
        keep_backlog: bool = True,
        baud: int | None = 115200,
        qemu: str = QEMU_BINARY,
        firmware: Path = FIRMWARE_HEX,
        qemu_args: Sequence[str] = (),
        timeout: float = 30.0,
    ) -> None:
        self.keep_backlog = keep_backlog
        rate = None if baud is None else baud / 10
        self._pace_in = _Pacer(rate, burst=UART_FIFO)
        self._pace_out = _Pacer(rate, burst=256)
        self.qemu = qemu
        self.firmware = Path(firmware)
        self.qemu_args = tuple(qemu_args)  # appended to the QEMU command line
        self.timeout = timeout  # for starting QEMU and for each control call
        self.boots = 0
        self.pty: str | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="microbit-qemu-"))
        self.port = str(self._dir / "ttyMICROBIT")
        # Owned by the relay thread once it runs; other threads reach it only through
        # _call(), so no fd is closed under another thread's select().
        self._proc: subprocess.Popen[bytes] | None = None
        self._board: socket.socket | None = None  # QEMU's UART
        self._master: int | None = None  # master of the client pty
        self._client = _UNPLUGGED
        self._opened_at = 0.0
        self._to_client = bytearray()
        self._to_board = bytearray()
        self._boot_output = bytearray()
        self._output_seen = threading.Condition()  # notified as the board prints
        self._qemu_log = bytearray()
        self._qemu_log_fd: int | None = None
        self._calls: list[tuple[Callable[[], None], threading.Event, list[BaseException]]] = []
        self._calls_lock = threading.Lock()
        self._crashed: BaseException | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._stopping = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ public API

    def __enter__(self) -> MicrobitQemu:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Create the port and boot the board (returns once QEMU runs, before the prompt)."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._relay, name="microbit-qemu", daemon=True)
        self._thread.start()
        try:
            self._call(self._do_plug)
            self._call(self._do_boot)
        except BaseException:
            self.stop()
            raise

    def restart(self) -> None:
        """Kill QEMU and boot a fresh one: a board reset. The port and an open client stay."""
        self._call(self._do_boot)

    def unplug(self) -> None:
        """The link vanishes: the client's fd hangs up and the port path disappears.

        The board keeps running (as on battery); what it prints meanwhile is lost.
        """
        self._call(self._do_unplug)

    def replug(self, restart: bool = False) -> None:
        """The link comes back at the same ``port`` path (a new pty behind it).

        ``restart=True`` also resets the board, as re-powering a USB-powered board would.
        """
        self._call(self._do_plug)
        if restart:
            self._call(self._do_boot)

    def stop(self) -> None:
        """Kill QEMU, close everything, remove the port. Safe to call twice."""
        if self._thread is not None and self._thread.is_alive():
            self._call(self._do_shutdown)
            self._thread.join(self.timeout)
        else:
            self._do_shutdown()
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        shutil.rmtree(self._dir, ignore_errors=True)

    @property
    def alive(self) -> bool:
        """True while QEMU runs."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def boot_output(self) -> bytes:
        """What the board sent since the last (re)boot (first 64 KiB), whoever listened."""
        with self._output_seen:
            return bytes(self._boot_output)

    def wait_for_output(self, marker: bytes, timeout: float = 30.0) -> bool:
        """Wait until the board has printed marker since the last (re)boot; False on timeout.

        Watches the board's side of the link, so it works with or without a client.
        """
        with self._output_seen:
            return self._output_seen.wait_for(lambda: marker in self._boot_output, timeout)

    @property
    def qemu_log(self) -> str:
        """QEMU's own stdout/stderr, for diagnosing a failed start."""
        return self._qemu_log.decode(errors="replace")

    # ------------------------------------------------------------------ relay thread

    def _call(self, fn: Callable[[], None]) -> None:
        """Run fn on the relay thread and wait for it (re-raising its exception)."""
        done = threading.Event()
        errors: list[BaseException] = []
        with self._calls_lock:
            if self._crashed is not None:
                raise RuntimeError("the relay thread died") from self._crashed
            self._calls.append((fn, done, errors))
        os.write(self._wake_w, b"x")
        if not done.wait(self.timeout + 5):
            raise TimeoutError(f"relay did not run {fn.__name__} in time")
        if errors:
            raise errors[0]

    def _relay(self) -> None:
        try:
            self._relay_loop()
        except BaseException as exc:  # a bug: say so on the next call instead of going quiet
            with self._calls_lock:
                self._crashed = exc
                calls, self._calls = self._calls, []
            for _, done, errors in calls:
                errors.append(RuntimeError("the relay thread died"))
                done.set()
            raise

    def _relay_loop(self) -> None:
        while not self._stopping:
            rlist: list[int] = [self._wake_r]
            wlist: list[int] = []
            timeout = POLL_CLIENT_S if self._client in (_ABSENT, _OPENING) else None
            if self._board is not None:
                rlist.append(self._board.fileno())
                if self._to_board:
                    timeout = _earliest(timeout, max(self._pace_in.wait(), POLL_BOARD_S))
            if self._qemu_log_fd is not None:
                rlist.append(self._qemu_log_fd)
            if self._master is not None and self._client in (_OPENING, _OPEN):
                rlist.append(self._master)
                if self._client == _OPEN and self._to_client:
                    wait = self._pace_out.wait()
                    if wait:
                        timeout = _earliest(timeout, wait)
                    else:
                        wlist.append(self._master)
            readable, writable, _ = select.select(rlist, wlist, [], timeout)
            if self._wake_r in readable:
                self._run_calls()
                continue  # fds may have changed: recompute the sets
            if self._qemu_log_fd is not None and self._qemu_log_fd in readable:
                self._read_qemu_log()
            if self._board is not None and self._board.fileno() in readable:
                self._from_board()
            if self._master is not None and self._master in readable:
                self._from_client()
            self._flush_to_board()
            if self._master is not None and self._master in writable:
                self._flush_to_client()
            self._track_client()

    def _run_calls(self) -> None:
        try:
            os.read(self._wake_r, 4096)
        except BlockingIOError:
            pass
        with self._calls_lock:
            calls, self._calls = self._calls, []
        for fn, done, errors in calls:
            try:
                fn()
            except BaseException as exc:  # handed to the caller
                errors.append(exc)
            done.set()

    def _track_client(self) -> None:
        if self._client == _ABSENT and not self._slave_closed():
            self._client, self._opened_at = _OPENING, time.monotonic()
            if not self.keep_backlog:
                self._client = _OPEN
        elif self._client == _OPENING and time.monotonic() - self._opened_at > OPEN_GRACE_S:
            self._client = _OPEN  # a client that never flushes (cat, screen...) gets it now
        if self._client == _OPEN and self._to_client:
            self._flush_to_client()

    def _slave_closed(self) -> bool:
        # The master polls POLLHUP exactly while no process has the slave open.
        assert self._master is not None
        p = select.poll()
        p.register(self._master, select.POLLIN)
        return any(ev & select.POLLHUP for _, ev in p.poll(0))

    def _from_board(self) -> None:
        assert self._board is not None
        try:
            data = self._board.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # QEMU closed the socket: it died
            self._close_board()
            return
        if len(self._boot_output) < BACKLOG_LIMIT:
            with self._output_seen:
                self._boot_output += data[: BACKLOG_LIMIT - len(self._boot_output)]
                self._output_seen.notify_all()
        if self._client == _UNPLUGGED or (self._client == _ABSENT and not self.keep_backlog):
            return  # nobody there to receive it
        self._to_client += data
        if len(self._to_client) > BACKLOG_LIMIT:  # a ring buffer overwriting its oldest bytes
            del self._to_client[: len(self._to_client) - BACKLOG_LIMIT]

    def _from_client(self) -> None:
        assert self._master is not None
        try:
            packet = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError:  # EIO: the last client closed the port
            packet = b""
        if not packet:
            self._client = _ABSENT
            if not self.keep_backlog:
                self._to_client.clear()
            return
        # Packet mode: a leading 0 means data follows; otherwise it is a status byte alone.
        if packet[0] != 0:
            if packet[0] & termios.TIOCPKT_FLUSHREAD and self._client == _OPENING:
                self._client = _OPEN  # pyserial's flush at open is done: the backlog survives
            return
        self._client = _OPEN
        if self._board is not None:  # a board in reset (or dead) hears nothing
            self._to_board += packet[1:]

    def _flush_to_client(self) -> None:
        assert self._master is not None
        allowed = self._pace_out.allowance()
        if not allowed or not self._to_client:
            return
        try:
            n = os.write(self._master, self._to_client[:allowed])
        except BlockingIOError:
            return
        except OSError:  # EIO: the client left between our poll and this write
            self._client = _ABSENT
            return
        self._pace_out.spend(n)
        del self._to_client[:n]

    def _flush_to_board(self) -> None:
        if self._board is None or not self._to_board or _unsent(self._board):
            return  # QEMU has not taken the previous bytes into its FIFO yet
        n = min(UART_FIFO, self._pace_in.allowance())
        if not n:
            return
        try:
            sent = self._board.send(self._to_board[:n])
        except BlockingIOError:
            return
        except OSError:
            self._close_board()
            return
        self._pace_in.spend(sent)
        del self._to_board[:sent]

    def _read_qemu_log(self) -> None:
        assert self._qemu_log_fd is not None
        data = b""
        try:
            data = os.read(self._qemu_log_fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            pass
        if data:
            self._qemu_log += data[:BACKLOG_LIMIT]
        else:
            os.close(self._qemu_log_fd)
            self._qemu_log_fd = None

    # ------------------------------------------------------------------ control (relay thread)

    def _do_plug(self) -> None:
        if self._master is not None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)  # raw, no echo: pyserial sets this too, but `cat` or screen may not
        self.pty = os.ttyname(slave)
        os.close(slave)  # the settings stay; holding the slave would hide clients' open/close
        os.set_blocking(master, False)
        fcntl.ioctl(master, termios.TIOCPKT, struct.pack("i", 1))  # to see the client flush
        self._master, self._client = master, _ABSENT
        tmp = self.port + ".new"
        os.symlink(self.pty, tmp)
        os.replace(tmp, self.port)  # atomic: a client never sees a half-made port

    def _do_unplug(self) -> None:
        if self._master is None:
            return
        try:
            os.unlink(self.port)
        except FileNotFoundError:
            pass
        os.close(self._master)  # hangs up every open fd of the slave
        self._master, self.pty, self._client = None, None, _UNPLUGGED
        self._to_client.clear()
        self._to_board.clear()  # what the cable still carried is gone with it

    def _do_boot(self) -> None:
        self._kill_qemu()
        with self._output_seen:
            self._boot_output.clear()
        self._qemu_log.clear()
        sock_path = self._dir / "uart.sock"
        sock_path.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(sock_path))
            listener.listen(1)
            # QEMU connects while it sets up, before the CPU runs: no boot output is lost.
            self._proc = subprocess.Popen(
                [
                    self.qemu, "-M", "microbit",
                    "-device", f"loader,file={self.firmware}",
                    "-nographic", "-monitor", "none",
                    "-chardev", f"socket,id=uart,path={sock_path}",
                    "-serial", "chardev:uart",
                    *self.qemu_args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the test's terminal is not for QEMU
                preexec_fn=_die_with_parent,
            )
            self.boots += 1
            assert self._proc.stdout is not None
            self._qemu_log_fd = os.dup(self._proc.stdout.fileno())
            self._proc.stdout.close()
            os.set_blocking(self._qemu_log_fd, False)
            board = self._accept(listener)
        sock_path.unlink(missing_ok=True)
        board.setblocking(False)
        self._board = board

    def _accept(self, listener: socket.socket) -> socket.socket:
        deadline = time.monotonic() + self.timeout
        while (left := deadline - time.monotonic()) > 0 and self._qemu_log_fd is not None:
            readable, _, _ = select.select([listener.fileno(), self._qemu_log_fd], [], [], left)
            if listener.fileno() in readable:
                return listener.accept()[0]
            if readable:
                self._read_qemu_log()  # closes the fd when QEMU exits
        self._kill_qemu()
        raise RuntimeError(f"QEMU did not connect its UART:\n{self.qemu_log}")

    def _close_board(self) -> None:
        if self._board is not None:
            self._board.close()
            self._board = None
        self._to_board.clear()  # bytes meant for the old board die with it

    def _kill_qemu(self) -> None:
        self._close_board()
        if self._proc is not None:
            if self._proc.poll() is None:
                os.killpg(self._proc.pid, signal.SIGKILL)  # its own session, see Popen
            self._proc.wait()
            self._proc = None
        if self._qemu_log_fd is not None:
            os.close(self._qemu_log_fd)
            self._qemu_log_fd = None

    def _do_shutdown(self) -> None:
        self._kill_qemu()
        self._do_unplug()
        self._stopping = True


class _Pacer:
    """Token bucket: at most `rate` bytes a second, in bursts of at most `burst` bytes."""

    def __init__(self, rate: float | None, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._tokens = float(burst)
        self._at = time.monotonic()

    def allowance(self) -> int:
        if self.rate is None:
            return 4096
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        return int(self._tokens)

    def spend(self, n: int) -> None:
        if self.rate is not None:
            self._tokens -= n

    def wait(self) -> float:
        """Seconds until a whole burst may go; 0 if something may go now."""
        if self.rate is None or self.allowance() >= 1:
            return 0.0
        return (self.burst - self._tokens) / self.rate


def _unsent(sock: socket.socket) -> int:
    """Bytes written to a unix stream socket that the peer has not read yet (SIOCOUTQ)."""
    raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")  # == SIOCOUTQ on Linux
    return int(struct.unpack("i", raw)[0])


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    """In the QEMU child: be killed when the thread that started it dies.

    Without it a test process killed by a timeout leaves QEMU spinning (seen on this machine).
    The starting thread is the relay thread, which lives as long as the testbed.
    """
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _earliest(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)
