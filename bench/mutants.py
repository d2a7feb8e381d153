"""Mutation testing: plant known semantic bugs, one at a time, and check the tests catch them.

    python bench/mutants.py [--jobs N] [--only NAME[,NAME...]] [--list] [--timeout S]
                            [--out build/mutants] [--keep] [--min-rate 0.9]

Each mutant of ``MUTANTS`` is a list of exact-text edits (file, old text, new text) to the
package's sources. A mutant is applied to a fresh copy of the working tree (the files git
tracks or would track) in a temporary folder outside the checkout, ``TMP/<mutant>/vta``; the
copy is imported as ``vta`` through PYTHONPATH (it comes before the editable install's
finder, which only answers names that sys.path does not), and its tests run with
``pytest -x -p no:cacheprovider``. Logs go to ``OUT/logs/<mutant>.log``.
The RTL build cache is ``OUT/rtl-cache``, shared by the mutants but never the user's: its
key hashes vta.isa and vta.rtl (vta.cosim.sim.source_key), so a mutant that edits them gets
its own builds and the others reuse the unmutated ones.

Tests: the default set (``-m 'not slow'``), test files without RTL tests first so that most
kills are cheap; a mutant may name a subset (``tests``), to which the ISA and TLM test files
(``CORE_TESTS``) are always added.

A mutant is *killed* when a test fails; its first failing test id is reported, then rerun
alone on an unmutated copy: if it fails there too the kill does not count (``broken``).
A target text that is not found exactly once in the sources is an error before anything
runs (exit 2): a refactor must update the mutant, not silently drop it.

Prints each result as it comes, then the table and the kill rate; writes OUT/results.json.
Exit status: 0 kill rate >= --min-rate, 1 below it, 2 error.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CLASSES = {
    "field": "field position or width",
    "dep": "dependence flag or queue",
    "timing": "timing off by one",
    "int": "integer wrap or sign",
    "pad": "padding axis",
    "bypass": "pipeline bypass / hazard",
    "tokens": "token count",
}

# ISA and TLM test files: part of every mutant's run.
CORE_TESTS = ("test_isa_*.py", "test_tlm_*.py")


@dataclass(frozen=True)
class Mutant:
    name: str
    cls: str          # a key of CLASSES
    what: str         # the bug, in words
    edits: tuple      # ((path relative to the package root, old text, new text), ...)
    tests: tuple = () # test file globs (CORE_TESTS added); () = the whole default set
    note: str = ""    # why it survives, when it is known to


def M(name, cls, what, *edits, tests=(), note=""):
    return Mutant(name, cls, what, tuple(edits), tuple(tests), note)


MUTANTS = [
    # ---- the five planted bugs of issue 10 ------------------------------------------------
    M("isa-y-pad-swapped", "field", "y_pad_0/y_pad_1 bit positions swapped (Apache binary compatibility)",
      ("isa/layout.py", '("y_pad_0", PAD_W), ("y_pad_1", PAD_W)', '("y_pad_1", PAD_W), ("y_pad_0", PAD_W)')),
    M("tlm-alu-imm-zero-extended", "int", "ALU immediate zero-extended instead of sign-extended",
      ("tlm/compute.py", "rhs = np.int64(insn.imm) if insn.use_imm",
       "rhs = np.int64(insn.imm & 0xFFFF) if insn.use_imm")),
    M("tlm-x-pad-timing", "timing", "TLM charges one cycle less per row of left x-padding",
      ("tlm/load.py", "        w += xp0 * swc\n", "        w += xp0 * swc - (1 if xp0 else 0)\n")),
    M("tlm-compute-pops-swapped", "dep", "compute pops swapped: pop_prev <-> pop_next",
      ("tlm/compute.py",
       'if insn.pop_prev and not dep["l2g"].pop_now():\n                yield from self.pop_token("l2g")\n'
       '            if insn.pop_next and not dep["s2g"].pop_now():\n                yield from self.pop_token("s2g")',
       'if insn.pop_prev and not dep["s2g"].pop_now():\n                yield from self.pop_token("s2g")\n'
       '            if insn.pop_next and not dep["l2g"].pop_now():\n                yield from self.pop_token("l2g")')),
    M("rtl-bypass-ignores-gemm-reset", "bypass",
      "acc read bypass returns a reset GEMM's sum, while the buffer gets 0",
      ("rtl/writeback.py",
       "        if is_gemm and reset_f == 1:\n            acc_w.data.next = 0\n"
       "        else:\n            acc_w.data.next = res\n",
       "        acc_w.data.next = res\n"),
      ("rtl/writeback.py", "def acc_buffer(cfg, clk, load_busy, load_w, wb, rd):",
       "def acc_buffer(cfg, clk, load_busy, load_w, wb, rd, is_gemm, reset_f):"),
      ("rtl/writeback.py",
       "            port_w.addr.next = wb.addr\n            port_w.data.next = wb.data\n",
       "            port_w.addr.next = wb.addr\n            if is_gemm and reset_f == 1:\n"
       "                port_w.data.next = 0\n            else:\n                port_w.data.next = wb.data\n"),
      ("rtl/compute.py", "acc_mem = acc_buffer(cfg, clk, acc_busy, acc_ld_w, wb, acc_r)",
       'acc_mem = acc_buffer(cfg, clk, acc_busy, acc_ld_w, wb, acc_r, is_gemm, g["reset"])')),
    # ---- field position or width -----------------------------------------------------------
    M("isa-uop-end-width", "field", "uop_end one bit narrower (as wide as uop_bgn)",
      ("isa/layout.py", '("uop_end", lu + 1)', '("uop_end", lu)')),
    M("rtl-uop-dst-src-swapped", "field", "RTL loop generator reads dst_idx and src_idx swapped",
      ("rtl/loops.py", 'u_dst, u_src, u_wgt = uf["dst_idx"], uf["src_idx"], uf["wgt_idx"]',
       'u_dst, u_src, u_wgt = uf["src_idx"], uf["dst_idx"], uf["wgt_idx"]')),
    M("rtl-store-row-step-is-size", "field",
      "RTL store steps DRAM rows by x_size instead of x_stride",
      ("rtl/store.py", "row_addr.next = row_addr + (x_stride << osh)",
       "row_addr.next = row_addr + (x_size << osh)")),
    M("asm-imm-without-use-imm", "field", "assembler: ALU with imm= leaves use_imm 0",
      ("assembler/assemble.py", 'values["use_imm"] = 1', 'values["use_imm"] = 0')),
    # ---- dependence flag or queue ------------------------------------------------------------
    M("rtl-compute-pops-swapped", "dep", "RTL compute pops s2g for pop_prev and l2g for pop_next",
      ("rtl/compute.py", '((m["pop_prev"], l2g), (m["pop_next"], s2g))',
       '((m["pop_prev"], s2g), (m["pop_next"], l2g))')),
    M("rtl-wgt-load-to-compute", "dep", "RTL fetch routes LOAD WGT to the compute queue",
      ("rtl/fetch.py", "if opcode == OPCODE_LOAD and (mtype == MEM_INP or mtype == MEM_WGT):",
       "if opcode == OPCODE_LOAD and mtype == MEM_INP:")),
    # ---- timing off by one -------------------------------------------------------------------
    M("tlm-store-resp-timing", "timing", "TLM store waits one cycle more for the B response",
      ("tlm/dram.py", 'resp = self.latency + self.resp_cycles',
       'resp = self.latency + self.resp_cycles + 1')),
    M("tlm-gemm-pipeline-timing", "timing", "TLM GEMM pipeline drain one cycle longer",
      ("tlm/compute.py", 'ii, pipe = t["gemm_ii"], t["gemm_pipeline"]',
       'ii, pipe = t["gemm_ii"], t["gemm_pipeline"] + 1')),
    M("isa-alu-imm-ii", "timing", "default ALU-immediate initiation interval 2 instead of 1",
      ("isa/config.py", '"alu_imm_ii": 1,', '"alu_imm_ii": 2,')),
    # ---- integer wrap or sign ----------------------------------------------------------------
    M("rtl-alu-imm-zero-extended", "int", "RTL ALU immediate zero-extended",
      ("rtl/alu.py", "imm_ext.next = imm.signed()", "imm_ext.next = imm")),
    M("rtl-alu-min-unsigned", "int", "RTL ALU MIN compares the lanes unsigned",
      ("rtl/alu.py", "lt.next = a_s < b_s", "lt.next = a < b")),
    M("rtl-gemm-packed-borrow-lost", "int",
      "RTL packed multiplier: the high product misses the low product's borrow",
      ("rtl/gemm.py", "p1.next = prod[2 * shift:shift].signed() + prod[shift - 1]",
       "p1.next = prod[2 * shift:shift].signed()")),
    M("isa-shr-amount-unsigned", "int", "SHR amount read unsigned (negative = left shift lost)",
      ("isa/semantics.py", "    return wrap_signed(b, log_acc_width)",
       "    return np.asarray(b, dtype=np.int64) & ((1 << log_acc_width) - 1)")),
    M("isa-out-saturates", "int", "acc -> out saturates instead of wrapping",
      ("isa/semantics.py", "    return wrap_signed(acc, out_bits)",
       "    return np.clip(np.asarray(acc, dtype=np.int64), -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1)")),
    # ---- padding axis ------------------------------------------------------------------------
    M("tlm-x-pads-swapped", "pad", "TLM load pads x_pad_1 on the left and x_pad_0 on the right",
      ("tlm/load.py", "yp0, yp1, xp0, xp1 = insn.y_pad_0, insn.y_pad_1, insn.x_pad_0, insn.x_pad_1",
       "yp0, yp1, xp0, xp1 = insn.y_pad_0, insn.y_pad_1, insn.x_pad_1, insn.x_pad_0")),
    M("rtl-acc-pad-axes-swapped", "pad", "RTL ACC load pads y with the x pads and x with the y pads",
      ("rtl/load.py", 'f["y_pad_0"], f["y_pad_1"], f["x_pad_0"],\n                      f["x_pad_1"]',
       'f["x_pad_0"], f["x_pad_1"], f["y_pad_0"],\n                      f["y_pad_1"]')),
    M("rtl-inp-x-pads-swapped", "pad", "RTL INP load pads x_pad_1 on the left and x_pad_0 on the right",
      ("rtl/load.py", "            xp0.next = b_xp0\n            xp1.next = b_xp1\n",
       "            xp0.next = b_xp1\n            xp1.next = b_xp0\n")),
    M("asm-extent-pad-axes-swapped", "pad", "assembler's buffer extent check adds the pads to the wrong axes",
      ("assembler/checks.py",
       "return ((insn.y_size + insn.y_pad_0 + insn.y_pad_1)\n"
       "                * (insn.x_size + insn.x_pad_0 + insn.x_pad_1))",
       "return ((insn.y_size + insn.x_pad_0 + insn.x_pad_1)\n"
       "                * (insn.x_size + insn.y_pad_0 + insn.y_pad_1))")),
    # ---- pipeline bypass / hazard ------------------------------------------------------------
    M("rtl-acc-bypass-off", "bypass", "acc buffer read bypass never hits (reads the old value)",
      ("rtl/compute.py", "s.rd_hit.next = s.v6 and s.dst6 == s1.src_acc", "s.rd_hit.next = 0"),
      ("rtl/compute.py", "s.rd_hit.next = s.v6 and s.dst6 == s.dst2", "s.rd_hit.next = 0"),
      ("rtl/compute.py", "s.rd_hit.next = is_gemm and s.v7 and s.dst7 == s.dst5", "s.rd_hit.next = 0")),
    M("rtl-acc-forward-off", "bypass",
      "acc operand register ignores the write-back of its own cycle (reads the stale value)",
      ("rtl/writeback.py", "use_ram.next = not hit and not rd.bypass", "use_ram.next = not rd.bypass"),
      ("rtl/writeback.py", "            other.next = wb.data\n", "            other.next = rd.bypass_data\n")),
    M("rtl-alu-vv-no-hold", "bypass", "ALU vector-vector issues every cycle (two acc reads collide)",
      ("rtl/loops.py", "hold.next = issue and vv", "hold.next = 0")),
    M("rtl-alu-result-forward-off", "bypass",
      "ALU micro-op right behind another on the same dst misses its result (still in the register)",
      ("rtl/compute.py", "s.fwd_a.next = is_alu and s.v4 and s.v5 and s.dst4 == s.dst5",
       "s.fwd_a.next = 0")),
    M("rtl-alu-second-forward-off", "bypass",
      "ALU micro-op two behind another on the same dst misses its result (in the result register)",
      ("rtl/compute.py", "s.fwd_a2.next = is_alu and s.v3 and s.v5 and s.dst3 == s.dst5",
       "s.fwd_a2.next = 0"), tests=("test_crosscheck_random.py", "test_rtl_workloads.py")),
    M("rtl-r-skid-beat-lost", "bypass",
      "AXI master: an R beat its port does not take at once is dropped, not parked",
      ("rtl/axi.py", "skid_v.next = r_hs and not taken", "skid_v.next = 0"),
      tests=("test_rtl_axi.py", "test_formal.py")),
    M("rtl-alu-vv-src-forward-off", "bypass",
      "ALU vector-vector src = the previous micro-op's dst reads the value before its write",
      ("rtl/compute.py", "s.fix_b.next = vv and s.v2 and s.v4 and s.dst4 == s.src2",
       "s.fix_b.next = 0")),
    M("rtl-burst-page-left-lost", "int",
      "AXI master: beats left after a page-limited burst computed as after a full-cap burst",
      ("rtl/axi.py", "b.next_left.next = left + (x | hi_ones)", "b.next_left.next = left - cap")),
    M("tlm-alu-run-hazard", "bypass", "TLM vector step ignores a conflict with the run's first execution",
      ("tlm/compute.py", "        if c >= start:", "        if c > start:")),
    M("tlm-gemm-reset-double-hit", "bypass", "TLM reset GEMM hitting a dst twice keeps the old acc",
      ("tlm/compute.py", "before = np.where(once, self.acc.take(u, 0), 0)",
       "before = self.acc.take(u, 0)")),
    # ---- token count -------------------------------------------------------------------------
    M("rtl-dep-queue-push-pop", "tokens", "RTL token counter counts a push in the cycle of a pop",
      ("rtl/queues.py", "        elif q.push and not q.pop:\n", "        elif q.push:\n")),
    M("compiler-alu-finish-no-pop", "tokens", "ALU workloads' FINISH leaves the store's token",
      ("compiler/alu.py", "    pb.emit(Finish(pop_next=True))\n    res = alu_apply",
       "    pb.emit(Finish())\n    res = alu_apply")),
    M("compiler-fuzz-load-pop", "tokens", "fuzz rounds: the second round's loads do not wait for compute",
      ("compiler/fuzz.py", "load[0] = load[0].replace(pop_next=k > 0)",
       "load[0] = load[0].replace(pop_next=k > 1)")),
]


class MutantError(Exception):
    """A mutant that cannot be applied (its target text changed)."""


def mutated_texts(mutant, root):
    """{file: mutated text} of ``mutant`` applied to the sources under ``root``; raises
    MutantError if a target is not found exactly once or the result does not compile."""
    changed = {}
    for path, old, new in mutant.edits:
        p = Path(root) / path
        if not p.exists():
            raise MutantError(f"{mutant.name}: {path} does not exist")
        text = changed.get(p) or p.read_text()
        n = text.count(old)
        if n != 1:
            raise MutantError(f"{mutant.name}: {path}: target text found {n} times, expected once:\n"
                              f"    {old!r}")
        changed[p] = text.replace(old, new)
    for p, text in changed.items():
        try:
            compile(text, str(p), "exec")
        except SyntaxError as e:
            raise MutantError(f"{mutant.name}: the edit breaks {p.name} line {e.lineno}: {e.msg}") from None
    return changed


def mutate(mutant, root):
    """Apply ``mutant``'s edits to the sources under ``root`` (in place)."""
    for p, text in mutated_texts(mutant, root).items():
        p.write_text(text)


