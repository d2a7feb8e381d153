"""conv2d on VTA (compiler/conv2d.py) bit-exact against its numpy reference on the TLM."""
from __future__ import annotations

import numpy as np
import pytest

from vta.compiler.conv2d import build_conv2d, choose_tiles, conv2d, conv2d_reference
from vta.compiler.tiling import Geometry, Schedule
from vta.isa import MEM_ACC, MEM_INP, MEM_UOP, ConfigError, Gemm, Load, load_config, loop_indices
from vta.tlm import run_program

SHAPES = [  # (N, C, H, W, O, K, stride, pad, relu, bias, tiles)
    (1, 3, 6, 5, 4, 3, 1, 1, False, False, None),      # C=3 padded to the block, halo by pads
    (1, 8, 7, 6, 8, 3, 2, 1, True, True, None),        # stride 2, odd sizes
    (2, 3, 5, 5, 20, 1, 1, 0, False, True, None),      # N>1, kernel 1, ragged output channels
    (1, 16, 8, 8, 16, 3, 1, 0, True, False, None),     # no padding
    (1, 10, 9, 9, 12, 3, 2, 0, False, True, None),     # stride 2 without padding
    (1, 12, 9, 8, 40, 3, 1, 1, True, True, (2, 3, 1)),  # forced small tiles: many tiles, ragged
    (1, 5, 8, 8, 6, 5, 1, 2, False, True, None),       # kernel 5
    (1, 20, 9, 7, 24, 1, 2, 0, True, True, None),      # 1x1 stride 2, odd sizes: every 2nd row loaded
]


def _case(cfg, n, c, h, w, o, k, with_bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (n, c, h, w), dtype=np.int8)
    wt = rng.integers(-128, 128, (o, c, k, k), dtype=np.int8)
    bias = rng.integers(-20000, 20000, (o,), dtype=np.int32) if with_bias else None
    return x, wt, bias


def _shift_for(c, k):
    # keep the outputs spread over the int8 range rather than saturated
    return min(15, int(np.log2(c * k * k * 128 * 128 ** 0.5)) - 5)


@pytest.mark.parametrize("config", ["tiny", "default"])
@pytest.mark.parametrize("n,c,h,w,o,k,s,p,relu,with_bias,tiles", SHAPES)
def test_conv2d_bit_exact(config, n, c, h, w, o, k, s, p, relu, with_bias, tiles):
    cfg = load_config(config)
    x, wt, bias = _case(cfg, n, c, h, w, o, k, with_bias, n * 1000 + c * 10 + o)
    shift = _shift_for(c, k)
    y, res = conv2d(cfg, x, wt, bias, s, p, shift, relu, executor=run_program, tiles=tiles)
    ref = conv2d_reference(x, wt, bias, s, p, shift, relu)
    assert y.shape == ref.shape == (n, o, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
    assert y.dtype == np.int8
    np.testing.assert_array_equal(y, ref)
    assert res.warning_count == 0
    # the values are not trivially saturated or zero
    assert np.count_nonzero(ref) > ref.size // 4
    assert np.count_nonzero(np.abs(ref.astype(int)) >= 127) < ref.size // 2


def test_resnet_like_layer_default():
    """14x14, 32->32, 3x3, stride 1, pad 1, bias and ReLU on the default config."""
    cfg = load_config("default")
    x, wt, bias = _case(cfg, 1, 32, 14, 14, 32, 3, True, 7)
    y, res = conv2d(cfg, x, wt, bias, 1, 1, 9, True, executor=run_program)
    np.testing.assert_array_equal(y, conv2d_reference(x, wt, bias, 1, 1, 9, True))
    assert res.warning_count == 0 and res.cycles > 0
    assert 0.3 < res.stats["gemm_utilization"] <= 1.0


def test_kernels_are_cached_and_no_back_to_back_writes():
    cfg = load_config("tiny")
    x, wt, bias = _case(cfg, 1, 8, 8, 8, 16, 3, True, 3)
    prog, unpack, rt = build_conv2d(cfg, x, wt, bias, 1, 1, 8, False, tiles=(2, 2, 1))
    # 2 channel-block groups x 4 row tiles x 2 reduction steps over two regions each:
    # the same few kernels serve them all
    assert rt.stats["kernel_hits"] > rt.stats["uop_loads"]
    # replay the uop buffer as the LOAD UOPs fill it; every GEMM's executions, in loop
    # order, never write the same acc entry twice in a row
    buf, first, gemms = {}, prog.uop_base // cfg.uop_bytes, 0
    for insn in prog.insns:
        if isinstance(insn, Load) and insn.memory_type == MEM_UOP:
            for e in range(insn.x_size):
                buf[insn.sram_base + e] = prog.uops[insn.dram_base - first + e]
        elif isinstance(insn, Gemm) and not insn.reset:
            base = np.array([buf[e].dst_idx for e in range(insn.uop_bgn, insn.uop_end)])
            (dst,) = loop_indices(insn, [("dst", base, cfg.acc_depth)])
            assert dst.size > 1 and np.all(np.diff(dst) != 0)
            gemms += 1
    assert gemms == 16 + 8 and rt.bias_fold     # reduction steps + one bias GEMM per tile
    res = run_program(prog)
    np.testing.assert_array_equal(unpack(res.outputs), conv2d_reference(x, wt, bias, 1, 1, 8, False))


def test_reference_definition():
    # one channel, 3x3 input, 2x2 kernel: hand-computed
    x = np.array([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]], np.int8)
    w = np.array([[[[1, 0], [0, -1]]]], np.int8)
    np.testing.assert_array_equal(conv2d_reference(x, w), [[[[-4, -4], [-4, -4]]]])
    # pad 1, stride 2: windows at padded (0,0), (0,2), (2,0), (2,2); (2,2) is 5 - 9
    np.testing.assert_array_equal(conv2d_reference(x, w, stride=2, pad=1), [[[[-1, -3], [-7, -4]]]])
    np.testing.assert_array_equal(conv2d_reference(x, w, stride=2, pad=1, relu=True), [[[[0, 0], [0, 0]]]])
    # bias, wrap and arithmetic shift as dense defines them
    b = np.array([2**31 - 1], np.int32)
    np.testing.assert_array_equal(conv2d_reference(x, -w, b, 2, 1, 1), [[[[-128, -128], [-128, -128]]]])
    np.testing.assert_array_equal(conv2d_reference(x, w, np.array([-9], np.int32), shift=1), [[[[-7, -7], [-7, -7]]]])


