"""%esptool through jupyter_client, flashing the ESP simulator from the kernel process."""
from __future__ import annotations

import random
import time

import pytest
from conftest import require_testbed

from testbeds.esp_images import make_image
from testbeds.esp_simulator import EspSimulator

PAYLOAD = random.Random(606).randbytes(64 * 1024)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def images(tmp_path):
    def write(chip: str) -> str:
        path = tmp_path / f"{chip}-firmware.bin"
        path.write_bytes(make_image(chip, PAYLOAD))
        return str(path)

    return write


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.status == "error"
    message = result.error_text.splitlines()[0]
    for fragment in fragments:
        assert fragment in message
    assert "Traceback" not in result.error_text + result.stderr


def test_write_reports_progress_and_flashes_the_board(module_kernel, images):
    firmware = images("esp32")
    with EspSimulator("esp32") as sim:
        result = module_kernel.run(f"%esptool --port {sim.port} write {firmware}", timeout=120)
        written = bytes(sim.flash[0x1000:0x1000 + len(open(firmware, "rb").read())])
    assert result.status == "ok", result.error_text
    assert "Connecting... Erasing... Writing 0% 25% 50% 75% 100% Verifying... done" in result.stdout
    assert "to the ESP32 at 0x1000" in result.stdout and "MD5 verified." in result.stdout
    assert any(WIDGET_VIEW in display.get("data", {}) for display in result.displays)
    assert written == open(firmware, "rb").read()


def test_seed_spellings_still_work_and_insist_on_their_chip(module_kernel, images):
    with EspSimulator("esp8266") as sim:
        refused = module_kernel.run(f"%esptool --port {sim.port} esp32 {images('esp8266')}")
        assert_one_line_error(refused, "The board is an ESP8266, not an ESP32")
        assert sim.flash == b"\xff" * len(sim.flash)
        flashed = module_kernel.run(f"%esptool --port {sim.port} esp8266 {images('esp8266')}", timeout=120)
        assert flashed.status == "ok", flashed.error_text
        assert "to the ESP8266 at 0x0" in flashed.stdout
        assert sim.flash[0] == 0xE9


def test_image_for_another_chip_is_refused_unless_forced(module_kernel, images):
    with EspSimulator("esp32") as sim:
        refused = module_kernel.run(f"%esptool --port {sim.port} write {images('esp32s3')}")
        assert_one_line_error(refused, "This image is for ESP32-S3 but the board is an ESP32", "--force")
        assert "failed" in refused.stdout
        assert sim.flash == b"\xff" * len(sim.flash)
        forced = module_kernel.run(f"%esptool --port {sim.port} write --force {images('esp32s3')}", timeout=120)
        assert forced.status == "ok", forced.error_text
        assert sim.flash[0x1000] == 0xE9


def test_erase_info_and_read(module_kernel, tmp_path):
    backup = tmp_path / "backup.bin"
    with EspSimulator("esp32", flash_size=1024 * 1024) as sim:
        sim.nor.program(0x10000, PAYLOAD)
        info = module_kernel.run(f"%esptool --port {sim.port} info")
        read = module_kernel.run(f"%esptool read --port {sim.port} --offset 0x10000 --size 0x10000 {backup}")
        erased = module_kernel.run(f"%esptool --port {sim.port} erase")
        assert sim.flash == b"\xff" * len(sim.flash)
    assert info.status == "ok", info.error_text
    assert "ESP32-D0WD-V3 (revision v3.0)" in info.stdout and "MAC 24:0a:c4:12:34:56" in info.stdout
    assert read.status == "ok", read.error_text
    assert "Reading 0% 25% 50% 75% 100%" in read.stdout
    assert backup.read_bytes() == PAYLOAD
    assert erased.status == "ok", erased.error_text
    assert "Erased the flash of the ESP32." in erased.stdout


def test_board_not_in_bootloader(module_kernel, images):
    with EspSimulator("esp32", mode="silent") as sim:
        result = module_kernel.run(f"%esptool --port {sim.port} write {images('esp32')}")
    assert_one_line_error(result, "No answer from the ESP bootloader", "hold BOOT (GPIO0) and press RESET (EN)")


def test_missing_port_and_missing_image(module_kernel, images, tmp_path):
    no_port = module_kernel.run(f"%esptool --port /dev/ttyUSB98 write {images('esp32')}")
    assert_one_line_error(no_port, "Port /dev/ttyUSB98 does not exist")
    with EspSimulator("esp32") as sim:
        no_image = module_kernel.run(f"%esptool --port {sim.port} write {tmp_path / 'missing.bin'}")
    assert_one_line_error(no_image, "missing.bin not found")


def test_usage_errors_show_the_usage(module_kernel):
    result = module_kernel.run("%esptool write")
    assert_one_line_error(result, "write needs a file name")
    result = module_kernel.run("%esptool flash x.bin")
    assert result.status == "error"
    assert "Usage: %esptool [--port P] [--baud B] erase | write" in result.error_text


def test_connected_board_is_released_and_reconnected_with_the_new_banner(kernel, images):
    from metakernel_micropython.transport.virtual_board import unavailable_reason

    require_testbed(unavailable_reason())  # the simulated ESP boots the MicroPython unix port
    sim = EspSimulator("esp32", mode="app", auto_reset=True, firmware="micropython")
    sim.nor.program(0x1000, make_image("esp32", b"the old firmware"))
    with sim:
        connected = kernel.run(f"%serialconnect --port {sim.port}")
        assert connected.status == "ok", connected.error_text
        boots_before = sim.boot_count
        result = kernel.run(f"%esptool write {images('esp32')}", timeout=120)  # the kernel's own port
        assert result.status == "ok", result.error_text
        assert f"Released {sim.port} for esptool" in result.stdout
        assert "Writing 0% 25% 50% 75% 100% Verifying... done" in result.stdout
        assert f"Reconnected to {sim.port} at 115200 baud: MicroPython" in result.stdout
        assert sim.boot_count == boots_before + 1
        assert bytes(sim.flash[0x1000:0x1000 + len(PAYLOAD)]) == open(images("esp32"), "rb").read()[:len(PAYLOAD)]
        cell = kernel.run("print(6 * 7)")
        assert cell.stdout.strip() == "42"


def test_erase_leaves_the_board_disconnected(kernel):
    from metakernel_micropython.transport.virtual_board import unavailable_reason

    require_testbed(unavailable_reason())
    sim = EspSimulator("esp32", mode="app", auto_reset=True, firmware="micropython")
    sim.nor.program(0x1000, make_image("esp32", b"firmware"))
    with sim:
        assert kernel.run(f"%serialconnect --port {sim.port}").status == "ok"
        result = kernel.run("%esptool erase", timeout=120)
        assert result.status == "ok", result.error_text
        assert "the kernel stays disconnected" in result.stdout
        deadline = time.monotonic() + 5
        while sim.mode != "silent" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sim.mode == "silent"  # the blank chip booted into "invalid header"
