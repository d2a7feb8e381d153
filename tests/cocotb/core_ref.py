"""A plain numpy interpreter of VTA programs (VTA_SPEC.md), used as the reference for
the RTL core tests: runs the instructions in program order on a DRAM byte image."""
from __future__ import annotations

import numpy as np

from vta.isa import (MEM_ACC, MEM_INP, MEM_UOP, MEM_WGT, Alu, Finish, Gemm, Load, Store,
                     alu_apply, decode_uops, truncate, wrap_signed)


def _dtype(bits):
    return {8: np.int8, 16: np.int16, 32: np.int32}[bits]


class RefMachine:
    def __init__(self, cfg, dram):
        self.cfg = cfg
        self.dram = dram  # bytearray
        B, I, O = cfg.batch, cfg.block_in, cfg.block_out
        self.inp = np.zeros((cfg.inp_depth, B, I), np.int64)
        self.wgt = np.zeros((cfg.wgt_depth, O, I), np.int64)
        self.acc = np.zeros((cfg.acc_depth, B, O), np.int64)
        self.out = np.zeros((cfg.out_depth, B, O), np.int64)
        self.uop = [None] * cfg.uop_depth

    def _read(self, addr, n, bits, shape):
        raw = bytes(self.dram[addr:addr + n])
        return np.frombuffer(raw, dtype=_dtype(bits)).astype(np.int64).reshape(shape)

    def load(self, insn):
        cfg = self.cfg
        t = insn.memory_type
        if t == MEM_UOP:
            base = insn.dram_base * 4
            uops = decode_uops(bytes(self.dram[base:base + 4 * insn.x_size]), cfg)
            for n, u in enumerate(uops):
                self.uop[(insn.sram_base + n) % cfg.uop_depth] = u
            return
        buf, bits, shape = {MEM_INP: (self.inp, cfg.inp_bits, (cfg.batch, cfg.block_in)),
                            MEM_WGT: (self.wgt, cfg.wgt_bits, (cfg.block_out, cfg.block_in)),
                            MEM_ACC: (self.acc, cfg.acc_bits, (cfg.batch, cfg.block_out))}[t]
        eb = cfg.elem_bytes(t)
        pads = (insn.y_pad_0, insn.y_pad_1, insn.x_pad_0, insn.x_pad_1)
        if t == MEM_WGT:
            pads = (0, 0, 0, 0)
        yp0, yp1, xp0, xp1 = pads
        width = xp0 + insn.x_size + xp1
        idx = insn.sram_base
        for r in range(yp0 + insn.y_size + yp1):
            for c in range(width):
                data_row = yp0 <= r < yp0 + insn.y_size
                data_col = xp0 <= c < xp0 + insn.x_size
                if data_row and data_col:
                    e = insn.dram_base + (r - yp0) * insn.x_stride + (c - xp0)
                    val = self._read(e * eb, eb, bits, shape)
                else:
                    val = 0
                buf[idx % len(buf)] = val
                idx += 1

    def store(self, insn):
        cfg = self.cfg
        eb = cfg.out_bytes
        idx = insn.sram_base
        for r in range(insn.y_size):
            for c in range(insn.x_size):
                e = insn.dram_base + r * insn.x_stride + c
                v = self.out[idx % cfg.out_depth].astype(_dtype(cfg.out_bits))
                self.dram[e * eb:(e + 1) * eb] = v.tobytes()
                idx += 1

    def loop(self, insn):
        cfg = self.cfg
        for i in range(insn.iter_out):
            for j in range(insn.iter_in):
                for k in range(insn.uop_bgn, insn.uop_end):
                    u = self.uop[k]
                    dst = (u.dst_idx + i * insn.dst_factor_out + j * insn.dst_factor_in) % cfg.acc_depth
                    src = u.src_idx + i * insn.src_factor_out + j * insn.src_factor_in
                    a = self.acc[dst]
                    if isinstance(insn, Gemm):
                        src %= cfg.inp_depth
                        w = (u.wgt_idx + i * insn.wgt_factor_out + j * insn.wgt_factor_in) % cfg.wgt_depth
                        new = wrap_signed(a + self.inp[src] @ self.wgt[w].T, cfg.acc_bits)
                        self.acc[dst] = 0 if insn.reset else new
                    else:
                        src %= cfg.acc_depth
                        b = np.full_like(a, insn.imm) if insn.use_imm else self.acc[src]
                        new = alu_apply(insn.alu_opcode, a, b, cfg.acc_bits, cfg.log_acc_width)
                        self.acc[dst] = new
                    self.out[dst] = truncate(new, cfg.out_bits)

    def run(self, insns):
        for insn in insns:
            if isinstance(insn, Load):
                self.load(insn)
            elif isinstance(insn, Store):
                self.store(insn)
            elif isinstance(insn, (Gemm, Alu)):
                self.loop(insn)
            elif isinstance(insn, Finish):
                break
        return self.dram
