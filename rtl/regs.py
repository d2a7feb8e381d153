"""AXI4-Lite slave register file: how a host starts the core and reads its counters.

The register map (32-bit registers, byte offsets) is documented in rtl/README.md and
defined once here in REGISTERS; the cocotb harness (vta.cosim.simtb) reads it from here.
"""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always_comb, always_seq, block, concat, intbv

from .axi import const_drive

AXIL_ADDR_BITS = 12   # a 4 KiB window, the smallest range Vivado's address editor assigns
AXIL_DATA_BITS = 32
ID_VALUE = 0x56544131  # "VTA1"

#: name -> (byte offset, access, description). Order = address order.
REGISTERS = {
    "CTRL": (0x00, "RW", "write bit0=1: start (ignored while running); read: bit0 running, "
                         "bit1 done, bit2 AXI error (SLVERR/DECERR seen during the run)"),
    "STATUS": (0x04, "RO", "live busy flags: bit0 fetch, bit1 load, bit2 compute, bit3 store, "
                           "bit4 AXI read busy, bit5 AXI write busy, bit6 AXI writes awaiting B"),
    "INSN_ADDR": (0x08, "RW", "byte address of the first instruction"),
    "INSN_COUNT": (0x0C, "RW", "number of instructions to fetch"),
    "CYCLES": (0x10, "RO", "clock cycles from start to done (saturating)"),
    "BUSY_FETCH": (0x14, "RO", "cycles the fetch stage was busy during the run"),
    "BUSY_LOAD": (0x18, "RO", "cycles the load stage was busy during the run"),
    "BUSY_COMPUTE": (0x1C, "RO", "cycles the compute stage was busy during the run"),
    "BUSY_STORE": (0x20, "RO", "cycles the store stage was busy during the run"),
    "ID": (0x24, "RO", f"constant {ID_VALUE:#010x} ('VTA1')"),
    "FINGERPRINT": (0x28, "RO", "first 32 bits of the config's ISA fingerprint (cfg.fingerprint)"),
    "CONFIG": (0x2C, "RO", "arch log2 values, 4 bits each from bit 0: inp_width, wgt_width, "
                           "acc_width, batch, block_in, block_out, bus_width"),
}
CONFIG_FIELDS = ("log_inp_width", "log_wgt_width", "log_acc_width", "log_batch",
                 "log_block_in", "log_block_out", "log_bus_width")


def offset(name):
    return REGISTERS[name][0]


def config_word(cfg):
    """The CONFIG register's value for ``cfg``."""
    return sum(cfg.arch[k] << (4 * i) for i, k in enumerate(CONFIG_FIELDS))


def fingerprint_word(cfg):
    return int(cfg.fingerprint[:8], 16)


class AxiLiteBus:
    """AXI4-Lite slave signals, named as cocotbext-axi's AxiLiteBus.from_prefix expects."""
    SIGNALS = (
        ("awaddr", AXIL_ADDR_BITS, False), ("awprot", 3, False), ("awvalid", 1, False),
        ("awready", 1, True),
        ("wdata", AXIL_DATA_BITS, False), ("wstrb", 4, False), ("wvalid", 1, False),
        ("wready", 1, True),
        ("bresp", 2, True), ("bvalid", 1, True), ("bready", 1, False),
        ("araddr", AXIL_ADDR_BITS, False), ("arprot", 3, False), ("arvalid", 1, False),
        ("arready", 1, True),
        ("rdata", AXIL_DATA_BITS, True), ("rresp", 2, True), ("rvalid", 1, True),
        ("rready", 1, False),
    )

    def __init__(self, signals=None):
        for name, width, _ in self.SIGNALS:
            if signals is not None:
                setattr(self, name, signals[name])
            else:
                setattr(self, name, Signal(bool(0)) if width == 1 else Signal(intbv(0)[width:]))

    def flat(self, prefix="s_axil"):
        return {f"{prefix}_{n}": getattr(self, n) for n, _, _ in self.SIGNALS}


@block
def counter(clk, rst, clear, inc, value):
    """A saturating 32-bit event counter: cleared by ``clear``, +1 per cycle ``inc`` is high."""
    top = (1 << len(value)) - 1

    @always_seq(clk.posedge, reset=rst)
    def seq():
        if clear:
            value.next = 0
        elif inc and value != top:
            value.next = value + 1
    return seq


@block
def strobe_mask(strb, mask):
    """mask = the 4 byte strobes ``strb`` widened to a 32-bit bit mask."""
    m0, m1, m2, m3 = (Signal(intbv(0)[8:]) for _ in range(4))
    cat = ConcatSignal(m3, m2, m1, m0)

    @always_comb
    def bytes_():
        m0.next = 0
        m1.next = 0
        m2.next = 0
        m3.next = 0
        if strb[0]:
            m0.next = 0xFF
        if strb[1]:
            m1.next = 0xFF
        if strb[2]:
            m2.next = 0xFF
        if strb[3]:
            m3.next = 0xFF

    @always_comb
    def join():
        mask.next = cat

    return bytes_, join


