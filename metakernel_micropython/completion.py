"""Completion and inspection from the board itself: names come from the board's own dir().

A name is looked up on the board in the user's globals, then among the built-ins, then as a
built-in module (imported without binding it, so `machine.` completes before `import
machine`). Only built-in modules are imported that way: importing a file of the user's
(`main.`) would run their program. Work happens only between runs: while a cell runs the
answer is empty, and the board is never left mid-run.
"""
from __future__ import annotations

import ast
import keyword
import re
from typing import Any

from .protocol import ProtocolError
from .protocol.board_errors import BoardError
from .services.board import Board
from .transport import TransportError

#: Built-in modules of MicroPython ports, safe to import just to look inside.
BUILTIN_MODULES = frozenset("""
    array asyncio binascii bluetooth btree builtins cmath collections cryptolib deflate dht
    errno esp esp32 framebuf gc hashlib heapq io json machine math micropython microbit music
    neopixel network onewire os platform pyb random re rp2 select socket speech ssl struct sys
    time uasyncio ubinascii ucollections uctypes uerrno uhashlib uheapq uio ujson uos urandom
    ure uselect usocket ussl ustruct usys utime uzlib webrepl radio
""".split())

DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\Z")

#: Resolves a dotted name on the board and prints repr(what(obj)), or None when it cannot.
#: Everything is inside one function that deletes itself: the user's globals stay as they were.
_BOARD_LOOKUP = """\
def _mpk_look(path, may_import, prefix):
 names = path.split('.')
 g = globals()
 if names[0] in g:
  obj = g[names[0]]
 else:
  import builtins
  if hasattr(builtins, names[0]):
   obj = getattr(builtins, names[0])
  elif may_import:
   obj = __import__(names[0])
  else:
   return None
 for name in names[1:]:
  obj = getattr(obj, name)
 return {what}
try:
 print(repr(_mpk_look({path!r}, {may_import!r}, {prefix!r})))
except Exception:
 print('None')
del _mpk_look
"""

#: Only the names that match are printed: a 16 KB board cannot hold the repr of them all.
_NAMES = "[name for name in dir(obj) if name.startswith(prefix)]"
_TOP_LEVEL_NAMES = "[name for name in list(globals()) + dir(obj) if name.startswith(prefix)]"
_DESCRIPTION = "(repr(type(obj)), repr(obj)[:600], getattr(obj, '__doc__', None), {detail} and dir(obj))"


def complete(board: Board | None, text: str) -> list[str]:
    """Completions of the dotted name `text` ("machine.Pi" -> ["machine.Pin", ...])."""
    if not DOTTED_NAME.match(text.rstrip(".")):
        return []
    owner, _, prefix = text.rpartition(".")
    if owner:
        names = _ask_board(board, owner, _NAMES, prefix)
    else:
        board_names = _ask_board(board, "builtins", _TOP_LEVEL_NAMES, prefix)
        names = (board_names or []) + keyword.kwlist
    if not isinstance(names, list):
        return []
    hidden = not prefix.startswith("_")  # _private names only when asked for
    chosen = {name for name in names
              if isinstance(name, str) and name.startswith(prefix) and not (hidden and name.startswith("_"))}
    return sorted(f"{owner}.{name}" if owner else name for name in chosen)


def describe(board: Board | None, expression: str, detailed: bool = False) -> str | None:
    """What `obj?` shows: the board object's type, repr and docstring (and its names if detailed)."""
    if not DOTTED_NAME.match(expression):
        return None
    found = _ask_board(board, expression, _DESCRIPTION.format(detail=bool(detailed)))
    if not (isinstance(found, tuple) and len(found) == 4):
        return None
    type_repr, value_repr, docstring, names = found
    lines = [f"Type:      {type_repr}", f"Value:     {value_repr}"]
    if docstring:
        lines += ["Docstring:", str(docstring)]
    if names:
        lines.append("Names:     " + ", ".join(name for name in names if not name.startswith("_")))
    return "\n".join(lines)


def _ask_board(board: Board | None, path: str, what: str, prefix: str = "") -> Any:
    """Run one lookup on the board between runs; None when busy, absent or failing."""
    if board is None:
        return None
    may_import = path.split(".")[0] in BUILTIN_MODULES
    code = _BOARD_LOOKUP.format(what=what, path=path, may_import=may_import, prefix=prefix)
    try:
        with board.repl.between_runs() as idle:
            if not idle:
                return None
            printed = board.exec_capture(code)
        return ast.literal_eval(printed.decode(errors="replace").strip())
    except (BoardError, ProtocolError, TransportError, ValueError, SyntaxError):
        return None
