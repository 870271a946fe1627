"""A WebREPL server for tests, bridged to a virtual board, speaking MicroPython's protocol.

It behaves as extmod/modwebrepl.c and webrepl.py do on a board:
- WebSocket handshake, then "Password: " as text; the password ends with "\r" or "\n".
  A wrong one gets "\r\nAccess denied\r\n" and the connection closes; the right one
  "\r\nWebREPL connected\r\n>>> ", after which text frames carry the REPL both ways.
- Binary frames carry the file protocol: an 82-byte "WA" request (1 put, 2 get, 3 version),
  "WB" + 16-bit code replies, put data streamed after the first reply, get data in chunks of
  at most 256 bytes, each asked for with a 0 byte, ended by a chunk of length 0.
- A file that cannot be opened drops the connection (the board's terminal raises).
- A second client is refused while one is connected. WebSocket pings get no pong.
Files live in the virtual board's folder; "/x" means the folder's x, as on a board.

    with WebReplServer(board_dir, password="secret") as server:
        ...  # %websocketconnect {server.url} --password secret
"""
from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .board_bridge import LocalServer

_HANDSHAKE_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE = 0x1, 0x2, 0x8
REQUEST_FORMAT = "<2sBBQLH64s"
REQUEST_SIZE = struct.calcsize(REQUEST_FORMAT)  # 82
PUT_FILE, GET_FILE, GET_VERSION = 1, 2, 3
GET_CHUNK = 256
VERSION = bytes((1, 29, 0))


class ConnectionEnds(Exception):
    """The client left, or the board dropped it."""


class _WebSocket:
    """The server side of RFC 6455, as much as MicroPython's websocket module does."""

    def __init__(self, client: socket.socket) -> None:
        self._client = client
        self._reader: BinaryIO = client.makefile("rb")
        self._send_lock = threading.Lock()

    def accept_handshake(self) -> None:
        request = b""
        while not request.endswith(b"\r\n\r\n"):
            line = self._reader.readline()
            if not line:
                raise ConnectionEnds
            request += line
        # Matched with its exact spelling, as MicroPython's websocket_helper does.
        headers = (line.split(b":", 1) for line in request.split(b"\r\n")[1:] if b":" in line)
        key = next((value.strip() for name, value in headers if name.strip() == b"Sec-WebSocket-Key"), None)
        if key is None:
            raise ConnectionEnds
        accept = base64.b64encode(hashlib.sha1(key + _HANDSHAKE_GUID).digest())
        self._client.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")

    def _exactly(self, count: int) -> bytes:
        data = self._reader.read(count)
        if data is None or len(data) < count:
            raise ConnectionEnds
        return data

    def receive(self) -> tuple[int, bytes]:
        first, second = self._exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack(">H", self._exactly(2))
        elif length == 127:
            (length,) = struct.unpack(">Q", self._exactly(8))
        mask = self._exactly(4) if second & 0x80 else bytes(4)
        payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(self._exactly(length)))
        return first & 0x0F, payload

    def send(self, opcode: int, payload: bytes) -> None:
        if len(payload) < 126:
            header = struct.pack(">BB", 0x80 | opcode, len(payload))
        else:
            header = struct.pack(">BBH", 0x80 | opcode, 126, len(payload))
        with self._send_lock:
            self._client.sendall(header + payload)

    def send_text(self, payload: bytes) -> None:
        self.send(TEXT, payload)

    def send_binary(self, payload: bytes) -> None:
        self.send(BINARY, payload)


