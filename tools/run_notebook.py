"""Executes a notebook with the MicroPython kernel and prints each cell with its output.

    python tools/run_notebook.py notebooks/00-first-steps.ipynb

Cells tagged `hardware-only` need a real board: they are shown but not run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HARDWARE_ONLY = "hardware-only"


def output_text(output: dict) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return output.get("text", "")
    if kind in ("execute_result", "display_data"):
        data = output.get("data", {})
        return data.get("text/plain", "[" + ", ".join(data) + "]") + "\n"
    if kind == "error":
        return "\n".join(output.get("traceback", [])) + "\n"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", type=Path)
    options = parser.parse_args()
    notebook = nbformat.read(options.notebook, as_version=4)
    skipped = {id(cell) for cell in notebook.cells if HARDWARE_ONLY in cell.get("metadata", {}).get("tags", [])}
    all_cells = list(notebook.cells)
    notebook.cells = [cell for cell in all_cells if id(cell) not in skipped]
    client = NotebookClient(notebook, kernel_name="micropython", timeout=300,
                            resources={"metadata": {"path": str(options.notebook.parent)}})
    failed = None
    try:
        client.execute()
    except CellExecutionError as error:
        failed = error
    for index, cell in enumerate(all_cells, 1):
        if cell.cell_type != "code":
            continue
        print(f"[cell {index}]" + ("   (needs a real board: not run here)" if id(cell) in skipped else ""))
        print("    " + cell.source.replace("\n", "\n    "))
        text = "".join(output_text(output) for output in cell.get("outputs", []))
        if text.strip():
            print("Out:")
            print("    " + text.rstrip("\n").replace("\n", "\n    "))
        print()
    if failed is not None:
        print(f"The notebook stopped with an error: {str(failed).splitlines()[-1] if str(failed) else failed}")
        return 1
    print(f"{options.notebook}: every cell ran.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
