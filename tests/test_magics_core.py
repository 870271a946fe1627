"""Issue 3: the connection magics and metakernel's discovery magics, as a user meets them."""
from __future__ import annotations

import os
import select
import threading
import tty
from pathlib import Path

import pytest

from kernel_driver import KernelSession


def test_cell_without_connection_lists_ports_and_how_to_connect(kernel: KernelSession) -> None:
    result = kernel.run("1+1")
    assert result.status == "error"
    assert "No board is connected" in result.error_text
    assert "%virtualboard" in result.error_text


def test_lsmagic_lists_our_magics(kernel: KernelSession) -> None:
    listing = kernel.run("%lsmagic").stdout
    for name in ("%serialconnect", "%virtualboard", "%disconnect", "%reboot", "%rebootdevice"):
        assert name in listing


def test_help_shows_usage_and_example(kernel: KernelSession) -> None:
    text = kernel.run("%help %serialconnect").help_text
    assert text.startswith("%serialconnect [--port PORT]")
    assert "Examples:" in text
    assert "rfc2217://" in text


def test_unknown_magic_suggests_the_nearest(kernel: KernelSession) -> None:
    result = kernel.run("%serialconect --port /dev/null")
    assert result.status == "error"
    assert "Did you mean %serialconnect?" in result.error_text


def test_bad_option_gives_one_line_and_usage(kernel: KernelSession) -> None:
    result = kernel.run("%serialconnect --prot /dev/ttyUSB0")
    assert result.status == "error"
    assert "did you mean --port?" in result.error_text
    assert "Usage: %serialconnect" in result.error_text
    assert "Traceback" not in result.error_text + result.stderr


def test_missing_port_is_one_clear_line(kernel: KernelSession) -> None:
    result = kernel.run("%serialconnect --port /dev/ttyNOSUCH0")
    assert result.status == "error"
    assert "does not exist" in result.error_text
    assert "Traceback" not in result.error_text + result.stderr


def test_busy_port_is_reported(kernel: KernelSession) -> None:
    import serial

    master, slave = os.openpty()
    path = os.ttyname(slave)
    holder = serial.Serial(path, exclusive=True)
    try:
        result = kernel.run(f"%serialconnect --port {path}")
    finally:
        holder.close()
        os.close(master)
        os.close(slave)
    assert result.status == "error"
    assert "busy" in result.error_text


def test_board_not_answering_shows_what_it_printed(kernel: KernelSession) -> None:
    # A "board" at the wrong baud rate: whatever it is sent, it answers with garbage.
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    stop = threading.Event()

    def answer_with_garbage() -> None:
        while not stop.is_set():
            if select.select([master], [], [], 0.05)[0]:
                os.read(master, 1024)
                os.write(master, b"\xf0\x0fgarbage at the wrong baud rate\r\n")

    responder = threading.Thread(target=answer_with_garbage, daemon=True)
    responder.start()
    try:
        result = kernel.run(f"%serialconnect --port {path}", timeout=60)
    finally:
        stop.set()
        responder.join()
        os.close(master)
        os.close(slave)
    assert result.status == "error"
    assert "not answering" in result.error_text
    assert "garbage" in result.error_text
    assert "Traceback" not in result.error_text


def test_virtualboard_files_live_in_its_folder(virtual_kernel: KernelSession, board_dir: Path) -> None:
    virtual_kernel.run("f = open('hello.txt', 'w')\nf.write('hi')\nf.close()")
    assert (board_dir / "hello.txt").read_text() == "hi"


def test_virtual_board_process_ends_with_the_kernel(kernel: KernelSession, board_dir: Path) -> None:
    from conftest import require_testbed
    from metakernel_micropython.transport.virtual_board import unavailable_reason

    require_testbed(unavailable_reason())
    kernel.run(f"%virtualboard --dir {board_dir}")
    children = _micropython_children_of(kernel.manager.provisioner.process.pid)
    assert children
    kernel.close()
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def _micropython_children_of(kernel_pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(kernel_pid):
            found.append(int(status.parent.name))
    return found


@pytest.mark.parametrize("flag", ["--user", "--sys-prefix"])
def test_install_writes_a_kernelspec(tmp_path: Path, flag: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import subprocess
    import sys

    env = dict(os.environ, HOME=str(tmp_path), JUPYTER_DATA_DIR=str(tmp_path / "data"))
    if flag == "--sys-prefix":
        output = subprocess.run([sys.executable, "-m", "metakernel_micropython", "install", "--prefix",
                                 str(tmp_path / "prefix")], capture_output=True, text=True, env=env, check=True)
        spec = tmp_path / "prefix" / "share" / "jupyter" / "kernels" / "micropython" / "kernel.json"
    else:
        output = subprocess.run([sys.executable, "-m", "metakernel_micropython", "install", flag],
                                capture_output=True, text=True, env=env, check=True)
        spec = tmp_path / "data" / "kernels" / "micropython" / "kernel.json"
    assert "Installed" in output.stdout
    assert json.loads(spec.read_text())["display_name"] == "MicroPython"