class _FileProtocol:
    """The binary side of modwebrepl.c: parses requests and moves file data."""

    def __init__(self, root: Path, websocket: _WebSocket, on_request: Callable[[], None]) -> None:
        self._root = root
        self._on_request = on_request
        self._websocket = websocket
        self._pending = bytearray()
        self._put_remaining = 0
        self._open_file: BinaryIO | None = None
        self._mode = "request"  # or "put" or "get"

    def feed(self, data: bytes) -> None:
        self._pending += data
        while self._pending:
            if self._mode == "request":
                if len(self._pending) < REQUEST_SIZE:
                    return
                request = bytes(self._pending[:REQUEST_SIZE])
                del self._pending[:REQUEST_SIZE]
                self._start(request)
            elif self._mode == "put":
                part = bytes(self._pending[:self._put_remaining])
                del self._pending[:len(part)]
                self._write_part(part)
            else:
                del self._pending[:1]  # the client's "next chunk" byte
                self._send_chunk()

    def _start(self, request: bytes) -> None:
        signature, kind, _flags, _offset, size, _name_length, name = struct.unpack(REQUEST_FORMAT, request)
        if signature != b"WA":
            raise ConnectionEnds
        if kind == GET_VERSION:
            self._websocket.send_binary(VERSION)
            return
        self._on_request()
        path = self._board_path(name.split(b"\0", 1)[0].decode(errors="replace"))
        try:
            self._open_file = open(path, "wb" if kind == PUT_FILE else "rb")
        except OSError:
            raise ConnectionEnds from None  # a board's terminal raises, and is detached
        self._reply(0)
        if kind == PUT_FILE:
            self._mode, self._put_remaining = "put", size
            self._write_part(b"")
        else:
            self._mode = "get"

    def _board_path(self, name: str) -> Path:
        path = (self._root / name.lstrip("/")).resolve()
        if path != self._root and self._root not in path.parents:
            raise ConnectionEnds
        return path

    def _write_part(self, part: bytes) -> None:
        assert self._open_file is not None
        self._open_file.write(part)
        self._put_remaining -= len(part)
        if self._put_remaining == 0:
            self._finish()

    def _send_chunk(self) -> None:
        assert self._open_file is not None
        chunk = self._open_file.read(GET_CHUNK)
        self._websocket.send_binary(struct.pack("<H", len(chunk)) + chunk)
        if not chunk:
            self._finish()

    def _finish(self) -> None:
        assert self._open_file is not None
        self._open_file.close()
        self._open_file = None
        self._mode = "request"
        self._reply(0)

    def _reply(self, code: int) -> None:
        self._websocket.send_binary(struct.pack("<2sH", b"WB", code))

    def abandon(self) -> None:
        if self._open_file is not None:
            self._open_file.close()


class WebReplServer(LocalServer):
    def __init__(self, directory: str | os.PathLike[str], password: str = "secret", port: int = 0,
                 latency: float = 0.0) -> None:
        """`latency`: seconds each message from the client takes to arrive, as over Wi-Fi."""
        super().__init__(directory, port)
        self.password = password
        self.latency = latency
        self.url = f"ws://127.0.0.1:{self.port}/"
        #: File puts and gets served, so tests can see that files went the binary way.
        self.file_requests = 0

    def serve(self, client: socket.socket) -> None:
        websocket = _WebSocket(client)
        files = _FileProtocol(self.directory.resolve(), websocket, self._count_file_request)
        try:
            websocket.accept_handshake()
            websocket.send_text(b"Password: ")
            if not self._password_accepted(websocket):
                websocket.send_text(b"\r\nAccess denied\r\n")
                return
            websocket.send_text(b"\r\nWebREPL connected\r\n>>> ")
            self.bridge.listen(websocket.send_text)
            while True:
                opcode, payload = websocket.receive()
                if self.latency:
                    time.sleep(self.latency)
                if opcode == TEXT:
                    self.bridge.feed(payload)
                elif opcode == BINARY:
                    files.feed(payload)
                elif opcode == CLOSE:
                    websocket.send(CLOSE, b"")
                    return
        except ConnectionEnds:
            pass
        finally:
            self.bridge.stop_listening(websocket.send_text)
            files.abandon()

    def _count_file_request(self) -> None:
        self.file_requests += 1

    def _password_accepted(self, websocket: _WebSocket) -> bool:
        typed = bytearray()
        while True:
            _opcode, payload = websocket.receive()
            for byte in payload:
                if byte in b"\r\n":
                    return typed.decode(errors="replace") == self.password
                typed.append(byte)
