"""The shape every magic of this kernel shares: argparse options, one-line errors, usage.

metakernel's own option parsing guesses at argument types and prints tracebacks; ours
parses with argparse, answers a bad argument with one line, the nearest option and the
usage, and turns errors from the layers below into one line each.
"""
from __future__ import annotations

import argparse
import difflib
import logging
import re
import shlex
from collections.abc import Callable
from typing import Any, TypeVar

from metakernel import ExceptionWrapper, Magic

from .protocol import BoardError, ProtocolError
from .services.connection import NotConnected
from .services.filesystem import BoardFileError
from .transport import TransportError

_F = TypeVar("_F", bound=Callable[..., Any])
_log = logging.getLogger(__name__)


class MagicError(Exception):
    """A failure a magic reports to the user as one line."""


#: Errors whose message is already written for the user.
USER_FACING_ERRORS: tuple[type[BaseException], ...] = (
    MagicError, TransportError, ProtocolError, BoardError, NotConnected, FileNotFoundError,
    IsADirectoryError, PermissionError, BoardFileError,
)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise _UsageError(self._with_suggestion(message))

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        raise _UsageError(message or "")

    def _with_suggestion(self, message: str) -> str:
        unknown = re.search(r"unrecognized arguments: (\S+)", message)
        if unknown and unknown.group(1).startswith("-"):
            known = [option for action in self._actions for option in action.option_strings]
            nearest = difflib.get_close_matches(unknown.group(1), known, n=1)
            if nearest:
                return f"unknown option {unknown.group(1)}; did you mean {nearest[0]}?"
            return f"unknown option {unknown.group(1)}"
        return message


def argument(*names: str, **settings: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """One argparse argument, as given to `arguments`."""
    return names, settings


def arguments(*declared: tuple[tuple[str, ...], dict[str, Any]], verbatim_tail: bool = False) -> Callable[[_F], _F]:
    """Declare a magic's options; the magic then receives an argparse Namespace.

    With `verbatim_tail` the last positional argument receives the rest of the line after the
    options exactly as typed, quotes and backslashes included: for Python expressions and literals.
    """
    def decorate(func: _F) -> _F:
        func.magic_arguments = declared  # type: ignore[attr-defined]
        func.verbatim_tail = verbatim_tail  # type: ignore[attr-defined]
        return func
    return decorate


def _quote_verbatim_tail(text: str, parser: argparse.ArgumentParser) -> str:
    """`text` with its leading options left as they are and everything after them quoted as one word."""
    takes_value = {option for action in parser._actions if action.nargs != 0 for option in action.option_strings}
    text = text.strip()
    options_end = 0
    expect_value = False
    for token in re.finditer(r"\S+", text):
        word = token.group()
        if not expect_value and not word.startswith("-"):
            break
        options_end = token.end()
        if word == "--":
            break
        expect_value = not expect_value and word in takes_value  # `--timeout 2`, not `--timeout=2`
    tail = text[options_end:].strip()
    return text[:options_end] + (" " + shlex.quote(tail) if tail else "")


def _parse(parser: argparse.ArgumentParser, words: list[str]) -> argparse.Namespace:
    """Options may stand between positionals (`write --offset 0x1000 image.bin`)."""
    try:
        return parser.parse_intermixed_args(words)
    except TypeError:  # argparse cannot intermix with REMAINDER-style arguments
        return parser.parse_args(words)


def usage_line(doc: str | None) -> str:
    """The first non-empty line of a docstring: by convention the magic's usage."""
    for line in (doc or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _parser_for(name: str, func: Callable[..., Any]) -> _Parser:
    parser = _Parser(prog=f"%{name}", add_help=False)
    for names, settings in getattr(func, "magic_arguments", ()):
        parser.add_argument(*names, **settings)
    return parser


class BoardMagic(Magic):
    """Base class of this kernel's magics."""

    def __init__(self, kernel: Any) -> None:
        super().__init__(kernel)
        self._failure: ExceptionWrapper | None = None

    def call_magic(self, mtype: str, name: str, code: str, args: Any) -> Magic:
        self.code = code
        self.evaluate = True
        self._failure = None
        mtype = mtype.replace("sticky", "cell")
        func = getattr(self, f"{mtype}_{name}")
        usage = usage_line(func.__doc__)
        parser = _parser_for(name, func)
        try:
            text = args if isinstance(args, str) else " ".join(args)
            if getattr(func, "verbatim_tail", False):
                text = _quote_verbatim_tail(text, parser)
            words = shlex.split(text)
            if "-h" in words or "--help" in words:
                self.kernel.Print(self.get_help(mtype, name))
                self.evaluate = False
                return self
            parsed = _parse(parser, words)
        except (_UsageError, ValueError) as error:
            return self._fail("UsageError", f"%{name}: {error}", usage)
        try:
            func(parsed)
        except USER_FACING_ERRORS as error:
            return self._fail(type(error).__name__, f"%{name}: {self._one_line(error)}")
        except Exception as error:  # a bug of ours: one line for the user, details in the log
            _log.exception("%%%s failed", name)
            return self._fail(type(error).__name__, f"%{name} failed: {self._one_line(error)}")
        return self

    def get_help(self, mtype: str, name: str, level: int = 0) -> str:
        """The docstring (usage, paragraph, examples), then every option with its help line,
        generated from the declared options so that %help never misses one."""
        text = super().get_help(mtype, name, level)
        func = getattr(self, f"{mtype}_{name}", None)
        if level or func is None or not getattr(func, "magic_arguments", None):
            return text
        argparse_help = _parser_for(name, func).format_help()
        options = argparse_help.split("\n\n", 1)[-1].strip()  # without argparse's usage line
        return f"{text.rstrip()}\n\n{options}"

    @staticmethod
    def _one_line(error: BaseException) -> str:
        if isinstance(error, (FileNotFoundError, IsADirectoryError, PermissionError)) and error.filename:
            return f"{error.strerror}: {error.filename}"
        return str(error).strip() or type(error).__name__

    def _fail(self, ename: str, message: str, usage: str = "") -> Magic:
        """Stop the cell here and make it an error, shown once, with the usage if given."""
        lines = [message] + ([f"Usage: {usage}"] if usage else [])
        self._failure = ExceptionWrapper(ename, message, lines)
        self.evaluate = False
        return self

    def post_process(self, retval: Any) -> Any:
        return self._failure if self._failure is not None and retval is None else retval

    @property
    def connection(self) -> Any:
        return self.kernel.connection
