from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.file_magic_support import board_files
from metakernel_micropython.magic_base import BoardMagic, argument, arguments
from metakernel_micropython.progress_display import human_size


class BoardListMagic(BoardMagic):
    @arguments(
        argument("path", nargs="?", default=".", help="board directory or file (default: the current one)"),
        argument("-r", "--recursive", action="store_true", help="also list what is in subdirectories"),
        argument("-l", "--long", action="store_true", help="show sizes"),
    )
    def line_ls(self, args: Namespace) -> None:
        """
        %ls [-r] [-l] [PATH] - list the files on the board

        Lists the board directory PATH (default: the board's current directory), sorted,
        directories marked with '/'. -l adds sizes in bytes and a total, -r walks subdirectories.
        (This kernel's %ls lists the board: for the files on this computer use %%shell ls.)

        Examples:
            %ls
            %ls -l lib
            %ls -rl /
        """
        with board_files(self) as (files, _control):
            entries = files.list_entries(args.path, recursive=args.recursive)
        if not entries:
            self.kernel.Print(f"{args.path}: empty")
            return
        lines = [(f"{'' if entry.is_directory else entry.size:>9}  " if args.long else "")
                 + entry.path + ("/" if entry.is_directory else "") for entry in entries]
        if args.long:
            sizes = [entry.size for entry in entries if not entry.is_directory]
            lines.append(f"{len(sizes)} files, {human_size(sum(sizes))}")
        self.kernel.Print("\n".join(lines))


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(BoardListMagic)
