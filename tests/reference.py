"""The tests' reference interpreter of VTA programs, written from docs/isa.md.

A plain machine that executes a program one instruction, and one loop-nest execution,
at a time: ALU operations on Python integers lane by lane, GEMM as one integer matrix
product per micro-op execution. It is deliberately separate from the product: it uses
vta.isa only for the instruction objects, micro-op decoding, memory-type numbers and
config quantities, never vta.isa.semantics or vta.tlm, so the tests compare two
implementations of the spec.

Index rule (docs/isa.md, as the hardware's fixed-width index registers compute it):
every on-chip buffer index (load and store entries, loop-nest operands, the micro-op
range) wraps modulo the buffer depth. For programs that stay inside the buffers this
changes nothing; the TLM matches it in its ``wrap`` mode.

The stages run in an order their dependence tokens allow: at each step the earliest
instruction (in program order) at the head of a stage's queue whose tokens are
available, so a program whose program order is a valid schedule runs in program order.
Results of a token-correct program do not depend on the schedule.

Imported by the pytest modules (tests/ is on their path) and by the cocotb core tests
(tests/test_rtl_core.py puts tests/ on the simulator's PYTHONPATH).
"""
from __future__ import annotations

import numpy as np

from vta.isa import (ALU_ADD, ALU_MAX, ALU_MIN, ALU_SHR, MEM_ACC, MEM_INP, MEM_OUT, MEM_UOP, MEM_WGT,
                     UOP_BYTES, Alu, Finish, Gemm, Load, Store, decode_uops)


# ---- element rules ---------------------------------------------------------------------------
def wrap(x, bits):
    """x modulo 2**bits, read as a signed (two's complement) number. Python ints or int64
    arrays (exact while |x| < 2**62)."""
    half = 1 << (bits - 1)
    return (x + half) % (1 << bits) - half


def alu(op, a, b, acc_bits, log_acc_width):
    """One ALU operation on one lane: a = acc[dst], b = the immediate or acc[src] (ints)."""
    b = wrap(b, acc_bits)                  # the immediate is cast to the accumulator type
    if op == ALU_MIN:
        r = min(a, b)
    elif op == ALU_MAX:
        r = max(a, b)
    elif op == ALU_ADD:
        r = a + b
    elif op == ALU_SHR:
        n = wrap(b, log_acc_width)         # low LOG_ACC_WIDTH bits of b, signed
        r = a >> n if n >= 0 else a << -n
    else:
        raise ValueError(f"ALU opcode {op} is reserved")
    return wrap(r, acc_bits)


def alu_tile(op, a, b, acc_bits, log_acc_width):
    """:func:`alu` lane by lane over an array a and an array or int b."""
    a = np.asarray(a, dtype=np.int64)
    b = np.broadcast_to(np.asarray(b, dtype=np.int64), a.shape)
    return np.array([alu(op, int(x), int(y), acc_bits, log_acc_width)
                     for x, y in zip(a.ravel(), b.ravel())], dtype=np.int64).reshape(a.shape)


# ---- loop nest --------------------------------------------------------------------------------
def loop_executions(insn):
    """(i, j, k) of each execution of a GEMM/ALU loop nest, in order: k runs over the
    micro-op range uop_bgn .. uop_end-1 (before wrapping to the buffer)."""
    for i in range(insn.iter_out):
        for j in range(insn.iter_in):
            for k in range(insn.uop_bgn, insn.uop_end):
                yield i, j, k


def loop_nest(insn, uops, uop_depth, depths):
    """The buffer indices of each execution of a GEMM/ALU loop nest, as docs/isa.md writes it.

    ``uops[k]`` is the (dst, src, wgt) micro-op at uop buffer entry k; ``depths`` maps
    the operands wanted ("dst", "src", "wgt") to their buffer depths. Yields one tuple
    of indices (in the order of ``depths``) per execution, in the order of
    :func:`loop_executions`."""
    for i, j, k in loop_executions(insn):
        u = dict(zip(("dst", "src", "wgt"), uops[k % uop_depth]))
        yield tuple((u[name] + i * getattr(insn, f"{name}_factor_out")
                     + j * getattr(insn, f"{name}_factor_in")) % depth
                    for name, depth in depths.items())


