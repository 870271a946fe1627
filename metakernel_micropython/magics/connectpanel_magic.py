from argparse import Namespace

from metakernel import MetaKernel

from metakernel_micropython.magic_base import BoardMagic, argument, arguments
from metakernel_micropython.services.ports import list_serial_ports
from metakernel_micropython.widgets import widget_bundle, widgets_unavailable
from metakernel_micropython.widgets.port_list import port_list_text


class ConnectPanelMagic(BoardMagic):
    @arguments(argument("--text", "-t", action="store_true",
                        help="print the list of ports instead of showing the panel"))
    def line_connectpanel(self, args: Namespace) -> None:
        """
        %connectpanel [--text] - pick a board from a list and connect with a button

        Shows a panel that lists the serial ports (description, USB VID:PID, and a ★ on
        those that look like a MicroPython board) and the virtual board, with a Refresh
        button, a baud rate, Connect and Disconnect buttons and a status line that shows
        the board's firmware banner once connected. A port that is not in the list (a
        pyserial URL such as rfc2217://host:4000) can be typed in. The panel needs a
        frontend that shows widgets (JupyterLab, Notebook 7, VS Code); elsewhere, and
        with --text, the same list is printed as text.

        Examples:
            %connectpanel
            %connectpanel --text
        """
        if args.text or widgets_unavailable():
            self.kernel.Print(port_list_text(list_serial_ports()))
            return
        from metakernel_micropython.widgets.port_picker import PortPicker  # needs ipywidgets
        picker = PortPicker(self.connection)
        self.kernel.DisplayData(widget_bundle(picker.view, picker.text()))


def register_magics(kernel: MetaKernel) -> None:
    kernel.register_magics(ConnectPanelMagic)
