"""AXI4 master shared by the core's three readers and its store writer.

Core side (``interfaces.ReadPort`` / ``WritePort``, rtl/README.md "Core interface"): three
read ports (0 fetch, 1 load, 2 compute) and one write port, each a request handshake (byte
address aligned to the bus, number of beats >= 1) followed by a data stream of that many
bus beats, in order.

AXI side: data width = cfg.bus_bits, 32-bit addresses, INCR bursts of at most
``burst_cap(cfg)`` = min(dram.max_burst_beats, 256) beats that never cross a 4 KiB page (the
AXI rule), one ID (so responses come back in order). Cycle-level timing: rtl/README.md
"AXI master".

- Reads (``axi_reader``): the arbiter grants one request at a time (compute first, fetch
  and load in turn); the request is split into bursts issued back to back on AR, each
  taking one of dram.max_outstanding_reads slots until its RLAST; the next request is
  granted once the previous one issued its last AR. A FIFO of burst owners routes R beats
  (in AR order) to their port. R has a register slice (a one-beat skid buffer): RREADY
  comes from registers, and a beat its port does not take at once waits in the skid (R
  stops while it is full), so no cycle is added and the ports' data_ready stays local.
- Writes (``axi_writer``): one request at a time on AW/W (the next is accepted when every
  AW and W beat of the previous one went out); W does not wait for AW (AXI forbids a
  master to make WVALID wait for AWREADY); up to dram.max_outstanding_writes bursts wait
  for B. A FIFO of "last burst of its request" flags makes wr_done pulse once per request,
  in order, with the B of its last burst.
- Any SLVERR/DECERR response sets the sticky ``err`` flag (cleared by ``clear``).
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, intbv, modbv

from .fields import uvec
from .interfaces import ADDR_BITS

MAX_BURST = 256      # AXI4 INCR burst limit (beats)
PAGE_BYTES = 4096    # bursts must not cross a 4 KiB boundary
AXCACHE = 0b0011     # normal non-cacheable bufferable: what Xilinx's HP ports expect


class AxiBus:
    """AXI4 master signals, named as cocotbext-axi's AxiBus.from_prefix and Vivado expect."""
    # (name, width or "data"/"strb", driven by the master)
    SIGNALS = (
        ("awid", 1, True), ("awaddr", ADDR_BITS, True), ("awlen", 8, True), ("awsize", 3, True),
        ("awburst", 2, True), ("awlock", 1, True), ("awcache", 4, True), ("awprot", 3, True),
        ("awvalid", 1, True), ("awready", 1, False),
        ("wdata", "data", True), ("wstrb", "strb", True), ("wlast", 1, True),
        ("wvalid", 1, True), ("wready", 1, False),
        ("bid", 1, False), ("bresp", 2, False), ("bvalid", 1, False), ("bready", 1, True),
        ("arid", 1, True), ("araddr", ADDR_BITS, True), ("arlen", 8, True), ("arsize", 3, True),
        ("arburst", 2, True), ("arlock", 1, True), ("arcache", 4, True), ("arprot", 3, True),
        ("arvalid", 1, True), ("arready", 1, False),
        ("rid", 1, False), ("rdata", "data", False), ("rresp", 2, False), ("rlast", 1, False),
        ("rvalid", 1, False), ("rready", 1, True),
    )

    def __init__(self, bus_bits, signals=None):
        self.bus_bits = bus_bits
        for name, width, _ in self.SIGNALS:
            if signals is not None:
                setattr(self, name, signals[name])
            else:
                w = bus_bits if width == "data" else bus_bits // 8 if width == "strb" else width
                # id/lock are 1-bit vectors in AXI, but a bool converts to a plain wire
                setattr(self, name, uvec(w))

    def flat(self, prefix="m_axi"):
        return {f"{prefix}_{n}": getattr(self, n) for n, _, _ in self.SIGNALS}


def log2(n):
    assert n > 0 and n & (n - 1) == 0, n
    return n.bit_length() - 1


@block
def const_drive(sig, value):
    """Drive ``sig`` with a constant (a top-level output needs a driver to stay an output)."""
    k = Signal(intbv(value, min=0, max=max(2, 1 << len(sig)))[len(sig):]) if len(sig) > 1 \
        else Signal(bool(value))

    @always_comb
    def comb():
        sig.next = k
    return comb


