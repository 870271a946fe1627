"""Small facts the kernel keeps across restarts, as JSON files in the user's state folder
($XDG_STATE_HOME, else ~/.local/state). Losing them is harmless: a failure to read or
write one is ignored."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def state_file(name: str) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "metakernel_micropython" / name


def load_state(name: str) -> Any:
    """What was saved under `name`, or None."""
    try:
        return json.loads(state_file(name).read_text())
    except (OSError, ValueError):
        return None


def save_state(name: str, value: Any) -> None:
    try:
        path = state_file(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    except OSError:
        pass
