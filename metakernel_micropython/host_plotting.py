"""A matplotlib backend for host cells (%%python): plt.show() puts the figures into the notebook.

metakernel's `%matplotlib inline` selects matplotlib's Agg backend, whose show() displays
nothing in a kernel that is not IPython. This backend draws with Agg as well and sends each
open figure as a PNG through the running kernel. The kernel makes it matplotlib's default
(MPLBACKEND) unless the user chose another backend.
"""
from __future__ import annotations

import base64
import io
from typing import Any

from matplotlib._pylab_helpers import Gcf
from matplotlib.backends.backend_agg import FigureCanvasAgg
from metakernel import get_metakernel

FigureCanvas = FigureCanvasAgg


def figure_bundle(figure: Any) -> dict[str, str]:
    """The figure as a notebook display: a PNG, with a text line for plain-text front ends."""
    png = io.BytesIO()
    figure.savefig(png, format="png", bbox_inches="tight")
    return {"image/png": base64.b64encode(png.getvalue()).decode("ascii"), "text/plain": repr(figure)}


def show(*args: Any, **kwargs: Any) -> None:
    """Display every open figure in the cell's output, then close them."""
    kernel = get_metakernel()
    for manager in Gcf.get_all_fig_managers():
        if kernel is not None:
            kernel.DisplayData(figure_bundle(manager.canvas.figure))
    Gcf.destroy_all()
