from argparse import ArgumentTypeError, Namespace

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, argument, arguments
from metakernel_micropython.services.connect import connect_socket


def _port_number(text):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ArgumentTypeError(f"PORT must be a number from 1 to 65535, not {text!r}")
    return int(text)


class SocketConnectMagic(BoardMagic):
    @arguments(
        argument("host", help="name or address of the serial bridge"),
        argument("port", type=_port_number, help="its TCP port"),
        argument("--raw", action="store_true", help="open the link without entering the REPL"),
    )
    def line_socketconnect(self, args: Namespace) -> None:
        """
        %socketconnect HOST PORT [--raw] - connect to a board's REPL over plain TCP

        For a board behind a serial-to-network bridge that passes bytes unchanged (ESP-Link,
        ser2net in raw mode, socat): connects to HOST:PORT, stops whatever the board runs,
        enters its raw REPL and prints the firmware banner. Cells, interrupts, %reboot and
        the file magics work as over serial. A bridge that vanishes is noticed within
        seconds: the running cell ends with an error, and %socketconnect connects again.
        --raw opens the link without entering the REPL (see %writebytes, %readbytes).
        For a bridge that speaks RFC 2217 use %serialconnect --port rfc2217://HOST:PORT.

        Examples:
            %socketconnect 192.168.1.50 23
            %socketconnect esp-link.local 2323
        """
        description = connect_socket(self.connection, args.host, args.port, raw=args.raw)
        self.kernel.Print(f"Connected to {description}")


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(SocketConnectMagic)
