"""WebREPL: a board's REPL and its file transfer over a WebSocket (boards on Wi-Fi).

The protocol, as MicroPython speaks it (extmod/modwebrepl.c, webrepl_cli.py):
- The board sends "Password: " as text; the client answers the password and "\r". The
  board replies "\r\nWebREPL connected\r\n>>> ", or "\r\nAccess denied\r\n" and closes.
- Text frames carry the REPL both ways; Ctrl-C is a plain byte, as on a UART.
- Binary frames carry the file protocol. A request is 82 bytes, "<2sBBQLH64s":
  b"WA", type (1 put, 2 get), flags, offset, size, name length, name. The board answers
  b"WB" and a 16-bit code (0 = fine). A put then sends `size` bytes and gets a second WB;
  a get asks for each chunk with a 0 byte and receives a 16-bit length and up to 256 bytes,
  until a length of 0, then the final WB.
- A board that cannot open the file raises inside its terminal and drops the connection.
"""
from __future__ import annotations

import contextlib
import struct
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import websocket
from websocket import ABNF

from . import ByteProgress, LinkClosed, Transport, TransportError
from .tcp_options import acknowledge_at_once, detect_dead_peer, exchange_quickly

DEFAULT_URL = "ws://192.168.4.1:8266/"
DEFAULT_PORT = 8266

PASSWORD_PROMPT = b"Password: "
#: Old firmware asked for a new password on the first connection instead of refusing it.
NEW_PASSWORD_PROMPT = b"New password: "
CONNECTED_ANSWER = b"WebREPL connected\r\n"
DENIED_ANSWER = b"Access denied"
LOGIN_TIMEOUT = 5.0

REQUEST_FORMAT = "<2sBBQLH64s"
PUT_FILE, GET_FILE = 1, 2
#: The board keeps 64 bytes of name and needs a NUL after it.
MAX_NAME_BYTES = 63
#: MicroPython's websocket takes 16-bit frame lengths only; webrepl_cli also sends 1 KiB.
FRAME_SIZE = 1024
FILE_REPLY_TIMEOUT = 10.0
#: The board's get chunk (modwebrepl.c), and how many of them are asked for at once. The board
#: answers them back to back into a non-blocking socket: four (1 KiB) stay well inside the
#: smallest lwIP send buffer (2920 bytes on an ESP8266), where more could be dropped.
GET_CHUNK = 256
GET_REQUESTS_AHEAD = 4
#: A put is answered only at its end: allow this slow a board (bytes/s) on top of the timeout.
SLOWEST_PUT_RATE = 2000


def normalise_url(target: str) -> str:
    """`192.168.4.1` or `host:8266` becomes `ws://host:8266/`; ws:// and wss:// URLs stay."""
    text = target.strip()
    if "://" not in text:
        text = "ws://" + text
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("ws", "wss") or not parts.hostname or port == -1:
        raise TransportError(f"Not a WebREPL address: {target!r} (expected ws://HOST:PORT/).")
    netloc = parts.netloc if port is not None else f"{parts.netloc}:{DEFAULT_PORT}"
    return f"{parts.scheme}://{netloc}{parts.path or '/'}"


