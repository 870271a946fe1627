"""The flashing service (esptool 5 in process) against the ESP simulator."""
from __future__ import annotations

import os
import random

import pytest
import serial
from esp_pylib.logger import EspLog

from metakernel_micropython.services import flashing
from metakernel_micropython.services.esptool_session import no_sync_message, resolve_reset_modes
from metakernel_micropython.services.flashing import FlashError
from testbeds.esp_images import make_image
from testbeds.esp_simulator import EspSimulator

PAYLOAD = random.Random(66).randbytes(48 * 1024)


@pytest.fixture
def image_file(tmp_path):
    def write(chip: str, name: str | None = None) -> str:
        path = tmp_path / (name or f"{chip}.bin")
        path.write_bytes(make_image(chip, PAYLOAD))
        return str(path)

    return write


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.calls.append((stage, done, total))

    @property
    def stages(self) -> list[str]:
        seen: list[str] = []
        for stage, _, _ in self.calls:
            if not seen or seen[-1] != stage:
                seen.append(stage)
        return seen


# --- images and offsets ---------------------------------------------------------------------

@pytest.mark.parametrize("chip, name, chip_id", [
    ("esp32", "ESP32", 0), ("esp32s3", "ESP32-S3", 9), ("esp32c3", "ESP32-C3", 5),
    ("esp32c6", "ESP32-C6", 13), ("esp8266", "ESP8266", None),
])
def test_inspect_image_reads_the_chip_from_the_header(image_file, chip, name, chip_id):
    info = flashing.inspect_image(image_file(chip))
    assert (info.is_esp_image, info.chip, info.chip_id) == (True, name, chip_id)


def test_inspect_image_recognises_esp8266_v2_images_and_non_images(tmp_path):
    v2 = tmp_path / "v2.bin"
    v2.write_bytes(b"\xea\x04\x00\x00" + bytes(60))
    data = tmp_path / "data.bin"
    data.write_bytes(b"\x00" * 100)
    assert flashing.inspect_image(v2).chip == "ESP8266"
    assert not flashing.inspect_image(data).is_esp_image


def test_inspect_image_of_a_missing_or_empty_file(tmp_path):
    with pytest.raises(FlashError, match="not found"):
        flashing.inspect_image(tmp_path / "nope.bin")
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(FlashError, match="empty"):
        flashing.inspect_image(tmp_path / "empty.bin")


@pytest.mark.parametrize("chip, offset", [
    ("ESP32", 0x1000), ("ESP8266", 0x0), ("ESP32-S2", 0x1000),
    ("ESP32-S3", 0x0), ("ESP32-C3", 0x0), ("ESP32-C6", 0x0),
])
def test_default_offset_is_where_the_rom_boots_from(chip, offset):
    assert flashing.default_offset(chip) == offset


def test_reset_modes_on_a_pty_send_no_reset():
    with EspSimulator("esp32") as sim:
        assert resolve_reset_modes(sim.port, "auto", "auto") == ("no-reset", "no-reset-stub")
    assert resolve_reset_modes("/dev/null", "auto", "auto") == ("default-reset", "hard-reset")


# --- flashing -------------------------------------------------------------------------------

def test_flash_image_writes_at_the_chip_offset_and_verifies(image_file):
    path = image_file("esp32")
    progress = Recorder()
    with EspSimulator("esp32") as sim:
        result = flashing.flash_image(sim.port, path, progress=progress)
        written = bytes(sim.flash[0x1000:0x1000 + os.path.getsize(path)])
    assert (result.chip, result.offset, result.verified) == ("ESP32", 0x1000, True)
    assert written == open(path, "rb").read()
    assert progress.stages == ["connecting", "erasing", "writing", "verifying"]
    writing = [(done, total) for stage, done, total in progress.calls if stage == "writing"]
    assert writing[-1][0] == writing[-1][1]
    assert progress.calls[-1] == ("verifying", 1, 1)


def test_flash_image_on_esp8266_goes_to_0_and_reads_back(image_file, tmp_path):
    path = image_file("esp8266")
    image = open(path, "rb").read()
    with EspSimulator("esp8266") as sim:
        result = flashing.flash_image(sim.port, path)
        size = flashing.read_flash(sim.port, tmp_path / "back.bin", size=len(image))
    back = (tmp_path / "back.bin").read_bytes()
    assert (result.chip, result.offset, size) == ("ESP8266", 0, len(image))
    # esptool fills in the detected flash size in header bytes 2-3 (BOARD-FACTS).
    assert back[:2] == image[:2] and back[4:] == image[4:]


