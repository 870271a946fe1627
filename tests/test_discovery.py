"""Issue 7: every magic of ours can be found and learnt from inside the notebook.

The list of magics is read from the package itself, so a magic added later is checked too:
it must appear in %lsmagic, and %help %name must show its usage, its options and an
example. Unknown magics and options suggest the nearest one.
"""
from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel_driver import KernelSession
from metakernel_micropython.magic_base import BoardMagic

MAGICS_DIR = Path(__file__).resolve().parent.parent / "metakernel_micropython" / "magics"


def our_magics() -> list[tuple[str, str, list[str]]]:
    """(prefix, name, long options) of every line and cell magic in metakernel_micropython/magics."""
    found = []
    for path in sorted(MAGICS_DIR.glob("*_magic.py")):
        module = importlib.import_module(f"metakernel_micropython.magics.{path.stem}")
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, BoardMagic) or cls.__module__ != module.__name__:
                continue
            for attribute, method in inspect.getmembers(cls, inspect.isfunction):
                kind, _, name = attribute.partition("_")
                if kind not in ("line", "cell"):
                    continue
                # Each option by its long name (the short one if it has none); positionals aside.
                options = [next((option for option in names if option.startswith("--")), names[0])
                           for names, _settings in getattr(method, "magic_arguments", ())
                           if names[0].startswith("-")]
                found.append(("%" if kind == "line" else "%%", name, options))
    return found


MAGICS = our_magics()


@pytest.fixture(scope="module")
def session() -> Iterator[KernelSession]:
    kernel = KernelSession()
    yield kernel
    kernel.close()


def test_the_package_has_magics() -> None:
    assert len(MAGICS) >= 10


def test_every_magic_is_listed_by_lsmagic(session: KernelSession) -> None:
    listing = session.run("%lsmagic").stdout.split()
    missing = [prefix + name for prefix, name, _options in MAGICS if prefix + name not in listing]
    assert not missing, f"not in %lsmagic: {missing}"


@pytest.mark.parametrize(("prefix", "name", "options"), MAGICS, ids=[prefix + name for prefix, name, _ in MAGICS])
def test_help_shows_usage_options_and_an_example(session: KernelSession, prefix: str, name: str,
                                                  options: list[str]) -> None:
    text = session.run(f"%help {prefix}{name}").help_text
    usage = text.splitlines()[0]
    # An alias (%rebootdevice, %mpycross, %%sendtofile) shows its magic's help, naming it.
    assert usage.startswith(prefix + name) or (usage.startswith("%") and name in text), text
    assert "Example" in text, f"{prefix}{name} has no example"
    undocumented = [option for option in options if option not in text]
    assert not undocumented, f"%help {prefix}{name} does not mention {undocumented}"


def test_a_misspelt_magic_and_option_suggest_the_nearest(session: KernelSession) -> None:
    magic = session.run("%conectpanel")
    assert "Did you mean %connectpanel?" in magic.error_text
    option = session.run("%connectpanel --txt")
    assert "did you mean --text?" in option.error_text
    assert "Usage: %connectpanel" in option.error_text