def test_choose_tiles_fits_buffers():
    cfg = load_config("default")
    # C12-like: 7x7, 512->512, 3x3, pad 1
    g = Geometry(1, 32, 7, 7, 32, 3, 3, 1, (1, 1, 1, 1))
    sc = choose_tiles(cfg, g)
    assert sc == choose_tiles(cfg, g)          # reproducible
    ihp, iwp = (sc.toh - 1) + 3, (sc.tow - 1) + 3
    assert sc.vt * sc.tc * ihp * iwp <= cfg.inp_depth
    assert sc.vt * sc.to * sc.tc * 9 <= cfg.wgt_depth and sc.vt * sc.to * (sc.toh * sc.tow + 1) <= cfg.acc_depth


@pytest.mark.parametrize("args,msg", [
    ((np.zeros((1, 3, 4, 4), np.int16), np.zeros((4, 3, 3, 3), np.int8), None, 1, 1, 0), "input must be a 4-D int8"),
    ((np.zeros((1, 3, 4, 4), np.int8), np.zeros((4, 2, 3, 3), np.int8), None, 1, 1, 0), "C=3"),
    ((np.zeros((1, 3, 4, 4), np.int8), np.zeros((4, 3, 3, 3), np.int8), np.zeros(3, np.int32), 1, 1, 0), "bias must be"),
    ((np.zeros((1, 3, 4, 4), np.int8), np.zeros((4, 3, 3, 3), np.int8), None, 3, 1, 0), "stride 3"),
    ((np.zeros((1, 3, 4, 4), np.int8), np.zeros((4, 3, 3, 3), np.int8), None, 1, 3, 0), "pad 3"),
    ((np.zeros((1, 3, 4, 4), np.int8), np.zeros((4, 3, 3, 3), np.int8), None, 1, 1, 16), "shift 16"),
    ((np.zeros((1, 3, 2, 2), np.int8), np.zeros((4, 3, 5, 5), np.int8), None, 1, 1, 0), "larger than"),
])
def test_bad_arguments_are_named(args, msg):
    with pytest.raises(ConfigError, match=msg):
        conv2d(load_config("tiny"), *args, executor=run_program)


