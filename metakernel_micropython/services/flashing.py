"""Flash, erase, read and identify ESP boards with esptool 5's Python API, in the kernel process.

Each function opens the port, detects the chip, runs esptool's flasher stub, does its job
and resets the board (on a port without DTR/RTS, such as a pseudo-terminal, nothing is
reset: see `esptool_session.resolve_reset_modes`). Progress goes to a
`progress(stage, done, total)` callback; stages are "connecting", "erasing", "writing",
"verifying", "reading" and "resetting". Every failure is a `FlashError` with a one-line
message.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from esptool.cmds import detect_flash_size, erase_flash, write_flash
from esptool.cmds import read_flash as esptool_read_flash
from esptool.util import flash_size_bytes

from .esptool_session import FlashError, Progress, esptool_session, installed_log
from .firmware_image import ImageInfo, check_image_for_board, default_offset, inspect_image

__all__ = [
    "ChipInfo", "FlashError", "FlashResult", "ImageInfo", "Progress",
    "chip_info", "default_offset", "erase", "flash_image", "inspect_image", "read_flash",
]

DEFAULT_BAUD = 460800


@dataclass(frozen=True)
class ChipInfo:
    chip: str  # "ESP32"
    description: str  # "ESP32-D0WD-V3 (revision v3.0)"
    features: tuple[str, ...]
    mac: str
    crystal_mhz: int
    flash_size: str | None  # "4MB", None when the flash id is not recognised


@dataclass(frozen=True)
class FlashResult:
    chip: str
    offset: int
    size: int
    verified: bool  # esptool compared the MD5 of the flash with the image
    seconds: float
    warnings: tuple[str, ...] = ()


def flash_image(port: str, image_path: str | Path, *, baud: int = DEFAULT_BAUD,
                offset: int | None = None, force: bool = False, expect_chip: str | None = None,
                before: str = "auto", after: str = "auto",
                progress: Progress | None = None) -> FlashResult:
    """Write a firmware image where the detected chip boots from (or at `offset`), verified.

    The image must be for the chip on the board, and only an ESP image may go where the
    ROM boots from; `expect_chip` ("ESP32") also refuses any other board. `force` skips
    these checks.
    """
    image = inspect_image(image_path)
    started = time.monotonic()
    with installed_log(progress) as log:
        with esptool_session(port, baud=baud, before=before, after=after, log=log) as esp:
            chip = esp.CHIP_NAME
            if expect_chip and chip != expect_chip and not force:
                raise FlashError(f"The board is an {chip}, not an {expect_chip}; "
                                 "use --force to flash it anyway.")
            target = default_offset(chip) if offset is None else offset
            if not force:
                check_image_for_board(image, chip, target)
            # MicroPython's ESP8266 builds take the flash size from the header: fill it in.
            flash_size = "detect" if chip == "ESP8266" else "keep"
            write_flash(esp, [(target, str(image.path))], flash_size=flash_size,
                        compress=True, force=force)
    return FlashResult(chip, target, image.size, log.verified, time.monotonic() - started,
                       tuple(log.warnings))


def erase(port: str, *, baud: int = DEFAULT_BAUD, before: str = "auto", after: str = "auto",
          progress: Progress | None = None) -> str:
    """Erase the whole flash; returns the chip name."""
    with installed_log(progress) as log:
        with esptool_session(port, baud=baud, before=before, after=after, log=log) as esp:
            log.enter_stage("erasing")
            erase_flash(esp)
            log.enter_stage("erasing", 1, 1)
            return esp.CHIP_NAME


def read_flash(port: str, out_path: str | Path, *, size: int | None = None, offset: int = 0,
               baud: int = DEFAULT_BAUD, before: str = "auto", after: str = "auto",
               progress: Progress | None = None) -> int:
    """Save `size` bytes of flash from `offset` (default: to the end) to a file; returns the size."""
    with installed_log(progress) as log:
        with esptool_session(port, baud=baud, before=before, after=after, log=log) as esp:
            if size is None:
                detected = detect_flash_size(esp)
                if detected is None:
                    raise FlashError("The flash size is unknown: give the size to read with --size.")
                size = flash_size_bytes(detected) - offset
            log.enter_stage("reading", 0, size)
            esptool_read_flash(esp, offset, size, output=str(out_path))
    return size


def chip_info(port: str, *, baud: int = DEFAULT_BAUD, before: str = "auto", after: str = "auto",
              progress: Progress | None = None) -> ChipInfo:
    """What the board is: chip, revision, features, MAC, crystal and flash size."""
    with installed_log(progress) as log:
        with esptool_session(port, baud=baud, before=before, after=after, log=log) as esp:
            mac = esp.read_mac("BASE_MAC")
            return ChipInfo(
                chip=esp.CHIP_NAME,
                description=esp.get_chip_description(),
                features=tuple(esp.get_chip_features()),
                mac=":".join(f"{byte:02x}" for byte in mac),
                crystal_mhz=esp.get_crystal_freq(),
                flash_size=detect_flash_size(esp),
            )
