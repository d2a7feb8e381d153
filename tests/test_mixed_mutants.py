"""The RTL really runs in a mix (issue 14): a planted bug in a unit's RTL (a mutant of
bench/mutants.py, applied to a copy of the package) changes the outputs or the cycles of
the mix that refines that unit, and leaves the pure-TLM run unchanged.

The mutated copy runs in a subprocess (PYTHONPATH puts the copy's ``vta`` before the
editable install); the unmutated figures come from this process, through the same
``measure``."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod   # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


MUT = _load("vta_bench_mutants", ROOT / "bench" / "mutants.py")

# unit -> (mutant in that unit's RTL, program that reaches the bug, mix)
PLANTED = {
    "fetch": ("rtl-wgt-load-to-compute", "gemm_4x4", ["fetch"]),
    "load": ("rtl-inp-x-pads-swapped", "load_pad", ["load"]),
    "compute-alu": ("rtl-alu-min-unsigned", "alu_min_vs", ["compute"]),   # imm -31849
    "compute-gemm": ("rtl-gemm-packed-borrow-lost", "gemm_4x4", ["compute"]),
    "store": ("rtl-store-row-step-is-size", "random-2", ["store"]),   # y_size 3, x_stride 6 != x_size 4
    # the GEMM/ALU cores inside a TLM compute unit (cosim/cores.py), when present
    "gemm": ("rtl-gemm-packed-borrow-lost", "gemm_4x4", ["gemm"]),
    "alu": ("rtl-alu-min-unsigned", "alu_min_vs", ["alu"]),
}


def cores_available():
    return importlib.util.find_spec("vta.cosim.cores") is not None


def measure(cases):
    """{label: {"tlm": ..., "mix": ..., "vta": vta's folder}} for cases [(label, program,
    mix units)]: each run as [cycles, digest of the outputs], or ["error", exception type]."""
    import vta
    from vta.compiler import build_workload
    from vta.compiler.fuzz import random_program
    from vta.cosim.mixed import run_mixed
    from vta.isa import VTAError, load_config
    from vta.tlm import run_program

    cfg = load_config("tiny")

    def build(name):
        if name.startswith("random-"):
            seed = int(name.split("-")[1])
            return random_program(cfg, seed, rounds=1 + seed % 5)   # as bench/fuzz_rtl.py draws it
        return build_workload(name, cfg)

    def summary(run):
        try:
            r = run()
        except VTAError as e:
            return ["error", type(e).__name__]
        h = hashlib.sha256()
        for name in sorted(r.outputs):
            h.update(name.encode() + r.outputs[name].tobytes())
        return [r.cycles, h.hexdigest()[:16]]

    out = {}
    for label, prog, units in cases:
        p = build(prog)
        out[label] = {"tlm": summary(lambda: run_program(p, cfg)),
                      "mix": summary(lambda: run_mixed(p, cfg, rtl=set(units))),
                      "vta": str(Path(vta.__file__).parent)}
    return out


def measure_mutated(mutant, cases, tmp):
    """``measure`` on a copy of the package with ``mutant`` applied, in a subprocess."""
    pkg = MUT.make_copy(tmp / mutant.name, MUT.source_files())
    MUT.mutate(mutant, pkg)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(pkg.parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import test_mixed_mutants as t; "
            "print(json.dumps(t.measure(json.loads(sys.argv[2]))))")
    proc = subprocess.run([sys.executable, "-c", code, str(pkg / "tests"), json.dumps(cases)],
                          capture_output=True, text=True, env=env, timeout=600, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    for r in res.values():   # the mutated copy ran, not this checkout
        assert Path(r["vta"]) == pkg, r["vta"]
    return res


@pytest.mark.slow
@pytest.mark.parametrize("unit", PLANTED)
def test_planted_rtl_bug_changes_the_mix_not_the_tlm(unit, tmp_path):
    name, prog, mix = PLANTED[unit]
    if unit in ("gemm", "alu") and not cores_available():
        pytest.skip("vta.cosim.cores (GEMM/ALU cores inside a TLM compute unit) not in this tree")
    mutant = {m.name: m for m in MUT.MUTANTS}[name]
    cases = [(unit, prog, mix)]
    clean = measure(cases)[unit]
    assert clean["mix"][0] != "error" and clean["tlm"][1] == clean["mix"][1]
    bad = measure_mutated(mutant, cases, tmp_path)[unit]
    assert bad["tlm"] == clean["tlm"], "the mutant reached the pure TLM"
    assert bad["mix"] != clean["mix"], f"{name} did not change the {'+'.join(mix)} mix"
