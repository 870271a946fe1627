"""Serial ports through pyserial, including its URLs (rfc2217://, socket://)."""
from __future__ import annotations

import errno

import serial

from . import LinkClosed, Transport, TransportError


def _open_error_message(port: str, error: serial.SerialException) -> str:
    text = str(error)
    code = getattr(error, "errno", None)
    if code == errno.ENOENT or "No such file" in text or "FileNotFoundError" in text:
        return f"Port {port} does not exist (is the board plugged in? %serialconnect lists the ports)."
    if code == errno.EACCES or "Permission denied" in text or "PermissionError" in text:
        return (f"Permission denied on {port}: add yourself to the dialout group "
                "(sudo usermod -a -G dialout $USER), then log out and in again.")
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in text or "busy" in text.lower():
        return (f"Port {port} is busy: another program (a terminal, Thonny, another notebook) "
                "holds it. Close that program, or %disconnect in the other notebook.")
    return f"Cannot open {port}: {text}"


class SerialTransport(Transport):
    """A pyserial port. Opening holds DTR and RTS low so that an ESP board is not reset."""

    def __init__(self, port: str, baudrate: int = 115200) -> None:
        self.port_name = port
        self.description = f"{port} at {baudrate} baud"
        self.reconnect_hint = f"Plug the board back in, then run %serialconnect (it reconnects to {port})."
        try:
            link = serial.serial_for_url(port, baudrate=baudrate, timeout=0, do_not_open=True)
            if isinstance(link, serial.Serial) and not port.startswith(("rfc2217:", "socket:", "loop:")):
                # Set before open so the lines never pulse: the ESP auto-reset circuit
                # would otherwise reboot the board on every connect.
                link.dtr = False
                link.rts = False
                link.exclusive = True
            link.open()
        except serial.SerialException as error:
            raise TransportError(_open_error_message(port, error)) from None
        except (OSError, ValueError) as error:
            raise TransportError(f"Cannot open {port}: {error}") from None
        self._link = link

    def read(self, max_bytes: int = 4096, timeout: float = 0.05) -> bytes:
        try:
            received = bytearray()
            if timeout > 0:  # a look at what is there (timeout 0) keeps the port's timeout
                self._set_timeout(timeout)
                received += self._link.read(1)
                if not received:
                    return b""
            # Take all that is already there: waiting for more, even 3 ms, would cost the
            # protocol's handshakes more than it saves in notebook messages.
            while len(received) < max_bytes:
                waiting = self._link.in_waiting
                if not waiting:
                    break
                received += self._link.read(min(waiting, max_bytes - len(received)))
            return bytes(received)
        except (serial.SerialException, OSError, TypeError, AttributeError) as error:
            # pyserial raises SerialException("device reports readiness to read but
            # returned no data") or OSError(EIO) when a USB adapter is unplugged.
            raise LinkClosed(f"The link to {self.port_name} is gone ({error}).") from None

    def _set_timeout(self, timeout: float) -> None:
        # pyserial reconfigures the whole port (termios calls) on every timeout assignment:
        # a quarter of a millisecond per cell when done on each read.
        if self._link.timeout != timeout:
            self._link.timeout = timeout

    def write(self, data: bytes) -> None:
        try:
            self._link.write(data)
            self._link.flush()
        except (serial.SerialException, OSError, TypeError, AttributeError) as error:
            raise LinkClosed(f"The link to {self.port_name} is gone ({error}).") from None

    def close(self) -> None:
        try:
            self._link.close()
        except (serial.SerialException, OSError):
            pass
