"""Run many hostile command lines in one measured subprocess (for tests/test_hostile_*.py).

``run_cases(cases, cwd)`` starts one Python process that calls each tool's ``main(argv)``
in turn (the real CLI entry points, as the console scripts do), captures its exit code,
stdout and stderr, and times it; the child reports its own peak RSS (``VmHWM`` of
/proc/self/status: the process that reads the hostile input, not the compilers or simulators
a valid RTL run starts. Not ``ru_maxrss``: Linux carries the forking parent's peak, here
pytest's, across fork and exec). Address space is measured, not capped: RLIMIT_AS breaks numpy's import. One
process for a whole batch keeps the tests fast.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

MAX_RSS_BYTES = 1 << 30     # every case: peak RSS under 1 GiB ...
MAX_SECONDS = 20.0          # ... and under 20 s

_DRIVER = r"""
import contextlib, io, json, sys, time, traceback
mains = {}
def main_of(tool):
    if tool not in mains:
        mod = {"vta-asm": "vta.assembler.cli", "vta-tlm": "vta.tlm.cli", "vta-rtl": "vta.cosim.cli"}[tool]
        mains[tool] = __import__(mod, fromlist=["main"]).main
    return mains[tool]
results = []
for tool, argv in json.load(sys.stdin):
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main_of(tool)(argv)
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 2
        except BaseException:
            rc = "traceback"
            err.write(traceback.format_exc())
    results.append({"rc": rc, "out": out.getvalue()[-20000:], "err": err.getvalue()[-20000:],
                    "seconds": time.perf_counter() - t0})
hwm = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")]
print(json.dumps({"results": results, "rss": int(hwm[0]) * 1024}))
"""


def run_cases(cases, cwd=None, env=None):
    """[(tool, [args...])] -> [{"rc", "out", "err", "seconds"}], and asserts the bounds."""
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _DRIVER],
                          input=json.dumps([(t, [str(a) for a in argv]) for t, argv in cases]),
                          capture_output=True, text=True, cwd=cwd, timeout=MAX_SECONDS * len(cases) + 30,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})
    wall = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    results, rss = doc["results"], doc["rss"]
    assert rss < MAX_RSS_BYTES, f"peak RSS {rss >> 20} MiB"
    for (tool, argv), r in zip(cases, results):
        assert r["seconds"] < MAX_SECONDS, f"{tool} {argv}: {r['seconds']:.1f} s"
    run_cases.last = {"wall": wall, "rss_mib": rss >> 20, "cases": len(cases),
                      "slowest": max((r["seconds"] for r in results), default=0.0)}
    return results


def assert_clean_error(result, *needles):
    """Exit code 2, no traceback, one short message holding every needle."""
    msg = result["err"]
    assert result["rc"] == 2, result
    assert "Traceback" not in msg and "traceback" != result["rc"], msg
    assert len(msg) < 3000, f"message of {len(msg)} characters"
    for n in needles:
        assert n in msg, (n, msg)
    return msg


def listing(root):
    """Every path under ``root`` (relative), to compare before and after a run."""
    root = Path(root)
    return {str(p.relative_to(root)) for p in root.rglob("*")}
