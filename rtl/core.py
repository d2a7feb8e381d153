"""The VTA core: fetch, command and dependence queues, load, compute, store and the
inp/wgt/out buffers, wired together. Part B's top adds the AXI master and registers.

Interface contract (also in /work/notes/rtl_interface.md and rtl/README.md):

``core(cfg, clk, rst, <ports>)``; ``rst`` is synchronous, active high.

Control: ``start`` (1-cycle pulse), ``insn_addr`` (32-bit byte address), ``insn_count``
(32-bit); ``done`` (level: high after FINISH completed and all writes acknowledged, until
the next start); ``busy_fetch``, ``busy_load``, ``busy_compute``, ``busy_store`` (1 while the
stage holds an instruction, including waiting for its tokens; fetch: while instructions
remain to dispatch).

Three read ports rd0_* (fetch), rd1_* (load), rd2_* (compute):
``rdN_req_valid`` (out), ``rdN_req_ready`` (in), ``rdN_req_addr`` (out, 32-bit byte address
aligned to cfg.bus_bytes), ``rdN_req_beats`` (out, 32-bit, >= 1): read this many
consecutive bus beats; ``rdN_data_valid`` (in), ``rdN_data`` (in, cfg.bus_bits),
``rdN_data_ready`` (out): beats in order, one per handshake.

One write port: ``wr_req_valid``/``wr_req_ready``/``wr_req_addr``/``wr_req_beats``;
``wr_data_valid``/``wr_data_ready``/``wr_data`` (cfg.bus_bits); ``wr_done`` (in, 1-cycle pulse
when all beats of the oldest outstanding request were acknowledged by B).
The AXI side splits requests into legal bursts; data of one request returns
contiguously and in order. The core never presents write data of a request before
that request was accepted, and never waits on a full command queue while holding a
read request's data.

Use: ``ports = core_ports(cfg)`` gives fresh signals by name; ``core(cfg, clk, rst,
**ports)`` is the block; ``core_block(cfg)`` returns ``(instance, signals)`` with clk and
rst included, ready to convert (``instance.convert(hdl="Verilog", name="vta_core")``).
"""
from __future__ import annotations

from myhdl import ResetSignal, Signal, always_comb, block, intbv

from .compute import compute_unit
from .fetch import fetch_unit
from .fields import INSN_BITS, beats, uvec
from .load import load_unit
from .queues import cmd_queue, dep_queue
from .sram import sram
from .store import store_unit

READ_PORT = ("req_valid", "req_ready", "req_addr", "req_beats", "data_valid", "data", "data_ready")
WRITE_PORT = ("req_valid", "req_ready", "req_addr", "req_beats", "data_valid", "data_ready",
              "data", "done")
CONTROL = ("start", "insn_addr", "insn_count", "done",
           "busy_fetch", "busy_load", "busy_compute", "busy_store")


def port_names():
    """Core port names in declaration order (without clk and rst)."""
    names = list(CONTROL)
    for n in range(3):
        names += [f"rd{n}_{p}" for p in READ_PORT]
    names += [f"wr_{p}" for p in WRITE_PORT]
    return names


def core_ports(cfg):
    """Fresh signals for every core port, by name (1-bit ports are bools)."""
    width = {"insn_addr": 32, "insn_count": 32, "req_addr": 32, "req_beats": 32,
             "data": cfg.bus_bits}
    out = {}
    for name in port_names():
        key = name.split("_", 1)[1] if name.startswith(("rd", "wr_")) else name
        out[name] = uvec(width.get(key, 1))
    return out