# ---- the machine ------------------------------------------------------------------------------
# Dependence tokens each stage pops and pushes, by instruction flag.
POPS = {"load": {"pop_next": "g2l"}, "compute": {"pop_prev": "l2g", "pop_next": "s2g"},
        "store": {"pop_prev": "g2s"}}
PUSHES = {"load": {"push_next": "l2g"}, "compute": {"push_prev": "g2l", "push_next": "g2s"},
          "store": {"push_prev": "s2g"}}


def stage_of(insn):
    """The stage an instruction is dispatched to: INP/WGT loads to load, stores to store,
    everything else (UOP/ACC loads, GEMM, ALU, FINISH) to compute."""
    if isinstance(insn, Load) and insn.memory_type in (MEM_INP, MEM_WGT):
        return "load"
    return "store" if isinstance(insn, Store) else "compute"


class Reference:
    """DRAM (bytes), the on-chip buffers (int64 lanes) and the token counters."""

    def __init__(self, program):
        self.program, cfg = program, program.config
        self.cfg = cfg
        self.dram = np.zeros(cfg.dram_bytes, np.uint8)
        for base, data in program.dram_image():
            self.dram[base:base + len(data)] = np.frombuffer(data, np.uint8)
        b, bi, bo = cfg.batch, cfg.block_in, cfg.block_out
        # memory type -> (lane shape, bits per lane)
        self.elem = {MEM_INP: ((b, bi), cfg.inp_bits), MEM_WGT: ((bo, bi), cfg.wgt_bits),
                     MEM_ACC: ((b, bo), cfg.acc_bits), MEM_OUT: ((b, bo), cfg.out_bits)}
        self.buf = {m: np.zeros((cfg.depth(m), *shape), np.int64) for m, (shape, _) in self.elem.items()}
        self.inp, self.wgt, self.acc, self.out = (self.buf[m] for m in (MEM_INP, MEM_WGT, MEM_ACC, MEM_OUT))
        self.uops = [(0, 0, 0)] * cfg.uop_depth
        self.tokens = {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}
        self.finished = False
        self.pending = []          # indices of instructions not run when FINISH completed

    # -- DRAM elements: lanes packed from bit 0 upward, little-endian ---------------------------
    def read_elem(self, mem, index):
        shape, bits = self.elem[mem]
        n = self.cfg.elem_bytes(mem)
        word = int.from_bytes(self.dram[index * n:(index + 1) * n].tobytes(), "little")
        mask = (1 << bits) - 1
        lanes = [wrap((word >> (bits * q)) & mask, bits) for q in range(int(np.prod(shape)))]
        return np.array(lanes, dtype=np.int64).reshape(shape)

    def write_elem(self, mem, index, value):
        _, bits = self.elem[mem]
        n = self.cfg.elem_bytes(mem)
        mask = (1 << bits) - 1
        word = sum((int(v) & mask) << (bits * q) for q, v in enumerate(np.ravel(value)))
        self.dram[index * n:(index + 1) * n] = np.frombuffer(word.to_bytes(n, "little"), np.uint8)

    # -- instructions ----------------------------------------------------------------------------
    def load(self, insn):
        cfg, mem = self.cfg, insn.memory_type
        if mem == MEM_UOP:
            raw = self.dram[insn.dram_base * UOP_BYTES:(insn.dram_base + insn.x_size) * UOP_BYTES]
            for n, u in enumerate(decode_uops(raw.tobytes(), cfg)):
                self.uops[(insn.sram_base + n) % cfg.uop_depth] = (u.dst_idx, u.src_idx, u.wgt_idx)
            return
        buf = self.buf[mem]
        pads = (0, 0, 0, 0) if mem == MEM_WGT else (insn.y_pad_0, insn.y_pad_1, insn.x_pad_0, insn.x_pad_1)
        yp0, yp1, xp0, xp1 = pads
        entry = insn.sram_base
        for row in range(yp0 + insn.y_size + yp1):
            for col in range(xp0 + insn.x_size + xp1):
                r, c = row - yp0, col - xp0
                if 0 <= r < insn.y_size and 0 <= c < insn.x_size:
                    buf[entry % len(buf)] = self.read_elem(mem, insn.dram_base + r * insn.x_stride + c)
                else:
                    buf[entry % len(buf)] = 0           # padding
                entry += 1

    def store(self, insn):
        entry = insn.sram_base
        for r in range(insn.y_size):
            for c in range(insn.x_size):
                self.write_elem(MEM_OUT, insn.dram_base + r * insn.x_stride + c,
                                self.out[entry % len(self.out)])
                entry += 1

    def gemm(self, insn):
        cfg = self.cfg
        depths = {"dst": cfg.acc_depth, "src": cfg.inp_depth, "wgt": cfg.wgt_depth}
        for dst, src, w in loop_nest(insn, self.uops, cfg.uop_depth, depths):
            new = wrap(self.acc[dst] + self.inp[src] @ self.wgt[w].T, cfg.acc_bits)
            self.out[dst] = wrap(new, cfg.out_bits)
            self.acc[dst] = 0 if insn.reset else new

    def alu(self, insn):
        cfg = self.cfg
        depths = {"dst": cfg.acc_depth, "src": cfg.acc_depth}
        for dst, src in loop_nest(insn, self.uops, cfg.uop_depth, depths):
            b = insn.imm if insn.use_imm else self.acc[src]
            new = alu_tile(insn.alu_opcode, self.acc[dst], b, cfg.acc_bits, cfg.arch["log_acc_width"])
            self.acc[dst] = new
            self.out[dst] = wrap(new, cfg.out_bits)

    def execute(self, insn):
        if isinstance(insn, Load):
            self.load(insn)
        elif isinstance(insn, Store):
            self.store(insn)
        elif isinstance(insn, Gemm):
            self.gemm(insn)
        elif isinstance(insn, Alu):
            self.alu(insn)
        elif isinstance(insn, Finish):
            self.finished = True

    # -- the stages ------------------------------------------------------------------------------
    def run(self):
        """Run until FINISH completes; a schedule that cannot proceed is an error."""
        queues = {"load": [], "compute": [], "store": []}
        for index, insn in enumerate(self.program.insns):
            queues[stage_of(insn)].append((index, insn))
        while not self.finished:
            ready = []
            for stage, q in queues.items():
                if q:
                    index, insn = q[0]
                    need = [t for flag, t in POPS[stage].items() if getattr(insn, flag)]
                    if all(self.tokens[t] > 0 for t in need):
                        ready.append((index, stage, need))
            if not ready:
                heads = {s: q[0][0] for s, q in queues.items() if q}
                raise RuntimeError(f"no instruction can run: queue heads {heads}, tokens {self.tokens}"
                                   if heads else "the program ends without FINISH")
            index, stage, need = min(ready)
            insn = queues[stage].pop(0)[1]
            for t in need:
                self.tokens[t] -= 1
            self.execute(insn)
            for flag, t in PUSHES[stage].items():
                if getattr(insn, flag):
                    self.tokens[t] += 1
        self.pending = sorted(i for q in queues.values() for i, _ in q)
        return self

    # -- results ---------------------------------------------------------------------------------
    def read(self, base, nbytes):
        return self.dram[base:base + nbytes]

    def read_segment(self, name):
        """A segment's DRAM contents, with its dtype and shape."""
        s = self.program.segment(name)
        return self.read(s.base, s.nbytes).view(s.data.dtype.newbyteorder("<")).reshape(s.shape)


def run_reference(program):
    """Run ``program`` (a vta.isa.Program) on a fresh :class:`Reference`; returns it."""
    return Reference(program).run()
