from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, MagicError, argument, arguments
from metakernel_micropython.services.raw_bytes import hex_dump, parse_bytes, write_bytes


class WriteBytesMagic(BoardMagic):
    @arguments(
        argument("--binary", "-b", action="store_true", help="BYTES are hex digits, e.g. 03 0d 01"),
        argument("--verbose", "-v", action="store_true", help="also show the bytes as sent"),
        argument("data", metavar="BYTES", help="a Python bytes or str literal, or text with escapes"),
        verbatim_tail=True,
    )
    def line_writebytes(self, args: Namespace) -> None:
        """
        %writebytes [-b] [-v] BYTES - write bytes to the board's link, as they are

        Sends BYTES without any protocol: to a link opened with %serialconnect --raw, or to a
        connected board (the next cell then enters the raw REPL again first). BYTES is the
        rest of the line exactly as typed: a Python bytes literal (b'\\x03'), a str literal
        ("print(1)\\r", sent as UTF-8) or bare text in which Python escapes (\\r, \\n, \\x03)
        count. With -b, BYTES are hex digits. -v shows the bytes as sent. See what the board
        answered with %readbytes.

        Examples:
            %writebytes b'\\x03\\x03'
            %writebytes print(6*7)\\r
            %writebytes -b 03 0d
            %writebytes -v "import os\\r"
        """
        try:
            data = parse_bytes(args.data, hex_digits=args.binary)
        except ValueError as error:
            raise MagicError(str(error)) from None
        if not data:
            raise MagicError("nothing to send")
        link = write_bytes(self.connection, data)
        self.kernel.Print(f"Wrote {len(data)} bytes to {link.description}")
        if args.verbose:
            self.kernel.Print(hex_dump(data) if args.binary else repr(data))


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(WriteBytesMagic)
