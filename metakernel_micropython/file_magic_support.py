"""What the file magics share: the board's file service, with progress, interrupts and a lost link handled."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .progress_display import TransferProgress
from .services.file_transfer import TransferControl
from .services.filesystem import BoardFileSystem, file_system
from .transport import LinkClosed


@contextlib.contextmanager
def board_files(magic: Any, progress_label: str | None = None) -> Iterator[tuple[BoardFileSystem, TransferControl]]:
    """The connected board's file service and a control that Kernel -> Interrupt stops.

    With a label, a long transfer shows its progress. A lost link ends the connection, as
    a lost link in a cell does.
    """
    kernel = magic.kernel
    files = file_system(magic.connection.require_board())
    progress = TransferProgress(kernel, progress_label) if progress_label else None
    control = TransferControl(on_progress=progress.update if progress else None)
    try:
        with kernel.interrupts_call(control.request_stop):
            yield files, control
    except LinkClosed as gone:
        magic.connection.disconnect()
        raise LinkClosed(f"{gone} Reconnect; an unfinished temporary file is removed then.") from None
    finally:
        if progress is not None:
            progress.finish()
