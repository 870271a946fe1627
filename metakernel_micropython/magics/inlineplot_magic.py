import os
from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, MagicError, argument, arguments

#: matplotlib's name for the backend in metakernel_micropython/host_plotting.py.
INLINE_BACKEND = "module://metakernel_micropython.host_plotting"


class InlinePlotMagic(BoardMagic):
    @arguments(argument("backend", nargs="?", default="inline", help="inline (default) or a matplotlib backend name"))
    def line_matplotlib(self, args: Namespace) -> None:
        """
        %matplotlib [inline|BACKEND] - how host cells (%%python) show matplotlib figures

        Figures drawn in %%python cells run on the host, not on the board. In this kernel
        plt.show() already puts them into the notebook as images ("inline", the default);
        %matplotlib BACKEND chooses another matplotlib backend, %matplotlib inline comes back.

        Examples:
            %matplotlib inline

            %%python
            import matplotlib.pyplot as plt
            plt.plot(board_value("readings"))
            plt.show()
        """
        try:
            import matplotlib

            matplotlib.use(INLINE_BACKEND if args.backend == "inline" else args.backend)
        except ImportError as error:
            raise MagicError(f"{error} (host plotting needs: pip install matplotlib)") from None
        except ValueError as error:  # matplotlib's message lists the valid backends
            raise MagicError(str(error).split("\n")[0]) from None
        self.kernel.Print(f"matplotlib backend: {matplotlib.get_backend()}")


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(InlinePlotMagic)
    # Unless the user chose a backend, plt.show() in %%python shows figures in the notebook.
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
