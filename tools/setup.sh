#!/usr/bin/env bash
# Sets up everything this project needs on a fresh Debian/Ubuntu machine (or macOS without
# the Debian parts): system packages for the testbeds, a virtual environment in .venv with
# the kernel installed editable, and the `micropython` kernelspec inside that environment.
#
#   bash tools/setup.sh          the kernel and what the notebooks need
#   bash tools/setup.sh --test   also the test tools and every testbed
set -euo pipefail
cd "$(dirname "$0")/.."

extras="notebooks"
debian_packages=()
if [[ "${1:-}" == "--test" ]]; then
    extras="test"
    # The micro:bit under QEMU and the browser the UI tests drive.
    debian_packages=(qemu-system-arm firmware-microbit-micropython chromium)
fi

missing=()
if command -v dpkg >/dev/null 2>&1; then
    for package in "${debian_packages[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
fi
if (( ${#missing[@]} )); then
    sudo=""
    [[ $(id -u) == 0 ]] || sudo="sudo"
    echo "== installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    echo "== creating .venv"
    "$python" -m venv .venv
fi
echo "== installing metakernel_micropython[$extras] into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
.venv/bin/python -m metakernel_micropython install --sys-prefix
