#!/usr/bin/env bash
# Install everything vta-cosim needs on a fresh Debian machine (run as root or with sudo):
# simulators and synthesis from apt, the package and its dev tools from PyPI.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v iverilog >/dev/null || ! command -v yosys >/dev/null || ! command -v ccache >/dev/null; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq iverilog yosys ccache >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
echo "vta-cosim installed: $(command -v vta-asm) $(command -v vta-tlm) $(command -v vta-rtl)"