@block
def core(cfg, clk, rst, start, insn_addr, insn_count, done,
         busy_fetch, busy_load, busy_compute, busy_store,
         rd0_req_valid, rd0_req_ready, rd0_req_addr, rd0_req_beats, rd0_data_valid, rd0_data,
         rd0_data_ready,
         rd1_req_valid, rd1_req_ready, rd1_req_addr, rd1_req_beats, rd1_data_valid, rd1_data,
         rd1_data_ready,
         rd2_req_valid, rd2_req_ready, rd2_req_addr, rd2_req_beats, rd2_data_valid, rd2_data,
         rd2_data_ready,
         wr_req_valid, wr_req_ready, wr_req_addr, wr_req_beats, wr_data_valid, wr_data_ready,
         wr_data, wr_done):
    inp_beats, wgt_beats = beats(cfg, cfg.inp_bytes), beats(cfg, cfg.wgt_bytes)

    # command queues: fetch -> load / compute / store
    insn = Signal(intbv(0)[INSN_BITS:])
    lq_push, lq_ready, lq_pop, lq_valid = (Signal(bool(0)) for _ in range(4))
    cq_push, cq_ready, cq_pop, cq_valid = (Signal(bool(0)) for _ in range(4))
    sq_push, sq_ready, sq_pop, sq_valid = (Signal(bool(0)) for _ in range(4))
    lq_out, cq_out, sq_out = (Signal(intbv(0)[INSN_BITS:]) for _ in range(3))
    lq = cmd_queue(cfg, clk, rst, insn, lq_push, lq_ready, lq_out, lq_pop, lq_valid)
    cq = cmd_queue(cfg, clk, rst, insn, cq_push, cq_ready, cq_out, cq_pop, cq_valid)
    sq = cmd_queue(cfg, clk, rst, insn, sq_push, sq_ready, sq_out, sq_pop, sq_valid)

    # dependence-token queues
    l2g_push, l2g_pop, l2g_ne, l2g_nf = (Signal(bool(0)) for _ in range(4))
    g2l_push, g2l_pop, g2l_ne, g2l_nf = (Signal(bool(0)) for _ in range(4))
    g2s_push, g2s_pop, g2s_ne, g2s_nf = (Signal(bool(0)) for _ in range(4))
    s2g_push, s2g_pop, s2g_ne, s2g_nf = (Signal(bool(0)) for _ in range(4))
    l2g = dep_queue(cfg, clk, rst, l2g_push, l2g_pop, l2g_ne, l2g_nf)
    g2l = dep_queue(cfg, clk, rst, g2l_push, g2l_pop, g2l_ne, g2l_nf)
    g2s = dep_queue(cfg, clk, rst, g2s_push, g2s_pop, g2s_ne, g2s_nf)
    s2g = dep_queue(cfg, clk, rst, s2g_push, s2g_pop, s2g_ne, s2g_nf)

    # buffers shared between units: inp/wgt (load -> compute), out (compute -> store)
    inp_we = Signal(intbv(0)[inp_beats:])
    inp_waddr, inp_raddr = Signal(intbv(0)[cfg.log_inp_depth:]), Signal(intbv(0)[cfg.log_inp_depth:])
    inp_wdata, inp_rdata = Signal(intbv(0)[cfg.inp_bytes * 8:]), Signal(intbv(0)[cfg.inp_bytes * 8:])
    inp_re = Signal(bool(0))
    wgt_we = Signal(intbv(0)[wgt_beats:])
    wgt_waddr, wgt_raddr = Signal(intbv(0)[cfg.log_wgt_depth:]), Signal(intbv(0)[cfg.log_wgt_depth:])
    wgt_wdata, wgt_rdata = Signal(intbv(0)[cfg.wgt_bytes * 8:]), Signal(intbv(0)[cfg.wgt_bytes * 8:])
    wgt_re = Signal(bool(0))
    out_we = Signal(intbv(0)[1:])
    out_waddr, out_raddr = Signal(intbv(0)[cfg.log_out_depth:]), Signal(intbv(0)[cfg.log_out_depth:])
    out_wdata, out_rdata = Signal(intbv(0)[cfg.out_bytes * 8:]), Signal(intbv(0)[cfg.out_bytes * 8:])
    out_re = Signal(bool(0))
    inp_mem = sram(clk, inp_we, inp_waddr, inp_wdata, inp_re, inp_raddr, inp_rdata,
                   cfg.inp_depth, inp_beats)
    wgt_mem = sram(clk, wgt_we, wgt_waddr, wgt_wdata, wgt_re, wgt_raddr, wgt_rdata,
                   cfg.wgt_depth, wgt_beats)
    out_mem = sram(clk, out_we, out_waddr, out_wdata, out_re, out_raddr, out_rdata, cfg.out_depth)

    finish, store_idle = Signal(bool(0)), Signal(bool(0))

    fetch = fetch_unit(cfg, clk, rst, start, insn_addr, insn_count, busy_fetch,
                       rd0_req_valid, rd0_req_ready, rd0_req_addr, rd0_req_beats,
                       rd0_data_valid, rd0_data, rd0_data_ready,
                       insn, lq_push, lq_ready, cq_push, cq_ready, sq_push, sq_ready)
    load = load_unit(cfg, clk, rst, lq_out, lq_valid, lq_pop, g2l_ne, g2l_pop, l2g_nf, l2g_push,
                     rd1_req_valid, rd1_req_ready, rd1_req_addr, rd1_req_beats,
                     rd1_data_valid, rd1_data, rd1_data_ready,
                     inp_we, inp_waddr, inp_wdata, wgt_we, wgt_waddr, wgt_wdata, busy_load)
    compute = compute_unit(cfg, clk, rst, start, cq_out, cq_valid, cq_pop,
                           l2g_ne, l2g_pop, s2g_ne, s2g_pop, g2l_nf, g2l_push, g2s_nf, g2s_push,
                           rd2_req_valid, rd2_req_ready, rd2_req_addr, rd2_req_beats,
                           rd2_data_valid, rd2_data, rd2_data_ready,
                           inp_re, inp_raddr, inp_rdata, wgt_re, wgt_raddr, wgt_rdata,
                           out_we, out_waddr, out_wdata, busy_compute, finish)
    store = store_unit(cfg, clk, rst, sq_out, sq_valid, sq_pop, g2s_ne, g2s_pop, s2g_nf, s2g_push,
                       wr_req_valid, wr_req_ready, wr_req_addr, wr_req_beats,
                       wr_data_valid, wr_data_ready, wr_data, wr_done,
                       out_re, out_raddr, out_rdata, busy_store, store_idle)

    @always_comb
    def status():
        # FINISH done, no store pending or running, every write acknowledged
        done.next = finish and store_idle and not sq_valid

    return (lq, cq, sq, l2g, g2l, g2s, s2g, inp_mem, wgt_mem, out_mem,
            fetch, load, compute, store, status)


def core_block(cfg, clk=None, rst=None, ports=None):
    """(instance, {name: signal}) of the core with fresh signals (clk and rst included)."""
    clk = clk if clk is not None else Signal(bool(0))
    rst = rst if rst is not None else ResetSignal(0, active=1, isasync=False)
    ports = ports if ports is not None else core_ports(cfg)
    inst = core(cfg, clk, rst, **ports)
    return inst, {"clk": clk, "rst": rst, **ports}


def convert_core(cfg, out_dir, name="vta_core"):
    """Write ``<out_dir>/<name>.v`` (once per process: MyHDL renames on a second convert)."""
    from pathlib import Path
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inst, _ = core_block(cfg)
    inst.convert(hdl="Verilog", path=str(out_dir), name=name, testbench=False)
    return out_dir / f"{name}.v"
