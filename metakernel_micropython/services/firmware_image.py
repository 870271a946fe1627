"""What a firmware file is for, read from its header, and where on the flash it belongs.

An ESP image starts with the magic byte 0xE9. Images for the ESP32 family carry the chip id
in their extended header (bytes 12-13 of the file). ESP8266 images have no chip id: they
are recognised by their first segment, which loads into ESP8266 memory, or by the 0xEA
magic of the "v2" format.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .esptool_session import FlashError

ESP_IMAGE_MAGIC = 0xE9
ESP8266_V2_IMAGE_MAGIC = 0xEA
# Load addresses of the ESP8266 (DRAM, IRAM, mapped flash) where its first segment goes.
_ESP8266_REGIONS = ((0x3FFE8000, 0x40000000), (0x40100000, 0x40108000), (0x40201010, 0x402E1010))
_HEADER_LENGTH = 24  # common header (8) + extended header (16)


@dataclass(frozen=True)
class ImageInfo:
    path: str
    size: int
    is_esp_image: bool
    chip: str | None  # "ESP32", "ESP8266", "ESP32-S3", ...; None when not known
    chip_id: int | None  # from the extended header; None for ESP8266 and non-images
    first_byte: int


@lru_cache(maxsize=1)
def _chips_by_image_id() -> dict[int, str]:
    from esptool.targets import ROM_LIST

    return {rom.IMAGE_CHIP_ID: rom.CHIP_NAME for rom in ROM_LIST if rom.IMAGE_CHIP_ID is not None}


@lru_cache(maxsize=1)
def _boot_offsets() -> dict[str, int]:
    from esptool.targets import ROM_LIST

    return {rom.CHIP_NAME: rom.BOOTLOADER_FLASH_OFFSET for rom in ROM_LIST}


def inspect_image(path: str | Path) -> ImageInfo:
    """Read the header of the firmware file at `path`; FlashError if it is missing or empty."""
    file = Path(path)
    if not file.is_file():
        raise FlashError(f"Image file {path} not found.")
    size = file.stat().st_size
    if size == 0:
        raise FlashError(f"Image file {path} is empty.")
    with file.open("rb") as stream:
        header = stream.read(_HEADER_LENGTH)
    chip, chip_id = None, None
    is_image = header[0] in (ESP_IMAGE_MAGIC, ESP8266_V2_IMAGE_MAGIC) and len(header) == _HEADER_LENGTH
    if is_image and header[0] == ESP8266_V2_IMAGE_MAGIC:
        chip = "ESP8266"
    elif is_image:
        (first_segment_address,) = struct.unpack_from("<I", header, 8)
        if any(low <= first_segment_address < high for low, high in _ESP8266_REGIONS):
            chip = "ESP8266"
        else:
            (chip_id,) = struct.unpack_from("<H", header, 12)
            chip = _chips_by_image_id().get(chip_id)
    return ImageInfo(str(path), size, is_image, chip, chip_id, header[0])


def default_offset(chip_name: str) -> int:
    """Where the boot image goes: 0x1000 on ESP32 and ESP32-S2, 0x0 on ESP8266, S3, C3, C6..."""
    try:
        return _boot_offsets()[chip_name]
    except KeyError:
        raise FlashError(f"esptool does not know the chip {chip_name}.") from None


def check_image_for_board(image: ImageInfo, board_chip: str, offset: int) -> None:
    """Refuse an image made for another chip, or a non-image where the ROM boots from."""
    name = Path(image.path).name
    if image.is_esp_image and image.chip is None:
        raise FlashError(f"{name} is for an unknown chip (chip id {image.chip_id}); "
                         "use --force to flash it anyway.")
    if image.is_esp_image and image.chip != board_chip:
        raise FlashError(f"This image is for {image.chip} but the board is an {board_chip}; "
                         "use --force to flash it anyway.")
    if not image.is_esp_image and offset == default_offset(board_chip):
        raise FlashError(f"{name} is not an ESP firmware image (it starts with 0x{image.first_byte:02X}, "
                         f"not 0x{ESP_IMAGE_MAGIC:02X}); use --force to flash it anyway.")
