"""alu_core (rtl/alu.py, top ``alu_core``, combinational) against numpy, per docs/isa.md.

MIN and MAX compare signed; ADD wraps modulo 2^acc_bits; SHR shifts by the low
LOG_ACC_WIDTH bits of b read as signed (arithmetic right for n >= 0, left by -n for n < 0).
Operands: vector-vector (random a and b lanes, extremes mixed in) and immediate (b = the
16-bit imm cast to the accumulator width, the same in every lane, as compute feeds it).
The opcodes that are not executed (MUL, reserved, unused) leave a unchanged.
"""
import cocotb
import numpy as np
from cocotb.triggers import Timer

from blockenv import load_cfg, pack, rng, signed_ints, unpack
from vta.isa import ALU_ADD, ALU_MAX, ALU_MIN, ALU_SHR
from vta.isa import wrap_signed as wrap
from vta.isa.layout import ALU_OPCODE_W, IMM_W

VECTORS = 150     # per operation and operand mode


def alu_numpy(op, a, b, bits, log_bits):
    if op == ALU_MIN:
        return np.minimum(a, b)
    if op == ALU_MAX:
        return np.maximum(a, b)
    if op == ALU_ADD:
        return wrap(a + b, bits)
    if op == ALU_SHR:
        n = wrap(b & ((1 << log_bits) - 1), log_bits)
        return np.where(n >= 0, a >> np.maximum(n, 0), wrap(a << np.maximum(-n, 0), bits))
    return a


@cocotb.test()
async def alu_matches_numpy(dut):
    cfg = load_cfg()
    _, npr = rng()
    lanes, w, lw = cfg.batch * cfg.block_out, cfg.acc_bits, cfg.log_acc_width
    executed = (ALU_MIN, ALU_MAX, ALU_ADD, ALU_SHR)
    checked = 0
    for op in range(1 << ALU_OPCODE_W):
        for use_imm in (False, True):
            for v in range(VECTORS if op in executed else 10):
                a = signed_ints(npr, lanes, w)
                if use_imm:
                    imm = int(signed_ints(npr, 1, IMM_W)[0])
                    if op == ALU_SHR and v % 2:
                        imm = int(npr.integers(-(1 << (lw - 1)), 1 << (lw - 1)))   # a plain shift
                    b = np.full(lanes, wrap(imm, w), dtype=np.int64)
                else:
                    b = signed_ints(npr, lanes, w)
                dut.op.value = op
                dut.a.value, dut.b.value = pack(a, w), pack(b, w)
                await Timer(1, unit="ns")
                want = alu_numpy(op, a, b, w, lw)
                got = unpack(dut.res.value, lanes, w, signed=True)
                assert np.array_equal(got, want), \
                    f"op {op} imm={use_imm}: res {got} != numpy {want} (a={a}, b={b})"
                checked += 1
    dut._log.info("alu_core acc%d x %d lanes: %d vectors", w, lanes, checked)
