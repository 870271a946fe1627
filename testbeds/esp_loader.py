"""The serial download protocol of the ESP ROM loader and of esptool's flasher stub.

One `LoaderEngine` answers command packets (already SLIP-decoded) the way the chip does:
first as the ROM loader, then, after esptool has uploaded its flasher stub to RAM and
started it, as the stub, whose command set and replies differ:

- ROM replies end with 2 status bytes on ESP8266 and 4 on later chips; the stub sends 2
  (a big-endian result code, 0 for success).
- SYNC: the ROM answers with a non-zero value, the stub with 0 (esptool tells them apart so).
- The ROM erases the whole region at FLASH_BEGIN; the stub erases as it writes.
- SPI_FLASH_MD5: the ROM sends 32 hex digits, the stub 16 raw bytes.
- Only the stub has ERASE_FLASH, ERASE_REGION and READ_FLASH (a streamed, acknowledged
  read); the ROMs of the ESP32 family have READ_FLASH_SLOW (64 bytes per command).
- The ESP8266 ROM knows only the flash, RAM, register and SYNC commands.
"""
from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from typing import Callable, Protocol

from .esp_chips import CHIP_DETECT_MAGIC_REG, ChipModel
from .nor_flash import NorFlash

# Command opcodes (esptool's ESPLoader.ESP_CMDS).
FLASH_BEGIN, FLASH_DATA, FLASH_END = 0x02, 0x03, 0x04
MEM_BEGIN, MEM_END, MEM_DATA = 0x05, 0x06, 0x07
SYNC, WRITE_REG, READ_REG = 0x08, 0x09, 0x0A
SPI_SET_PARAMS, SPI_ATTACH, READ_FLASH_SLOW, CHANGE_BAUDRATE = 0x0B, 0x0D, 0x0E, 0x0F
FLASH_DEFL_BEGIN, FLASH_DEFL_DATA, FLASH_DEFL_END, SPI_FLASH_MD5 = 0x10, 0x11, 0x12, 0x13
GET_SECURITY_INFO = 0x14
ERASE_FLASH, ERASE_REGION, READ_FLASH, RUN_USER_CODE = 0xD0, 0xD1, 0xD2, 0xD3

SYNC_PAYLOAD = b"\x07\x07\x12\x20" + b"\x55" * 32
ROM_SYNC_VALUE = 0x20120707  # any non-zero value says "ROM" to esptool
CHECKSUM_SEED = 0xEF
SPI_CMD_USR = 1 << 18
SPI_USR_ADDR = 1 << 30

# Failure codes: (status, error) pairs as they appear on the wire.
ROM_INVALID_MESSAGE = (1, 0x05)
ROM_BAD_CHECKSUM = (1, 0x07)
ROM_FAILED = (1, 0x06)
STUB_BAD_DATA_LEN = (0xC0, 0x00)
STUB_BAD_CHECKSUM = (0xC1, 0x00)
STUB_INVALID_COMMAND = (0xC3, 0x00)
STUB_NOT_IN_FLASH_MODE = (0xC6, 0x00)
STUB_INFLATE_ERROR = (0xC7, 0x00)
STUB_NOT_IMPLEMENTED = (0xFF, 0x00)

_SFDP_TABLE = b"SFDP\x06\x01\x00\xff" + b"\x00\x06\x01\x10\x80\x00\x00\xff"


class FrameLink(Protocol):
    """How the engine talks to the host: whole SLIP payloads in and out."""

    def send_frame(self, payload: bytes) -> None: ...

    def read_frame(self, timeout: float) -> bytes | None: ...


class CommandFailed(Exception):
    def __init__(self, code: tuple[int, int]) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class _FlashSession:
    """A FLASH_BEGIN or FLASH_DEFL_BEGIN in progress."""

    offset: int  # where the next byte goes
    remaining: int  # uncompressed bytes still expected
    block_size: int
    base: int
    decompressor: "zlib._Decompress | None" = None


