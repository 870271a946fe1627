from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.file_magic_support import board_files
from metakernel_micropython.magic_base import BoardMagic, argument, arguments
from metakernel_micropython.progress_display import human_size


class BoardDiskFreeMagic(BoardMagic):
    @arguments(argument("path", nargs="?", default=".", help="a board path on the file system to measure"))
    def line_df(self, args: Namespace) -> None:
        """
        %df [PATH] - free and total space of the board's file system

        Where the firmware cannot tell (no os.statvfs, e.g. the micro:bit) it says how much
        the files take instead.

        Examples:
            %df
            %df /sd
        """
        with board_files(self) as (files, _control):
            space = files.space(args.path)
            if space is None:
                used = sum(entry.size for entry in files.list_entries(".", recursive=True) if not entry.is_directory)
        if space is None:
            self.kernel.Print(f"This board's firmware cannot tell its free space (no os.statvfs); "
                              f"the files take {human_size(used)}.")
            return
        total, free = space
        self.kernel.Print(f"{human_size(free)} free of {human_size(total)} ({100 * free // max(total, 1)}% free).")


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(BoardDiskFreeMagic)