class Burst:
    """The next INCR burst of a request (outputs of :func:`burst_step`)."""

    def __init__(self, cap):
        self.beats = Signal(intbv(0, min=0, max=cap + 1))   # min(left, cap, room in the page)
        self.len = Signal(intbv(0)[8:])                       # beats - 1: AxLEN
        self.last = Signal(bool(0))                           # beats == left
        self.next_addr = Signal(modbv(0)[ADDR_BITS:])         # after it (unless last)
        self.next_left = Signal(modbv(0)[32:])                # left - beats


@block
def burst_step(addr, left, b, log_bb, cap):
    """``b`` (:class:`Burst`): the next legal INCR burst from ``addr`` with ``left`` >= 1
    beats to go, min(left, cap, beats left in addr's 4 KiB page), and the state after it.

    Written for timing: each output is one carry chain on the inputs followed by muxes
    (never min() after min() after an adder). With x = addr's beat index in its page and
    room = page_beats - x: the page limits the burst when room < cap (x > page_beats - cap),
    the burst is the last when left <= cap and left + x <= page_beats, and the state after
    a page-limited burst is the next page (left - room = left + x - page_beats), otherwise
    addr + cap beats. "left + x within the page" only matters when left <= cap, so it adds
    left's low bits (as wide as cap) to x, not all 32."""
    page_bits = log2(PAGE_BYTES)
    k = page_bits - log_bb                    # beat-index bits within a page
    nb = len(b.beats)
    page_beats = 1 << k
    hi_ones = ((1 << 32) - 1) ^ (page_beats - 1)
    x = addr(page_bits, log_bb)
    room = Signal(intbv(0, min=0, max=page_beats + 1))
    page_first, last = Signal(bool(0)), Signal(bool(0))
    fits_page = Signal(bool(0))
    end = Signal(intbv(0)[nb + k + 1:])       # left + x, when left <= cap (left < 2**nb)
    small = Signal(bool(0))                   # left <= cap
    len_last = Signal(intbv(0)[8:])

    @always_comb
    def page():
        room.next = page_beats - x
        page_first.next = x > page_beats - cap
        small.next = left <= cap
        end.next = left[nb:] + x
        len_last.next = (left - 1) & 0xff

    @always_comb
    def fits():
        fits_page.next = end <= page_beats

    @always_comb
    def is_last():
        last.next = small and fits_page

    @always_comb
    def outputs():
        b.last.next = last
        if last:
            b.beats.next = left[nb:]
            b.len.next = len_last
            b.next_left.next = 0
        elif page_first:
            b.beats.next = room
            b.len.next = (page_beats - 1 - x) & 0xff
            b.next_left.next = left + (x | hi_ones)
        else:
            b.beats.next = cap
            b.len.next = cap - 1
            b.next_left.next = left - cap
        if page_first:
            b.next_addr.next = ((addr >> page_bits) + 1) << page_bits
        else:
            b.next_addr.next = addr + (cap << log_bb)

    return page, fits, is_last, outputs


