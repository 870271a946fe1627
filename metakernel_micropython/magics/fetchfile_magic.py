import os
from argparse import Namespace
from pathlib import Path

from metakernel import MetaKernel

from metakernel_micropython.file_magic_support import board_files
from metakernel_micropython.magic_base import BoardMagic, MagicError, argument, arguments
from metakernel_micropython.progress_display import human_size
from metakernel_micropython.services.file_transfer import fetch_bytes
from metakernel_micropython.services.host_files import fetch_destination, write_host_file


class FetchFileMagic(BoardMagic):
    @arguments(
        argument("source", help="board file"),
        argument("destination", nargs="?", default=None, help="host path"),
        argument("-b", "--binary", action="store_true", help="a binary file: --print shows a hex dump"),
        argument("-p", "--print", dest="show", action="store_true", help="show the file below the cell"),
        argument("-l", "--load", action="store_true", help="put the file's text into the next cell"),
        argument("-q", "--quiet", action="store_true", help="no summary line"),
    )
    def line_fetchfile(self, args: Namespace) -> None:
        """
        %fetchfile [-b] [-p|--print] [-l|--load] [-q] SRC [DEST] - copy a board file to this computer

        Copies the board file SRC into the notebook's folder, under the same relative path
        (a board path never leads outside that folder: no absolute path, no '..'), or to DEST.
        The copy is verified with SHA-256 where the board has hashlib. --print shows the file
        instead (a hex dump with -b), --load puts its text into the next cell; with either of
        them a host file is written only when DEST is given.

        Examples:
            %fetchfile main.py
            %fetchfile lib/sensors.py backup/sensors.py
            %fetchfile --print boot.py
            %fetchfile --load main.py
            %fetchfile -b data.bin
        """
        with board_files(self, None if args.quiet else "Fetching") as (files, control):
            data = fetch_bytes(files, args.source, control)
        if args.show:
            self.kernel.Print(_hex_dump(data) if args.binary else _as_text(data, args.source))
        if args.load:
            self.kernel.payload.append({"source": "set_next_input", "text": _as_text(data, args.source),
                                        "replace": False})
        if args.destination is None and (args.show or args.load):
            return
        target = fetch_destination(args.source, args.destination, Path(os.getcwd()))
        write_host_file(target, data)
        if not args.quiet:
            self.kernel.Print(f"Fetched {args.source} ({human_size(len(data))}) into {target}.")


def _as_text(data, source):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MagicError(f"{source} is not UTF-8 text: use -b (binary) with --print, or fetch it to a file") from None


def _hex_dump(data):
    return "\n".join(f"{offset:08x}  {data[offset:offset + 16].hex(' ')}" for offset in range(0, len(data), 16))


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(FetchFileMagic)