def source_files():
    """The working tree's files as git sees them (tracked, or untracked and not ignored)."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise MutantError(f"cannot list the sources of {ROOT} with git: {e}") from None
    return [f for f in out.decode().split("\0") if f and (ROOT / f).is_file()]


def make_copy(dest, files):
    """A copy of the package at ``dest/vta`` (importable with PYTHONPATH=dest)."""
    pkg = Path(dest) / "vta"
    if Path(dest).exists():
        shutil.rmtree(dest)
    for f in files:
        (pkg / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, pkg / f)
    return pkg


def has_rtl_tests(path):
    return "mark.rtl" in path.read_text()


def test_files(mutant, files):
    """The test files a mutant runs: files without RTL tests first, ISA/TLM ones first of all."""
    # tests/test_mutants.py checks each mutant's target text is in the sources: on a mutated
    # copy it fails by construction, which would count every mutant it reaches as killed.
    tests = sorted(f for f in files if re.fullmatch(r"tests/test_[^/]*\.py", f)
                   and f != "tests/test_mutants.py")
    if mutant.tests:
        keep = CORE_TESTS + tuple(mutant.tests)
        tests = [f for f in tests if any(fnmatch.fnmatch(Path(f).name, g) for g in keep)]
    core = lambda f: any(fnmatch.fnmatch(Path(f).name, g) for g in CORE_TESTS)  # noqa: E731
    return sorted(tests, key=lambda f: (has_rtl_tests(ROOT / f), not core(f), f))


LIVE = set()   # pytest process groups running now (killed if this script is stopped)


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # pytest and the simulators it started
    except ProcessLookupError:
        pass


def run_pytest(pkg, args, cache, timeout):
    """Run pytest in the copy at ``pkg``; (return code or None on timeout, output)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(pkg.parent)] + [p for p in [env.get("PYTHONPATH")] if p])
    env["VTA_RTL_CACHE"] = str(cache)
    env.pop("PYTEST_ADDOPTS", None)
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-rfE",
           "--no-header", *args]
    proc = subprocess.Popen(cmd, cwd=pkg, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    LIVE.add(proc)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, _ = proc.communicate()
        return None, out
    finally:
        kill_group(proc)   # nothing it started outlives it
        LIVE.discard(proc)


def first_failure(output):
    """The first failing test id in pytest's short summary, or None."""
    m = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.M)
    return m.group(1) if m else None


