"""The VTA core: fetch, command and dependence queues, load, compute, store and the
inp/wgt/out buffers, wired together. ``top.vta_top`` adds the AXI master and registers.

Interface contract (also in rtl/README.md, "Core interface"); the ports are declared
once, in ``interfaces.CorePorts``:

``core(cfg, clk, rst, **vars(CorePorts(cfg)))``; ``rst`` is synchronous, active high.

Control: ``start`` (1-cycle pulse), ``insn_addr`` (32-bit byte address), ``insn_count``
(32-bit); ``done`` (level: high after FINISH completed and all writes acknowledged, until
the next start); ``busy`` (BusyFlags ``fetch``, ``load``, ``compute``, ``store``: 1 while the
stage holds an instruction, including waiting for its tokens; fetch: while instructions
remain to dispatch).

Three read ports (ReadPort) ``rd0`` (fetch), ``rd1`` (load), ``rd2`` (compute):
``req_valid`` (out), ``req_ready`` (in), ``req_addr`` (out, 32-bit byte address aligned to
cfg.bus_bytes), ``req_beats`` (out, 32-bit, >= 1): read this many consecutive bus beats;
``data_valid`` (in), ``data`` (in, cfg.bus_bits), ``data_ready`` (out): beats in order, one
per handshake.

One write port (WritePort) ``wr``: ``req_valid``/``req_ready``/``req_addr``/``req_beats``;
``data_valid``/``data_ready``/``data`` (cfg.bus_bits); ``done`` (in, 1-cycle pulse when all
beats of the oldest outstanding request were acknowledged by B).
The AXI side splits requests into legal bursts; data of one request returns
contiguously and in order. The core never presents write data of a request before
that request was accepted, and never waits on a full command queue while holding a
read request's data.

Converted on its own (top ``vta_core`` of ``vta.rtl.export``), the interface objects expand to ports named
``start``, ``busy_fetch``, ``rd0_req_valid``, ... ``wr_done`` (``CorePorts.flat()``).
"""
from __future__ import annotations

from myhdl import ResetSignal, Signal, always_comb, block, intbv

from .compute import compute_unit
from .fetch import fetch_unit
from .fields import INSN_BITS, beats
from .interfaces import CommandQueue, CorePorts, SramRead, SramWrite, TokenQueue
from .load import load_unit
from .queues import cmd_queue, dep_queue
from .sram import buffer
from .store import store_unit


@block
def core(cfg, clk, rst, start, insn_addr, insn_count, done, busy, rd0, rd1, rd2, wr):
    """The core; arguments as the attributes of ``interfaces.CorePorts``."""
    # command queues: fetch -> load / compute / store
    insn = Signal(intbv(0)[INSN_BITS:])
    lq, cq, sq = CommandQueue(), CommandQueue(), CommandQueue()
    queues = [cmd_queue(cfg, clk, rst, insn, q) for q in (lq, cq, sq)]

    # dependence-token queues
    l2g, g2l, g2s, s2g = TokenQueue(), TokenQueue(), TokenQueue(), TokenQueue()
    tokens = [dep_queue(cfg, clk, rst, q) for q in (l2g, g2l, g2s, s2g)]

    # buffers shared between units: inp/wgt (load -> compute), out (compute -> store)
    inp_beats, wgt_beats = beats(cfg, cfg.inp_bytes), beats(cfg, cfg.wgt_bytes)
    inp_w = SramWrite(inp_beats, cfg.log_inp_depth, cfg.inp_bytes * 8)
    inp_r = SramRead(cfg.log_inp_depth, cfg.inp_bytes * 8)
    wgt_w = SramWrite(wgt_beats, cfg.log_wgt_depth, cfg.wgt_bytes * 8)
    wgt_r = SramRead(cfg.log_wgt_depth, cfg.wgt_bytes * 8)
    out_w = SramWrite(1, cfg.log_out_depth, cfg.out_bytes * 8)
    out_r = SramRead(cfg.log_out_depth, cfg.out_bytes * 8)
    buffers = [buffer("inp", clk, inp_w, inp_r, cfg.inp_depth, inp_beats),
               buffer("wgt", clk, wgt_w, wgt_r, cfg.wgt_depth, wgt_beats),
               buffer("out", clk, out_w, out_r, cfg.out_depth)]

    finish, store_idle = Signal(bool(0)), Signal(bool(0))
    fetch = fetch_unit(cfg, clk, rst, start, insn_addr, insn_count, busy.fetch, rd0, insn,
                       lq, cq, sq)
    load = load_unit(cfg, clk, rst, lq, g2l, l2g, rd1, inp_w, wgt_w, busy.load)
    compute = compute_unit(cfg, clk, rst, start, cq, l2g, s2g, g2l, g2s, rd2, inp_r, wgt_r,
                           out_w, busy.compute, finish)
    store = store_unit(cfg, clk, rst, sq, g2s, s2g, wr, out_r, busy.store, store_idle)
    sq_valid = sq.valid

    @always_comb
    def status():
        # FINISH done, no store pending or running, every write acknowledged
        done.next = finish and store_idle and not sq_valid

    return queues, tokens, buffers, fetch, load, compute, store, status


def core_block(cfg, clk=None, rst=None, ports=None):
    """(instance, {name: signal}) of the core with fresh signals (clk and rst included);
    ``ports``: a CorePorts (fresh if None); names as converted (``CorePorts.flat``)."""
    clk = clk if clk is not None else Signal(bool(0))
    rst = rst if rst is not None else ResetSignal(0, active=1, isasync=False)
    ports = ports if ports is not None else CorePorts(cfg)
    inst = core(cfg, clk, rst, **vars(ports))
    return inst, {"clk": clk, "rst": rst, **ports.flat()}
