from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.file_magic_support import board_files
from metakernel_micropython.magic_base import BoardMagic, argument, arguments


class BoardMakeDirectoryMagic(BoardMagic):
    @arguments(argument("path", help="board directory to create"))
    def line_mkdir(self, args: Namespace) -> None:
        """
        %mkdir PATH - create a directory on the board (and its missing parents)

        Nothing happens when it is there already.

        Examples:
            %mkdir lib
            %mkdir /data/logs
        """
        with board_files(self) as (files, _control):
            created = files.make_directories(args.path)
        self.kernel.Print(f"Created {', '.join(created)}." if created else f"{args.path} is there already.")


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(BoardMakeDirectoryMagic)
