#!/usr/bin/env bash
# Make the virtual environment with the given Python. Debian ships `venv` without ensurepip
# unless python3.X-venv is installed: install it when missing (as ensure-chromium.sh does).
#
#   scripts/ensure-venv.sh python3 .venv
set -euo pipefail
python=$1 venv=$2
if ! "$python" -c "import ensurepip" 2>/dev/null; then
    package="python$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing $package for the virtual environment ..." >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$package" >/dev/null
fi
"$python" -m venv "$venv" || { rm -rf "$venv"; exit 1; }  # no half-made venv for the next run
