#!/usr/bin/env bash
# Sets up, then runs the first-steps notebook on the virtual board and shows its output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
.venv/bin/python tools/run_notebook.py "${1:-notebooks/00-first-steps.ipynb}"
