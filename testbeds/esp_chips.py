"""What the simulated chips look like from the serial port: identity registers and eFuses.

esptool identifies a chip in one of two ways: older chips (ESP8266, ESP32, ESP32-S2) by a
magic word at 0x40001000, newer ones by the chip id in the GET_SECURITY_INFO reply. It then
reads eFuse words for the description, features and MAC, the UART clock divider for the
crystal frequency, and drives the SPI peripheral through registers to read the flash id.
The addresses below are those of the real chips (ESP-IDF register headers, as esptool uses).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Callable

CHIP_DETECT_MAGIC_REG = 0x40001000


@dataclass(frozen=True)
class SpiLayout:
    """Where the SPI0/1 "user command" registers of a chip are."""

    base: int
    usr: int
    usr1: int
    usr2: int
    w0: int
    mosi_dlen: int | None = None  # None: ESP8266 packs the lengths into USR1
    addr_msb: bool = True  # ESP8266/ESP32 send the address from the register's MSB


@dataclass(frozen=True)
class ChipModel:
    key: str
    name: str
    magic_value: int  # what the ROM word at 0x40001000 reads as
    chip_id: int | None  # in GET_SECURITY_INFO; None where the reply has no chip id
    security_info_len: int  # 0: command unknown to this ROM; 12 (ESP32-S2) or 20
    rom_status_len: int  # ESP8266 ROM sends 2 status bytes, later ROMs 4
    spi: SpiLayout
    uart_clkdiv_reg: int
    uart_clock_hz: int  # the clock the UART divider divides
    mac_registers: Callable[[bytes], dict[int, int]]
    bootloader_offset: int = 0  # where the ROM looks for the image it boots
    fixed_registers: dict[int, int] = field(default_factory=dict)
    rom_has_esp32_commands: bool = True  # SPI_ATTACH, DEFL, MD5, ... (not in the ESP8266 ROM)


def _esp8266_mac(mac: bytes) -> dict[int, int]:
    # OTP words as esptool's ESP8266ROM.read_mac decodes them; MAC3 carries the OUI
    # unless it is Espressif's 18:fe:34, which MAC1 bit 16..23 == 0 stands for.
    mac0 = mac[5] << 24
    mac1 = (mac[3] << 8) | mac[4]
    mac3 = 0 if mac[:3] == b"\x18\xfe\x34" else (mac[0] << 16) | (mac[1] << 8) | mac[2]
    return {0x3FF00050: mac0, 0x3FF00054: mac1, 0x3FF00058: 0, 0x3FF0005C: mac3}


def _esp32_mac(mac: bytes) -> dict[int, int]:
    # EFUSE_BLK0 words 1 and 2: a CRC byte pair, then the six MAC bytes big-endian.
    base = 0x3FF5A000
    word2, word1 = struct.unpack(">II", b"\x00\x00" + mac)
    return {base + 4: word1, base + 8: word2}


def _efuse_block1_mac(mac_reg: int) -> Callable[[bytes], dict[int, int]]:
    def registers(mac: bytes) -> dict[int, int]:
        # ESP32-S2 and later: MAC in BLOCK1, low 32 bits first, top 16 bits next.
        high, low = struct.unpack(">II", b"\x00\x00" + mac)
        return {mac_reg: low, mac_reg + 4: high}

    return registers


_ESP32_EFUSE = 0x3FF5A000
_ESP32_FIXED = {
    # EFUSE word 3: package D0WD (bits 9..11 = 1) and CHIP_VER_REV1 (bit 15); word 5 bit 20
    # and APB_CTL_DATE bit 31 make it revision v3.0: an "ESP32-D0WD-V3 (revision v3.0)".
    _ESP32_EFUSE + 0x0C: (1 << 9) | (1 << 15),
    _ESP32_EFUSE + 0x10: 100,  # word 4: CK8M frequency, used with RTC_CALI below
    _ESP32_EFUSE + 0x14: 1 << 20,
    0x3FF6607C: 1 << 31,
    # RTC calibration value such that esptool computes a 40 MHz crystal.
    0x3FF5F06C: 1024 << 7,
}

_NEW_SPI = dict(usr=0x18, usr1=0x1C, usr2=0x20, w0=0x58, mosi_dlen=0x24, addr_msb=False)

CHIPS: dict[str, ChipModel] = {
    "esp8266": ChipModel(
        "esp8266", "ESP8266", magic_value=0xFFF0C101, chip_id=None, security_info_len=0,
        rom_status_len=2,
        spi=SpiLayout(base=0x60000200, usr=0x1C, usr1=0x20, usr2=0x24, w0=0x40),
        uart_clkdiv_reg=0x60000014, uart_clock_hz=52_000_000,  # 26 MHz crystal, doubled
        mac_registers=_esp8266_mac, rom_has_esp32_commands=False,
    ),
    "esp32": ChipModel(
        "esp32", "ESP32", magic_value=0x00F01D83, chip_id=None, security_info_len=0,
        rom_status_len=4,
        spi=SpiLayout(base=0x3FF42000, usr=0x1C, usr1=0x20, usr2=0x24, w0=0x80, mosi_dlen=0x28),
        uart_clkdiv_reg=0x3FF40014, uart_clock_hz=40_000_000,
        mac_registers=_esp32_mac, bootloader_offset=0x1000, fixed_registers=_ESP32_FIXED,
    ),
    "esp32s2": ChipModel(
        "esp32s2", "ESP32-S2", magic_value=0x000007C6, chip_id=None, security_info_len=12,
        rom_status_len=4, spi=SpiLayout(base=0x3F402000, **_NEW_SPI),
        uart_clkdiv_reg=0x3F400014, uart_clock_hz=40_000_000,
        mac_registers=_efuse_block1_mac(0x3F41A044), bootloader_offset=0x1000,
    ),
    "esp32s3": ChipModel(
        "esp32s3", "ESP32-S3", magic_value=0x00000009, chip_id=9, security_info_len=20,
        rom_status_len=4, spi=SpiLayout(base=0x60002000, **_NEW_SPI),
        uart_clkdiv_reg=0x60000014, uart_clock_hz=40_000_000,
        mac_registers=_efuse_block1_mac(0x60007044),
    ),
    "esp32c3": ChipModel(
        "esp32c3", "ESP32-C3", magic_value=0x1B31506F, chip_id=5, security_info_len=20,
        rom_status_len=4, spi=SpiLayout(base=0x60002000, **_NEW_SPI),
        uart_clkdiv_reg=0x60000014, uart_clock_hz=40_000_000,
        mac_registers=_efuse_block1_mac(0x60008844),
    ),
    "esp32c6": ChipModel(
        "esp32c6", "ESP32-C6", magic_value=0x2CE0806F, chip_id=13, security_info_len=20,
        rom_status_len=4, spi=SpiLayout(base=0x60003000, **_NEW_SPI),
        uart_clkdiv_reg=0x60000014, uart_clock_hz=40_000_000,
        mac_registers=_efuse_block1_mac(0x600B0844),
    ),
}

DEFAULT_MACS = {
    "esp8266": bytes.fromhex("18fe34a1b2c3"),
    "esp32": bytes.fromhex("240ac4123456"),
}


def chip_model(name: str) -> ChipModel:
    """The model for "esp32", "ESP32-S3", "esp32s3", ... (case and dashes ignored)."""
    key = name.lower().replace("-", "")
    try:
        return CHIPS[key]
    except KeyError:
        raise ValueError(f"unknown chip {name!r}; simulated chips: {', '.join(CHIPS)}") from None
