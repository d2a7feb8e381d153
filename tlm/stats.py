"""Run statistics: the dict written as stats.json and shown by ``vta-tlm run``."""
from __future__ import annotations


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
