"""Issue 7: the learner notebooks in notebooks/ run top to bottom on the testbeds (nbclient).

Cells tagged `hardware-only` need a real board and are left out. A cell tagged
`testbed-connect` is the notebook's connect cell: the test puts the testbed's own connect
line there (the micro:bit under QEMU has no USB id to be found by). `raises-exception`
cells show an error on purpose (nbclient's own tag).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import require_testbed

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
HARDWARE_ONLY = "hardware-only"
TESTBED_CONNECT = "testbed-connect"
WEBREPL_PASSWORD = "pw-4-test"


def _tags(cell: Any) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def run_notebook(name: str, workdir: Path, connect: str | None = None,
                 replacements: dict[str, str] | None = None, timeout: int = 120) -> nbformat.NotebookNode:
    """Execute notebooks/`name` in `workdir` as a learner would; any unexpected error fails."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    notebook.cells = [cell for cell in notebook.cells if HARDWARE_ONLY not in _tags(cell)]
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if TESTBED_CONNECT in _tags(cell) and connect is not None:
            cell.source = connect
        for text, replacement in (replacements or {}).items():
            cell.source = cell.source.replace(text, replacement)
    client = NotebookClient(notebook, kernel_name="micropython", timeout=timeout,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return notebook


def output_text(notebook: nbformat.NotebookNode) -> str:
    """Everything a learner sees below the cells, as text."""
    cells = []
    for cell in notebook.cells:
        shown = ""
        for output in cell.get("outputs", []):
            shown += output.get("text", "")  # a stream may come in pieces: join them as shown
            shown += output.get("data", {}).get("text/plain", "")
            shown += "\n".join(output.get("traceback", []))
        cells.append(shown)
    return "\n".join(cells)


@pytest.fixture
def webrepl_server(tmp_path: Path, virtual_board_ready: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A WebREPL server bridged to a virtual board; the kernel finds its password in the environment."""
    from testbeds.webrepl_server import WebReplServer

    board_dir = tmp_path / "webrepl_board"
    board_dir.mkdir()
    monkeypatch.setenv("MICROPYTHON_WEBREPL_PASSWORD", WEBREPL_PASSWORD)
    with WebReplServer(board_dir, password=WEBREPL_PASSWORD) as server:
        yield server


@pytest.fixture
def virtual_board_ready() -> None:
    from metakernel_micropython.transport.virtual_board import unavailable_reason
    require_testbed(unavailable_reason())


def test_every_notebook_is_for_this_kernel_and_marks_its_hardware_cells() -> None:
    names = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
    assert names, "no notebooks"
    for name in names:
        notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(notebook)
        assert notebook.metadata.kernelspec.name == "micropython", name
        assert all(not cell.get("outputs") for cell in notebook.cells), f"{name} is saved with outputs"
        assert sum(TESTBED_CONNECT in _tags(cell) for cell in notebook.cells) <= 1, name


def test_first_steps_on_the_virtual_board(virtual_board_ready: None, tmp_path: Path) -> None:
    notebook = run_notebook("00-first-steps.ipynb", tmp_path)
    text = output_text(notebook)
    assert "Hello from MicroPython!" in text
    assert "1024" in text, text
    assert "Hello, Ada 2" in text and "tick 2" in text
    assert "IndexError" in text  # the mistake made on purpose
    assert "%virtualboard" in text  # %lsmagic lists our magics


def test_microbit_notebook_on_the_microbit_under_qemu(tmp_path: Path) -> None:
    """On a micro:bit of its own, fresh from boot, as a learner's would be (16 KB of RAM:
    the session's shared one carries what earlier tests left in its memory)."""
    from testbeds.qemu_microbit import MicrobitQemu, qemu_available

    require_testbed(qemu_available())
    with MicrobitQemu() as microbit:
        notebook = run_notebook("05-microbit.ipynb", tmp_path, connect=f"%serialconnect --port {microbit.port}")
    text = output_text(notebook)
    assert "micro:bit" in text  # the banner
    assert "no press" in text and "x=" in text
    assert "['notes.txt']" in text and "15 bytes" in text


def test_files_notebook_on_the_virtual_board(virtual_board_ready: None, tmp_path: Path) -> None:
    notebook = run_notebook("01-files-on-the-board.ipynb", tmp_path)
    text = output_text(notebook)
    assert "Hello, Grace!" in text and "69.8" in text and "line 2" in text
    assert (tmp_path / "board_files" / "lib" / "units.py").is_file()
    assert (tmp_path / "copied_from_board.py").read_text().startswith("def hello(name):")
    assert (tmp_path / "board_files" / "blink.py").read_text() == (tmp_path / "blink.py").read_text()
    assert not (tmp_path / "board_files" / "log.txt").exists()


def test_webrepl_notebook_against_the_webrepl_server(webrepl_server: Any, tmp_path: Path) -> None:
    notebook = run_notebook("02-webrepl.ipynb", tmp_path, connect=f"%websocketconnect {webrepl_server.url}")
    text = output_text(notebook)
    assert "Hello over Wi-Fi from linux" in text and "5050" in text
    assert "20.5\n21.0\n21.5" in text
    assert webrepl_server.file_requests >= 2  # %sendtofile and %fetchfile went the binary way
    assert WEBREPL_PASSWORD not in text


def test_flashing_notebook_on_the_esp_simulator(virtual_board_ready: None, tmp_path: Path) -> None:
    from testbeds.esp_images import make_image
    from testbeds.esp_simulator import EspSimulator

    image = make_image("esp32", bytes(range(256)) * 64)
    (tmp_path / "ESP32_GENERIC-v1.24.1.bin").write_bytes(image)
    with EspSimulator("esp32", auto_reset=True) as simulator:
        notebook = run_notebook("03-flashing-firmware.ipynb", tmp_path,
                                replacements={"/dev/ttyUSB0": simulator.port}, timeout=180)
        assert bytes(simulator.flash[0x1000:0x1000 + len(image)]) == image
    text = output_text(notebook)
    assert "ESP32" in text and "MD5 verified." in text
    assert "Hello from micropython" in text


def test_sensor_notebook_plots_board_readings_on_the_host(virtual_board_ready: None, tmp_path: Path) -> None:
    notebook = run_notebook("04-sensor-and-plot.ipynb", tmp_path)
    text = output_text(notebook)
    assert "20 readings, the first:" in text and "20 readings saved" in text
    images = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if "image/png" in output.get("data", {})]
    assert len(images) == 1  # the plot
    assert (tmp_path / "readings.csv").read_text().startswith("number,volts\n0,")
