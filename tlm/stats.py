"""Run statistics: the dict written as stats.json and shown by ``vta-tlm run``, and the
roofline bound of a program (also used by ``vta-rtl check``)."""
from __future__ import annotations

import math

from vta.isa import INSN_BYTES, MEM_UOP, Alu, Gemm, Load, Store


def roofline(program, cfg=None):
    """Lower bound on a program's cycles from its instructions alone.

    bound = max(compute cycles, bytes read / bytes per cycle, bytes written / bytes per
    cycle): reads and writes use separate AXI channels (AR/R and AW/W/B), so they overlap.
    Compute cycles = GEMM micro-ops x ``gemm_ii`` + ALU micro-ops x ``alu_ii`` (vector) or
    ``alu_imm_ii`` (immediate). Bytes are whole bus beats, as they cross the bus (fetch,
    INP/WGT/ACC/UOP loads; STORE). Returns a dict: ``roofline_cycles``, ``bound`` (which
    term: "compute", "read" or "write"), ``compute_cycles``, ``dram_bytes_read``,
    ``dram_bytes_written``."""
    cfg = cfg or program.config
    t = cfg.timing
    bus = cfg.bus_bytes
    compute = read = written = 0

    def beats(addr, nbytes):
        return -(-(addr + nbytes) // bus) - addr // bus if nbytes > 0 else 0

    read += beats(program.insn_base, len(program.insns) * INSN_BYTES) * bus
    for insn in program.insns:
        if isinstance(insn, (Gemm, Alu)):
            n = max(insn.uop_end - insn.uop_bgn, 0) * insn.iter_out * insn.iter_in
            if isinstance(insn, Gemm):
                compute += n * t["gemm_ii"]
            else:
                compute += n * (t["alu_imm_ii"] if insn.use_imm else t["alu_ii"])
        elif isinstance(insn, Load):
            if insn.memory_type == MEM_UOP:
                read += beats(insn.dram_base * cfg.uop_bytes, insn.x_size * cfg.uop_bytes) * bus
            else:   # 2-D: y_size rows of x_size elements, each element whole beats
                elem = cfg.elem_bytes(insn.memory_type)
                read += insn.y_size * beats(0, insn.x_size * elem) * bus
        elif isinstance(insn, Store):
            written += insn.y_size * beats(0, insn.x_size * cfg.out_bytes) * bus
    bpc = min(float(cfg.dram_bytes_per_cycle), float(bus))
    terms = {"compute": compute, "read": math.ceil(read / bpc), "write": math.ceil(written / bpc)}
    which = max(terms, key=terms.get)
    return {"roofline_cycles": terms[which], "bound": which, "compute_cycles": compute,
            "dram_bytes_read": read, "dram_bytes_written": written}


# Rooflines of the programs run last, by (config, instruction list, base): a program run
# again gets its bound back after its list is compared with a snapshot (as tlm/image.py).
_ROOFS = {}
_ROOFS_MAX = 64


def _roofline_cached(program, cfg):
    key = (id(cfg), id(program.insns), program.insn_base)
    snap = tuple(program.insns)
    hit = _ROOFS.get(key)
    if hit is not None and hit[0] is cfg and hit[1] == snap:
        return dict(hit[2])
    roof = roofline(program, cfg)
    if len(_ROOFS) >= _ROOFS_MAX:
        _ROOFS.clear()
    _ROOFS[key] = (cfg, snap, dict(roof))
    return roof


def roofline_line(roof, cycles):
    """The report line: bound, its kind, and the run as a fraction of it."""
    frac = roof["roofline_cycles"] / cycles if cycles else 0.0
    return (f"{100 * frac:.1f} % of the bound {roof['roofline_cycles']:,} cycles "
            f"({roof['bound']}-bound; compute {roof['compute_cycles']:,} cycles, "
            f"{roof['dram_bytes_read']:,} B read, {roof['dram_bytes_written']:,} B written)")


def collect(top, cycles, wall_seconds):
    cfg = top.cfg
    comp = top.compute
    macs_per_uop = cfg.batch * cfg.block_in * cfg.block_out
    macs = comp.gemm_uops * macs_per_uop
    seconds = cycles / (cfg.clock_mhz * 1e6) if cycles else 0.0
    dram = top.dram.totals()
    executed = sum(u.instructions for u in (top.load, top.compute, top.store))
    by_opcode = {}
    for u in (top.load, top.compute, top.store):
        for k, v in u.by_opcode.items():
            by_opcode[k] = by_opcode.get(k, 0) + v
    moved = dram["bytes_read"] + dram["bytes_written"]
    roof = _roofline_cached(top.program, top.fast_cfg)   # (config values: unit.FrozenConfig)
    return {
        "program": top.program.name,
        "config": cfg.name,
        "clock_mhz": cfg.clock_mhz,
        "cycles": int(cycles),
        "drain_cycles": int(top.env.now),
        "instructions": executed,
        "instructions_fetched": top.fetch.instructions,
        "instructions_by_opcode": by_opcode,
        "gemm_uops": comp.gemm_uops,
        "alu_uops": comp.alu_uops,
        "macs": macs,
        # Peak is one GEMM micro-op per cycle: busy GEMM issue slots / total cycles.
        "gemm_utilization": comp.gemm_uops / cycles if cycles else 0.0,
        "alu_utilization": comp.alu_uops / cycles if cycles else 0.0,
        **roof,
        # the bound / the run's cycles (<= 1; 1 = at the roofline)
        "roofline_fraction": roof["roofline_cycles"] / cycles if cycles else 0.0,
        "time_seconds": seconds,
        "gops": 2 * macs / seconds / 1e9 if seconds else 0.0,
        "stages": {u.name: u.stats() for u in (top.fetch, top.load, top.compute, top.store)},
        "dram": {
            **dram,
            "bytes_per_cycle": moved / cycles if cycles else 0.0,
            "bandwidth_gbs": moved / seconds / 1e9 if seconds else 0.0,
            "requesters": {k: v.as_dict() for k, v in top.dram.stats.items()},
        },
        "queues": {name: q.stats() for name, q in {**top.cmd_named(), **top.dep}.items()},
        "sim": {
            "wall_seconds": wall_seconds,
            "instructions_per_second": executed / wall_seconds if wall_seconds else 0.0,
            "cycles_per_second": cycles / wall_seconds if wall_seconds else 0.0,
        },
    }
