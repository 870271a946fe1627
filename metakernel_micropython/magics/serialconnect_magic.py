from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, MagicError, argument, arguments
from metakernel_micropython.services.connect import DEFAULT_BAUD, connect_serial
from metakernel_micropython.services.connection import how_to_connect, remembered_serial_port
from metakernel_micropython.services.ports import likely_boards, list_serial_ports


class SerialConnectMagic(BoardMagic):
    @arguments(
        argument("--port", "-p", help="serial device, COM port or pyserial URL"),
        argument("--baud", "-b", type=int, default=None, help="baud rate (default 115200)"),
        argument("--raw", action="store_true", help="open the link without entering the REPL"),
        argument("--verbose", "-v", action="store_true", help="also show what the board printed"),
    )
    def line_serialconnect(self, args: Namespace) -> None:
        """
        %serialconnect [--port PORT] [--baud BAUD] [--raw] [--verbose] - connect to a board over serial

        Opens the serial port (without resetting an ESP board: DTR and RTS are held),
        stops whatever the board runs and enters its raw REPL, then prints the firmware
        banner. Without --port it uses the only port that looks like a MicroPython board
        (known USB ids of Espressif, CP210x, CH340, FTDI, RP2040, micro:bit, ...), else the
        port used last time; if that is not clear it lists the ports found.
        --port also takes pyserial URLs, for a board on a serial server:
        rfc2217://host:port or socket://host:port.
        --raw opens the link without entering the REPL (see %writebytes, %readbytes).

        Examples:
            %serialconnect
            %serialconnect --port=/dev/ttyUSB0 --baud=115200
            %serialconnect --port COM5
            %serialconnect --port rfc2217://lab-pi.local:4000
        """
        port, baud = args.port, args.baud
        if port is None:
            port, baud = self._choose_port(baud)
        description = connect_serial(self.connection, port, baud or DEFAULT_BAUD, raw=args.raw)
        self.kernel.Print(f"Connected to {description}")
        if args.verbose:
            for port_info in list_serial_ports():
                self.kernel.Print(f"  {port_info.summary()}")

    @staticmethod
    def _choose_port(baud):
        boards = likely_boards()
        if len(boards) == 1:
            return boards[0].device, baud
        remembered = remembered_serial_port()
        if remembered and (not boards or remembered[0] in {board.device for board in boards}):
            return remembered[0], baud or remembered[1]
        raise MagicError(how_to_connect().replace("No board is connected.", "Which port? Give --port.", 1))


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(SerialConnectMagic)
