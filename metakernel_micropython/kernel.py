"""The Jupyter kernel: cells run on the connected MicroPython board."""
from __future__ import annotations

import contextlib
import difflib
import glob
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from metakernel import ExceptionWrapper, Magic, MetaKernel

from . import __version__
from .cell_code import completeness, with_value_display, without_comments
from .completion import complete, describe
from .host_streams import skip_idle_flushes
from .output_stream import OutputSplitter, mark_board_lines
from .output_throttle import OutputThrottle
from .protocol import BoardRebooted, ProtocolError
from .protocol.board_errors import BoardError
from .services.board import Board
from .services.connect import connect_serial
from .services.connection import ConnectionManager, NotConnected
from .transport import LinkClosed, TransportError

MAGICS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "magics")
#: A magic name with dashes inside, like mpy-cross (a method `line_mpy-cross` set with setattr).
DASHED_MAGIC_NAME = r"[^\d\W][\w.]*(?:-[^\d\W][\w.]*)+"


class MicroPythonKernel(MetaKernel):
    implementation = "metakernel_micropython"
    implementation_version = __version__
    language = "python"
    language_version = "3.4"
    banner = ("MicroPython kernel: cells run on a MicroPython board. "
              "Connect with %serialconnect (or %virtualboard, no hardware needed); %lsmagic lists the magics.")
    language_info = {
        "name": "python",
        "version": "3.4",
        "mimetype": "text/x-python",
        "file_extension": ".py",
        "codemirror_mode": {"name": "python", "version": 3},
        "pygments_lexer": "python3",
        "help_links": MetaKernel.help_links,
    }
    kernel_json = {
        "argv": [sys.executable, "-m", "metakernel_micropython", "-f", "{connection_file}"],
        "display_name": "MicroPython",
        "language": "python",
        "name": "micropython",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.connection = ConnectionManager()
        super().__init__(*args, **kwargs)
        # The app's logger passes everything down to DEBUG and lets its handlers drop it: every
        # log.debug in metakernel's cell path then builds a record for nothing. Same output.
        handler_levels = [handler.level for handler in self.log.handlers]
        if handler_levels:
            self.log.setLevel(min(handler_levels))
        # ipykernel sleeps 0.5 ms (0.7 in practice) before every execute_reply, against stdout
        # written by print() arriving after the reply. Our output goes out through the iopub
        # thread ahead of the flush that precedes the reply, so the sleep only adds latency.
        self._execute_sleep = 0.0
        skip_idle_flushes(sys.stdout)
        skip_idle_flushes(sys.stderr)
        # metakernel's parser ends a magic's name at a dash; ours may have one (%mpy-cross).
        self.parser.magic_regex = DASHED_MAGIC_NAME + "|" + self.parser.magic_regex

    def set_parent(self, ident: Any, parent: dict[str, Any], channel: str = "shell") -> None:
        """As IPython's kernel does: what host code writes to sys.stderr (a warning, a %%python
        cell) belongs to the cell that runs, instead of reaching no notebook at all."""
        super().set_parent(ident, parent, channel)
        if channel == "shell":
            for stream in (sys.stdout, sys.stderr):
                if hasattr(stream, "set_parent"):
                    stream.set_parent(parent)

    # -- magics ----------------------------------------------------------------------
    def reload_magics(self) -> None:
        """metakernel registers its own magics after a kernel's: register ours again on top,
        so that our %ls (board files) wins over metakernel's %ls (host files)."""
        super().reload_magics()
        for path in sorted(glob.glob(os.path.join(MAGICS_DIR, "*_magic.py"))):
            module = importlib.import_module(os.path.splitext(os.path.basename(path))[0])
            module.register_magics(self)

    def get_magic(self, text: str) -> Magic:
        info = self.parse_code(text)
        magic_info = info["magic"]
        if magic_info and magic_info["name"] and not self._magic_exists(magic_info):
            return self._unknown_magic(magic_info)
        return super().get_magic(text)

    def _magic_exists(self, magic_info: dict[str, Any]) -> bool:
        table = self.line_magics if magic_info["type"] == "line" else self.cell_magics
        return magic_info["name"] in table

    def _unknown_magic(self, magic_info: dict[str, Any]) -> Magic:
        prefix = "%" if magic_info["type"] == "line" else "%%"
        table = self.line_magics if magic_info["type"] == "line" else self.cell_magics
        nearest = difflib.get_close_matches(magic_info["name"], list(table), n=1, cutoff=0.5)
        message = f"Unknown magic {prefix}{magic_info['name']}."
        message += f" Did you mean {prefix}{nearest[0]}?" if nearest else " %lsmagic lists them all."
        return _FailedMagic(self, ExceptionWrapper("UnknownMagic", message, [message]))

    async def do_execute(self, code: str, *args: Any, **kwargs: Any) -> Any:
        self._parsing_whole_cell = True
        return await super().do_execute(code, *args, **kwargs)

    def parse_code(self, code: str, cursor_start: int = 0, cursor_end: int = -1) -> dict[str, Any]:
        """A plain cell (no magic, no help) skips metakernel's parser, which lists the
        current folder for path completions on every cell: a third of a cell's round trip.
        Only do_execute's own first look at the cell; help and completion need the full parse."""
        whole_cell, self._parsing_whole_cell = getattr(self, "_parsing_whole_cell", False), False
        if whole_cell and not self._may_hold_magic(code):
            return {"code": code, "magic": {}}
        return super().parse_code(code, cursor_start, cursor_end)

    def _may_hold_magic(self, code: str) -> bool:
        prefixes = tuple(self.magic_prefixes.values())
        return code.lstrip().startswith(prefixes) or code.rstrip().endswith(self.help_suffix or "?")

    async def do_is_complete(self, code: str) -> dict[str, str]:
        if self._may_hold_magic(code):
            return await super().do_is_complete(code)
        status = completeness(code)
        return {"status": status, "indent": "    "} if status == "incomplete" else {"status": status}

    # -- running cells ---------------------------------------------------------------
    def do_execute_direct(self, code: str, silent: bool = False) -> Any:
        if not code.strip():
            return None
        try:
            board = self._board_for_cell()
        except (NotConnected, TransportError, ProtocolError) as error:
            return _error(type(error).__name__, str(error))
        throttle = OutputThrottle(self.Write)
        splitter = OutputSplitter(throttle.write, on_finish=throttle.finish)
        try:
            self._show_unsolicited_output(board)
            with self._interrupts_go_to(board):
                result = board.run(with_value_display(without_comments(code)), splitter.feed)
        except BoardRebooted as reboot:
            return self._after_reboot(board, splitter, reboot)
        except LinkClosed as gone:
            splitter.finish()
            return _error("LinkClosed", self.connection.link_lost(str(gone)))
        except ProtocolError as failure:  # e.g. a board that stopped answering mid-protocol
            splitter.finish()
            return _error(type(failure).__name__, str(failure))
        value = splitter.finish()
        if result.stderr:
            return self._board_exception(result.stderr)
        # A ready MIME bundle: metakernel sends it as Out[n] without running IPython's formatters.
        return {"text/plain": value} if value not in (None, "None") else None

    def _board_for_cell(self) -> Board:
        if self.connection.board is None and self.connection.raw_link is None:
            port = self.connection.single_likely_port()
            if port is not None:
                description = connect_serial(self.connection, port)
                self.Print(f"Connected to the only board found: {description}")
        return self.connection.require_board()

    def _show_unsolicited_output(self, board: Board) -> None:
        """Lines the board printed between cells (a reset banner, ESP-IDF logs): marked, apart."""
        printed, rebooted = board.repl.printed_between_runs()
        if rebooted:
            self.Error("The board rebooted since the last cell (its variables are gone):\n"
                       + mark_board_lines(printed))
        elif printed.strip():
            self.Error(f"The board printed between cells:\n{mark_board_lines(printed)}")

    def _board_exception(self, stderr: bytes) -> ExceptionWrapper:
        error = BoardError(stderr.decode(errors="replace"))
        return ExceptionWrapper(error.ename, error.evalue, error.traceback_text.split("\n"))

    def _after_reboot(self, board: Board, splitter: OutputSplitter, reboot: BoardRebooted) -> ExceptionWrapper:
        splitter.finish()
        printed = mark_board_lines(reboot.printed.rstrip().removesuffix(b">>>"))
        try:
            board.start()
            state = "The connection is ready for the next cell."
        except (ProtocolError, TransportError) as error:
            state = f"Could not get the board back: {error}"
        message = f"The board rebooted while the cell was running. {state}"
        return ExceptionWrapper("BoardRebooted", message, [message, "The board printed:", *printed.split("\n")])

    @contextlib.contextmanager
    def _interrupts_go_to(self, board: Board) -> Iterator[None]:
        """While a cell runs, Kernel -> Interrupt (SIGINT) becomes a Ctrl-C to the board
        instead of a KeyboardInterrupt in the middle of our own protocol code."""
        with self.interrupts_call(board.repl.request_interrupt):
            yield

    @contextlib.contextmanager
    def interrupts_call(self, on_interrupt: Callable[[], None]) -> Iterator[None]:
        """Meanwhile Kernel -> Interrupt calls `on_interrupt` (which must only set a flag)
        instead of raising KeyboardInterrupt; magics that work long use it to stop cleanly."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, lambda *_: on_interrupt())
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def do_shutdown(self, restart: bool) -> dict[str, Any]:
        # Leave the board as found (friendly REPL, not reset) and end any virtual board process.
        self.connection.disconnect()
        return super().do_shutdown(restart)

    def get_usage(self) -> str:
        return ("Cells run on the MicroPython board. %serialconnect or %virtualboard to connect, "
                "%lsmagic for the magics, %help %name for one of them.")

    # -- completion and inspection, answered by the board (see completion.py) ------------
    def get_completions(self, info: dict[str, Any]) -> list[str]:
        return complete(self.connection.board, info["obj"])

    def get_kernel_help_on(self, info: dict[str, Any], level: int = 0, none_on_fail: bool = False) -> str | None:
        found = describe(self.connection.board, info["help_obj"], detailed=level > 0)
        if found or none_on_fail:
            return found
        if self.connection.board is None:
            return f"No help on {info['help_obj']!r}: no board is connected."
        return f"No help on {info['help_obj']!r}: the board has no such name."


class _FailedMagic(Magic):
    """Stands in for a magic that could not run: ends the cell with an error."""

    def __init__(self, kernel: MetaKernel, failure: ExceptionWrapper) -> None:
        super().__init__(kernel)
        self.evaluate = False
        self._failure = failure

    def post_process(self, retval: Any) -> Any:
        return self._failure


def _error(ename: str, message: str) -> ExceptionWrapper:
    return ExceptionWrapper(ename, message, message.split("\n"))
