"""Issue 3: cells run on a real MicroPython, through the kernel as Jupyter drives it.

Every test here runs on both testbeds: the virtual board (unix port, raw-paste) and the
micro:bit under QEMU (MicroPython 1.9.2, plain raw REPL only).
"""
from __future__ import annotations

import threading

import pytest

from kernel_driver import KernelSession


def test_expression_value_is_shown_as_out(board_kernel: KernelSession) -> None:
    result = board_kernel.run("1+1")
    assert result.status == "ok"
    assert result.result == "2"
    assert result.stdout == ""


@pytest.mark.parametrize("code", ["x = 1", "print(3)", "import os", "for i in range(2):\n    i"])
def test_statements_show_no_out(board_kernel: KernelSession, code: str) -> None:
    result = board_kernel.run(code)
    assert result.status == "ok"
    assert result.result is None


def test_print_output_and_value_together(board_kernel: KernelSession) -> None:
    result = board_kernel.run("print('hello')\nx = 6\nx * 7")
    assert result.stdout == "hello\n"
    assert result.result == "42"


def test_device_exception_becomes_jupyter_error_with_cell_line_numbers(board_kernel: KernelSession) -> None:
    result = board_kernel.run("a = 1\nb = 0\nprint('before')\na / b")
    assert result.status == "error"
    assert result.stdout == "before\n"
    assert result.error["ename"] == "ZeroDivisionError"
    assert "line 4" in result.error_text


def test_state_persists_between_cells(board_kernel: KernelSession) -> None:
    board_kernel.run("counter = 10")
    board_kernel.run("counter += 5")
    assert board_kernel.run("counter").result == "15"


def test_large_cell_arrives_intact(board_kernel: KernelSession, request: pytest.FixtureRequest) -> None:
    board_kernel.run("%reboot", timeout=120)  # the micro:bit is shared: start with all of its RAM
    # 20 KB of source; comments cost the micro:bit no RAM when compiling.
    filler = "# " + "padding " * 10 + "\n"
    lines = ["total = 0"]
    for number in range(120):
        lines.append(f"total += {number}")
        lines.append(filler.strip())
    source = "\n".join(lines) + "\n"
    source += "".join(filler for _ in range((20_000 - len(source)) // len(filler) + 1))
    source += "total"
    assert len(source) >= 20_000
    result = board_kernel.run(source, timeout=180)
    assert result.status == "ok", result.error_text
    assert result.result == str(sum(range(120)))


def test_output_streams_while_the_cell_runs(board_kernel: KernelSession) -> None:
    shown_so_far: list[str] = []  # the cell's output as the notebook showed it, after each message
    code = "import time\nfor i in range(4):\n    print('tick', i)\n    time.sleep(0.5)"

    def note_output(message: dict) -> None:
        if message["msg_type"] == "stream":
            shown_so_far.append((shown_so_far[-1] if shown_so_far else "") + message["content"]["text"])

    board_kernel.client.execute_interactive(code, output_hook=note_output, timeout=60)
    # Each line appeared in a message of its own, before the next was printed, not all at the end.
    first_seen = [next(index for index, text in enumerate(shown_so_far) if f"tick {line}\n" in text)
                  for line in range(4)]
    assert first_seen == sorted(set(first_seen))
    assert shown_so_far[-1] == "".join(f"tick {line}\n" for line in range(4))


def test_interrupt_stops_an_endless_loop_and_the_next_cell_runs(board_kernel: KernelSession) -> None:
    timer = threading.Timer(1.5, board_kernel.interrupt)
    timer.start()
    result = board_kernel.run("while True:\n    pass", timeout=60)
    timer.join()
    assert result.status == "error"
    assert result.error["ename"] == "KeyboardInterrupt"
    after = board_kernel.run("print('still here')")
    assert after.stdout == "still here\n"


def test_reboot_prints_banner_and_leaves_connection_ready(board_kernel: KernelSession) -> None:
    board_kernel.run("forgotten = 1")
    result = board_kernel.run("%reboot", timeout=120)
    assert result.status == "ok", result.error_text
    assert "MicroPython" in result.stdout
    after = board_kernel.run("'forgotten' in globals()")
    assert after.result == "False"
    assert board_kernel.run("%rebootdevice", timeout=120).status == "ok"


def test_disconnect_then_cell_says_how_to_connect(board_kernel: KernelSession) -> None:
    result = board_kernel.run("%disconnect")
    assert "Disconnected" in result.stdout
    cell = board_kernel.run("1+1")
    assert cell.status == "error"
    assert "%serialconnect" in cell.error_text


def test_cell_too_large_for_a_micro_bit_is_refused_clearly(microbit_kernel: KernelSession) -> None:
    # 6 KB of real code would hang the micro:bit's raw REPL (it holds the cell in 8 KB of RAM).
    source = "\n".join(f"value_{number} = {number}" for number in range(400))
    result = microbit_kernel.run(source, timeout=120)
    assert result.status == "error"
    assert "RAM free" in result.error_text and "%sendtofile" in result.error_text
    assert microbit_kernel.run("print('fine')").stdout == "fine\n"


def test_connecting_leaves_the_users_globals_alone(board_kernel: KernelSession) -> None:
    board_kernel.run("%reboot", timeout=120)
    names = board_kernel.run("sorted(k for k in globals() if not k.startswith('__'))").result
    assert names == "[]"
