from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, argument, arguments


class CommentMagic(BoardMagic):
    @arguments(argument("note", nargs="*", help="words of the note"))
    def line_comment(self, args: Namespace) -> None:
        """
        %comment [NOTE] - the cell is a note: nothing in it is sent to the board

        Put %comment on the first line of a cell to keep code or text in the notebook
        without running it (an alternative kept for later, a pin-out, a reminder). The cell
        shows no output. %%comment does the same.

        Examples:
            %comment old version, kept for reference
            import machine
            machine.reset()
        """
        self.evaluate = False

    @arguments(argument("note", nargs="*", help="words of the note"))
    def cell_comment(self, args: Namespace) -> None:
        """
        %%comment [NOTE] - the cell is a note: nothing in it is sent to the board

        The same as %comment.

        Examples:
            %%comment
            Wiring: the LED is on GPIO 2, the button on GPIO 0.
        """
        self.evaluate = False


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(CommentMagic)
