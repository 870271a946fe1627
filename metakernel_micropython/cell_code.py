"""Rewriting a cell so that the board reports the value of its last bare expression.

The expression is assigned to `_` in place and its repr printed behind a marker, so line
numbers in a board traceback still match the cell. The marker is taken out of the output
by `OutputSplitter` before the user sees it.
"""
from __future__ import annotations

import ast
import codeop
import io
import tokenize

VALUE_MARKER = "@@MPK-VALUE:"
VALUE_END = ":MPK-VALUE@@"


def with_value_display(source: str) -> str:
    """`source`, changed so that a last bare expression prints its repr behind VALUE_MARKER.

    The print is unconditional (the host drops a repr of None): on the micro:bit's 1.9.2 under
    QEMU, `if _ is not None: print(...)` as the last line hung about one run in twelve.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source  # the board reports the error in its own words
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return source
    last = tree.body[-1]
    if last.end_lineno is None or last.end_col_offset is None:
        return source
    lines = source.encode().split(b"\n")
    first, end = last.lineno - 1, last.end_lineno - 1
    # ast offsets count UTF-8 bytes, hence the work on encoded lines.
    lines[end] = (lines[end][: last.end_col_offset] + b")\nprint("
                  + repr(VALUE_MARKER).encode() + b" + repr(_) + " + repr(VALUE_END).encode() + b")"
                  + _remainder(lines[end][last.end_col_offset:]))
    lines[first] = lines[first][: last.col_offset] + b"_ = (" + lines[first][last.col_offset:]
    return b"\n".join(lines).decode()


def _remainder(rest: bytes) -> bytes:
    """What followed the expression on its line: only a comment or `;` can."""
    stripped = rest.strip()
    return b"" if not stripped or stripped.startswith(b"#") or stripped == b";" else b"\n" + stripped


def without_comments(source: str) -> str:
    """`source` with its comments removed and every line kept, so line numbers still match.

    Plain raw mode makes the board hold the whole cell in RAM before compiling it: on a
    micro:bit (8 KB free) a well-commented cell would not fit. Fewer bytes are also faster
    over a 115200-baud link.
    """
    if "#" not in source:
        return source  # the common case, without the cost of the tokenizer
    lines = source.split("\n")
    try:
        comments = [token.start for token in tokenize.generate_tokens(io.StringIO(source).readline)
                    if token.type == tokenize.COMMENT]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source  # let the board report the problem in its own words
    for row, column in comments:
        lines[row - 1] = lines[row - 1][:column].rstrip()
    return "\n".join(lines)


def completeness(source: str) -> str:
    """'complete', 'incomplete' or 'invalid', as a console decides whether Enter runs the cell.

    MicroPython's grammar is Python's, so the host's compiler answers for the board.
    """
    try:
        compiled = codeop.compile_command(source, "<cell>", "exec")
    except (SyntaxError, ValueError, OverflowError):
        return "invalid"
    return "incomplete" if compiled is None else "complete"
