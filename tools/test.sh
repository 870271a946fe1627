#!/usr/bin/env bash
# Sets up everything (system packages, .venv, testbeds), then runs the whole test suite.
# In CI (CI=true) a testbed that cannot start fails its tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --test
mkdir -p test-artifacts
status=0
# The long soak cases (marked slow) run with: .venv/bin/python -m pytest -m slow tests
.venv/bin/python -m pytest tests -m "not slow" -p no:cacheprovider -ra "$@" || status=$?
# pytest's 5 means "no test ran": for this project that is a failure too.
exit "$status"