def test_bad_tiles_and_single_entry_output_are_named():
    cfg, x, w = load_config("tiny"), np.zeros((1, 4, 4, 4), np.int8), np.zeros((4, 4, 3, 3), np.int8)
    with pytest.raises(ConfigError, match="tiles"):
        build_conv2d(cfg, x, w, tiles=(1, 0, 1))
    with pytest.raises(ConfigError, match="one accumulator entry"):
        build_conv2d(cfg, np.zeros((1, 4, 3, 3), np.int8), w)


def test_wide_layer_tiles_the_width():
    # 300 padded columns x 3 rows do not fit the tiny config's 256-entry input buffer: the
    # output width is tiled (LOAD pads only on the edge tiles)
    cfg = load_config("tiny")
    x, wt, bias = _case(cfg, 1, 4, 4, 298, 4, 3, True, 11)
    prog, unpack, rt = build_conv2d(cfg, x, wt, bias, 1, 1, 7, False)
    assert rt.schedule.tow < 298
    np.testing.assert_array_equal(unpack(run_program(prog).outputs), conv2d_reference(x, wt, bias, 1, 1, 7, False))
    # forced tiles over the width, both loop orders, ragged edges
    for order in ("os", "so"):
        sc = Schedule(1, 2, 11, 1, order, 2)
        y, _ = conv2d(cfg, x[:, :, :, :100], wt, bias, 2, 1, 7, True, executor=run_program, tiles=sc)
        np.testing.assert_array_equal(y, conv2d_reference(x[:, :, :, :100], wt, bias, 2, 1, 7, True))


def test_layer_that_fits_no_tiling_is_refused():
    # a 17x17 window alone is 289 input entries, more than the tiny config's 256
    x, w = np.zeros((1, 4, 17, 20), np.int8), np.zeros((4, 4, 17, 17), np.int8)
    with pytest.raises(ConfigError, match="conv2d: no tiling fits config 'tiny'.*256-entry INP buffer"):
        build_conv2d(load_config("tiny"), x, w)
    with pytest.raises(ConfigError, match="conv2d: tiles .* do not fit config 'tiny'.*acc buffer"):
        build_conv2d(load_config("tiny"), np.zeros((1, 4, 40, 40), np.int8), np.zeros((4, 4, 1, 1), np.int8),
                     tiles=(1, 8, 16, 1))


