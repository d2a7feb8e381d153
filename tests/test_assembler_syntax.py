"""What the assembly syntax means: operands and aliases, labels and addresses, layout,
data and expect directives, constants, conditionals and includes, the Python API."""
from pathlib import Path

import numpy as np
import pytest

from vta.assembler import AsmError, assemble_file, assemble_text, disassemble, format_insn, load_program
from vta.isa import (VTAError, Alu, Finish, Gemm, Load, Store, Uop, load_config, write_bundle)

CFG = load_config("default")
TINY = load_config("tiny")


def asm(text, cfg=CFG):
    return assemble_text(text, cfg, "t.s")


def test_instruction_operands_and_defaults():
    p = asm("""
        ; comments with ';' and '#'
        LOAD inp sram=3 dram=100 y=2 x=4 stride=8 pad=(1,2,3,4) pop_next push_next  # trailing
        load WGT sram=0 dram=0x10 y=1 x=2          ; case-insensitive words, stride defaults to x
        STORE sram=1 dram=0b101 y=1 x=1 pop_prev    ; memory type defaults to out
        GEMM reset uop=(0,2) iter=(3,4) dst=(5,6) src=(7,8) wgt=(9,10) pop_prev push_prev
        ALU max uop=(1,2) iter=(1,16) dst=(0,1) src=(0,1) imm=-7 push_next
        ALU add uop_bgn=0 uop_end=1 iter_out=1 iter_in=1           ; full field names
        ALU SHR uop=(0,1) iter=(1,1) use_imm=0 imm=3              ; imm bits without use_imm
        FINISH pop_next
    """)
    assert p.insns == [
        Load(memory_type=2, sram_base=3, dram_base=100, y_size=2, x_size=4, x_stride=8,
             y_pad_0=1, y_pad_1=2, x_pad_0=3, x_pad_1=4, pop_next=True, push_next=True),
        Load(memory_type=1, sram_base=0, dram_base=16, y_size=1, x_size=2, x_stride=2),
        Store(memory_type=4, sram_base=1, dram_base=5, y_size=1, x_size=1, x_stride=1, pop_prev=True),
        Gemm(reset=True, uop_bgn=0, uop_end=2, iter_out=3, iter_in=4, dst_factor_out=5,
             dst_factor_in=6, src_factor_out=7, src_factor_in=8, wgt_factor_out=9,
             wgt_factor_in=10, pop_prev=True, push_prev=True),
        Alu(alu_opcode=1, uop_bgn=1, uop_end=2, iter_out=1, iter_in=16, dst_factor_in=1,
            src_factor_in=1, use_imm=True, imm=-7, push_next=True),
        Alu(alu_opcode=2, uop_bgn=0, uop_end=1, iter_out=1, iter_in=1),
        Alu(alu_opcode=3, uop_bgn=0, uop_end=1, iter_out=1, iter_in=1, imm=3),
        Finish(pop_next=True),
    ]


def test_format_insn_is_the_canonical_line():
    assert format_insn(Load(memory_type=2, sram_base=3, dram_base=100, y_size=2, x_size=4,
                            x_stride=8, y_pad_0=1, x_pad_1=1, pop_next=True)) == \
        "LOAD inp sram=3 dram=100 y=2 x=4 stride=8 pad=(1,0,0,1) pop_next"
    assert format_insn(Gemm(uop_end=1, iter_out=1, iter_in=2, push_next=True)) == \
        "GEMM uop=(0,1) iter=(1,2) dst=(0,0) src=(0,0) wgt=(0,0) push_next"
    assert format_insn(Alu(alu_opcode=1, use_imm=True, imm=0)) == \
        "ALU MAX uop=(0,0) iter=(0,0) dst=(0,0) src=(0,0) imm=0"
    assert format_insn(Finish(pop_prev=True, pop_next=True)) == "FINISH pop_prev pop_next"


def test_expressions_constants_and_equ():
    p = asm("""
        .equ ROWS = 2 * 3
        .equ MASK = (1 << 4) - 1
        LOAD inp sram=ROWS*BLOCK_IN/16 dram=-(-5) y=ROWS x=MASK & 2 stride=7 % 4
        LOAD acc sram=ACC_DEPTH - 1 dram=0 y=1 x=1 stride=INP_BYTES == 16
    """)
    assert (p.insns[0].sram_base, p.insns[0].dram_base, p.insns[0].y_size, p.insns[0].x_size,
            p.insns[0].x_stride) == (6, 5, 6, 2, 3)
    assert p.insns[1].sram_base == CFG.acc_depth - 1 and p.insns[1].x_stride == 1


