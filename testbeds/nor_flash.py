"""A SPI NOR flash chip as the ESP simulator sees it.

NOR flash cannot set a bit by writing: erasing a 4 KiB sector sets all its bytes to 0xFF,
and programming can only clear bits (new = old & data). A loader that forgets to erase
before writing therefore leaves corrupt data behind, as it would on a real board.
"""
from __future__ import annotations

SECTOR_SIZE = 0x1000


class NorFlash:
    """The flash contents in `data`, changed only through erase and program."""

    def __init__(self, size: int) -> None:
        if size <= 0 or size % SECTOR_SIZE:
            raise ValueError(f"flash size must be a positive multiple of {SECTOR_SIZE:#x}")
        self.data = bytearray(b"\xff" * size)

    @property
    def size(self) -> int:
        return len(self.data)

    def erase_all(self) -> None:
        self.data[:] = b"\xff" * len(self.data)

    def erase_range(self, offset: int, length: int) -> None:
        """Erase every sector that [offset, offset + length) touches."""
        if length <= 0:
            return
        start = offset - offset % SECTOR_SIZE
        end = -(-(offset + length) // SECTOR_SIZE) * SECTOR_SIZE
        self._check(start, end - start)
        self.data[start:end] = b"\xff" * (end - start)

    def program(self, offset: int, chunk: bytes) -> None:
        """Write `chunk` at `offset` the NOR way: bits can only go from 1 to 0."""
        self._check(offset, len(chunk))
        old = int.from_bytes(self.data[offset:offset + len(chunk)], "little")
        new = old & int.from_bytes(chunk, "little")
        self.data[offset:offset + len(chunk)] = new.to_bytes(len(chunk), "little")

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        return bytes(self.data[offset:offset + length])

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > len(self.data):
            raise IndexError(f"flash access {offset:#x}+{length:#x} is outside {len(self.data):#x} bytes")
