"""Shared test setup.

The console scripts (vta-asm, vta-tlm, vta-rtl, vta-fpga) live next to the interpreter that runs
the tests (``.venv/bin`` after ``bash setup.sh``), which need not be on PATH: put it first.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


import pytest  # noqa: E402

from vta.isa import load_config  # noqa: E402


@pytest.fixture(scope="session")
def tiny_cfg():
    """The small config most RTL tests use (1x4x4 GEMM, 32-bit bus)."""
    return load_config("tiny")


@pytest.fixture(scope="session")
def default_cfg():
    """Apache VTA's pynq config (1x16x16 GEMM, 64-bit bus)."""
    return load_config("default")


@pytest.fixture(scope="session")
def config(request):
    """A bundled config by name, for ``@pytest.mark.parametrize("config", [...], indirect=True)``."""
    return load_config(request.param)
