from __future__ import annotations

import argparse
import time
from typing import Any, NoReturn

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, MagicError, argument, arguments
from metakernel_micropython.protocol import ProtocolError
from metakernel_micropython.services import flashing, port_release
from metakernel_micropython.services.connection import how_to_connect
from metakernel_micropython.transport import TransportError

try:
    import ipywidgets
except ImportError:  # the text line alone then
    ipywidgets = None

COMMANDS = ("erase", "write", "esp32", "esp8266", "info", "read")
_NEEDS_FILE = {"write", "esp32", "esp8266", "read"}
_EXPECTED_CHIP = {"esp32": "ESP32", "esp8266": "ESP8266"}  # the seed's spellings

_OPTIONS = (
    argument("--port", "-p", help="serial port (default: the connected board's, or the only board found)"),
    argument("--baud", "-b", type=int, default=flashing.DEFAULT_BAUD, help="baud rate for the transfer"),
    argument("--offset", type=lambda text: int(text, 0), default=None,
             help="flash address (write: where the chip boots from; read: 0)"),
    argument("--size", type=lambda text: int(text, 0), default=None, help="bytes to read (default: all)"),
    argument("--force", action="store_true", help="flash an image made for another chip"),
    argument("--before", choices=("auto", "default-reset", "no-reset"), default="auto",
             help="how to enter the bootloader (auto: with DTR/RTS where the port has them)"),
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise argparse.ArgumentError(None, message)  # the kernel's parser reports it in one line


class _CommandLine(argparse.Action):
    """argparse cannot take options between two positionals (`write --offset N IMAGE`), so the
    command takes the rest of the line, which is parsed here with parse_intermixed_args."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        rest = _Parser(prog="%esptool", add_help=False)
        for names, settings in _OPTIONS:
            rest.add_argument(*names, **settings)
        rest.add_argument("command", choices=COMMANDS)
        rest.add_argument("file", nargs="?", default=None)
        rest.parse_intermixed_args(values, namespace)


class EsptoolMagic(BoardMagic):
    @arguments(*_OPTIONS, argument("command", nargs=argparse.REMAINDER, action=_CommandLine,
                                   metavar="COMMAND [FILE]"))
    def line_esptool(self, args: argparse.Namespace) -> None:
        """
        %esptool [--port P] [--baud B] erase | write [--offset N] IMAGE | esp32 IMAGE | esp8266 IMAGE | info | read [--size N] OUT - flash firmware

        Runs esptool on an ESP8266 or ESP32-family board. The chip is detected and the image
        goes where that chip boots from (ESP32 and ESP32-S2 0x1000; ESP8266, ESP32-S3, C3
        and C6 0x0) unless --offset says otherwise. The image is checked first: one made
        for another chip is refused (--force flashes it anyway). esptool verifies what it
        wrote with an MD5 check, and a progress bar shows the stages. If the kernel is
        connected to the board on that port, it lets go of the port for esptool and
        connects again once the new firmware has booted, printing its banner.
        `esp32 IMAGE` and `esp8266 IMAGE` are `write` that also insist on that chip.
        `erase` wipes the whole flash; `info` shows chip, MAC and flash size; `read` saves
        the flash to a file. The board must be in its bootloader: boards with a USB-serial
        chip get there by themselves; on others hold BOOT (GPIO0) and press RESET (EN).

        Examples:
            %esptool info
            %esptool erase
            %esptool write ESP32_GENERIC-v1.24.1.bin
            %esptool --port /dev/ttyUSB0 esp8266 ESP8266_GENERIC-v1.24.1.bin
            %esptool write --offset 0x200000 vfs.img
            %esptool read --size 0x400000 backup.bin
        """
        if (args.file is None) == (args.command in _NEEDS_FILE):
            wanted = "needs a file name" if args.command in _NEEDS_FILE else "takes no file name"
            raise MagicError(f"{args.command} {wanted}.")
        port = args.port or self._default_port()
        released = port_release.release(self.connection, port)
        if released:
            self.kernel.Print(f"Released {port} for esptool; the kernel connects again afterwards.")
        try:
            self._run(args, port)
        finally:
            if released:
                self._take_back(released, erased=args.command == "erase")

    def _run(self, args, port):
        progress = FlashProgress(self.kernel, f"%esptool {args.command} on {port}")
        options = dict(baud=args.baud, before=args.before, progress=progress)
        try:
            if args.command in ("write", "esp32", "esp8266"):
                result = flashing.flash_image(port, args.file, offset=args.offset, force=args.force,
                                              expect_chip=_EXPECTED_CHIP.get(args.command), **options)
                check = "MD5 verified" if result.verified else "not verified"
                summary = "\n".join([f"Wrote {args.file} ({result.size} bytes) to the {result.chip} at "
                                      f"{result.offset:#x} in {result.seconds:.1f} s, {check}."]
                                     + [f"esptool warned: {warning}" for warning in result.warnings])
            elif args.command == "erase":
                summary = f"Erased the flash of the {flashing.erase(port, **options)}."
            elif args.command == "read":
                offset = args.offset or 0
                size = flashing.read_flash(port, args.file, size=args.size, offset=offset, **options)
                summary = f"Saved {size} bytes of flash from {offset:#x} to {args.file}."
            else:
                info = flashing.chip_info(port, **options)
                summary = (f"{info.description} ({', '.join(info.features)}), MAC {info.mac}, "
                           f"crystal {info.crystal_mhz} MHz, flash {info.flash_size or 'unknown'}.")
        except flashing.FlashError as error:
            progress.fail(str(error))
            raise MagicError(str(error)) from None
        progress.finish(summary)

    def _take_back(self, released, erased):
        if erased:
            self.kernel.Print("The board has no firmware now, so the kernel stays disconnected: "
                              "flash one with %esptool write IMAGE.")
            return
        try:
            self.kernel.Print(f"Reconnected to {port_release.reconnect(self.connection, released)}")
        except (TransportError, ProtocolError) as error:
            self.kernel.Error(f"Could not connect to {released.port} again ({error}); "
                              f"try %serialconnect --port {released.port}.")

    def _default_port(self):
        port = port_release.held_serial_port(self.connection) or self.connection.single_likely_port()
        if port is None:
            raise MagicError(how_to_connect().replace("No board is connected.", "Which port? Give --port.", 1))
        return port


class FlashProgress:
    """The progress of one job below the cell: a widget bar, and the same as a line of text.

    The kernel cannot tell whether the front end renders widgets (JupyterLab does;
    `jupyter execute` and nbconvert do not), so it shows both. The text line grows as the
    stages pass: "Connecting... Writing 0% 25% 50% 75% 100% Verifying... done".
    """

    STAGE_NAMES = {"connecting": "Connecting", "erasing": "Erasing", "writing": "Writing",
                   "verifying": "Verifying", "reading": "Reading", "resetting": "Resetting"}
    COUNTED_STAGES = ("writing", "reading")  # the others have no byte counts
    TEXT_STEP = 25  # percent between marks on the text line
    WIDGET_INTERVAL = 0.1  # seconds between bar updates: each is a message to the front end

    def __init__(self, kernel: MetaKernel, title: str) -> None:
        self._kernel = kernel
        self._stage = None
        self._next_mark = 0
        self._line_open = False
        self._last_update = 0.0
        self._bar = self._label = None
        if ipywidgets is not None:
            self._bar = ipywidgets.IntProgress(value=0, min=0, max=100, description="Starting")
            self._label = ipywidgets.Label(value=title)
            box = ipywidgets.HBox([self._bar, self._label])
            kernel.DisplayData({
                "application/vnd.jupyter.widget-view+json": {
                    "version_major": 2, "version_minor": 0, "model_id": box.model_id},
                "text/plain": title,  # what a front end without widgets shows instead
            })

    def __call__(self, stage: str, done: int, total: int) -> None:
        percent = min(100, done * 100 // total) if total > 0 else 100
        if stage != self._stage:
            self._stage, self._next_mark = stage, 0
            name = self.STAGE_NAMES.get(stage, stage.capitalize())
            self._write((" " if self._line_open else "") + name
                        + ("" if stage in self.COUNTED_STAGES else "..."))
            self._last_update = 0.0
        if stage in self.COUNTED_STAGES:
            while percent >= self._next_mark:
                self._write(f" {self._next_mark}%")
                self._next_mark += self.TEXT_STEP
        now = time.monotonic()
        if percent == 100 or now - self._last_update >= self.WIDGET_INTERVAL:
            self._last_update = now
            self._set_widget(percent, self.STAGE_NAMES.get(stage, stage))

    def finish(self, summary: str) -> None:
        self._end_line(" done")
        self._kernel.Print(summary)
        self._set_widget(100, "Done", summary, style="success")

    def fail(self, message: str) -> None:
        self._end_line(" failed")
        self._set_widget(self._bar.value if self._bar else 0, "Failed", message, style="danger")

    def _write(self, text: str) -> None:
        self._kernel.Print(text, end="")
        self._line_open = True

    def _end_line(self, last_word: str) -> None:
        if self._line_open:
            self._kernel.Print(last_word)
            self._line_open = False

    def _set_widget(self, percent: int, description: str, label: str | None = None, style: str = "") -> None:
        if self._bar is None:
            return
        self._bar.value, self._bar.description, self._bar.bar_style = percent, description, style
        if label is not None:
            self._label.value = label


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(EsptoolMagic)
