"""The ESP simulator against the real esptool: its command line and its Python API."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import pytest
from esptool.cmds import attach_flash, detect_chip, read_flash, reset_chip, run_stub, write_flash

from testbeds.esp_images import make_image
from testbeds.esp_simulator import EspSimulator, SlipDecoder, slip_encode
from testbeds.nor_flash import NorFlash

PAYLOAD = random.Random(6).randbytes(64 * 1024)


def esptool(port: str, *args: str) -> subprocess.CompletedProcess[str]:
    # A pty has no DTR/RTS: esptool cannot reset the chip, so it must not try (BOARD-FACTS).
    command = [sys.executable, "-m", "esptool", "--port", port,
               "--before", "no-reset", "--after", "no-reset", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def read_back(port: str, tmp_path, offset: int, size: int) -> bytes:
    out = tmp_path / "back.bin"
    result = esptool(port, "read-flash", hex(offset), str(size), str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    return out.read_bytes()


# --- NOR flash ------------------------------------------------------------------------------

def test_nor_flash_erase_sets_ff_and_program_only_clears_bits():
    nor = NorFlash(0x4000)
    nor.program(0x1000, b"\x0f\xf0")
    assert nor.read(0x1000, 2) == b"\x0f\xf0"
    nor.program(0x1000, b"\xf0\xff")  # no erase in between: old & new
    assert nor.read(0x1000, 2) == b"\x00\xf0"
    nor.erase_range(0x1800, 1)  # touches one sector: the whole sector is erased
    assert nor.read(0x1000, 0x1000) == b"\xff" * 0x1000
    assert nor.read(0, 0x1000) == b"\xff" * 0x1000


def test_nor_flash_refuses_access_past_the_end():
    nor = NorFlash(0x2000)
    with pytest.raises(IndexError):
        nor.program(0x1FFF, b"ab")


def test_slip_frames_survive_escapes_split_across_reads():
    payloads = [b"\xc0\xdb\xdb\xdc\xdd" + PAYLOAD[:n] for n in (0, 1, 100, 3000)]
    stream = b"boot noise" + b"".join(slip_encode(payload) for payload in payloads)
    decoder = SlipDecoder()
    frames = []
    for start in range(0, len(stream), 7):
        frames += decoder.feed(stream[start:start + 7])
    assert frames == payloads


# --- chip detection -------------------------------------------------------------------------

@pytest.mark.parametrize("chip, name, mac", [
    ("esp32", "ESP32", "24:0a:c4:12:34:56"),
    ("esp8266", "ESP8266", "18:fe:34:a1:b2:c3"),
    ("esp32s3", "ESP32-S3", "7c:df:a1:00:00:01"),  # detected through GET_SECURITY_INFO
])
def test_esptool_detects_the_chip(chip, name, mac):
    with EspSimulator(chip) as sim:
        result = esptool(sim.port, "chip-id")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Detecting chip type... {name}" in result.stdout
    assert mac in result.stdout


def test_flash_id_reports_the_simulated_flash_size():
    with EspSimulator("esp32", flash_size=8 * 1024 * 1024) as sim:
        result = esptool(sim.port, "flash-id")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Detected flash size: 8MB" in result.stdout


# --- writing and reading --------------------------------------------------------------------

@pytest.mark.parametrize("chip", ["esp32", "esp8266"])
@pytest.mark.parametrize("compression", ["--compress", "--no-compress"])
def test_write_flash_then_read_flash_gives_the_same_bytes(chip, compression, tmp_path):
    image = tmp_path / "random.bin"
    image.write_bytes(PAYLOAD)
    with EspSimulator(chip) as sim:
        result = esptool(sim.port, "write-flash", compression, "0x10000", str(image))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Hash of data verified." in result.stdout
        assert bytes(sim.flash[0x10000:0x10000 + len(PAYLOAD)]) == PAYLOAD
        assert read_back(sim.port, tmp_path, 0x10000, len(PAYLOAD)) == PAYLOAD


def test_rom_loader_without_stub_writes_and_reads(tmp_path):
    image = tmp_path / "random.bin"
    image.write_bytes(PAYLOAD[:8192])
    with EspSimulator("esp32") as sim:
        result = esptool(sim.port, "--no-stub", "write-flash", "0x3000", str(image))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Hash of data verified." in result.stdout
        out = tmp_path / "back.bin"
        result = esptool(sim.port, "--no-stub", "read-flash", "0x3000", "8192", str(out))
        assert result.returncode == 0, result.stdout + result.stderr
        assert out.read_bytes() == PAYLOAD[:8192]


def test_image_at_the_bootloader_offset_matches_but_for_header_and_digest(tmp_path):
    firmware = make_image("esp32", PAYLOAD[:4096])
    image = tmp_path / "firmware.bin"
    image.write_bytes(firmware)
    with EspSimulator("esp32") as sim:
        result = esptool(sim.port, "write-flash", "--flash-size", "detect", "0x1000", str(image))
        assert result.returncode == 0, result.stdout + result.stderr
        written = bytes(sim.flash[0x1000:0x1000 + len(firmware)])
    # esptool rewrites flash mode/size (bytes 2-3), then the SHA-256 appended to the image.
    assert written[3] >> 4 == 0x2  # 4MB
    assert written[:2] == firmware[:2] and written[4:-32] == firmware[4:-32]


def test_writing_without_erase_would_corrupt_so_the_loader_erases(tmp_path):
    image = tmp_path / "ones.bin"
    image.write_bytes(b"\x0f" * 4096)
    with EspSimulator("esp32") as sim:
        sim.nor.program(0x5000, b"\xf0" * 4096)  # old content whose bits would survive
        result = esptool(sim.port, "write-flash", "0x5000", str(image))
        assert result.returncode == 0, result.stdout + result.stderr
        assert bytes(sim.flash[0x5000:0x6000]) == b"\x0f" * 4096


def test_erase_flash_leaves_all_ff(tmp_path):
    image = tmp_path / "random.bin"
    image.write_bytes(PAYLOAD[:4096])
    with EspSimulator("esp32", flash_size=1024 * 1024) as sim:
        assert esptool(sim.port, "write-flash", "0x8000", str(image)).returncode == 0
        result = esptool(sim.port, "erase-flash")
        assert result.returncode == 0, result.stdout + result.stderr
        assert sim.flash == b"\xff" * 1024 * 1024


def test_erase_region_erases_only_its_sectors(tmp_path):
    image = tmp_path / "random.bin"
    image.write_bytes(PAYLOAD[:0x3000])
    with EspSimulator("esp8266") as sim:
        assert esptool(sim.port, "write-flash", "0x10000", str(image)).returncode == 0
        result = esptool(sim.port, "erase-region", "0x11000", "0x1000")
        assert result.returncode == 0, result.stdout + result.stderr
        assert bytes(sim.flash[0x11000:0x12000]) == b"\xff" * 0x1000
        assert bytes(sim.flash[0x10000:0x11000]) == PAYLOAD[:0x1000]
        assert bytes(sim.flash[0x12000:0x13000]) == PAYLOAD[0x2000:0x3000]


# --- the Python API ------------------------------------------------------------------------

def test_esptool_python_api_round_trip():
    with EspSimulator("esp32") as sim:
        esp = detect_chip(sim.port, connect_mode="no-reset")
        try:
            esp = run_stub(esp)
            attach_flash(esp)
            write_flash(esp, [(0x20000, PAYLOAD)])
            assert read_flash(esp, 0x20000, len(PAYLOAD)) == PAYLOAD
            reset_chip(esp, "no-reset")
        finally:
            esp._port.close()


# --- a board that is not in its bootloader ------------------------------------------------

@pytest.mark.parametrize("mode", ["app", "silent"])
def test_board_not_in_bootloader_does_not_sync(mode):
    with EspSimulator("esp32", mode=mode) as sim:
        result = esptool(sim.port, "--connect-attempts", "1", "chip-id")
    assert result.returncode != 0
    assert "Failed to connect" in result.stdout + result.stderr


def test_board_running_firmware_prints_its_banner():
    with EspSimulator("esp32", firmware="banner") as sim:
        sim.nor.program(0x1000, make_image("esp32", b"app"))
        sim.reset()
        with open(sim.port, "rb", buffering=0) as port:
            seen = b""
            deadline = time.monotonic() + 5
            while b">>> " not in seen and time.monotonic() < deadline:
                seen += os.read(port.fileno(), 1024)
    assert b"boot:0x13 (SPI_FAST_FLASH_BOOT)" in seen
    assert b"MicroPython" in seen


def test_auto_reset_enters_the_bootloader_and_boots_after_flashing(tmp_path):
    image = tmp_path / "firmware.bin"
    image.write_bytes(make_image("esp32", PAYLOAD[:4096]))
    with EspSimulator("esp32", mode="app", auto_reset=True, firmware="banner") as sim:
        result = esptool(sim.port, "write-flash", "0x1000", str(image))
        assert result.returncode == 0, result.stdout + result.stderr
        deadline = time.monotonic() + 5
        while sim.mode != "app" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sim.mode == "app"  # closing the port after flashing booted the new image
        assert sim.boot_count == 2


def test_paced_link_still_flashes(tmp_path):
    image = tmp_path / "small.bin"
    image.write_bytes(PAYLOAD[:2048])
    with EspSimulator("esp32", paced=True) as sim:
        result = esptool(sim.port, "--baud", "921600", "write-flash", "0x9000", str(image))
        assert result.returncode == 0, result.stdout + result.stderr
        assert bytes(sim.flash[0x9000:0x9800]) == PAYLOAD[:2048]


def test_command_line_prints_the_port_and_serves():
    process = subprocess.Popen([sys.executable, "-m", "testbeds.esp_simulator", "--chip", "esp8266"],
                               stdout=subprocess.PIPE, text=True)
    try:
        port = process.stdout.readline().strip()
        result = esptool(port, "chip-id")
        assert "Detecting chip type... ESP8266" in result.stdout
    finally:
        process.terminate()
        process.wait(timeout=10)
