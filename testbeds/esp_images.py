"""Well-formed ESP firmware images for the tests, built with esptool's own image classes.

Each image has one RAM segment holding `payload`, a valid checksum and, for the ESP32
family, the extended header with the chip id (and the appended SHA-256 esptool adds).
"""
from __future__ import annotations

from esptool.bin_image import (
    ELFSection,
    ESP8266ROMFirmwareImage,
    ESP32C3FirmwareImage,
    ESP32C6FirmwareImage,
    ESP32FirmwareImage,
    ESP32S2FirmwareImage,
    ESP32S3FirmwareImage,
)

_ESP32_FAMILY = {
    "esp32": (ESP32FirmwareImage, 0x3FFB0000, 0x40080000),
    "esp32s2": (ESP32S2FirmwareImage, 0x3FFB0000, 0x40020000),
    "esp32s3": (ESP32S3FirmwareImage, 0x3FC90000, 0x40370000),
    "esp32c3": (ESP32C3FirmwareImage, 0x3FC80000, 0x40380000),
    "esp32c6": (ESP32C6FirmwareImage, 0x40800000, 0x40800000),
}


def make_image(chip: str, payload: bytes) -> bytes:
    """An image for `chip` ("esp8266", "esp32", "esp32s3", ...) carrying `payload`."""
    payload = payload + b"\x00" * (-len(payload) % 4)
    if chip == "esp8266":
        image = ESP8266ROMFirmwareImage()
        image.entrypoint = 0x40100000
        image.segments = [ELFSection(b".data", 0x3FFE8000, payload, flags=0)]
        _irom, data = image.save(None)
        return data
    image_class, load_address, entry = _ESP32_FAMILY[chip]
    image = image_class()
    image.entrypoint = entry
    image.segments = [ELFSection(b".dram0.data", load_address, payload, flags=0)]
    return image.save(None)
