"""Registry of the built-in workloads (``vta-tlm list`` / ``--workload NAME``).

Each entry builds a Program for a given config; all run on the default and the tiny
config. ``default`` is the README's main job.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from vta.isa import VTAError, load_config

from .alu import ALU_OPS, alu_program
from .gemm import blocked_gemm, blocked_shape, plain_gemm
from .loads import padded_load_program


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    build: Callable  # build(cfg) -> Program


def _describe_blocked(cfg, vt, bias):
    size, block = blocked_shape(cfg, vt)
    init = "bias via ACC load" if bias else "reset GEMM"
    return f"blocked {size}x{size}x{size} GEMM, blocks of {block}, {vt} virtual thread(s), {init}"


def _registry():
    reg = {}

    def add(name, desc, fn):
        reg[name] = Workload(name, desc, fn)

    add("default", "blocked 256^3 int8 GEMM with bias and latency hiding (2 virtual threads; "
        "scaled down for small configs)",
        lambda cfg: blocked_gemm(cfg, vt=2, bias=True, name="default"))
    for vt in (1, 2):
        add(f"gemm_blocked_vt{vt}", f"Apache blocked GEMM, {vt} virtual thread(s), reset-initialized",
            lambda cfg, vt=vt: blocked_gemm(cfg, vt=vt, bias=False))
    add("gemm_4x4", "plain GEMM over 4x4 blocks (reset, GEMM, store)", lambda cfg: plain_gemm(cfg))
    add("load_pad", "padded 2-D INP and ACC loads of a strided window (pads 1,2,1,3)",
        lambda cfg: padded_load_program(cfg))
    for op in ALU_OPS:
        for use_imm in (True, False):
            for compress in (True, False):
                kind = "vector-scalar" if use_imm else "vector-vector"
                n = f"alu_{op}_{'vs' if use_imm else 'vv'}{'' if compress else '_nouc'}"
                add(n, f"ALU {op.upper()} {kind}, {'with' if compress else 'without'} uop compression",
                    lambda cfg, op=op, u=use_imm, c=compress: alu_program(cfg, op, u, c))
    return reg


WORKLOADS = _registry()


def workload_names():
    return list(WORKLOADS)


def describe(name, cfg=None):
    """One-line description; with a config, blocked GEMMs name their actual size."""
    w = WORKLOADS[name]
    if cfg is not None and name.startswith(("default", "gemm_blocked")):
        vt = 1 if name.endswith("vt1") else 2
        try:
            return _describe_blocked(cfg, vt, name == "default")
        except VTAError:
            pass
    return w.description


def build_workload(name, config="default"):
    """The Program of built-in workload ``name`` for ``config``."""
    if name not in WORKLOADS:
        raise VTAError(f"unknown workload '{name}' (built-in: {', '.join(WORKLOADS)})")
    return WORKLOADS[name].build(load_config(config))


def default_workload(config="default"):
    return build_workload("default", config)
