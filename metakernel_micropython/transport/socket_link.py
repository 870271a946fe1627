"""A REPL over a plain TCP socket (ESP-Link, ser2net in raw mode, a test bridge)."""
from __future__ import annotations

import select
import socket

from . import LinkClosed, Transport, TransportError
from .tcp_options import acknowledge_at_once, detect_dead_peer, exchange_quickly


class SocketTransport(Transport):
    def __init__(self, host: str, port: int, connect_timeout: float = 5.0, description: str | None = None) -> None:
        self.description = description or f"tcp://{host}:{port}"
        self.reconnect_hint = f"Reconnect with %socketconnect {host} {port} once the board is back."
        try:
            self._sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as error:
            raise TransportError(f"Cannot connect to {host}:{port}: {error.strerror or error}") from None
        exchange_quickly(self._sock)
        detect_dead_peer(self._sock)
        self._sock.setblocking(False)

    def read(self, max_bytes: int = 4096, timeout: float = 0.05) -> bytes:
        try:
            readable, _, _ = select.select([self._sock], [], [], timeout)
            if not readable:
                return b""
            data = self._sock.recv(max_bytes)
            acknowledge_at_once(self._sock)
        except OSError as error:
            raise LinkClosed(f"The connection to {self.description} is gone ({error}).") from None
        if not data:
            raise LinkClosed(f"The connection to {self.description} was closed by the other end.")
        return data

    def write(self, data: bytes) -> None:
        try:
            self._sock.setblocking(True)
            self._sock.sendall(data)
        except OSError as error:
            raise LinkClosed(f"The connection to {self.description} is gone ({error}).") from None
        finally:
            self._sock.setblocking(False)

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass
