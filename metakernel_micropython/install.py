"""Installs the `micropython` kernelspec so that Jupyter lists "MicroPython"."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

KERNEL_NAME = "micropython"


def kernel_spec() -> dict[str, object]:
    return {
        "argv": [sys.executable, "-m", "metakernel_micropython", "-f", "{connection_file}"],
        "display_name": "MicroPython",
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": False},
    }


def install(user: bool = False, prefix: str | None = None) -> str:
    """Install the kernelspec; returns the folder it went to."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "kernel.json").write_text(json.dumps(kernel_spec(), indent=1))
        return KernelSpecManager().install_kernel_spec(folder, KERNEL_NAME, user=user, prefix=prefix)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m metakernel_micropython install",
                                     description="Install the MicroPython kernelspec for Jupyter.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for the current user only")
    where.add_argument("--sys-prefix", action="store_true", help="into this Python environment (sys.prefix)")
    where.add_argument("--prefix", help="under this prefix")
    options = parser.parse_args(argv)
    prefix = sys.prefix if options.sys_prefix else options.prefix
    destination = install(user=options.user, prefix=prefix)
    print(f"Installed the MicroPython kernelspec in {destination}")
