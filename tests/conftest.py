"""Shared test setup.

The console scripts (vta-asm, vta-tlm, vta-rtl, vta-fpga) live next to the interpreter that runs
the tests (``.venv/bin`` after ``bash setup.sh``), which need not be on PATH: put it first.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
