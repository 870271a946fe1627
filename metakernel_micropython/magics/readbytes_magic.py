import threading
from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, MagicError, argument, arguments
from metakernel_micropython.services.raw_bytes import as_text, hex_dump, read_bytes


class ReadBytesMagic(BoardMagic):
    @arguments(
        argument("--binary", "-b", action="store_true", help="show a hex dump beside the text"),
        argument("--timeout", "-t", type=float, default=1.0, metavar="S",
                 help="wait at most S seconds for bytes (default 1)"),
    )
    def line_readbytes(self, args: Namespace) -> None:
        """
        %readbytes [-b] [--timeout S] - show the bytes the board sent

        Shows what has arrived on the link: bytes already waiting, then what comes within
        S seconds (default 1), ending as soon as the board has been quiet for a moment after
        sending. Works on a link opened with %serialconnect --raw (a board's boot output,
        a bootloader's answer) and on a connected board. Control bytes are shown as escapes;
        -b shows a hex dump with offsets and ASCII instead.

        Examples:
            %readbytes
            %readbytes -b
            %readbytes --timeout 5
        """
        if not 0 < args.timeout <= 3600:
            raise MagicError("--timeout must be more than 0 and at most 3600 seconds")
        interrupted = threading.Event()
        with self.kernel.interrupts_call(interrupted.set):
            data = read_bytes(self.connection, args.timeout, interrupted)
        stopped = " (interrupted)" if interrupted.is_set() else ""
        if not data:
            self.kernel.Print(f"No bytes arrived within {args.timeout:g} s{stopped}.")
            return
        self.kernel.Print(f"{len(data)} bytes{stopped}:")
        self.kernel.Print(hex_dump(data) if args.binary else as_text(data))


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(ReadBytesMagic)
