from argparse import Namespace
from pathlib import Path
from typing import Any

from metakernel import ExceptionWrapper, MetaKernel

from metakernel_micropython.magic_base import BoardMagic, argument, arguments
from metakernel_micropython.output_capture import CellOutputCapture


class CaptureMagic(BoardMagic):
    def __init__(self, kernel: MetaKernel) -> None:
        super().__init__(kernel)
        self._capture = None
        self._summary_only = False

    @arguments(
        argument("--quiet", "-q", action="store_true", help="show only how many lines were saved"),
        argument("--QUIET", "-Q", dest="silent", action="store_true", help="show nothing (errors still show)"),
        argument("file", metavar="FILE", help="file on the host (the notebook's computer)"),
    )
    def line_capture(self, args: Namespace) -> None:
        """
        %capture [-q] [-Q] FILE - run the cell on the board and also save its output to a host file

        Put %capture on the first line of a cell: the rest of the cell runs on the board as
        usual, and everything it prints (and its value or error) is also written to FILE on
        the computer running the notebook, replacing it. -q shows only how many lines were
        saved instead of the output; -Q shows nothing at all, except an error.

        Examples:
            %capture readings.txt
            for i in range(10):
                print(i, i * i)

            %capture -q /tmp/log.txt
            import os
            print(os.listdir())
        """
        self._summary_only = args.quiet and not args.silent
        self._capture = CellOutputCapture(self.kernel, Path(args.file).expanduser(), show=not (args.quiet or args.silent))

    def post_process(self, retval: Any) -> Any:
        retval = super().post_process(retval)
        if self._capture is None:
            return retval
        capture, self._capture = self._capture, None
        line_count = capture.finish(retval)
        if self._summary_only:
            self.kernel.Print(f"Saved {line_count} lines to {capture.path}")
        if not capture.show and not isinstance(retval, ExceptionWrapper):
            return None
        return retval


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(CaptureMagic)