class Runner:
    def __init__(self, out, files, timeout, keep):
        self.out, self.files, self.timeout, self.keep = Path(out), files, timeout, keep
        # Copies live outside the checkout (OUT is inside it): a copy inside would be
        # ignored files of this repository to git, and tests/test_docs.py asks git.
        self.work = Path(tempfile.mkdtemp(prefix="vta-mutants-"))
        self.cache = self.out / "rtl-cache"
        self.pristine = None
        self.confirmed = {}

    def run(self, mutant):
        t0 = time.monotonic()
        work = self.work / mutant.name
        pkg = make_copy(work, self.files)
        mutate(mutant, pkg)
        rc, output = run_pytest(pkg, test_files(mutant, self.files), self.cache, self.timeout)
        (self.out / "logs").mkdir(parents=True, exist_ok=True)
        (self.out / "logs" / f"{mutant.name}.log").write_text(output)
        if not self.keep:
            shutil.rmtree(work, ignore_errors=True)
        res = {"name": mutant.name, "class": mutant.cls, "what": mutant.what,
               "seconds": round(time.monotonic() - t0, 1), "test": None}
        if rc is None:
            res["status"] = "timeout"
        elif rc == 0:
            res["status"] = "survived"
        elif rc == 1:
            res["test"] = first_failure(output)
            res["status"] = "killed" if res["test"] else "error"
        else:   # 2..5: interrupted, internal error, usage, no tests: not a test failure
            res["status"] = "error"
            res["test"] = f"pytest exit {rc}"
        return res

    def confirm(self, test_id):
        """Does ``test_id`` pass on the unmutated copy? (a kill by a broken test is no kill)"""
        if test_id not in self.confirmed:
            if self.pristine is None:
                self.pristine = make_copy(self.work / "_pristine", self.files)
            rc, _ = run_pytest(self.pristine, [test_id], self.cache, self.timeout)
            self.confirmed[test_id] = rc == 0
        return self.confirmed[test_id]