def test_offset_overrides_and_data_files_may_go_elsewhere(tmp_path):
    data = tmp_path / "vfs.img"
    data.write_bytes(PAYLOAD)
    with EspSimulator("esp32") as sim:
        result = flashing.flash_image(sim.port, data, offset=0x200000)
        assert bytes(sim.flash[0x200000:0x200000 + len(PAYLOAD)]) == PAYLOAD
    assert result.offset == 0x200000


def test_image_for_another_chip_is_refused_naming_both(image_file):
    with EspSimulator("esp32") as sim:
        with pytest.raises(FlashError) as refused:
            flashing.flash_image(sim.port, image_file("esp32s3"))
        assert str(refused.value) == ("This image is for ESP32-S3 but the board is an ESP32; "
                                      "use --force to flash it anyway.")
        assert sim.flash == b"\xff" * len(sim.flash)
        flashing.flash_image(sim.port, image_file("esp32s3"), force=True)
        assert sim.flash[0x1000] == 0xE9


def test_esp8266_image_is_refused_on_an_esp32(image_file):
    with EspSimulator("esp32") as sim:
        with pytest.raises(FlashError, match="for ESP8266 but the board is an ESP32"):
            flashing.flash_image(sim.port, image_file("esp8266"))


def test_expected_chip_is_checked(image_file):
    with EspSimulator("esp8266") as sim:
        with pytest.raises(FlashError, match="The board is an ESP8266, not an ESP32"):
            flashing.flash_image(sim.port, image_file("esp8266"), expect_chip="ESP32")


def test_non_image_at_the_boot_offset_is_refused(tmp_path):
    data = tmp_path / "notes.txt"
    data.write_bytes(b"hello, not firmware\n")
    with EspSimulator("esp32") as sim:
        with pytest.raises(FlashError, match="not an ESP firmware image"):
            flashing.flash_image(sim.port, data)


def test_image_too_big_for_the_flash_is_one_esptool_line(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(make_image("esp32", bytes(1024 * 1024)))
    with EspSimulator("esp32", flash_size=1024 * 1024) as sim:
        with pytest.raises(FlashError) as failure:
            flashing.flash_image(sim.port, big)
    assert str(failure.value).startswith("esptool: ") and "will not fit" in str(failure.value)
    assert "\n" not in str(failure.value)


# --- erase, read, info ----------------------------------------------------------------------

def test_erase_wipes_everything(image_file):
    progress = Recorder()
    with EspSimulator("esp32", flash_size=1024 * 1024) as sim:
        flashing.flash_image(sim.port, image_file("esp32"))
        assert flashing.erase(sim.port, progress=progress) == "ESP32"
        assert sim.flash == b"\xff" * len(sim.flash)
    assert progress.stages == ["connecting", "erasing"]


def test_read_flash_defaults_to_the_whole_flash(tmp_path):
    with EspSimulator("esp32", flash_size=1024 * 1024) as sim:
        sim.nor.program(0x3000, PAYLOAD)
        size = flashing.read_flash(sim.port, tmp_path / "all.bin")
        assert (tmp_path / "all.bin").read_bytes() == bytes(sim.flash)
    assert size == 1024 * 1024


@pytest.mark.parametrize("chip, description, mac, crystal", [
    ("esp32", "ESP32-D0WD-V3 (revision v3.0)", "24:0a:c4:12:34:56", 40),
    ("esp8266", "ESP8266EX", "18:fe:34:a1:b2:c3", 26),
])
def test_chip_info(chip, description, mac, crystal):
    with EspSimulator(chip) as sim:
        info = flashing.chip_info(sim.port)
    assert (info.description, info.mac, info.crystal_mhz, info.flash_size) == (description, mac, crystal, "4MB")


# --- failures -------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["silent", "app"])
def test_board_not_in_bootloader_says_how_to_get_there(mode):
    with EspSimulator("esp32", mode=mode, firmware="banner") as sim:
        with pytest.raises(FlashError) as failure:
            flashing.chip_info(sim.port)
    assert str(failure.value) == no_sync_message(sim.port)
    assert "hold BOOT (GPIO0) and press RESET (EN)" in str(failure.value)


def test_missing_port():
    with pytest.raises(FlashError, match=r"Port /dev/ttyUSB97 does not exist"):
        flashing.chip_info("/dev/ttyUSB97")


def test_busy_port():
    with EspSimulator("esp32") as sim:
        with serial.Serial(sim.port, exclusive=True):
            with pytest.raises(FlashError, match="is busy"):
                flashing.chip_info(sim.port)


def test_esptool_logger_is_put_back_even_after_a_failure():
    before = EspLog.instance
    with pytest.raises(FlashError):
        flashing.chip_info("/dev/ttyUSB97")
    with EspSimulator("esp32") as sim:
        flashing.chip_info(sim.port)
    assert EspLog.instance is before
