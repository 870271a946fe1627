import argparse
import os
from argparse import Namespace

from IPython.core.error import StdinNotImplementedError
from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, MagicError, argument, arguments
from metakernel_micropython.services.connect import connect_webrepl
from metakernel_micropython.transport.webrepl_link import DEFAULT_URL

PASSWORD_VARIABLE = "MICROPYTHON_WEBREPL_PASSWORD"


class WebSocketConnectMagic(BoardMagic):
    @arguments(
        argument("url", nargs="?", default=DEFAULT_URL, help=f"the board's WebREPL (default {DEFAULT_URL})"),
        argument("--password", "-p", default=None, help=f"WebREPL password (else ${PASSWORD_VARIABLE}, else asked)"),
        # Caught here rather than by argparse, whose message would repeat them: one may be a password.
        argument("unexpected", nargs="*", help=argparse.SUPPRESS),
    )
    def line_websocketconnect(self, args: Namespace) -> None:
        """
        %websocketconnect [URL] [--password PW] - connect to a board over WebREPL (Wi-Fi)

        Opens the board's WebREPL (URL default ws://192.168.4.1:8266/, the address of an
        ESP board's own access point; a bare HOST or HOST:PORT also works), logs in, enters
        the raw REPL and prints the firmware banner. Cells, interrupts, %reboot and the file
        magics then work as over serial; %sendtofile and %fetchfile use WebREPL's own binary
        file transfer. The password comes from --password, else from the environment
        variable MICROPYTHON_WEBREPL_PASSWORD, else a password prompt asks for it (not
        echoed), so that it never has to be written in a notebook. It is never printed.
        A wrong password gives "Access denied" and leaves no connection open. If the
        connection drops (the board reset or left the network), the running cell ends with
        an error and %websocketconnect connects again. Start WebREPL on the board first
        (over serial: import webrepl_setup, once; then import webrepl; webrepl.start()).

        Examples:
            %websocketconnect
            %websocketconnect ws://192.168.1.42:8266/
            %websocketconnect 192.168.1.42 --password micropy
        """
        if args.unexpected:
            raise MagicError("give one URL, and the password only with --password (or leave it out to be asked)")
        password = args.password if args.password is not None else os.environ.get(PASSWORD_VARIABLE)
        if password is None:
            password = self._ask_password(args.url)
        description = connect_webrepl(self.connection, args.url, password)
        self.kernel.Print(f"Connected to {description}")

    def _ask_password(self, url):
        try:
            return self.kernel.getpass(f"WebREPL password for {url}: ")
        except StdinNotImplementedError:
            raise MagicError(f"No password for {url}: give --password, or set {PASSWORD_VARIABLE} "
                             "before starting Jupyter (this frontend cannot ask for input).") from None


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(WebSocketConnectMagic)
