"""Loop and index generator of the compute pipeline (stages S0 and S1, see compute.py).

S0 walks the GEMM/ALU loop nest ``for i < iter_out: for j < iter_in: for k in
[uop_bgn, uop_end)``, reads uop[k] and keeps the index offsets as running sums
(i*factor_out + j*factor_in, no multipliers). S1 adds the micro-op's fields to the
offsets (modulo the buffer depths). The uop buffer's read data and the offsets are
registered first (S1 gets a whole cycle for its adders and the inp/wgt/acc read
addresses, instead of following the block RAM's clock-to-out). One micro-op per cycle; ALU vector-vector holds
every other cycle (its two acc reads share the acc buffer's read port).
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv, modbv


class StageOne:
    """The S1 outputs: ``valid`` (a micro-op is at S1), its indices ``dst`` (acc),
    ``src_acc`` / ``src_inp`` (src read in the acc or the inp buffer) and ``wgt``."""

    def __init__(self, cfg):
        self.valid = Signal(bool(0))
        self.dst = Signal(modbv(0)[cfg.log_acc_depth:])
        self.src_acc = Signal(modbv(0)[cfg.log_acc_depth:])
        self.src_inp = Signal(modbv(0)[cfg.log_inp_depth:])
        self.wgt = Signal(modbv(0)[cfg.log_wgt_depth:])


@block
def loop_gen(cfg, clk, rst, start, g, sfo, sfi, vv, uop_r, s1, active):
    """Issue the micro-ops of the GEMM/ALU instruction whose fields are ``g`` (gemm
    format views; ``sfo``/``sfi`` the src factors of the instruction's own format), from
    ``start`` on (a pulse while idle, with ``g`` already the instruction's fields). ``uop_r``: the uop buffer's read port; ``active``: micro-ops remain to
    issue or to reach S1."""
    lu, lw, la = cfg.log_uop_depth, cfg.log_wgt_depth, cfg.log_acc_depth
    ls = max(cfg.log_inp_depth, la)
    uop_bgn, uop_end, iter_out, iter_in = g["uop_bgn"], g["uop_end"], g["iter_out"], g["iter_in"]
    dfo, dfi, wfo, wfi = g["dst_factor_out"], g["dst_factor_in"], g["wgt_factor_out"], g["wgt_factor_in"]
    hold, issue = Signal(bool(0)), Signal(bool(0))
    k = Signal(intbv(0)[lu + 1:])
    i_cnt, j_cnt = Signal(intbv(0)[len(iter_out):]), Signal(intbv(0)[len(iter_in):])
    od_o, od_i = Signal(modbv(0)[la:]), Signal(modbv(0)[la:])
    os_o, os_i = Signal(modbv(0)[ls:]), Signal(modbv(0)[ls:])
    ow_o, ow_i = Signal(modbv(0)[lw:]), Signal(modbv(0)[lw:])
    offd1, offs1, offw1 = Signal(modbv(0)[la:]), Signal(modbv(0)[ls:]), Signal(modbv(0)[lw:])
    offd, offs, offw = Signal(modbv(0)[la:]), Signal(modbv(0)[ls:]), Signal(modbv(0)[lw:])
    uf = {f.name: uop_r.data(f.hi, f.lo) for f in cfg.layout.uop}
    u_dst, u_src, u_wgt = uf["dst_idx"], uf["src_idx"], uf["wgt_idx"]
    ud, us, uw = (Signal(intbv(0)[len(x):]) for x in (u_dst, u_src, u_wgt))
    more, fetched = Signal(bool(0)), Signal(bool(0))    # micro-ops to issue; uop[k] read
    # k, j and i at their last value: flip-flops computed a step ahead (k + 2, not k + 1,
    # compared with the bound), so the end-of-loop decisions are not a chain of adders
    k_last, j_last, i_last = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    one_uop, one_in, one_out = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))

    @always_comb
    def s0():
        active.next = more or fetched
        issue.next = more and not hold
        uop_r.re.next = issue
        uop_r.addr.next = k[lu:]

    @always_comb
    def single():
        one_uop.next = uop_bgn + 1 == uop_end
        one_in.next = iter_in == 1
        one_out.next = iter_out == 1

    @always(clk.posedge)
    def counters():
        if rst:
            more.next = 0
            hold.next = 0
            fetched.next = 0
            s1.valid.next = 0
        else:
            fetched.next = issue
            s1.valid.next = fetched
            hold.next = issue and vv
            if not more:
                # idle: the counters sit at the start of the current instruction's nest
                # every cycle, so ``start`` (a late signal: it waits for the tokens) only
                # sets ``more`` rather than loading every counter
                more.next = start and uop_end > uop_bgn and iter_out != 0 and iter_in != 0
                k.next = uop_bgn
                i_cnt.next = 0
                j_cnt.next = 0
                k_last.next = one_uop
                j_last.next = one_in
                i_last.next = one_out
                od_o.next = 0
                od_i.next = 0
                os_o.next = 0
                os_i.next = 0
                ow_o.next = 0
                ow_i.next = 0
            elif issue:
                offd1.next = od_o + od_i
                offs1.next = os_o + os_i
                offw1.next = ow_o + ow_i
                if k_last:
                    k.next = uop_bgn
                    k_last.next = one_uop
                    if j_last:
                        j_cnt.next = 0
                        j_last.next = one_in
                        od_i.next = 0
                        os_i.next = 0
                        ow_i.next = 0
                        if i_last:
                            more.next = 0
                        else:
                            i_cnt.next = i_cnt + 1
                            i_last.next = i_cnt + 2 == iter_out
                            od_o.next = od_o + dfo
                            os_o.next = os_o + sfo
                            ow_o.next = ow_o + wfo
                    else:
                        j_cnt.next = j_cnt + 1
                        j_last.next = j_cnt + 2 == iter_in
                        od_i.next = od_i + dfi
                        os_i.next = os_i + sfi
                        ow_i.next = ow_i + wfi
                else:
                    k.next = k + 1
                    k_last.next = k + 2 == uop_end

    @always(clk.posedge)
    def fetch():
        ud.next = u_dst
        us.next = u_src
        uw.next = u_wgt
        offd.next = offd1
        offs.next = offs1
        offw.next = offw1

    @always_comb
    def indices():
        s1.dst.next = ud + offd
        s1.src_acc.next = us + offs
        s1.src_inp.next = us + offs
        s1.wgt.next = uw + offw

    return s0, single, counters, fetch, indices
