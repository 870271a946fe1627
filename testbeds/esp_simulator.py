"""A simulated ESP chip on a pseudo-terminal that the real, unmodified esptool flashes.

    with EspSimulator(chip="esp32") as sim:
        run esptool --port sim.port --before no-reset ...
        sim.flash  # what esptool wrote, with NOR flash semantics

The chip is in one of four modes:
- "download": the ROM loader, as after a reset with BOOT held; becomes "stub" once esptool
  has uploaded and started its flasher stub.
- "app": booted from flash. With an image at the boot offset it runs the firmware (the
  MicroPython unix port, see esp_firmware.py); with none it prints the ROM's
  "invalid header" complaint and hangs, like a blank chip.
- "silent": prints and answers nothing (a board that is off, or held in reset).

A pseudo-terminal has no DTR/RTS lines, so esptool's automatic reset cannot reach the chip
(esptool warns "Chip was NOT reset"). `reset()` presses the buttons instead, and with
`auto_reset=True` the simulator stands in for the usual USB-serial reset circuit: a SYNC
arriving while the firmware runs resets the chip into the ROM loader, and closing the port
after flash was written boots the new firmware, as esptool's hard reset would.

Run it alone with `python -m testbeds.esp_simulator --chip esp32`: it prints the port and
serves until killed.
"""
from __future__ import annotations

import argparse
import errno
import os
import select
import signal
import threading
import time
import tty

from .esp_chips import DEFAULT_MACS, chip_model
from .esp_firmware import Firmware, start_firmware
from .esp_loader import SYNC, LoaderEngine
from .nor_flash import NorFlash

_POLL_INTERVAL = 0.02
_ESP32_DOWNLOAD_LOG = (b"ets Jun  8 2016 00:22:57\r\n\r\n"
                       b"rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\n"
                       b"waiting for download\r\n")
_ESP32_FLASH_BOOT_LOG = (b"ets Jun  8 2016 00:22:57\r\n\r\n"
                         b"rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n")


def slip_encode(payload: bytes) -> bytes:
    return b"\xc0" + payload.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"


class SlipDecoder:
    """Collects SLIP frames from a byte stream; bytes outside frames are dropped."""

    def __init__(self) -> None:
        self._pending: bytearray | None = None  # inside a frame since its opening 0xC0

    def reset(self) -> None:
        self._pending = None

    def feed(self, data: bytes) -> list[bytes]:
        frames = []
        pieces = data.split(b"\xc0")
        if self._pending is not None:
            self._pending += pieces[0]
        for piece in pieces[1:]:  # each 0xC0 ends the frame in progress and opens the next
            if self._pending:
                frames.append(_unescape(bytes(self._pending)))
            self._pending = bytearray(piece)
        return frames


def _unescape(frame: bytes) -> bytes:
    # Every 0xDB starts an escape, so "DB DC" can be replaced first without mistaking
    # the tail of an escaped 0xDB ("DB DD") for one.
    return frame.replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")


class _Pacer:
    """Holds a byte stream to the speed of a UART at `baud` (10 bits a byte)."""

    def __init__(self) -> None:
        self._free_at = 0.0

    def wait(self, byte_count: int, baud: int) -> None:
        now = time.monotonic()
        self._free_at = max(self._free_at, now) + byte_count * 10 / baud
        if self._free_at > now:
            time.sleep(self._free_at - now)


