from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, arguments


class DisconnectMagic(BoardMagic):
    @arguments()
    def line_disconnect(self, args: Namespace) -> None:
        """
        %disconnect - release the board's port

        Leaves the board in its friendly REPL (it keeps running, it is not reset) and
        closes the port, so that another program (a terminal, esptool, Thonny) can use it.

        Example:
            %disconnect
        """
        described = self.connection.disconnect()
        self.kernel.Print(f"Disconnected from {described}." if described else "No board was connected.")


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(DisconnectMagic)
