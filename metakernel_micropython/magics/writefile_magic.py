from argparse import Namespace
from pathlib import Path

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, MagicError, argument, arguments


class WriteFileMagic(BoardMagic):
    @arguments(
        argument("--append", "-a", action="store_true", help="append to the file instead of replacing it"),
        argument("--execute", "-x", action="store_true", help="then run the cell on the board"),
        argument("file", metavar="FILE", help="file on the host (the notebook's computer)"),
    )
    def cell_writefile(self, args: Namespace) -> None:
        """
        %%writefile [-a] [-x] FILE - write the cell to a file on the host

        Saves the rest of the cell to FILE on the computer running the notebook (not on the
        board: %sendtofile does that), replacing it, or appending with -a. The folder must
        exist. With -x the cell then also runs on the board, as a normal cell would.
        metakernel's %%file does the same without -x.

        Examples:
            %%writefile blink.py
            from machine import Pin
            Pin(2, Pin.OUT).on()

            %%writefile -x -a log_of_experiments.py
            print("run 3")
        """
        path = Path(args.file).expanduser()
        if path.is_dir():
            raise MagicError(f"{args.file} is a folder; give a file name")
        if not path.parent.is_dir():
            raise MagicError(f"no folder {path.parent} on the host")
        existed = path.exists()
        text = self.code if self.code.endswith("\n") or not self.code else self.code + "\n"
        with path.open("a" if args.append else "w", encoding="utf-8") as file:
            file.write(text)
        verb = "Appended to" if args.append and existed else "Replaced" if existed else "Wrote"
        self.kernel.Print(f"{verb} {path} ({len(text.encode())} bytes)")
        self.evaluate = args.execute


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(WriteFileMagic)