def burst_cap(cfg):
    """Longest burst the master issues: min(dram.max_burst_beats, 256, one 4 KiB page)."""
    return min(cfg.dram_max_burst_beats, MAX_BURST, PAGE_BYTES // cfg.bus_bytes)


def fifo_depth(n):
    """Power-of-two depth (>= 2) of a FIFO that holds ``n`` entries."""
    return max(2, 1 << (n - 1).bit_length())


@block
def axi_master(cfg, clk, rst, rd0, rd1, rd2, wr, m, clear, err, rd_busy, wr_busy, wr_pending):
    """The AXI4 master. rd0/rd1/rd2: ReadPort, wr: WritePort, m: AxiBus.

    Status: ``rd_busy`` (a granted read request still issuing ARs, or read bursts in flight),
    ``wr_busy`` (a write request still issuing AWs or W beats), ``wr_pending`` (write bursts
    waiting for B), ``err`` (sticky bad response).
    """
    bus_bits = cfg.bus_bits
    log_bb = log2(bus_bits // 8)
    consts = [const_drive(m.awid, 0), const_drive(m.arid, 0),
              const_drive(m.awsize, log_bb), const_drive(m.arsize, log_bb),
              const_drive(m.awburst, 1), const_drive(m.arburst, 1),
              const_drive(m.awlock, 0), const_drive(m.arlock, 0),
              const_drive(m.awcache, AXCACHE), const_drive(m.arcache, AXCACHE),
              const_drive(m.awprot, 0), const_drive(m.arprot, 0),
              const_drive(m.wstrb, (1 << (bus_bits // 8)) - 1)]
    rd_err, wr_err = Signal(bool(0)), Signal(bool(0))
    cap = burst_cap(cfg)
    reader = axi_reader(clk, rst, rd0, rd1, rd2, m, clear, rd_err, rd_busy, log_bb, cap,
                        cfg.dram_max_outstanding_reads)
    writer = axi_writer(clk, rst, wr, m, clear, wr_err, wr_busy, wr_pending, log_bb, cap,
                        cfg.dram_max_outstanding_writes)

    @always_comb
    def status():
        err.next = rd_err or wr_err

    return consts, reader, writer, status


@block
def axi_reader(clk, rst, rd0, rd1, rd2, m, clear, rd_err, busy, log_bb, cap, slots):
    """AR/R: round-robin grant of one request at a time, split into bursts of at most
    ``cap`` beats; up to ``slots`` bursts in flight; R beats routed in AR order."""
    depth = fifo_depth(slots)
    owner = Signal(intbv(0, min=0, max=3))      # port of the request issuing ARs
    act = Signal(bool(0))                       # that request still has ARs to issue
    load_last = Signal(bool(1))                 # of fetch and load, load was granted last
    grant = Signal(intbv(0, min=0, max=3))
    any_req = Signal(bool(0))
    req_addr = Signal(intbv(0)[ADDR_BITS:])
    req_beats = Signal(intbv(0)[32:])
    ar_next = Signal(intbv(0)[ADDR_BITS:])      # address of the next burst to request
    ar_left = Signal(intbv(0)[32:])             # beats not yet requested on AR
    ar_b = Burst(cap)
    blen_r = burst_step(ar_next, ar_left, ar_b, log_bb, cap)
    # routing FIFO: the owner of every burst in flight, oldest at rp (one ID: R in AR order)
    wp = Signal(modbv(0, min=0, max=depth))
    rp = Signal(modbv(0, min=0, max=depth))
    inflight = Signal(intbv(0, min=0, max=slots + 1))   # bursts whose AR went out, RLAST not yet
    # inflight != 0 and == slots as flip-flops: R's handshake and the AR issue hang on them
    in_any, in_full = Signal(bool(0)), Signal(bool(0))
    head = Signal(intbv(0, min=0, max=3))
    issue, pop = Signal(bool(0)), Signal(bool(0))
    owners = burst_owners(clk, issue, pop, owner, wp, rp, head, depth)
    skid_v, r_hs = Signal(bool(0)), Signal(bool(0))
    r_in = r_slice(clk, rst, m, in_any, head, rd0, rd1, rd2, skid_v, r_hs)

    @always_comb
    def arbiter():
        # Compute (2) first: its UOP/ACC loads stall the GEMM core, whereas the load unit
        # prefetches ahead of it. Fetch (0) and load (1) take turns.
        any_req.next = rd0.req_valid or rd1.req_valid or rd2.req_valid
        grant.next = 0
        if rd2.req_valid:
            grant.next = 2
        elif rd1.req_valid and (not load_last or not rd0.req_valid):
            grant.next = 1

    @always_comb
    def req_mux():
        if grant == 0:
            req_addr.next = rd0.req_addr
            req_beats.next = rd0.req_beats
        elif grant == 1:
            req_addr.next = rd1.req_addr
            req_beats.next = rd1.req_beats
        else:
            req_addr.next = rd2.req_addr
            req_beats.next = rd2.req_beats

    @always_comb
    def rd_ready():
        # the next grant as soon as the previous request issued its last AR
        rd0.req_ready.next = (not act) and grant == 0 and rd0.req_valid
        rd1.req_ready.next = (not act) and grant == 1 and rd1.req_valid
        rd2.req_ready.next = (not act) and grant == 2 and rd2.req_valid


    @always_comb
    def slots_comb():
        pop.next = r_hs and m.rlast
        # a slot freed by this cycle's RLAST can take this cycle's AR
        issue.next = act and (m.arready or not m.arvalid) and (not in_full or pop)
        busy.next = act or in_any or skid_v

    @always_seq(clk.posedge, reset=rst)
    def rd_seq():
        if not act and any_req:
            owner.next = grant
            if grant != 2:
                load_last.next = grant == 1
            ar_next.next = req_addr
            ar_left.next = req_beats
            act.next = req_beats != 0
        if m.arvalid and m.arready:
            m.arvalid.next = False
        if issue:
            m.araddr.next = ar_next
            m.arlen.next = ar_b.len
            m.arvalid.next = True
            ar_next.next = ar_b.next_addr
            ar_left.next = ar_b.next_left
            wp.next = wp + 1
            if ar_b.last:
                act.next = False
        if pop:
            rp.next = rp + 1
        if issue and not pop:
            inflight.next = inflight + 1
            in_any.next = True
            in_full.next = inflight == slots - 1
        elif pop and not issue:
            inflight.next = inflight - 1
            in_any.next = inflight != 1
            in_full.next = False
        if r_hs and m.rresp != 0:
            rd_err.next = True
        if clear:
            rd_err.next = False

    return arbiter, req_mux, rd_ready, owners, r_in, slots_comb, rd_seq, blen_r


@block
def burst_owners(clk, issue, pop, owner, wp, rp, head, depth):
    """The owner (port) of every read burst in flight, written at ``wp`` when a burst
    issues; ``head`` = the oldest one's, at ``rp``, kept in a register as it will be next
    cycle (it routes R's beat to its port, whose data_valid reaches far: the tile writers)."""
    own = [Signal(intbv(0, min=0, max=3)) for _ in range(depth)]
    rp_next = Signal(modbv(0, min=0, max=depth))

    @always(clk.posedge)
    def write():
        if issue:
            own[wp].next = owner

    @always_comb
    def step():
        rp_next.next = rp + 1

    @always(clk.posedge)
    def oldest():
        if pop:
            if issue and wp == rp_next:
                head.next = owner
            else:
                head.next = own[rp_next]
        elif issue and wp == rp:
            head.next = owner

    return write, step, oldest


@block
def r_slice(clk, rst, m, in_any, head, rd0, rd1, rd2, skid_v, r_hs):
    """R's register slice (a one-beat skid buffer) and the routing of beats to the ports.
    RREADY is a function of registers (``in_any``: a burst in flight; the skid empty), so a port's
    data_ready, which may come from across the chip, only decides whether the beat shown to
    it is parked in the skid (``skid_v``); ``r_hs`` (the R handshake), the RLAST and the slot
    count stay at the AXI boundary. ``head``: the owner of the oldest burst in flight."""
    out_valid, taken = Signal(bool(0)), Signal(bool(0))
    skid_d, out_data = Signal(intbv(0)[len(m.rdata):]), Signal(intbv(0)[len(m.rdata):])
    skid_own, out_own = Signal(intbv(0, min=0, max=3)), Signal(intbv(0, min=0, max=3))

    @always_comb
    def r_route():
        # the skid's beat, else the one on R (taken on R only while the skid is empty)
        if skid_v:
            out_own.next = skid_own
            out_data.next = skid_d
        else:
            out_own.next = head
            out_data.next = m.rdata
        out_valid.next = skid_v or (m.rvalid and in_any)   # skid_v or r_hs
        m.rready.next = in_any and not skid_v
        r_hs.next = m.rvalid and in_any and not skid_v

    @always_comb
    def r_deliver():
        rd0.data.next = out_data
        rd1.data.next = out_data
        rd2.data.next = out_data
        rd0.data_valid.next = out_valid and out_own == 0
        rd1.data_valid.next = out_valid and out_own == 1
        rd2.data_valid.next = out_valid and out_own == 2
        if out_own == 0:
            taken.next = rd0.data_ready
        elif out_own == 1:
            taken.next = rd1.data_ready
        else:
            taken.next = rd2.data_ready

    @always(clk.posedge)
    def r_skid():
        # the wide registers load whenever the skid is empty; only skid_v sees data_ready
        if not skid_v:
            skid_d.next = m.rdata
            skid_own.next = head
        if rst:
            skid_v.next = 0
        elif skid_v:
            skid_v.next = not taken
        else:
            skid_v.next = r_hs and not taken

    return r_route, r_deliver, r_skid


@block
def axi_writer(clk, rst, wr, m, clear, wr_err, wbusy, wr_pending, log_bb, cap, slots):
    """AW/W/B: one write request at a time, split into bursts of at most ``cap`` beats; up
    to ``slots`` bursts waiting for B; ``wr.done`` per request."""
    aw_next = Signal(intbv(0)[ADDR_BITS:])
    aw_left = Signal(intbv(0)[32:])
    aw_b = Burst(cap)
    w_next = Signal(intbv(0)[ADDR_BITS:])
    w_left = Signal(intbv(0)[32:])
    w_b = Burst(cap)
    w_cur = Signal(intbv(0, min=0, max=cap + 1))  # beats left in the W burst being sent
    depth = fifo_depth(slots)
    flags = Signal(intbv(0)[depth:])                # per burst waiting for B: last of its request?
    wp = Signal(modbv(0, min=0, max=depth))
    rp = Signal(modbv(0, min=0, max=depth))
    count = Signal(intbv(0, min=0, max=slots + 1))  # bursts whose AW went out, B not yet
    push = Signal(bool(0))
    pop = Signal(bool(0))
    fire = Signal(bool(0))
    # aw_left != 0 as a flip-flop (it gates ``push``); a burst's "last" flag is written to
    # ``flags`` a cycle after its push (its B can come two cycles after the push at the
    # earliest: AWVALID rises the cycle after, B follows the AW handshake), so the burst
    # arithmetic ends in one register instead of the FIFO's write decoder
    aw_more, flag_v, flag_d = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    w_any = Signal(bool(0))      # w_cur != 0, a flip-flop: the store engine's data_ready
    flag_at = Signal(modbv(0, min=0, max=depth))
    blen_aw = burst_step(aw_next, aw_left, aw_b, log_bb, cap)
    blen_w = burst_step(w_next, w_left, w_b, log_bb, cap)

    @always_comb
    def wr_comb():
        wr.req_ready.next = not wbusy
        m.wdata.next = wr.data
        m.wvalid.next = w_any and wr.data_valid
        wr.data_ready.next = w_any and m.wready
        m.wlast.next = w_cur == 1
        m.bready.next = count != 0
        pop.next = m.bvalid and count != 0
        # a slot freed by this cycle's B can take this cycle's AW
        push.next = wbusy and aw_more and (m.awready or not m.awvalid) and (
            count != slots or (m.bvalid and count != 0))
        fire.next = w_any and wr.data_valid and m.wready

    @always_seq(clk.posedge, reset=rst)
    def wr_seq():
        if not wbusy:
            if wr.req_valid:
                aw_next.next = wr.req_addr
                w_next.next = wr.req_addr
                aw_left.next = wr.req_beats
                aw_more.next = wr.req_beats != 0
                w_left.next = wr.req_beats
                wbusy.next = wr.req_beats != 0
        elif not aw_more and w_left == 0 and not w_any and not m.awvalid:
            wbusy.next = False
        # AW: one burst at a time, its "last" flag queued for the B side
        if m.awvalid and m.awready:
            m.awvalid.next = False
        if push:
            m.awaddr.next = aw_next
            m.awlen.next = aw_b.len
            m.awvalid.next = True
            aw_next.next = aw_b.next_addr
            aw_left.next = aw_b.next_left
            aw_more.next = not aw_b.last
            wp.next = wp + 1
        flag_v.next = push
        flag_d.next = aw_b.last
        flag_at.next = wp
        if flag_v:
            flags.next[flag_at] = flag_d
        # W: bursts of the request back to back (the next one loads with the last beat)
        if wbusy and not w_any and w_left != 0:
            w_cur.next = w_b.beats
            w_any.next = True
            w_next.next = w_b.next_addr
            w_left.next = w_b.next_left
        elif fire:
            if w_cur == 1 and w_left != 0:
                w_cur.next = w_b.beats
                w_next.next = w_b.next_addr
                w_left.next = w_b.next_left
            else:
                w_cur.next = w_cur - 1
                w_any.next = w_cur != 1
        # B: in order; the request is done with the B of its last burst
        wr.done.next = False
        if pop:
            rp.next = rp + 1
            wr.done.next = flags[rp]
            if m.bresp != 0:
                wr_err.next = True
        if push and not pop:
            count.next = count + 1
        elif pop and not push:
            count.next = count - 1
        if clear:
            wr_err.next = False

    @always_comb
    def pending():
        wr_pending.next = count != 0

    return blen_aw, blen_w, wr_comb, wr_seq, pending
