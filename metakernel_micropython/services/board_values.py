"""Values of board expressions, carried to the host as data.

The board prints the repr of the value; the host parses that text as a literal (numbers,
strings, bytes, lists, tuples, dicts, sets, True/False/None) and never runs it. MicroPython
types whose repr is not a literal are turned into one on the board first: an `array` into a
list, a `bytearray` or `memoryview` into bytes. `inf` and `nan` (a float's repr on the board)
become floats.
"""
from __future__ import annotations

import ast
import math
from typing import Any

#: Names a board's repr may contain that are data, not code.
_FLOAT_NAMES = {"inf": math.inf, "nan": math.nan}


class NotPlainData(ValueError):
    """The board value has no literal form (an object, a function, a pin...)."""


def value_code(expression: str) -> str:
    """Board code that prints the repr of `expression`, arrays and byte buffers made literal.

    Lists, tuples and arrays are printed item by item: a board with little RAM (the micro:bit)
    cannot build the repr of a long list as one string.
    """
    try:
        ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise ValueError(f"not an expression: {expression.strip()}") from None
    return (
        "def _mpk_show(v):\n"
        # str(type(...)), as old firmware (1.9) has no type.__name__.
        " t = str(type(v))\n"
        " if t in (\"<class 'list'>\", \"<class 'tuple'>\", \"<class 'array'>\"):\n"
        "  end = ')' if t == \"<class 'tuple'>\" else ']'\n"
        "  print('(' if end == ')' else '[', end='')\n"
        "  for item in v:\n"
        "   print(repr(item), end=',')\n"
        "  print(end)\n"
        " else:\n"
        "  print(repr(bytes(v) if t in (\"<class 'bytearray'>\", \"<class 'memoryview'>\") else v))\n"
        f"_mpk_show(({expression.strip()}))\n"
        "del _mpk_show\n"
    )


def parse_value(printed: str) -> Any:
    """The host value of the repr the board printed last (lines before it are the expression's own output)."""
    text = printed.strip().rsplit("\n", 1)[-1].strip()
    try:
        tree = ast.parse(text, mode="eval")
        return ast.literal_eval(_FloatNames().visit(tree))
    except (SyntaxError, ValueError, TypeError):
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise NotPlainData(f"the board value {shown} is not plain data: convert it on the board "
                           "to numbers, strings, bytes, lists, tuples or dicts") from None


class _FloatNames(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _FLOAT_NAMES:
            return ast.copy_location(ast.Constant(_FLOAT_NAMES[node.id]), node)
        return node
