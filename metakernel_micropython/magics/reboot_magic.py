from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, arguments


class RebootMagic(BoardMagic):
    @arguments()
    def line_reboot(self, args: Namespace) -> None:
        """
        %reboot - soft reboot the board

        Clears the board's memory and modules (like Ctrl-D at its REPL), runs boot.py and
        main.py as the board does at power-up, prints the board's banner and leaves the
        connection ready for the next cell. %rebootdevice is the same (the old name).

        Example:
            %reboot
        """
        board = self.connection.require_board()
        self.kernel.Print(f"Rebooted: {board.soft_reboot()}")

    line_rebootdevice = line_reboot


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(RebootMagic)
