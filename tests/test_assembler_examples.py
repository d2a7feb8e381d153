"""The examples assemble for every 1x16x16 config and for tiny, and their expected
outputs are right: a small numpy interpreter, written here from VTA_SPEC.md and
independent of the TLM, runs each program (in an order its dependence tokens allow)
and compares the output segments with the .expect data the file carries."""
from pathlib import Path

import numpy as np
import pytest

from vta.assembler import assemble_file
from vta.isa import Finish, Gemm, Load, Store, load_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FILES = ("gemm.s", "relu.s", "padded_load.s", "requant.s")
MEM_UOP, MEM_WGT, MEM_INP, MEM_ACC, MEM_OUT = range(5)


class MiniVTA:
    """Functional VTA: DRAM bytes, four buffers, the three stages and their token queues."""

    def __init__(self, program):
        self.p, cfg = program, program.config
        self.cfg = cfg
        self.dram = np.zeros(cfg.dram_bytes, np.uint8)
        for s in program.segments:
            raw = np.frombuffer(s.data.astype(s.data.dtype.newbyteorder("<")).tobytes(), np.uint8)
            self.dram[s.base:s.base + raw.size] = raw
        b, bi, bo = cfg.batch, cfg.block_in, cfg.block_out
        self.shapes = {MEM_INP: ((b, bi), np.int8), MEM_WGT: ((bo, bi), np.int8),
                       MEM_ACC: ((b, bo), np.int32), MEM_OUT: ((b, bo), np.int8)}
        self.sram = {m: np.zeros((cfg.depth(m), *shape), np.int64) for m, (shape, _) in self.shapes.items()}
        self.uop_sram = [None] * cfg.uop_depth
        self.tokens = {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}

    # -- DRAM elements -------------------------------------------------------------
    def _elem(self, mem, index):
        shape, dtype = self.shapes[mem]
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        raw = self.dram[index * size:(index + 1) * size]
        return np.frombuffer(raw.tobytes(), np.dtype(dtype).newbyteorder("<")).reshape(shape)

    def load(self, i):
        if i.memory_type == MEM_UOP:
            first = (i.dram_base * 4 - self.p.uop_base) // 4
            for k in range(i.x_size):
                self.uop_sram[i.sram_base + k] = self.p.uops[first + k]
            return
        pad = i.memory_type in (MEM_INP, MEM_ACC)
        yp0, yp1, xp0, xp1 = (i.y_pad_0, i.y_pad_1, i.x_pad_0, i.x_pad_1) if pad else (0, 0, 0, 0)
        width = xp0 + i.x_size + xp1
        entry = i.sram_base
        for row in range(yp0 + i.y_size + yp1):
            for col in range(width):
                r, c = row - yp0, col - xp0
                inside = 0 <= r < i.y_size and 0 <= c < i.x_size
                self.sram[i.memory_type][entry] = (
                    self._elem(i.memory_type, i.dram_base + r * i.x_stride + c) if inside else 0)
                entry += 1

    def store(self, i):
        shape, dtype = self.shapes[MEM_OUT]
        size = int(np.prod(shape))
        for r in range(i.y_size):
            for c in range(i.x_size):
                val = self.sram[MEM_OUT][i.sram_base + r * i.x_size + c].astype(np.int8)
                at = (i.dram_base + r * i.x_stride + c) * size
                self.dram[at:at + size] = np.frombuffer(val.tobytes(), np.uint8)

    @staticmethod
    def _wrap(x, bits):
        return ((x + (1 << (bits - 1))) % (1 << bits)) - (1 << (bits - 1))

    def loop(self, i):
        acc, out = self.sram[MEM_ACC], self.sram[MEM_OUT]
        for a in range(i.iter_out):
            for b in range(i.iter_in):
                for k in range(i.uop_bgn, i.uop_end):
                    u = self.uop_sram[k]
                    dst = u.dst_idx + a * i.dst_factor_out + b * i.dst_factor_in
                    src = u.src_idx + a * i.src_factor_out + b * i.src_factor_in
                    if isinstance(i, Gemm):
                        wgt = u.wgt_idx + a * i.wgt_factor_out + b * i.wgt_factor_in
                        new = self._wrap(acc[dst] + self.sram[MEM_INP][src] @ self.sram[MEM_WGT][wgt].T, 32)
                        acc[dst] = 0 if i.reset else new
                    else:
                        x = acc[dst]
                        y = np.full_like(x, i.imm) if i.use_imm else acc[src]
                        if i.alu_opcode == 0:
                            new = np.minimum(x, y)
                        elif i.alu_opcode == 1:
                            new = np.maximum(x, y)
                        elif i.alu_opcode == 2:
                            new = self._wrap(x + y, 32)
                        else:
                            assert i.alu_opcode == 3, "MUL is reserved"
                            n = self._wrap(y, self.cfg.arch["log_acc_width"])   # low bits, signed
                            new = self._wrap(np.where(n >= 0, x >> np.maximum(n, 0),
                                                      x << np.maximum(-n, 0)), 32)
                        acc[dst] = new
                    out[dst] = self._wrap(new, 8)

    # -- stages and tokens ---------------------------------------------------------
    def run(self):
        queues = {"load": [], "compute": [], "store": []}
        for i in self.p.insns:
            if isinstance(i, Store):
                queues["store"].append(i)
            elif isinstance(i, Load) and i.memory_type in (MEM_INP, MEM_WGT):
                queues["load"].append(i)
            else:
                queues["compute"].append(i)
        pops = {"load": {"pop_next": "g2l"}, "compute": {"pop_prev": "l2g", "pop_next": "s2g"},
                "store": {"pop_prev": "g2s"}}
        pushes = {"load": {"push_next": "l2g"}, "compute": {"push_prev": "g2l", "push_next": "g2s"},
                  "store": {"push_prev": "s2g"}}
        finished = False
        while any(queues.values()):
            for stage, q in queues.items():
                if not q:
                    continue
                i = q[0]
                need = [pops[stage][f] for f in pops[stage] if getattr(i, f)]
                if any(self.tokens[t] == 0 for t in need):
                    continue
                q.pop(0)
                for t in need:
                    self.tokens[t] -= 1
                if isinstance(i, Finish):
                    finished = True
                elif isinstance(i, Store):
                    self.store(i)
                elif isinstance(i, Load):
                    self.load(i)
                else:
                    self.loop(i)
                for f, t in pushes[stage].items():
                    if getattr(i, f):
                        self.tokens[t] += 1
                break
            else:
                raise AssertionError(f"deadlock: {queues} tokens {self.tokens}")
        return finished

    def segment(self, seg):
        raw = self.dram[seg.base:seg.end].tobytes()
        return np.frombuffer(raw, seg.data.dtype.newbyteorder("<")).reshape(seg.shape)


