from argparse import Namespace
from pathlib import Path

from metakernel import MetaKernel

from metakernel_micropython.file_magic_support import board_files
from metakernel_micropython.magic_base import BoardMagic, MagicError, argument, arguments
from metakernel_micropython.output_stream import OutputSplitter
from metakernel_micropython.progress_display import human_size
from metakernel_micropython.protocol import BoardError
from metakernel_micropython.services import board_scripts
from metakernel_micropython.services.file_transfer import send_bytes
from metakernel_micropython.services.host_files import as_board_text, plan_sends


class SendToFileMagic(BoardMagic):
    @arguments(
        argument("destination", nargs="?", default=None, help="board path"),
        argument("-a", "--append", action="store_true", help="add to the end of the board file"),
        argument("-d", "--mkdir", action="store_true", help="create missing board directories"),
        argument("-b", "--binary", action="store_true", help="send the bytes exactly (no line-end changes)"),
        argument("-x", "--execute", action="store_true", help="run the file on the board after sending"),
        argument("-q", "--quiet", action="store_true", help="only the summary line"),
        argument("-Q", "--QUIET", action="store_true", help="print nothing"),
        argument("--source", default=None, help="host file or directory to send"),
    )
    def line_sendtofile(self, args: Namespace) -> None:
        """
        %sendtofile [-a] [-d] [-b] [-x] [-q] [-Q] [--source PATH] [DEST] - write a file on the board

        Without --source the rest of the cell is the file's content. With --source a host
        file, or a whole directory (recursively), is sent; DEST defaults to its name, and a
        file sent to a board directory lands inside it. Every file is written under a
        temporary name, verified (SHA-256 on the board, or read back where the firmware has no
        hashlib) and only then renamed into place, so an interrupt, a full file system or a lost
        link leaves the old file as it was. Files the board already has, byte for byte, are
        skipped. Text has Windows line ends turned into '\\n'; -b sends the bytes exactly.
        -a appends, -d creates missing board directories, -x runs the file afterwards (its
        functions and variables stay defined for the next cells). Long transfers show
        progress; Kernel -> Interrupt stops them.

        Examples:
            %sendtofile main.py
            print("hello from main.py")

            %sendtofile --source lib/sensors.py -d lib/
            %sendtofile --source web_files www
            %sendtofile -x --source blink.py
            %sendtofile --append --binary --source more.bin log.bin
        """
        source = Path(args.source) if args.source else None
        if source is None:
            if not args.destination:
                raise MagicError("give the board file's name: %sendtofile main.py "
                                 "(the rest of the cell is its content)")
            self.evaluate = False
        with board_files(self, None if args.quiet or args.QUIET else "Sending") as (files, control):
            sends = self._planned(files, source, args.destination)
            if args.execute and len(sends) != 1:
                raise MagicError("-x runs one file: give a file, not a directory, as --source")
            make_directories = args.mkdir or (source is not None and source.is_dir())
            outcomes = [send_bytes(files, data if args.binary else as_board_text(data), board_path,
                                   append=args.append, make_directories=make_directories, control=control)
                        for data, board_path in sends]
        if not args.QUIET:
            self.kernel.Print(self._summary(outcomes, per_file=not args.quiet))
        if args.execute:
            self._run_on_board(outcomes[0].destination)

    cell_sendtofile = line_sendtofile

    def _planned(self, files, source, destination):
        """(content, board path) pairs: the cell's text, or the files under `source`."""
        if source is None:  # Jupyter strips the cell's last line end: a text file gets it back
            return [(self.code.rstrip("\n").encode() + b"\n" if self.code.strip() else b"", destination)]
        into_directory = destination is not None and files.is_directory(destination)
        return [(path.read_bytes(), board_path)
                for path, board_path in plan_sends(source, destination, into_directory)]

    @staticmethod
    def _summary(outcomes, per_file):
        sent = [outcome for outcome in outcomes if not outcome.unchanged]
        lines = []
        if per_file and len(outcomes) > 1:
            lines = [f"  {outcome.destination}: " + ("unchanged" if outcome.unchanged else human_size(outcome.size))
                     for outcome in outcomes]
        seconds = sum(outcome.seconds for outcome in outcomes)
        size = sum(outcome.size for outcome in sent)
        if len(outcomes) == 1 and not sent:
            lines.append(f"{outcomes[0].destination} is unchanged on the board: not sent again.")
        else:
            what = outcomes[0].destination if len(outcomes) == 1 else f"{len(sent)} of {len(outcomes)} files"
            lines.append(f"Sent {what} ({human_size(size)}) in {seconds:.2f} s"
                         + (f", {human_size(int(size / seconds))}/s" if seconds > 0.5 else "")
                         + (f"; {len(outcomes) - len(sent)} unchanged, skipped." if len(sent) < len(outcomes) else "."))
        return "\n".join(lines)

    def _run_on_board(self, path):
        board = self.connection.require_board()
        splitter = OutputSplitter(self.kernel.Write)
        with self.kernel.interrupts_call(board.repl.request_interrupt):
            result = board.run(board_scripts.run_file(path), splitter.feed)
        splitter.finish()
        if result.stderr:
            error = BoardError(result.stderr.decode(errors="replace"))
            self.kernel.Error(error.traceback_text)
            raise MagicError(f"{path} stopped with {error}")


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(SendToFileMagic)
