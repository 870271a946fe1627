"""Interactive panels (ipywidgets) built on the services; each also has a text form.

A widget is shown as a MIME bundle that carries both the widget view and a text/plain
rendering of the same content, so that a frontend without widget support (nbconvert, a
console, a plain text view) still shows something useful.
"""
from __future__ import annotations

import importlib.util
from typing import Any

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def widgets_unavailable() -> str | None:
    """Why widgets cannot be built here, or None when ipywidgets is installed."""
    if importlib.util.find_spec("ipywidgets") is None:
        return "ipywidgets is not installed (pip install ipywidgets)"
    return None


def widget_bundle(widget: Any, text: str) -> dict[str, Any]:
    """A display bundle: the live widget, with `text` for frontends that cannot show it."""
    return {
        "text/plain": text,
        WIDGET_MIME: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id},
    }
