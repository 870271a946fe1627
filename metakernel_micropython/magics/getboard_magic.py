from __future__ import annotations

import re
from argparse import Namespace
from typing import Any

from metakernel import MetaKernel

from metakernel_micropython.magic_base import USER_FACING_ERRORS, BoardMagic, MagicError, argument, arguments

_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:=(?!=)\s*(.+?))?\s*$", re.DOTALL)
_SHOWN_LENGTH = 70


class GetBoardMagic(BoardMagic):
    @arguments(
        argument("assignment", metavar="NAME [= EXPR]", help="host name, and the board expression (default: NAME)"),
        verbatim_tail=True,
    )
    def line_getboard(self, args: Namespace) -> None:
        """
        %getboard NAME [= EXPR] - copy the value of a board expression into the host Python

        Evaluates EXPR on the board (by default the board variable NAME) and stores its
        value under NAME in the host Python of %python / %%python cells, for instance to
        plot readings taken on the board with matplotlib. The value travels as data: the
        board prints its repr and the host reads it as a literal (numbers, strings, bytes,
        lists, tuples, dicts, sets; an array becomes a list, a bytearray bytes), never as
        code. In %%python cells, board_value("EXPR") does the same inline.

        Examples:
            %getboard readings
            %getboard temps = [t / 10 for t in raw]

            %%python
            import matplotlib.pyplot as plt
            plt.plot(readings)
            plt.plot(board_value("[x * 2 for x in readings]"))
            plt.show()
        """
        matched = _ASSIGNMENT.match(args.assignment)
        if not matched:
            raise MagicError(f"expected NAME or NAME = EXPR, got: {args.assignment}")
        name, expression = matched.group(1), matched.group(2) or matched.group(1)
        value = board_value(self.kernel, expression)
        host_python_namespace(self.kernel)[name] = value
        self.kernel.Print(f"{name} = {_shown(value)}")


def board_value(kernel: MetaKernel, expression: str) -> Any:
    """The value of a board expression as host data. Any failure is a MagicError with the
    message alone: in a %%python cell its traceback then ends here, not deep in our layers."""
    try:
        board = kernel.connection.require_board()
        with kernel.interrupts_call(board.repl.request_interrupt):  # Interrupt stops a slow expression
            return board.eval(expression)
    except (ValueError, *USER_FACING_ERRORS) as error:  # ValueError: not an expression, not plain data
        raise MagicError(str(error)) from None


def host_python_namespace(kernel: MetaKernel) -> dict[str, Any]:
    """The variables of metakernel's %python / %%python cells."""
    python_magic = kernel.line_magics.get("python")
    if python_magic is None:
        raise MagicError("metakernel's %python magic is not loaded")
    return python_magic.env


def _shown(value: Any) -> str:
    text = repr(value)
    if len(text) > _SHOWN_LENGTH:
        text = text[:_SHOWN_LENGTH - 3] + "..."
    size = f", {len(value)} item{'' if len(value) == 1 else 's'}" if isinstance(value, (list, tuple, dict, set, bytes, str)) else ""
    return f"{text}  ({type(value).__name__}{size})"


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(GetBoardMagic)
    if "python" in kernel.line_magics:
        # In %%python cells: board_value("EXPR") fetches a board value inline.
        host_python_namespace(kernel)["board_value"] = lambda expression: board_value(kernel, expression)