def show(res):
    by = f" by {res['test']}" if res["test"] else ""
    print(f"{res['status']:9} {res['name']:32} {res['seconds']:7.1f} s{by}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=1, help="mutants run in parallel (default 1)")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run these mutants only (comma-separated or repeated; * wildcards)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per mutant (default 3600)")
    ap.add_argument("--out", default=str(ROOT / "build" / "mutants"), help="logs, RTL cache and results.json (default build/mutants)")
    ap.add_argument("--keep", action="store_true", help="keep the mutated copies")
    ap.add_argument("--min-rate", type=float, default=0.9, help="kill rate for exit status 0")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")

    chosen = MUTANTS
    if args.only:
        pats = [p for arg in args.only for p in arg.split(",") if p]
        unknown = [p for p in pats if not any(fnmatch.fnmatchcase(m.name, p) for m in MUTANTS)]
        if unknown:
            print(f"error: no mutant named {', '.join(unknown)} (see --list)", file=sys.stderr)
            return 2
        chosen = [m for m in MUTANTS if any(fnmatch.fnmatchcase(m.name, p) for p in pats)]
    try:
        files = source_files()
        for m in chosen:   # every target must still exist before anything runs
            if m.cls not in CLASSES:
                raise MutantError(f"{m.name}: unknown class {m.cls!r}")
            mutated_texts(m, ROOT)
    except MutantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.list:
        for m in chosen:
            files_ = ", ".join(sorted({e[0] for e in m.edits}))
            print(f"{m.name:32} {m.cls:7} {files_:34} {m.what}")
        return 0

    runner = Runner(args.out, files, args.timeout, args.keep)
    print(f"{len(chosen)} mutants, {args.jobs} at a time; copies in {runner.work}, "
          f"RTL cache {runner.cache}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        results = run_all(runner, chosen, args.jobs)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(runner.work, ignore_errors=True)
    return report(results, chosen, args)


def run_all(runner, chosen, jobs):
    pool = ThreadPoolExecutor(max_workers=jobs)
    results = []
    try:
        for fut in as_completed([pool.submit(runner.run, m) for m in chosen]):
            res = fut.result()
            if res["status"] == "killed" and not runner.confirm(res["test"]):
                res["status"] = "broken"   # the test fails without the mutation too
            show(res)
            results.append(res)
    except BaseException:
        # stopped (Ctrl-C, SIGTERM) or failed: start nothing more, end the runs in flight
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(LIVE):
            kill_group(proc)
        raise
    pool.shutdown()
    order = {m.name: i for i, m in enumerate(chosen)}
    return sorted(results, key=lambda r: order[r["name"]])


def report(results, chosen, args):
    notes = {m.name: m.note for m in chosen}
    killed = [r for r in results if r["status"] == "killed"]
    rate = len(killed) / len(results) if results else 0.0
    print(f"\nkilled {len(killed)} of {len(results)}: kill rate {rate:.0%} "
          f"({sum(r['seconds'] for r in results):.0f} s of runs)")
    for cls, title in CLASSES.items():
        mine = [r for r in results if r["class"] == cls]
        if mine:
            print(f"  {title:26} {sum(r['status'] == 'killed' for r in mine)}/{len(mine)}")
    others = [r for r in results if r["status"] != "killed"]
    if others:
        print("not killed:")
        for r in others:
            why = f" ({notes[r['name']]})" if notes[r["name"]] else ""
            print(f"  {r['status']:9} {r['name']}: {r['what']}{why}")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps(
        {"kill_rate": rate, "results": results}, indent=1) + "\n")
    return 0 if rate >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
