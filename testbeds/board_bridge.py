"""A virtual board behind a local network server: what the WebREPL and TCP testbeds share.

`BoardBridge` owns a virtual board (the MicroPython unix port, `VirtualBoardTransport`) and
copies its output to the connected client. Input bytes go to the board, except Ctrl-C,
which goes through `send_interrupt()`: on the unix port Ctrl-C must become a signal, as the
UART driver of a real board turns it into a KeyboardInterrupt.

`LocalServer` listens on 127.0.0.1 only and serves one client at a time, refusing a second
one as WebREPL and ser2net do; `drop_clients()` cuts connections as a lost network would.
"""
from __future__ import annotations

import abc
import contextlib
import os
import socket
import threading
from collections.abc import Callable
from typing import Self

from metakernel_micropython.transport import LinkClosed
from metakernel_micropython.transport.virtual_board import VirtualBoardTransport

OutputListener = Callable[[bytes], None]


class BoardBridge:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.board = VirtualBoardTransport(directory)
        self._listener: OutputListener | None = None
        self._listener_lock = threading.Lock()
        self._running = True
        self._pump = threading.Thread(target=self._copy_output, name="board-output", daemon=True)
        self._pump.start()

    def listen(self, listener: OutputListener) -> None:
        """Send the board's output to `listener` from now on."""
        with self._listener_lock:
            self._listener = listener

    def stop_listening(self, listener: OutputListener) -> None:
        """Output goes nowhere again (as on a UART nobody reads), unless another listener took over."""
        with self._listener_lock:
            if self._listener == listener:
                self._listener = None

    def feed(self, data: bytes) -> None:
        """Bytes from the client to the board, each Ctrl-C as an interrupt."""
        for index, part in enumerate(data.split(b"\x03")):
            if index:
                self.board.send_interrupt()
            if part:
                self.board.write(part)

    def _copy_output(self) -> None:
        while self._running:
            try:
                data = self.board.read(4096, 0.05)
            except LinkClosed:
                return
            with self._listener_lock:
                listener = self._listener
            if data and listener is not None:
                with contextlib.suppress(OSError):
                    listener(data)

    def close(self) -> None:
        self._running = False
        self._pump.join(timeout=2)  # before closing: the pump may be reading
        self.board.close()


class LocalServer(abc.ABC):
    """A server on 127.0.0.1 bridged to a fresh virtual board whose file system is `directory`."""

    def __init__(self, directory: str | os.PathLike[str], port: int = 0) -> None:
        self.bridge = BoardBridge(directory)
        self.directory = self.bridge.board.directory
        self._listening = socket.create_server(("127.0.0.1", port))
        self.port: int = self._listening.getsockname()[1]
        self._client: socket.socket | None = None
        self._client_lock = threading.Lock()
        self.connections_accepted = 0
        threading.Thread(target=self._accept_clients, name="server-accept", daemon=True).start()

    @abc.abstractmethod
    def serve(self, client: socket.socket) -> None:
        """Talk to one client until it leaves or is dropped (and stop listening to the board then)."""

    def _accept_clients(self) -> None:
        while True:
            try:
                # Nagle's algorithm stays on, as in a board's lwIP: clients must cope with it.
                client, _address = self._listening.accept()
            except OSError:
                return  # closed
            with self._client_lock:
                busy = self._client is not None
                if not busy:
                    self._client = client
                    self.connections_accepted += 1
            if busy:
                client.close()
                continue
            threading.Thread(target=self._serve_then_forget, args=(client,), daemon=True).start()

    def _serve_then_forget(self, client: socket.socket) -> None:
        try:
            self.serve(client)
        except OSError:
            pass
        finally:
            with self._client_lock:
                if self._client is client:
                    self._client = None
            client.close()

    @property
    def has_client(self) -> bool:
        with self._client_lock:
            return self._client is not None

    def drop_clients(self) -> None:
        """Cut the current connection, as a board that reset or left the network would."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listening.close()
        self.drop_clients()
        self.bridge.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
