"""Bytes to and from a board beside the REPL: for boards that run no REPL (yet) and for
debugging a protocol by hand.

Works on a raw link (`--raw`) and on a REPL connection alike. On a REPL connection the
raw REPL state is forgotten after a write, so the next cell enters the raw REPL again.
"""
from __future__ import annotations

import ast
import threading
import time

from ..transport import Transport
from .connection import ConnectionManager, NotConnected, how_to_connect

#: Once bytes have arrived, the reply counts as complete when the link stays quiet this long.
QUIET_AFTER_REPLY = 0.2
HEX_DUMP_WIDTH = 16


def parse_bytes(text: str, hex_digits: bool = False) -> bytes:
    """What the user typed as bytes: hex digits (`hex_digits`), a Python bytes or str literal
    (`b'\\x03'`, `"print(1)\\r"`), or bare text in which Python escapes such as \\r and \\x03 count."""
    text = text.strip()
    if hex_digits:
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"not hex digits: {text}") from None
    if text[:1] in ("'", '"') or text[:2].lower() in ("b'", 'b"'):
        try:
            value = ast.literal_eval(text)
        except (SyntaxError, ValueError):
            raise ValueError(f"not a Python bytes or str literal: {text}") from None
        return value if isinstance(value, bytes) else str(value).encode()
    try:
        return text.encode("latin-1", "backslashreplace").decode("unicode_escape").encode()
    except UnicodeDecodeError as error:
        raise ValueError(f"bad escape in {text}: {error.reason}") from None


def link_for_bytes(manager: ConnectionManager) -> Transport:
    """The link raw bytes go over: the raw link, else the connected board's own link."""
    if manager.raw_link is not None:
        return manager.raw_link
    if manager.board is not None:
        return manager.board.transport
    raise NotConnected(how_to_connect())


def write_bytes(manager: ConnectionManager, data: bytes) -> Transport:
    """Send `data` as it is; returns the link it went to."""
    link = link_for_bytes(manager)
    link.write(data)
    if manager.raw_link is None and manager.board is not None:
        # Bytes written by hand leave the board in a state the REPL engine cannot know.
        manager.board.repl.in_raw_mode = False
    return link


def read_bytes(manager: ConnectionManager, wait: float, stop: threading.Event | None = None) -> bytes:
    """What the board sent: bytes already waiting, then what arrives within `wait` seconds,
    ending early once the link has been quiet for QUIET_AFTER_REPLY after some bytes came,
    or when `stop` is set (the user interrupted)."""
    link = link_for_bytes(manager)
    # On a REPL connection the engine may hold bytes it has read but not used.
    received = bytearray(manager.board.repl.drain() if link is not manager.raw_link and manager.board else b"")
    started = last_arrival = time.monotonic()
    deadline = started + wait
    while True:
        now = time.monotonic()
        quiet = received and now - last_arrival >= QUIET_AFTER_REPLY
        if now >= deadline or quiet or (stop is not None and stop.is_set()):
            return bytes(received)
        chunk = link.read(4096, min(0.05, deadline - now))
        if chunk:
            received += chunk
            last_arrival = time.monotonic()


def as_text(data: bytes) -> str:
    """Bytes as readable text: line ends kept, every other control byte shown as an escape."""
    text = data.decode("utf-8", errors="backslashreplace").replace("\r\n", "\n")
    return "".join(char if char in "\n\t" or char.isprintable() else f"\\x{ord(char):02x}" for char in text)


def hex_dump(data: bytes) -> str:
    """Offset, hex bytes and printable ASCII, HEX_DUMP_WIDTH bytes a line."""
    lines = []
    for offset in range(0, len(data), HEX_DUMP_WIDTH):
        row = data[offset:offset + HEX_DUMP_WIDTH]
        hex_part = " ".join(f"{byte:02x}" for byte in row)
        ascii_part = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in row)
        lines.append(f"{offset:08x}  {hex_part:<{HEX_DUMP_WIDTH * 3 - 1}}  |{ascii_part}|")
    return "\n".join(lines)