class EspSimulator:
    """An ESP chip with its flash, served on a pseudo-terminal by a background thread."""

    def __init__(self, chip: str = "esp32", flash_size: int = 4 * 1024 * 1024,
                 mac: bytes | str | None = None, *, mode: str = "download",
                 auto_reset: bool = False, firmware: str = "auto", paced: bool = False) -> None:
        if mode not in ("download", "app", "silent"):
            raise ValueError(f"mode must be download, app or silent, not {mode!r}")
        self.chip = chip_model(chip)
        self.nor = NorFlash(flash_size)
        if isinstance(mac, str):
            mac = bytes.fromhex(mac.replace(":", ""))
        self.mac = mac or DEFAULT_MACS.get(self.chip.key, bytes.fromhex("7cdfa1000001"))
        self.auto_reset = auto_reset
        self.paced = paced
        self.boot_count = 0
        self._firmware_kind = firmware
        self._firmware: Firmware | None = None
        self._initial_mode = mode
        self._mode = "silent"
        self._engine = self._new_engine()
        self._decoder = SlipDecoder()
        self._frames: list[bytes] = []
        self._pace_in, self._pace_out = _Pacer(), _Pacer()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = -1
        self.port = ""

    # --- public ---------------------------------------------------------------------------

    @property
    def flash(self) -> bytearray:
        """The flash contents. Change it through `nor` to keep NOR semantics."""
        return self.nor.data

    @property
    def mode(self) -> str:
        return self._mode

    def start(self) -> "EspSimulator":
        master, slave = os.openpty()
        tty.setraw(slave)  # raw, no echo: the host's own settings win once it opens the port
        self.port = os.ttyname(slave)
        # Closed at once: the simulator must not hold the slave open, or it could not see
        # the host close the port (the pty keeps its settings and any pending output).
        os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        self._enter(self._initial_mode, power_on=True)
        self._thread = threading.Thread(target=self._serve, name=f"esp-sim {self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            self._stop_firmware()
            if self._master >= 0:
                os.close(self._master)
                self._master = -1

    def reset(self, download: bool = False) -> None:
        """Press RESET, holding BOOT (GPIO0) low when `download` is true."""
        with self._lock:
            self._enter("download" if download else "app")

    def __enter__(self) -> "EspSimulator":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- modes ----------------------------------------------------------------------------

    def _new_engine(self) -> LoaderEngine:
        return LoaderEngine(self.chip, self.nor, self, self.mac,
                            on_run_user_code=lambda: self._enter("app"))

    def _enter(self, mode: str, power_on: bool = False) -> None:
        """A reset: everything in RAM (stub, baud rate, firmware) is gone."""
        self._stop_firmware()
        self._engine = self._new_engine()
        self._decoder.reset()
        self._frames.clear()
        self._mode = mode
        esp32_family = self.chip.key != "esp8266"  # the ESP8266 logs at 74880 baud: noise here
        if mode == "download" and esp32_family and not power_on:
            self._write(_ESP32_DOWNLOAD_LOG, droppable=True)
        elif mode == "app":
            self.boot_count += 1
            if esp32_family:
                self._write(_ESP32_FLASH_BOOT_LOG, droppable=True)
            if self.nor.data[self.chip.bootloader_offset] != 0xE9:
                self._write(b"invalid header: 0xffffffff\r\n", droppable=True)
                self._mode = "silent"
            else:
                self._firmware = start_firmware(self._firmware_kind)

    def _stop_firmware(self) -> None:
        if self._firmware is not None:
            self._firmware.close()
            self._firmware = None

    @property
    def _loader_active(self) -> bool:
        return self._mode in ("download", "stub")

    # --- the serving thread ---------------------------------------------------------------

    def _serve(self) -> None:
        host_present = False
        while not self._stopping.is_set():
            with self._lock:
                events = self._poll_master()
                if events & select.POLLHUP:
                    if host_present:
                        self._host_closed()
                    host_present = False
                else:
                    host_present = True
                    if events & select.POLLIN:
                        self._receive(self._read_master())
                    if self._firmware is not None:
                        self._write(self._firmware.read(), droppable=True)
                    while self._frames:
                        self._handle_frame(self._frames.pop(0))
            if not host_present:
                time.sleep(_POLL_INTERVAL)

    def _poll_master(self, timeout: float = _POLL_INTERVAL) -> int:
        poller = select.poll()
        poller.register(self._master, select.POLLIN)
        for _fd, events in poller.poll(timeout * 1000):
            return events
        return 0

    def _host_closed(self) -> None:
        self._decoder.reset()
        self._frames.clear()
        if self.auto_reset and self._loader_active and self._engine.flash_written:
            self._enter("app")  # esptool's hard reset after flashing

    def _receive(self, data: bytes) -> None:
        if not data:
            return
        if self._loader_active:
            if self.paced:
                self._pace_in.wait(len(data), self._engine.baud)
            self._frames += self._decoder.feed(data)
            return
        frames = self._decoder.feed(data) if self.auto_reset else []
        if self._firmware is not None:
            self._firmware.write(data)
        if any(len(frame) > 1 and frame[0] == 0 and frame[1] == SYNC for frame in frames):
            # esptool's reset into the bootloader; the SYNC itself is lost in the reset.
            self._enter("download")

    def _handle_frame(self, frame: bytes) -> None:
        engine = self._engine
        engine.handle(frame)
        if engine.stub and self._mode == "download":
            self._mode = "stub"

    def _read_master(self) -> bytes:
        try:
            return os.read(self._master, 65536)
        except BlockingIOError:
            return b""
        except OSError as error:
            if error.errno == errno.EIO:  # nobody has the port open
                return b""
            raise

    def _write(self, data: bytes, droppable: bool = False) -> None:
        """Send to the host. Droppable output (logs, firmware) is lost when nobody reads."""
        view = memoryview(data)
        deadline = time.monotonic() + 10
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                if droppable or time.monotonic() > deadline:
                    return
                select.select([], [self._master], [], 0.05)
                continue
            except OSError:
                return
            view = view[written:]

    # --- FrameLink, for the loader engine ----------------------------------------------------

    def send_frame(self, payload: bytes) -> None:
        encoded = slip_encode(payload)
        if self.paced:
            self._pace_out.wait(len(encoded), self._engine.baud)
        self._write(encoded)

    def read_frame(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while not self._frames:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping.is_set():
                return None
            events = self._poll_master(min(remaining, _POLL_INTERVAL))
            if events & select.POLLHUP:
                return None
            if events & select.POLLIN:
                data = self._read_master()
                if self.paced and data:
                    self._pace_in.wait(len(data), self._engine.baud)
                self._frames += self._decoder.feed(data)
        return self._frames.pop(0)


def _size(text: str) -> int:
    text = text.upper().removesuffix("B")
    factor = {"K": 1024, "M": 1024 * 1024}.get(text[-1:], 1)
    return int(text.rstrip("KM")) * factor


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m testbeds.esp_simulator",
                                     description="Serve a simulated ESP chip on a pseudo-terminal.")
    parser.add_argument("--chip", default="esp32")
    parser.add_argument("--flash-size", default="4MB", type=_size)
    parser.add_argument("--mac", default=None)
    parser.add_argument("--mode", default="download", choices=("download", "app", "silent"))
    parser.add_argument("--auto-reset", action="store_true",
                        help="stand in for the DTR/RTS reset circuit a pty does not have")
    parser.add_argument("--firmware", default="auto", choices=("auto", "micropython", "banner"))
    parser.add_argument("--paced", action="store_true", help="hold the link to the UART baud rate")
    args = parser.parse_args(argv)
    simulator = EspSimulator(args.chip, args.flash_size, args.mac, mode=args.mode,
                             auto_reset=args.auto_reset, firmware=args.firmware, paced=args.paced)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with simulator:
        print(simulator.port, flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