@block
def regs(cfg, clk, rst, s, start, insn_addr, insn_count, done,
         busy_fetch, busy_load, busy_compute, busy_store,
         axi_err, axi_rd_busy, axi_wr_busy, axi_wr_pending):
    """AXI4-Lite register file. ``s``: AxiLiteBus. Drives start (1-cycle pulse), insn_addr and
    insn_count to the core; reads its done level and busy flags."""
    W = AXIL_DATA_BITS
    running = Signal(bool(0))
    armed = Signal(bool(0))       # the cycle after start: the core's done may still be stale
    aw_full, w_full = Signal(bool(0)), Signal(bool(0))
    aw_idx = Signal(intbv(0)[AXIL_ADDR_BITS - 2:])
    w_data = Signal(intbv(0)[W:])
    w_strb = Signal(intbv(0)[4:])
    w_mask = Signal(intbv(0)[W:])   # byte strobes as a bit mask
    mask = strobe_mask(w_strb, w_mask)
    done_flag = Signal(bool(0))
    cycles = Signal(intbv(0)[W:])
    bf, bl, bc, bs = (Signal(intbv(0)[W:]) for _ in range(4))
    addr_r = Signal(intbv(0)[W:])
    count_r = Signal(intbv(0)[W:])
    consts = [const_drive(s.bresp, 0), const_drive(s.rresp, 0)]
    id_k = Signal(intbv(ID_VALUE)[W:])
    fp_k = Signal(intbv(fingerprint_word(cfg))[W:])
    cfg_k = Signal(intbv(config_word(cfg))[W:])
    run_fetch, run_load, run_compute, run_store = (Signal(bool(0)) for _ in range(4))
    counters = [counter(clk, rst, start, running, cycles),
                counter(clk, rst, start, run_fetch, bf), counter(clk, rst, start, run_load, bl),
                counter(clk, rst, start, run_compute, bc), counter(clk, rst, start, run_store, bs)]

    CTRL, STATUS = offset("CTRL") >> 2, offset("STATUS") >> 2
    IADDR, ICOUNT = offset("INSN_ADDR") >> 2, offset("INSN_COUNT") >> 2
    CYC = offset("CYCLES") >> 2
    BF, BL, BC, BS = (offset(n) >> 2 for n in ("BUSY_FETCH", "BUSY_LOAD", "BUSY_COMPUTE",
                                                "BUSY_STORE"))
    RID, RFP, RCFG = offset("ID") >> 2, offset("FINGERPRINT") >> 2, offset("CONFIG") >> 2

    @always_comb
    def comb():
        s.awready.next = not aw_full
        s.wready.next = not w_full
        s.arready.next = not s.rvalid
        insn_addr.next = addr_r
        insn_count.next = count_r
        run_fetch.next = running and busy_fetch
        run_load.next = running and busy_load
        run_compute.next = running and busy_compute
        run_store.next = running and busy_store
        done_flag.next = done and not running

    @always_seq(clk.posedge, reset=rst)
    def seq():
        start.next = False
        armed.next = False
        if running and not armed and done:
            running.next = False
        # write channel: take AW and W in any order, then write and answer on B
        if s.awvalid and not aw_full:
            aw_idx.next = s.awaddr[AXIL_ADDR_BITS:2]
            aw_full.next = True
        if s.wvalid and not w_full:
            w_data.next = s.wdata
            w_strb.next = s.wstrb
            w_full.next = True
        if aw_full and w_full and not s.bvalid:
            aw_full.next = False
            w_full.next = False
            s.bvalid.next = True
            if aw_idx == CTRL:
                if w_data[0] and w_strb[0] and not running:
                    start.next = True
                    running.next = True
                    armed.next = True
            elif aw_idx == IADDR:
                addr_r.next = (addr_r & ~w_mask) | (w_data & w_mask)
            elif aw_idx == ICOUNT:
                count_r.next = (count_r & ~w_mask) | (w_data & w_mask)
        elif s.bvalid and s.bready:
            s.bvalid.next = False
        # read channel
        if s.arvalid and not s.rvalid:
            s.rvalid.next = True
            idx = s.araddr[AXIL_ADDR_BITS:2]
            if idx == CTRL:
                s.rdata.next = concat(intbv(0)[W - 3:], axi_err, done_flag, running)
            elif idx == STATUS:
                s.rdata.next = concat(intbv(0)[W - 7:], axi_wr_pending, axi_wr_busy, axi_rd_busy,
                                      busy_store, busy_compute, busy_load, busy_fetch)
            elif idx == IADDR:
                s.rdata.next = addr_r
            elif idx == ICOUNT:
                s.rdata.next = count_r
            elif idx == CYC:
                s.rdata.next = cycles
            elif idx == BF:
                s.rdata.next = bf
            elif idx == BL:
                s.rdata.next = bl
            elif idx == BC:
                s.rdata.next = bc
            elif idx == BS:
                s.rdata.next = bs
            elif idx == RID:
                s.rdata.next = id_k
            elif idx == RFP:
                s.rdata.next = fp_k
            elif idx == RCFG:
                s.rdata.next = cfg_k
            else:
                s.rdata.next = 0
        elif s.rvalid and s.rready:
            s.rvalid.next = False
    return consts, mask, counters, comb, seq