def test_labels_addresses_and_layout():
    p = asm("""
        .insn_base 0x4000
        inp: .data input shape=(4, BLOCK_IN) random seed=9
        acc: .data bias shape=(2, BATCH, BLOCK_OUT) zeros
        wgt: .data weight int8 shape=(BLOCK_OUT, BLOCK_IN) zeros base=0x100000
        first:
        second:
            UOP dst=0 src=0 wgt=0
            UOP dst=1 src=1
        other: UOP dst=2 src=2 wgt=1
        LOAD uop sram=0 dram=first y=1 x=len(first) + len(other)
        LOAD uop sram=0 dram=other y=1 x=1
        LOAD inp sram=0 dram=inp + 2 * INP_BYTES y=1 x=2
        LOAD acc sram=0 dram=acc y=1 x=len(acc)
        LOAD wgt sram=0 dram=wgt y=1 x=len(wgt)
        GEMM uop=(second, other + len(other)) iter=(1,1)
        FINISH
    """)
    assert p.insn_base == 0x4000 and p.uop_base == 0x5000      # next page after 7 insns
    inp, acc, wgt = (p.segment(n) for n in ("inp", "acc", "wgt"))
    assert inp.base == 0x6000 and acc.base == 0x7000 and wgt.base == 0x100000
    assert acc.data.dtype == np.int32 and acc.shape == (2, 1, 16) and inp.data.dtype == np.int8
    loads = p.insns
    assert (loads[0].dram_base, loads[0].x_size) == (0x5000 // 4, 3)
    assert loads[1].dram_base == 0x5000 // 4 + 2
    assert loads[2].dram_base == 0x6000 // 16 + 2
    assert (loads[3].dram_base, loads[3].x_size) == (0x7000 // 64, 2)
    assert (loads[4].dram_base, loads[4].x_size) == (0x100000 // 256, 1)
    assert (p.insns[5].uop_bgn, p.insns[5].uop_end) == (0, 3)
    assert p.uops == [Uop(0, 0, 0), Uop(1, 1, 0), Uop(2, 2, 1)]


def test_data_sources(tmp_path):
    np.save(tmp_path / "w.npy", np.arange(-8, 8, dtype=np.int64).reshape(4, 4))
    (tmp_path / "raw.bin").write_bytes(np.arange(16, dtype="<i4").tobytes())
    (tmp_path / "p.s").write_text("""
        a: .data input shape=(2, 4) values=[[1, 2, 3, 4],
                                            [-1, -2, -3, -128]]
        b: .data weight file="w.npy"
        c: .data bias shape=(4, 4) file="raw.bin"
        d: .data output shape=(1, 4) zeros
        e: .data input shape=(3, 4) random seed=42 min=-3 max=3
        f: .data input uint8 shape=(1, 4) values=[255, 0, 1, 2]
        .expect d values=[9, 8, 7, 6]
        FINISH
    """)
    p = assemble_file(tmp_path / "p.s", TINY)
    np.testing.assert_array_equal(p.segment("a").data, [[1, 2, 3, 4], [-1, -2, -3, -128]])
    np.testing.assert_array_equal(p.segment("b").data, np.arange(-8, 8).reshape(4, 4))
    np.testing.assert_array_equal(p.segment("c").data, np.arange(16).reshape(4, 4))
    assert p.segment("c").data.dtype == np.int32
    ref = np.random.default_rng(42).integers(-3, 3, size=(3, 4), endpoint=True, dtype=np.int64)
    np.testing.assert_array_equal(p.segment("e").data, ref.astype(np.int8))
    assert p.segment("f").dtype == "uint8"
    np.testing.assert_array_equal(p.expect["d"], [[9, 8, 7, 6]])
    assert p.name == "p"


def test_expect_from_npy(tmp_path):
    np.save(tmp_path / "o.npy", np.full((2, 16), -3, np.int8))
    (tmp_path / "p.s").write_text('o: .data output shape=(2, 16) zeros\n.expect o file="o.npy"\nFINISH\n')
    assert (assemble_file(tmp_path / "p.s", CFG).expect["o"] == -3).all()


def test_conditionals_follow_the_config():
    text = """
        .if BLOCK_IN == 16
            .equ N = 16
        .elif BLOCK_IN == 4
            .equ N = 4
        .else
            BOGUS this line is never parsed as an instruction
        .endif
        .if 0
          .if 1
            LOAD nothing
          .endif
        .endif
        LOAD inp sram=0 dram=0 y=1 x=N
    """
    assert asm(text).insns[0].x_size == 16
    assert asm(text, TINY).insns[0].x_size == 4


def test_includes_nest_relative_to_the_including_file(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "consts.s").write_text(".equ ROWS = 3\n.include \"data.s\"\n")
    (tmp_path / "lib" / "data.s").write_text("x: .data input shape=(ROWS, BLOCK_IN) zeros\n")
    (tmp_path / "main.s").write_text('.include "lib/consts.s"\nLOAD inp sram=0 dram=x y=ROWS x=1\nFINISH\n')
    p = assemble_file(tmp_path / "main.s", CFG)
    assert p.insns[0].y_size == 3 and p.segment("x").shape == (3, 16)
    (tmp_path / "lib" / "data.s").write_text('.include "../main.s"\n')
    with pytest.raises(AsmError, match="includes itself"):
        assemble_file(tmp_path / "main.s", CFG)


def test_asm_error_carries_its_position():
    with pytest.raises(AsmError) as e:
        assemble_text("FINISH\n  LOAD inp sram=0 dram=0 y=1 x=99999999\n", CFG, "prog.s")
    err = e.value
    assert isinstance(err, VTAError)
    assert (err.file, err.line, err.col) == ("prog.s", 2, 32)
    assert str(err).startswith("prog.s:2:32: field 'x_size' = 99999999 does not fit its 16 bits")


def test_checks_and_nocheck():
    bad = "LOAD inp sram=2047 dram=0 y=1 x=2\n"
    with pytest.raises(AsmError, match="past its 2048 entries"):
        asm(bad)
    assert asm(".nocheck\n" + bad).insns[0].sram_base == 2047
    with pytest.raises(AsmError, match="MUL is reserved"):
        asm("ALU MUL uop=(0,1) iter=(1,1)\n")
    with pytest.raises(AsmError, match="outside segment 'a'"):
        asm("a: .data output shape=(2, 16) zeros\nSTORE out sram=0 dram=a + 16 y=1 x=2\n")


def test_extent_check_adds_y_pads_to_rows_and_x_pads_to_columns():
    # y=1 x=8 with x pads 3+5: (1 + 0) * (8 + 3 + 5) = 16 entries; with the axes swapped it
    # would be (1 + 8) * (8 + 0) = 72. So it fits the 2048-entry inp buffer from 2032 only.
    for mem, depth in (("inp", CFG.inp_depth), ("acc", CFG.acc_depth)):
        line = "LOAD {} sram={} dram=0 y=1 x=8 stride=8 pad=(0,0,3,5)\n"
        fits = asm(line.format(mem, depth - 16)).insns[0]
        assert (fits.sram_base, fits.y_pad_0, fits.y_pad_1, fits.x_pad_0, fits.x_pad_1) == (depth - 16, 0, 0, 3, 5)
        with pytest.raises(AsmError, match=rf"^t.s:1:1: LOAD: writes {mem} buffer entries "
                                           rf"{depth - 15}\.\.{depth}, past its {depth} entries"):
            asm(line.format(mem, depth - 15))


def test_assert_directive():
    asm('.assert BLOCK_IN == 16 "needs 16"\nFINISH\n')
    with pytest.raises(AsmError, match=r"^t.s:1:1: needs 16 .*config 'tiny'"):
        asm('.assert BLOCK_IN == 16 "needs 16"\nFINISH\n', TINY)


def test_load_program_both_kinds(tmp_path):
    src = tmp_path / "k.s"
    src.write_text("o: .data output shape=(1, 16) zeros\nFINISH\n")
    p = load_program(src, "default")
    bundle = write_bundle(p, tmp_path / "k.vtab")
    q = load_program(bundle, None)
    assert q.insns == p.insns and q.segments[0].name == "o"
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(VTAError, match="expected an assembly source"):
        load_program(tmp_path / "x.txt", "default")
    with pytest.raises(VTAError, match="not a bundle"):
        load_program(tmp_path, "default")


def test_disassembly_of_examples_reassembles():
    root = Path(__file__).resolve().parents[1] / "examples"
    for f in sorted(root.glob("*.s")):
        for cfg in (CFG, TINY):
            p = assemble_file(f, cfg)
            q = assemble_text(disassemble(p), cfg)
            assert q.insns == p.insns and q.uops == p.uops, f
            assert all((a.data == b.data).all() and a.base == b.base for a, b in zip(p.segments, q.segments))


def test_rept_expands_with_counters():
    p = asm("""
        blk:
        .rept 4 i
          .rept 2 j
            UOP dst=i * 2 + j src=i wgt=j
          .endr
        .endr
        .rept 0
          NOT AN INSTRUCTION
        .endr
        .rept BLOCK_IN / 8 k
          .if k == 1
            LOAD inp sram=k dram=0 y=1 x=1
          .endif
        .endr
        GEMM uop=(blk, blk + len(blk)) iter=(1,1)
    """)
    assert p.uops == [Uop(i * 2 + j, i, j) for i in range(4) for j in range(2)]
    assert [type(i).__name__ for i in p.insns] == ["Load", "Gemm"]
    assert p.insns[0].sram_base == 1 and p.insns[1].uop_end == 8
    for text, message in ((".rept 2\nFINISH\n", ".rept is never closed"),
                          (".endr\n", ".endr without a matching .rept"),
                          (".rept 2 BLOCK_IN\n.endr\n", "already a constant"),
                          (".rept 2\n.if 1\n.endr\n", ".if is never closed (expected .endif before the end of the .rept body)")):
        with pytest.raises(AsmError, match=message.replace("(", r"\(").replace(")", r"\)")):
            asm(text)