def checksum(data: bytes) -> int:
    value = CHECKSUM_SEED
    for byte in data:
        value ^= byte
    return value


class LoaderEngine:
    """ROM loader, then flasher stub, of one chip with one flash."""

    def __init__(self, chip: ChipModel, flash: NorFlash, link: FrameLink, mac: bytes,
                 on_run_user_code: Callable[[], None] = lambda: None) -> None:
        self.chip = chip
        self.flash = flash
        self.link = link
        self.stub = False
        self.baud = 115200
        self.flash_written = False  # anything programmed or erased since power-on
        self._on_run_user_code = on_run_user_code
        self._registers: dict[int, int] = dict(chip.fixed_registers)
        self._registers.update(chip.mac_registers(mac))
        self._session: _FlashSession | None = None
        self._ram_session: tuple[int, int] | None = None  # (address, bytes remaining)

    # --- packets ------------------------------------------------------------------------

    def handle(self, packet: bytes) -> None:
        """Answer one request packet; anything that is not a request is ignored, as the ROM does."""
        if len(packet) < 8 or packet[0] != 0:
            return
        op, size, check = struct.unpack_from("<BHI", packet, 1)
        data = packet[8:]
        if size != len(data):
            self._reply(op, code=STUB_BAD_DATA_LEN if self.stub else ROM_INVALID_MESSAGE)
            return
        handler = self._handler(op)
        if handler is None:
            self._reply(op, code=STUB_INVALID_COMMAND if self.stub else ROM_INVALID_MESSAGE)
            return
        try:
            result = handler(data, check)
        except CommandFailed as failure:
            self._reply(op, code=failure.code)
            return
        except (struct.error, IndexError):
            self._reply(op, code=STUB_BAD_DATA_LEN if self.stub else ROM_INVALID_MESSAGE)
            return
        if result is not None:
            value, payload, after = result
            self._reply(op, value=value, payload=payload)
            if after:
                after()

    def _handler(self, op: int) -> Callable[[bytes, int], tuple | None] | None:
        common = {
            SYNC: self._sync, READ_REG: self._read_reg, WRITE_REG: self._write_reg,
            MEM_BEGIN: self._mem_begin, MEM_DATA: self._mem_data, MEM_END: self._mem_end,
            FLASH_BEGIN: self._flash_begin, FLASH_DATA: self._flash_data, FLASH_END: self._flash_end,
        }
        later_rom = {
            SPI_SET_PARAMS: self._ok, SPI_ATTACH: self._ok, CHANGE_BAUDRATE: self._change_baud,
            FLASH_DEFL_BEGIN: self._defl_begin, FLASH_DEFL_DATA: self._defl_data,
            FLASH_DEFL_END: self._flash_end, SPI_FLASH_MD5: self._md5,
        }
        stub_only = {
            ERASE_FLASH: self._erase_flash, ERASE_REGION: self._erase_region,
            READ_FLASH: self._read_flash, RUN_USER_CODE: self._run_user_code,
        }
        if op in common:
            return common[op]
        if self.stub:
            if op == GET_SECURITY_INFO:
                return self._security_info
            return later_rom.get(op) or stub_only.get(op)
        if not self.chip.rom_has_esp32_commands:
            return None
        if op == GET_SECURITY_INFO:
            return self._security_info if self.chip.security_info_len else None
        if op == READ_FLASH_SLOW:
            return self._read_flash_slow
        return later_rom.get(op)

    def _reply(self, op: int, value: int = 0, payload: bytes = b"",
               code: tuple[int, int] = (0, 0)) -> None:
        status = bytes(code)
        if not self.stub and self.chip.rom_status_len == 4:
            status += b"\x00\x00"
        if code != (0, 0):
            payload = b""
        body = payload + status
        self.link.send_frame(struct.pack("<BBHI", 1, op, len(body), value) + body)

    # --- identity and registers -----------------------------------------------------------

    def _sync(self, data: bytes, _check: int):
        if data != SYNC_PAYLOAD:
            raise CommandFailed(STUB_BAD_DATA_LEN if self.stub else ROM_INVALID_MESSAGE)
        value = 0 if self.stub else ROM_SYNC_VALUE
        # The chip answers one SYNC eight times; esptool reads the seven extra ones.
        for _ in range(7):
            self._reply(SYNC, value=value)
        return value, b"", None

    def _ok(self, _data: bytes, _check: int):
        return 0, b"", None

    def _read_reg(self, data: bytes, _check: int):
        (address,) = struct.unpack("<I", data)
        return self.read_register(address), b"", None

    def _write_reg(self, data: bytes, _check: int):
        if not data or len(data) % 16:
            raise CommandFailed(STUB_BAD_DATA_LEN if self.stub else ROM_INVALID_MESSAGE)
        for address, value, mask, _delay in struct.iter_unpack("<IIII", data):
            old = self.read_register(address)
            self._write_register(address, (value & mask) | (old & ~mask & 0xFFFFFFFF))
        return 0, b"", None

    def read_register(self, address: int) -> int:
        if address == CHIP_DETECT_MAGIC_REG:
            return self.chip.magic_value
        if address == self.chip.uart_clkdiv_reg:
            return self.chip.uart_clock_hz // self.baud
        return self._registers.get(address, 0)

    def _write_register(self, address: int, value: int) -> None:
        self._registers[address] = value
        spi = self.chip.spi
        if address == spi.base and value & SPI_CMD_USR:
            self._run_spi_command()
            self._registers[address] = value & ~SPI_CMD_USR  # "done"

    def _run_spi_command(self) -> None:
        """The few SPI flash commands esptool sends through the user-command registers."""
        spi = self.chip.spi
        regs = self._registers
        command = regs.get(spi.base + spi.usr2, 0) & 0xFFFF
        usr1 = regs.get(spi.base + spi.usr1, 0)
        address = regs.get(spi.base + 0x04, 0)
        if regs.get(spi.base + spi.usr, 0) & SPI_USR_ADDR and spi.addr_msb:
            address_bits = ((usr1 >> 26) & 0x3F) + 1
            address >>= 32 - address_bits
        if command == 0x9F:  # RDID: manufacturer, memory type, capacity (log2 of the size)
            capacity = self.flash.size.bit_length() - 1
            reply = bytes([0xEF, 0x40, capacity])
        elif command == 0x5A:  # SFDP read
            reply = _SFDP_TABLE[address:address + 4].ljust(4, b"\x00")
        else:  # status reads return 0; resets, write-enable and the like do nothing here
            reply = b""
        if spi.mosi_dlen is not None:
            read_bits = regs.get(spi.base + spi.mosi_dlen + 4, 0) + 1 if reply else 0
        else:
            read_bits = ((usr1 >> 8) & 0x1FF) + 1 if reply else 0
        word = int.from_bytes(reply.ljust(4, b"\x00"), "little")
        if read_bits < 32:
            word &= (1 << read_bits) - 1
        regs[spi.base + spi.w0] = word

    def _security_info(self, _data: bytes, _check: int):
        length = self.chip.security_info_len
        if not length:
            raise CommandFailed(STUB_NOT_IMPLEMENTED)
        info = struct.pack("<IBBBBBBBB", 0, 0, 0, 0, 0, 0, 0, 0, 0)
        if length == 20:
            info += struct.pack("<II", self.chip.chip_id or 0, 0)
        return 0, info, None

    def _change_baud(self, data: bytes, _check: int):
        new_baud, _old = struct.unpack("<II", data)

        def switch() -> None:  # after the reply, which still goes out at the old rate
            self.baud = new_baud

        return 0, b"", switch

    # --- RAM download: how the stub gets in ---------------------------------------------------

    def _mem_begin(self, data: bytes, _check: int):
        size, _blocks, _block_size, address = struct.unpack("<IIII", data)
        self._ram_session = (address, size)
        return 0, b"", None

    def _mem_data(self, data: bytes, check: int):
        if self._ram_session is None:
            raise CommandFailed(STUB_NOT_IN_FLASH_MODE if self.stub else ROM_FAILED)
        length, _seq, _, _ = struct.unpack_from("<IIII", data)
        block = data[16:]
        if length != len(block) or length > self._ram_session[1]:
            raise CommandFailed(STUB_BAD_DATA_LEN if self.stub else ROM_INVALID_MESSAGE)
        if checksum(block) != check:
            raise CommandFailed(STUB_BAD_CHECKSUM if self.stub else ROM_BAD_CHECKSUM)
        address, remaining = self._ram_session
        self._ram_session = (address + length, remaining - length)
        return 0, b"", None

    def _mem_end(self, data: bytes, _check: int):
        no_entry, entry = struct.unpack("<II", data)
        self._ram_session = None
        if no_entry or not entry:
            return 0, b"", None

        def start_stub() -> None:
            # The uploaded code is esptool's stub: it greets with "OHAI", then serves.
            self.stub = True
            self.link.send_frame(b"OHAI")

        return 0, b"", start_stub

    # --- flash writing -----------------------------------------------------------------------

    def _flash_begin(self, data: bytes, _check: int):
        erase_size, blocks, block_size, offset = struct.unpack_from("<IIII", data)
        self._check_begin_length(data)
        if self.stub:
            # The stub is told the real byte count, erases as it goes, drops padding.
            self.flash.erase_range(offset, erase_size)
            self._session = _FlashSession(offset, erase_size, block_size, offset)
        else:
            # The ROM erases up front and writes whole blocks, padding included. The
            # ESP8266 ROM erases more than it is asked to (esptool shrinks the request
            # to make up for it), so erase what the blocks cover, as the chip ends up doing.
            covered = blocks * block_size if self.chip.key == "esp8266" else 0
            self.flash.erase_range(offset, max(erase_size, covered))
            self._session = _FlashSession(offset, blocks * block_size, block_size, offset)
        self.flash_written |= erase_size > 0 or blocks > 0
        return 0, b"", None

    def _check_begin_length(self, data: bytes) -> None:
        # ESP8266 and ESP32 ROMs take 16 bytes; the stub and later ROMs add an "encrypt" word.
        allowed = {16, 20} if self.stub else ({16} if self.chip.key in ("esp8266", "esp32") else {20})
        if len(data) not in allowed:
            raise CommandFailed(STUB_BAD_DATA_LEN if self.stub else ROM_INVALID_MESSAGE)

    def _flash_data(self, data: bytes, check: int):
        session = self._require_session(compressed=False)
        length, seq, _, _ = struct.unpack_from("<IIII", data)
        block = data[16:]
        if length != len(block):
            raise CommandFailed(STUB_BAD_DATA_LEN if self.stub else ROM_INVALID_MESSAGE)
        if checksum(block) != check:
            raise CommandFailed(STUB_BAD_CHECKSUM if self.stub else ROM_BAD_CHECKSUM)
        if self.stub:
            block = block[:session.remaining]
        else:
            session.offset = session.base + seq * session.block_size
        self._program(session, block)
        return 0, b"", None

    def _defl_begin(self, data: bytes, _check: int):
        size, blocks, block_size, offset = struct.unpack_from("<IIII", data)
        self._check_begin_length(data)
        # Stub: `size` is the uncompressed byte count. ROM: it is that count rounded up to
        # whole blocks, which is also what the ROM erases up front.
        self.flash.erase_range(offset, size)
        self._session = _FlashSession(offset, size, block_size, offset, zlib.decompressobj())
        self.flash_written |= size > 0
        return 0, b"", None

    def _defl_data(self, data: bytes, check: int):
        session = self._require_session(compressed=True)
        length, _seq, _, _ = struct.unpack_from("<IIII", data)
        block = data[16:]
        if length != len(block):
            raise CommandFailed(STUB_BAD_DATA_LEN if self.stub else ROM_INVALID_MESSAGE)
        if checksum(block) != check:
            raise CommandFailed(STUB_BAD_CHECKSUM if self.stub else ROM_BAD_CHECKSUM)
        try:
            inflated = session.decompressor.decompress(block)
        except zlib.error:
            raise CommandFailed(STUB_INFLATE_ERROR if self.stub else (1, 0x0B)) from None
        if len(inflated) > session.remaining:
            raise CommandFailed(STUB_BAD_DATA_LEN if self.stub else ROM_FAILED)
        self._program(session, inflated)
        return 0, b"", None

    def _program(self, session: _FlashSession, chunk: bytes) -> None:
        try:
            self.flash.program(session.offset, chunk)
        except IndexError:
            raise CommandFailed((0xC4, 0) if self.stub else (1, 0x08)) from None
        session.offset += len(chunk)
        session.remaining = max(0, session.remaining - len(chunk))

    def _require_session(self, compressed: bool) -> _FlashSession:
        session = self._session
        if session is None or (session.decompressor is not None) != compressed:
            raise CommandFailed(STUB_NOT_IN_FLASH_MODE if self.stub else ROM_FAILED)
        return session

    def _flash_end(self, data: bytes, _check: int):
        struct.unpack("<I", data)  # 0: reboot, 1: run the application; both leave the ROM
        if self.stub:
            # The stub insists on having received every byte it was promised.
            if self._session is not None and self._session.remaining:
                raise CommandFailed(STUB_BAD_DATA_LEN)
            self._session = None
            return 0, b"", None
        self._session = None
        return 0, b"", self._on_run_user_code

    # --- flash reading, hashing, erasing -------------------------------------------------------

    def _md5(self, data: bytes, _check: int):
        address, size, _, _ = struct.unpack("<IIII", data)
        try:
            digest = hashlib.md5(self.flash.read(address, size))
        except IndexError:
            raise CommandFailed((0xC4, 0) if self.stub else (1, 0x09)) from None
        return 0, (digest.digest() if self.stub else digest.hexdigest().encode()), None

    def _read_flash_slow(self, data: bytes, _check: int):
        address, length = struct.unpack("<II", data)
        if length > 64:
            raise CommandFailed((1, 0x0A))
        try:
            chunk = self.flash.read(address, length)
        except IndexError:
            raise CommandFailed((1, 0x09)) from None
        return 0, chunk.ljust(64, b"\xff"), None

    def _read_flash(self, data: bytes, _check: int):
        address, length, packet_size, _in_flight = struct.unpack("<IIII", data)
        if address + length > self.flash.size or not 0 < packet_size <= 0x1000:
            raise CommandFailed(STUB_BAD_DATA_LEN)
        return 0, b"", lambda: self._stream_flash(address, length, packet_size)

    def _stream_flash(self, address: int, length: int, packet_size: int) -> None:
        """Send the data packet by packet, each after the host acknowledged the one before."""
        digest = hashlib.md5()
        sent = 0
        while sent < length:
            packet = self.flash.read(address + sent, min(packet_size, length - sent))
            digest.update(packet)
            self.link.send_frame(packet)
            sent += len(packet)
            ack = self.link.read_frame(timeout=3.0)
            if ack is None or len(ack) != 4:
                return  # the host gave up: the stub goes back to waiting for commands
        self.link.send_frame(digest.digest())

    def _erase_flash(self, _data: bytes, _check: int):
        self.flash.erase_all()
        self.flash_written = True
        return 0, b"", None

    def _erase_region(self, data: bytes, _check: int):
        address, size = struct.unpack("<II", data)
        if address % 0x1000 or size % 0x1000 or address + size > self.flash.size:
            raise CommandFailed(STUB_BAD_DATA_LEN)
        self.flash.erase_range(address, size)
        self.flash_written = True
        return 0, b"", None

    def _run_user_code(self, _data: bytes, _check: int):
        self._on_run_user_code()
        return None  # this one has no reply