@pytest.mark.parametrize("h,c,o,k,s,min_util", [
    (7, 512, 512, 3, 1, 0.9),      # ResNet-18 C12
    (224, 3, 64, 7, 2, 0.5),       # ResNet-18 C1: C=3 padded to 16, 7x7 kernel, pad 3
])
def test_resnet18_layers_default(h, c, o, k, s, min_util):
    cfg = load_config("default")
    x, wt, bias = _case(cfg, 1, c, h, h, o, k, True, h + c)
    y, res = conv2d(cfg, x, wt, bias, s, k // 2, 10, True, executor=run_program)
    np.testing.assert_array_equal(y, conv2d_reference(x, wt, bias, s, k // 2, 10, True))
    assert res.warning_count == 0
    assert min_util < res.stats["gemm_utilization"] <= 1.0


@pytest.mark.parametrize("config", ["tiny", "default"])
@pytest.mark.parametrize("c,h,w,k,s,p", [
    (1, 8, 6, 3, 2, 1), (2, 6, 8, 2, 2, 0), (3, 12, 12, 7, 2, 3), (1, 10, 14, 5, 2, 2), (3, 16, 10, 5, 2, 2), (4, 8, 8, 3, 2, 2),
])
def test_space_to_depth_lowering_bit_exact(config, c, h, w, k, s, p):
    cfg = load_config(config)
    x, wt, bias = _case(cfg, 2, c, h, w, 6, k, True, c * 100 + k)
    prog, unpack, rt = build_conv2d(cfg, x, wt, bias, s, p, 6, False)
    if c * s * s <= cfg.block_in:
        assert rt.lowering.startswith(f"space-to-depth {s}")
    np.testing.assert_array_equal(unpack(run_program(prog).outputs), conv2d_reference(x, wt, bias, s, p, 6, False))


def test_space_to_depth_cuts_c1_micro_ops():
    from vta.compiler.conv2d import lower
    cfg = load_config("default")
    x, w = np.zeros((1, 3, 224, 224), np.int8), np.zeros((64, 3, 7, 7), np.int8)
    x2, w2, g, out, how = lower(cfg, x, w, 2, 3)
    assert x2.shape == (1, 12, 112, 112) and w2.shape == (64, 12, 4, 4) and out == (112, 112)
    assert (g.kh, g.kw, g.s, g.pads) == (4, 4, 1, (2, 1, 2, 1)) and g.oh == g.ow == 112
    # a layer with many channels stays direct (more micro-ops otherwise)
    assert lower(cfg, np.zeros((1, 64, 56, 56), np.int8), np.zeros((128, 64, 3, 3), np.int8), 2, 1)[4] == "direct"


def test_batch2_config_with_width_tiles_and_space_to_depth():
    cfg = load_config("tiny").replace(arch={"log_batch": 1})
    x, wt, bias = _case(cfg, 3, 1, 8, 40, 5, 3, True, 21)          # 3 images: 2 batch groups, ragged
    for s, tiles in ((1, (1, 2, 9, 1)), (2, None)):
        prog, unpack, rt = build_conv2d(cfg, x, wt, bias, s, 1, 6, True, tiles=tiles)
        np.testing.assert_array_equal(unpack(run_program(prog).outputs), conv2d_reference(x, wt, bias, s, 1, 6, True))
    assert rt.lowering.startswith("space-to-depth 2")            # 1 channel x 4 <= block_in 4


def _program_ops(prog):
    from vta.isa import ALU_ADD, Alu
    loads = [i for i in prog.insns if isinstance(i, Load)]
    adds = [i for i in prog.insns if isinstance(i, Alu) and i.alu_opcode == ALU_ADD]
    return loads, adds


@pytest.mark.parametrize("stride", [1, 2])
def test_1x1_conv_folds_the_bias_and_loads_only_the_rows_it_reads(stride):
    cfg = load_config("default")
    x, wt, bias = _case(cfg, 1, 48, 12, 10, 40, 1, True, 11 + stride)
    prog, unpack, rt = build_conv2d(cfg, x, wt, bias, stride, 0, 9, True)
    np.testing.assert_array_equal(unpack(run_program(prog).outputs), conv2d_reference(x, wt, bias, stride, 0, 9, True))
    loads, adds = _program_ops(prog)
    # the bias is a GEMM operand (constant input entry x bias weight tiles): no ALU ADD, no ACC load
    assert rt.bias_fold and not adds and not any(ld.memory_type == MEM_ACC for ld in loads)
    inp = [ld for ld in loads if ld.memory_type == MEM_INP and ld.y_size > 1]
    sc = rt.schedule
    # input rows: one LOAD row per output row of the tile, `stride` input rows apart
    assert inp and all(ld.x_stride == stride * 10 and ld.y_size <= sc.toh for ld in inp)
    assert {ld.y_pad_0 + ld.y_pad_1 for ld in inp} == {0}


def test_bias_out_of_the_fold_range_is_added_on_the_alu():
    cfg = load_config("tiny")       # 4 lanes: the fold expresses about +-48k
    x, wt, bias = _case(cfg, 1, 8, 6, 6, 8, 1, True, 5)
    bias[3] = 2**30
    prog, unpack, rt = build_conv2d(cfg, x, wt, bias, 1, 0, 12, False)
    np.testing.assert_array_equal(unpack(run_program(prog).outputs), conv2d_reference(x, wt, bias, 1, 0, 12, False))
    assert not rt.bias_fold and _program_ops(prog)[1]


def test_forced_tiles_without_room_for_the_fold_keep_the_alu_bias():
    cfg = load_config("tiny")
    x, wt, bias = _case(cfg, 1, 4, 14, 14, 4, 3, True, 6)
    # (6 + 2) x 16 input entries fill half of INP exactly: no entry left for the constant input
    prog, unpack, rt = build_conv2d(cfg, x, wt, bias, 1, 1, 8, True, tiles=(1, 6, 14, 1))
    np.testing.assert_array_equal(unpack(run_program(prog).outputs), conv2d_reference(x, wt, bias, 1, 1, 8, True))
    assert not rt.bias_fold and rt.schedule.toh == 6
    # the same layer with the search: folded
    assert build_conv2d(cfg, x, wt, bias, 1, 1, 8, True)[2].bias_fold
