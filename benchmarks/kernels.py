"""Starting kernels for benchmarks from kernelspecs written to a temporary folder.

Temporary specs keep the seed's kernel (which names itself `micropython` too) from ever
replacing ours in the user's Jupyter.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

_SPEC_ROOT = Path(tempfile.mkdtemp(prefix="bench-kernels-"))


def kernel_from_argv(name: str, argv: list[str]) -> tuple[KernelManager, object]:
    folder = _SPEC_ROOT / name
    folder.mkdir(exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": name, "language": "python"}))
    manager = KernelManager(kernel_name=name, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(_SPEC_ROOT)]))
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return manager, client


def python_module_kernel(name: str, module: str) -> tuple[KernelManager, object]:
    return kernel_from_argv(name, [sys.executable, "-m", module, "-f", "{connection_file}"])


def run_cell(client: object, code: str, timeout: float = 60) -> dict:
    outputs: list[dict] = []
    reply = client.execute_interactive(code, output_hook=outputs.append, timeout=timeout)  # type: ignore[attr-defined]
    return {"reply": reply, "outputs": outputs}


def timings(action: Callable[[], object], repeats: int) -> list[float]:
    """Seconds taken by each of `repeats` calls of `action`."""
    taken = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        taken.append(time.perf_counter() - started)
    return taken


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    return statistics.median(timings(action, repeats))


def stop(manager: KernelManager, client: object) -> None:
    client.stop_channels()  # type: ignore[attr-defined]
    manager.shutdown_kernel(now=True)
