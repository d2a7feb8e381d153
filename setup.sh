#!/usr/bin/env bash
# Set up vta-cosim on a fresh Debian/Ubuntu machine (as root, or with sudo):
#   - simulators and synthesis from apt (Icarus Verilog, Yosys, ccache, tcl for the Vivado-flow
#     checks; python3-venv if missing),
#   - a virtual environment in .venv/ holding the package (editable) and its dev tools, with
#     the versions pinned in constraints.txt.
# The system Python is never modified (PEP 668 "externally managed" Pythons work as they are).
# Use the tools as .venv/bin/vta-tlm, .venv/bin/python -m pytest, ... (or source .venv/bin/activate).
# PYTHON=/path/to/python3 picks the interpreter the venv is made from (default: python3).
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
VENV=.venv
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_packages=$(sed -n 's/^# apt: //p' constraints.txt)
names=""
for p in $apt_packages; do names="$names ${p%%=*}"; done
need_venv=0
"$PY" -c "import ensurepip, venv" 2>/dev/null || need_venv=1
missing=0
for n in $names; do dpkg -s "$n" >/dev/null 2>&1 || missing=1; done
if [ "$missing" -eq 1 ] || [ "$need_venv" -eq 1 ]; then
  extra=""
  [ "$need_venv" -eq 0 ] || extra="python3-venv"
  echo "setup: apt-get install$names $extra" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $names $extra >/dev/null
fi
for p in $apt_packages; do
  case "$p" in *=*)
    have=$(dpkg-query -W -f='${Version}' "${p%%=*}" 2>/dev/null || true)
    [ "$have" = "${p#*=}" ] || echo "setup: warning: ${p%%=*} $have installed; figures in the docs were measured with ${p#*=}" >&2
  esac
done

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
echo "vta-cosim installed in $VENV: $VENV/bin/vta-asm $VENV/bin/vta-tlm $VENV/bin/vta-rtl $VENV/bin/vta-fpga $VENV/bin/vta-net $VENV/bin/vta-dse"
