"""A raw TCP server bridged to a virtual board: what ESP-Link or ser2net (raw mode) offer.

Bytes pass unchanged both ways; a Ctrl-C from the client interrupts the board.

    with TcpBoardServer(board_dir) as server:
        ...  # %socketconnect 127.0.0.1 {server.port}
"""
from __future__ import annotations

import socket

from .board_bridge import LocalServer


class TcpBoardServer(LocalServer):
    def serve(self, client: socket.socket) -> None:
        self.bridge.listen(client.sendall)
        try:
            while data := client.recv(4096):
                self.bridge.feed(data)
        finally:
            self.bridge.stop_listening(client.sendall)
