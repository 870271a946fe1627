"""Issue 7 in a real browser: JupyterLab 4 started here, driven by Debian's headless Chromium.

One notebook, run cell by cell as a learner would: cells on the virtual board, the port
picker connecting with its button, Tab completion from the board, and the flash progress
bar moving while %esptool flashes the ESP simulator. Screenshots go to test-artifacts/browser/. Nothing here downloads a
browser: playwright launches /usr/bin/chromium (apt-get install chromium).
"""
from __future__ import annotations

import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import ROOT, require_testbed

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
#: Random bytes do not compress: the flash takes long enough to watch the bar move.
FIRMWARE_PAYLOAD = random.Random(7).randbytes(192 * 1024)
#: JupyterLab asks whether to fetch news on first start: say no, it would cover the page.
QUIET_LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                      {"fetchNews": "false", "checkForUpdates": False}}


def _browser_unavailable() -> str | None:
    if not os.path.exists(CHROMIUM):
        return "Debian's chromium is not installed (apt-get install chromium)"
    for module in ("playwright", "jupyterlab"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install {module})"
    from metakernel_micropython.transport.virtual_board import unavailable_reason
    return unavailable_reason()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_testbed(_browser_unavailable())
    return tmp_path_factory.mktemp("lab")


@pytest.fixture(scope="module")
def esp_simulator() -> Iterator[Any]:
    from testbeds.esp_simulator import EspSimulator

    with EspSimulator("esp32", paced=True) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def notebook_path(workspace: Path, esp_simulator: Any) -> Path:
    from testbeds.esp_images import make_image

    (workspace / "firmware.bin").write_bytes(make_image("esp32", FIRMWARE_PAYLOAD))
    notebook = new_notebook(metadata={"kernelspec": {"name": "micropython", "display_name": "MicroPython",
                                                     "language": "python"}})
    notebook.cells = [new_code_cell(source) for source in (
        "%virtualboard",
        'print("hello from the browser")\n6 * 7',
        "%connectpanel",
        'import sys\nprint("after the panel:", sys.platform)',
        f"%esptool --port {esp_simulator.port} --before no-reset write firmware.bin",
        "import os\nos.li",
    )]
    path = workspace / "classroom.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def lab_url(workspace: Path) -> Iterator[str]:
    settings = workspace / ".lab-settings"
    for name, values in QUIET_LAB_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    environment = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
                       JUPYTERLAB_WORKSPACES_DIR=str(workspace / ".lab-workspaces"))
    log = open(ARTIFACTS.parent / "jupyterlab.log", "w") if _artifacts() else subprocess.DEVNULL
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workspace}",
         "--ServerApp.open_browser=False", "--allow-root", "--LabApp.news_url=None",
         "--LabApp.extension_manager=readonly"],
        cwd=workspace, env=environment, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(base, token, server)
        yield f"{base}/lab/tree/classroom.ipynb?token={token}"
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def _artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _wait_for_server(base: str, token: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with {server.returncode}; see test-artifacts/jupyterlab.log")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail("JupyterLab did not start within 120 s")


@pytest.fixture(scope="module")
def page(lab_url: str, workspace: Path, notebook_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(workspace / ".chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 900})
        try:
            lab = browser.pages[0] if browser.pages else browser.new_page()
            lab.set_default_timeout(60_000)
            lab.goto(lab_url)
            lab.locator(".jp-Notebook .jp-Cell").first.wait_for()
            # The kernel is ready once the status bar names it and calls it idle.
            lab.get_by_text("MicroPython | Idle").wait_for(timeout=120_000)
            yield lab
        finally:
            browser.close()


def _cell(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def _run_cell(page: Any, index: int) -> Any:
    """Click into the cell and press Shift+Enter, as a learner does."""
    cell = _cell(page, index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    return cell


def _expect_output(page: Any, cell: Any, text: str) -> Any:
    """Wait for `text` below the cell; on a timeout, keep a screenshot of what was shown."""
    output = cell.locator(".jp-OutputArea-output", has_text=text)
    try:
        output.wait_for()
    except Exception:
        _shot(page, "failed-waiting-for-" + re.sub(r"\W+", "-", text))
        raise
    return output


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(_artifacts() / f"{name}.png"), full_page=True)


def test_cells_run_on_the_virtual_board_and_show_their_output(page: Any) -> None:
    connected = _run_cell(page, 0)
    _expect_output(page, connected, "Connected to the virtual board")
    hello = _run_cell(page, 1)
    _expect_output(page, hello, "hello from the browser")
    _expect_output(page, hello, "42")
    _shot(page, "1-cells-on-the-virtual-board")
    assert "MicroPython" in connected.locator(".jp-OutputArea-output").inner_text()


def test_port_picker_connects_with_its_button(page: Any) -> None:
    panel = _run_cell(page, 2).locator(".mpk-port-picker")
    panel.wait_for()
    choice = panel.locator("select").first
    virtual = choice.locator("option", has_text="Virtual board")
    virtual.wait_for(state="attached")
    choice.select_option(label=virtual.inner_text())
    _shot(page, "2-port-picker")
    panel.locator("button[title=Connect]").click()
    status = panel.locator(".widget-label", has_text=re.compile("^Connected to virtual board"))
    status.wait_for()
    assert "MicroPython" in status.inner_text()
    _shot(page, "3-port-picker-connected")
    after = _run_cell(page, 3)
    _expect_output(page, after, "after the panel: linux")


def test_tab_completes_from_the_board(page: Any) -> None:
    editor = _cell(page, 5).locator(".jp-InputArea-editor")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Tab")
    offered = page.locator(".jp-Completer-item", has_text="os.listdir")
    try:
        offered.wait_for(timeout=30_000)
    except Exception:
        _shot(page, "failed-waiting-for-completion")
        raise
    _shot(page, "4-tab-completion")
    page.keyboard.press("Enter")
    editor.locator(".cm-content", has_text="os.listdir").wait_for()
    page.keyboard.press("Escape")


def test_flash_progress_bar_moves_while_flashing(page: Any, esp_simulator: Any) -> None:
    cell = _run_cell(page, 4)
    bar = cell.locator(".widget-hprogress .progress-bar").first
    try:
        bar.wait_for()
    except Exception:
        _shot(page, "failed-waiting-for-the-progress-bar")
        (ARTIFACTS / "progress-cell.html").write_text(cell.inner_html())
        raise
    seen: list[str] = []
    shot_taken = False
    while not cell.locator(".jp-OutputArea-output", has_text="MD5 verified").count():
        width = bar.evaluate("element => element.style.width || String(element.value)")
        if width and width not in seen:
            seen.append(width)
            if not shot_taken and width not in ("0%", "100%", "0"):
                _shot(page, "5-flashing-in-progress")
                shot_taken = True
        if cell.locator(".jp-OutputArea-output", has_text="Error").count():
            break
        page.wait_for_timeout(100)
    _shot(page, "6-flashed")
    print(f"progress bar widths seen while flashing: {seen}")
    output = cell.locator(".jp-OutputArea").inner_text()
    assert "MD5 verified" in output, output
    in_between = [width for width in seen if width not in ("0%", "100%", "0", "")]
    assert len(in_between) >= 2, f"the bar showed only {seen}"
    assert bytes(esp_simulator.flash[0x1000 + 0x40:0x1000 + 0x140]) != b"\xff" * 256
    shutil.copy(ARTIFACTS / "6-flashed.png", ARTIFACTS / "latest.png")
