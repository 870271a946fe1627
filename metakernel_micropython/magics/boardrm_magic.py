from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.file_magic_support import board_files
from metakernel_micropython.magic_base import BoardMagic, argument, arguments


class BoardRemoveMagic(BoardMagic):
    @arguments(
        argument("path", help="board file or directory"),
        argument("-r", "--recursive", action="store_true", help="remove a directory with all it holds"),
    )
    def line_rm(self, args: Namespace) -> None:
        """
        %rm [-r] PATH - remove a file (or, with -r, a directory and what it holds) from the board

        An empty directory goes without -r.

        Examples:
            %rm old_main.py
            %rm -r lib
        """
        with board_files(self) as (files, _control):
            files.remove(args.path, recursive=args.recursive)
        self.kernel.Print(f"Removed {args.path}.")


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(BoardRemoveMagic)