class WebReplTransport(Transport):
    """A logged-in WebREPL connection: text for the REPL, and put_file/get_file for files.

    A thread receives every frame, so a board that goes away is noticed even while nobody
    reads; text waits for `read`, binary for the file protocol.
    """

    def __init__(self, url: str, password: str, connect_timeout: float = 5.0) -> None:
        self.url = normalise_url(url)
        self.description = f"WebREPL {self.url}"
        self.reconnect_hint = f"Reconnect with %websocketconnect {self.url} once the board is back on the network."
        if "\r" in password or "\n" in password:
            raise TransportError("A WebREPL password cannot contain a line break.")
        self._arrived = threading.Condition()
        self._repl_bytes = bytearray()
        self._file_bytes = bytearray()
        self._gone_reason: str | None = None
        self._file_transfer_lock = threading.Lock()
        self._socket = self._open(connect_timeout)
        self._receiver = threading.Thread(target=self._receive_frames, name="webrepl-receiver", daemon=True)
        self._receiver.start()
        try:
            self._log_in(password)
        except TransportError:  # LinkClosed included
            self.close()
            raise

    # -- connecting ------------------------------------------------------------------
    def _open(self, connect_timeout: float) -> websocket.WebSocket:
        try:
            connection = websocket.create_connection(
                self.url, timeout=connect_timeout, enable_multithread=True, skip_utf8_validation=True)
        except ConnectionRefusedError:
            raise TransportError(f"Nothing answers at {self.url}: is WebREPL started on the board "
                                 "(import webrepl; webrepl.start())?") from None
        except (ConnectionResetError, websocket.WebSocketConnectionClosedException) as error:
            # What a board does to a second client while it still holds the first.
            raise LinkClosed(f"The WebREPL at {self.url} closed the connection at once ({_reason(error)}): "
                             "is another client connected?") from None
        except (websocket.WebSocketException, OSError) as error:
            raise TransportError(f"Cannot reach a WebREPL at {self.url}: {_reason(error)}") from None
        connection.settimeout(None)
        assert connection.sock is not None  # create_connection returns a connected socket
        detect_dead_peer(connection.sock)
        exchange_quickly(connection.sock)
        return connection

    def _log_in(self, password: str) -> None:
        prompt = self._await_text((PASSWORD_PROMPT, NEW_PASSWORD_PROMPT), "a password prompt")
        if prompt == NEW_PASSWORD_PROMPT:
            raise TransportError(f"The WebREPL at {self.url} has no password yet: set one over serial "
                                 "with import webrepl_setup.")
        self._send(password.encode() + b"\r", ABNF.OPCODE_TEXT)
        if self._await_text((CONNECTED_ANSWER, DENIED_ANSWER), "an answer to the password") == DENIED_ANSWER:
            raise TransportError(f"Access denied by the WebREPL at {self.url}: wrong password.")

    def _await_text(self, answers: tuple[bytes, ...], expected: str) -> bytes:
        """Take REPL text up to the first of `answers`; returns the one that came."""
        deadline = time.monotonic() + LOGIN_TIMEOUT
        with self._arrived:
            while True:
                found = [(self._repl_bytes.find(answer), answer) for answer in answers]
                found = [(position, answer) for position, answer in found if position >= 0]
                if found:
                    position, answer = min(found)
                    del self._repl_bytes[:position + len(answer)]
                    return answer
                if self._gone_reason is not None:
                    raise LinkClosed(f"The WebREPL at {self.url} closed the connection before "
                                     f"{expected} ({self._gone_reason}).")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransportError(f"{self.url} did not answer like a WebREPL (no {expected}).")
                self._arrived.wait(remaining)

    def _receive_frames(self) -> None:
        reason = "closed by the board"
        try:
            while True:
                opcode, payload = self._socket.recv_data()
                if self._socket.sock is not None:
                    acknowledge_at_once(self._socket.sock)
                if opcode == ABNF.OPCODE_CLOSE:
                    break
                with self._arrived:
                    inbox = self._repl_bytes if opcode == ABNF.OPCODE_TEXT else self._file_bytes
                    inbox += payload
                    self._arrived.notify_all()
        except (websocket.WebSocketException, OSError) as error:
            reason = _reason(error)
        finally:
            self._mark_gone(reason)

    def _mark_gone(self, reason: str) -> None:
        with self._arrived:
            if self._gone_reason is None:
                self._gone_reason = reason
            self._arrived.notify_all()

    def _gone(self) -> LinkClosed:
        return LinkClosed(f"The WebREPL connection to {self.url} is gone ({self._gone_reason}).")

    # -- the REPL --------------------------------------------------------------------
    def read(self, max_bytes: int = 4096, timeout: float = 0.05) -> bytes:
        with self._arrived:
            self._arrived.wait_for(lambda: self._repl_bytes or self._gone_reason is not None, timeout)
            if self._repl_bytes:
                data = bytes(self._repl_bytes[:max_bytes])
                del self._repl_bytes[:max_bytes]
                return data
            if self._gone_reason is not None:
                raise self._gone()
            return b""

    def write(self, data: bytes) -> None:
        self._send(data, ABNF.OPCODE_TEXT)

    def _send(self, data: bytes, opcode: int) -> None:
        if self._gone_reason is not None:
            raise self._gone()
        try:
            # range() sends no frame for b"": an empty frame reads as end of stream on a board.
            for start in range(0, len(data), FRAME_SIZE):
                self._socket.send(data[start:start + FRAME_SIZE], opcode)
        except (websocket.WebSocketException, OSError) as error:
            self._mark_gone(_reason(error))
            raise self._gone() from None

    # -- the file protocol (FileTransferLink) ----------------------------------------
    def put_file(self, board_path: str, data: bytes, progress: ByteProgress = None) -> None:
        """Write `data` to `board_path` with WebREPL's binary put (no verification, no rename)."""
        with self._file_transfer(board_path, "write"):
            self._send_file_request(PUT_FILE, board_path, len(data))
            self._expect_file_reply(board_path, "write", FILE_REPLY_TIMEOUT)
            for start in range(0, len(data), FRAME_SIZE):
                self._send(data[start:start + FRAME_SIZE], ABNF.OPCODE_BINARY)
                if progress:
                    progress(min(start + FRAME_SIZE, len(data)))
            self._expect_file_reply(board_path, "write", FILE_REPLY_TIMEOUT + len(data) / SLOWEST_PUT_RATE)

    def get_file(self, board_path: str, progress: ByteProgress = None, size: int | None = None) -> bytes:
        """The whole file `board_path`, read with WebREPL's binary get.

        The board sends a chunk of at most GET_CHUNK bytes for each 0 byte asked, a round trip
        each over Wi-Fi. With the file's `size` known, up to GET_REQUESTS_AHEAD chunks are asked
        for at once, never more than the file holds: one request too many would be read by the
        board as the start of the next file request."""
        content = bytearray()
        expected_requests = 1 if size is None else size // GET_CHUNK + (1 if size % GET_CHUNK else 0) + 1
        with self._file_transfer(board_path, "read"):
            self._send_file_request(GET_FILE, board_path, 0)
            self._expect_file_reply(board_path, "read", FILE_REPLY_TIMEOUT)
            asked = answered = 0
            while True:
                more = _chunk_requests_now(asked - answered, expected_requests - asked)
                if more:
                    self._send(b"\0" * more, ABNF.OPCODE_BINARY)  # "next chunks, please"
                    asked += more
                (chunk_length,) = struct.unpack("<H", self._take_file_bytes(2, board_path, FILE_REPLY_TIMEOUT))
                answered += 1
                if chunk_length == 0:
                    break
                content += self._take_file_bytes(chunk_length, board_path, FILE_REPLY_TIMEOUT)
                if progress:
                    progress(len(content))
            self._expect_file_reply(board_path, "read", FILE_REPLY_TIMEOUT)
        if asked > answered:
            # The file shrank while it was read: the board takes the requests still on their way
            # for a file request of its own. Only a new connection gets it back in step.
            self.close()
            raise LinkClosed(f"{board_path} got shorter on the board while it was fetched; "
                             "the WebREPL connection had to be closed: connect again.")
        return bytes(content)

    @contextlib.contextmanager
    def _file_transfer(self, board_path: str, verb: str) -> Iterator[None]:
        with self._file_transfer_lock:
            with self._arrived:
                self._file_bytes.clear()
            try:
                yield
            except LinkClosed:
                # What real firmware does when open() fails (no such file or folder).
                raise LinkClosed(f"The WebREPL connection to {self.url} closed while trying to {verb} "
                                 f"{board_path} (a board drops it when it cannot open the file: "
                                 "does it, or its folder, exist?).") from None

    def _send_file_request(self, request_type: int, board_path: str, size: int) -> None:
        name = board_path.encode()
        if len(name) > MAX_NAME_BYTES:
            raise TransportError(f"{board_path} is too long for WebREPL's file protocol "
                                 f"({len(name)} bytes; {MAX_NAME_BYTES} at most).")
        request = struct.pack(REQUEST_FORMAT, b"WA", request_type, 0, 0, size, len(name), name)
        self._send(request, ABNF.OPCODE_BINARY)

    def _expect_file_reply(self, board_path: str, verb: str, timeout: float) -> None:
        signature, code = struct.unpack("<2sH", self._take_file_bytes(4, board_path, timeout))
        if signature != b"WB":
            raise TransportError(f"The board answered the WebREPL file request for {board_path} "
                                 f"with {signature!r}, not WB.")
        if code != 0:
            raise TransportError(f"The board refused to {verb} {board_path} over WebREPL (code {code}).")

    def _take_file_bytes(self, count: int, board_path: str, timeout: float) -> bytes:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._file_bytes) >= count or self._gone_reason is not None, timeout)
            if len(self._file_bytes) >= count:
                data = bytes(self._file_bytes[:count])
                del self._file_bytes[:count]
                return data
            if self._gone_reason is not None:
                raise self._gone()
        raise TransportError(f"The board stopped answering during the WebREPL transfer of {board_path} "
                             f"(nothing for {timeout:.0f} s).")

    # -- closing ---------------------------------------------------------------------
    def close(self) -> None:
        self._mark_gone("closed")
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self._socket.send_close()
        self._socket.abort()  # wakes the receiving thread
        self._socket.shutdown()
        if self._receiver is not threading.current_thread():
            self._receiver.join(timeout=2)


def _chunk_requests_now(in_flight: int, still_expected: int) -> int:
    """How many get requests to send now: refill the window once half of it is answered, up
    to what the file's size still calls for; past that (the file grew), one at a time."""
    if in_flight > GET_REQUESTS_AHEAD // 2:
        return 0
    more = min(GET_REQUESTS_AHEAD - in_flight, still_expected)
    if more <= 0:
        return 1 if in_flight == 0 else 0
    return more


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    if isinstance(error, TimeoutError) or "timed out" in text.lower():
        return "no answer in time"
    if isinstance(error, websocket.WebSocketConnectionClosedException) or not text:
        return "connection closed"
    return text
