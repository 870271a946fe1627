"""Cell round trip on the virtual board, side by side in one run (issue 3).

Prints medians and ratios for:
  bare       the raw-paste exchange of `1+1` by a plain pyserial script (no Jupyter at all)
  floor      a trivial MetaKernel subclass answering `2` with no board, through jupyter_client
  kernel     this kernel's `1+1` (and `x = 1`) over the same serial relay to the same virtual board
  seed       the seed's jupyter_micropython_kernel on the same relay (if it is installed); it shows
             no value for `1+1`, so `x = 1` (no output from either) is the like-for-like cell
  start      kernel start to the first result (start, %serialconnect, 1+1)

Run:  python benchmarks/bench_roundtrip.py [--rounds 20] [--repeats 300]
"""
from __future__ import annotations

import argparse
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

import serial

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernels import kernel_from_argv, median_seconds, python_module_kernel, run_cell, stop, timings  # noqa: E402
from testbeds.serial_relay import VirtualBoardOnPty  # noqa: E402


def read_until(port: serial.Serial, ending: bytes, timeout: float = 10.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(ending):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the board did not answer {ending!r}; it printed {data[-200:]!r}")
        data += port.read(1)
    return data


def bare_raw_paste_exchange(port: serial.Serial) -> bytes:
    """What a minimal client does for one cell in raw-paste mode."""
    port.write(b"\x05A\x01")
    assert port.read(2) == b"R\x01"
    struct.unpack("<H", port.read(2))
    port.write(b"1+1")
    port.write(b"\x04")
    read_until(port, b"\x04")
    return read_until(port, b"\x04>")


def measure_bare(device: str, repeats: int) -> float:
    with serial.Serial(device, timeout=5) as port:
        port.write(b"\r\x03\x03\r\x01")
        read_until(port, b"raw REPL; CTRL-B to exit\r\n>")
        result = median_seconds(lambda: bare_raw_paste_exchange(port), repeats)
        port.write(b"\x02")
    return result


#: The cells timed on both kernels, with what each kernel shows below them.
CELLS = {
    "1+1": {"ours": "shows Out: 2", "seed": "shows nothing"},
    "x = 1": {"ours": "shows nothing", "seed": "shows nothing"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=300, help="cells timed per kernel and per cell")
    parser.add_argument("--rounds", type=int, default=20, help="alternations between this kernel and the seed's")
    options = parser.parse_args()

    with VirtualBoardOnPty(tempfile.mkdtemp(prefix="bench-board-")) as board:
        bare = measure_bare(board.port, options.repeats)

        manager, client = kernel_from_argv(
            "floor", [sys.executable, str(Path(__file__).with_name("floor_kernel.py")), "-f", "{connection_file}"])
        floor = median_seconds(lambda: run_cell(client, "1+1"), options.repeats)
        stop(manager, client)

        started = time.perf_counter()
        ours_kernel = python_module_kernel("ours", "metakernel_micropython")
        run_cell(ours_kernel[1], f"%serialconnect --port {board.port}")
        first = run_cell(ours_kernel[1], "1+1")
        start_to_first = time.perf_counter() - started
        assert any(out["msg_type"] == "execute_result" for out in first["outputs"]), first
        run_cell(ours_kernel[1], "%disconnect")

        try:
            seed_kernel = python_module_kernel("seed", "jupyter_micropython_kernel")
        except Exception as error:  # the seed's kernel is optional for this benchmark
            print(f"seed kernel not measured: {error}")
            seed_kernel = None

        # Rounds that alternate between the kernels, so a noisy moment of the machine
        # falls on both: one board, so each connects in turn.
        samples: dict[tuple[str, str], list[float]] = {}
        round_ratios: dict[str, list[float]] = {cell: [] for cell in CELLS}
        per_round = max(1, options.repeats // options.rounds)
        for _ in range(options.rounds):
            round_medians: dict[tuple[str, str], float] = {}
            for name, kernel, connect in (("ours", ours_kernel, f"%serialconnect --port {board.port}"),
                                          ("seed", seed_kernel, f"%serialconnect --port={board.port}")):
                if kernel is None:
                    continue
                run_cell(kernel[1], connect)
                for cell in CELLS:
                    run_cell(kernel[1], cell)
                    taken = timings(lambda: run_cell(kernel[1], cell), per_round)
                    samples.setdefault((name, cell), []).extend(taken)
                    round_medians[name, cell] = statistics.median(taken)
                run_cell(kernel[1], "%disconnect")
            if seed_kernel is not None:
                for cell in CELLS:
                    round_ratios[cell].append(round_medians["ours", cell] / round_medians["seed", cell])
        for kernel in (ours_kernel, seed_kernel):
            if kernel is not None:
                stop(*kernel)

    medians = {key: statistics.median(taken) for key, taken in samples.items()}
    print(f"{'what':<34}{'median ms':>10}")
    print(f"{'bare raw-paste exchange (pyserial)':<34}{bare * 1000:>10.2f}")
    print(f"{'framework floor (MetaKernel)':<34}{floor * 1000:>10.2f}")
    for cell, shows in CELLS.items():
        for name, label in (("ours", "this kernel"), ("seed", "seed kernel")):
            if (name, cell) in medians:
                print(f"{label + ', ' + cell:<34}{medians[name, cell] * 1000:>10.2f}   {shows[name]}")
    print(f"ratio this / (floor + bare) = {medians['ours', '1+1'] / (floor + bare):.2f}   (target <= 1.25)")
    for cell, ratios in round_ratios.items():
        if ratios:
            print(f"ratio this / seed, {cell:<9} = {medians['ours', cell] / medians['seed', cell]:.2f}   "
                  f"(per round {min(ratios):.2f} to {max(ratios):.2f}; target <= 1.0)")
    print(f"kernel start to first result = {start_to_first:.2f} s   (target <= 2 s)")


if __name__ == "__main__":
    main()