@pytest.mark.parametrize("config", ["default", "tiny", "ultra96", "zcu104"])
@pytest.mark.parametrize("name", FILES)
def test_example_expected_outputs_hold(name, config):
    prog = assemble_file(EXAMPLES / name, load_config(config))
    assert prog.expect, f"{name} carries no expected outputs"
    vta = MiniVTA(prog)
    assert vta.run(), "FINISH never ran"
    assert vta.tokens == {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}, "tokens left in a queue"
    for seg_name, expected in prog.expect.items():
        got = vta.segment(prog.segment(seg_name))
        np.testing.assert_array_equal(got, expected, err_msg=f"{name} on {config}: {seg_name}")


def test_padded_load_output_is_the_padded_input():
    prog = assemble_file(EXAMPLES / "padded_load.s", "default")
    inp, out = prog.segment("inp").data, prog.expect["out"]
    assert out.shape == (4, 4, 1, 16)
    assert not out[0].any() and not out[-1].any() and not out[:, 0].any() and not out[:, -1].any()
    np.testing.assert_array_equal(out[1:3, 1:3], inp)
    assert inp.any()


def test_relu_and_gemm_expectations_show_truncation():
    relu = assemble_file(EXAMPLES / "relu.s", "default")
    acc = relu.segment("acc").data.astype(np.int64)
    assert (acc > 127).any() and (acc < 0).any()          # the data exercises both rules
    np.testing.assert_array_equal(relu.expect["out"], ((np.maximum(acc, 0) + 128) % 256) - 128)
    gemm = assemble_file(EXAMPLES / "gemm.s", "default")
    full = gemm.segment("inp").data.astype(np.int64) @ gemm.segment("wgt").data.astype(np.int64).T
    assert (np.abs(full) > 127).any()


def test_requant_expectation_is_the_clipped_half_sum():
    p = assemble_file(EXAMPLES / "requant.s", "tiny")
    a, b = (p.segment(n).data.astype(np.int64) for n in ("a", "b"))
    half = (a + b) >> 1
    assert (half > 127).any() and (half < -128).any()       # both clips matter
    np.testing.assert_array_equal(p.expect["out"], np.clip(half, -128, 127))
    assert len(p.uops) == 8 + 1                             # .rept wrote one per pair


def test_example_shape_guard_names_the_problem():
    from vta.assembler import AsmError
    cfg = load_config("default").replace(arch={"log_batch": 1, "log_inp_buff_size": 16})
    with pytest.raises(AsmError, match="expected outputs for 1x16x16 and 1x4x4 configs only"):
        assemble_file(EXAMPLES / "gemm.s", cfg)
