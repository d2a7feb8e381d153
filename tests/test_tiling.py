"""The tiling search (compiler/tiling.py): candidates fit, the ranking is reproducible, the
model tracks the TLM, confirm() keeps the fewest measured cycles."""
from __future__ import annotations

import numpy as np
import pytest

from vta.compiler import tiling
from vta.compiler.conv2d import build_conv2d, conv2d_reference, geometry
from vta.isa import ConfigError, load_config
from vta.tlm import run_program


def _layer(c, h, o, k, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(-128, 128, (1, c, h, h), dtype=np.int8), rng.integers(-128, 128, (o, c, k, k), dtype=np.int8),
            rng.integers(-3000, 3000, (o,), dtype=np.int32))


def test_ranking_is_reproducible_and_every_candidate_fits():
    cfg = load_config("default")
    g = tiling.Geometry(1, 8, 28, 28, 16, 3, 3, 1, (1, 1, 1, 1))
    a, b = tiling.rank(cfg, g), tiling.rank(cfg, g)
    assert [s for _, s in a] == [s for _, s in b] and len(a) > 100
    assert all(tiling.fits(cfg, g, s) is None for _, s in a)
    cycles = [c.cycles for c, _ in a]
    assert cycles == sorted(cycles, key=round) and cycles[0] < cycles[-1]
    assert {s.order for _, s in a} == {"os", "so"}


def test_a_remembered_ranking_equals_a_fresh_search_of_the_same_config_only():
    # rank remembers its result per (config values, geometry): a repeated layer costs
    # nothing, and a config with another DRAM latency (the model's request cost) gets its own
    cfg = load_config("default")
    g = tiling.Geometry(1, 4, 14, 14, 4, 3, 3, 1, (1, 1, 1, 1))
    tiling._RANKED.clear()
    first = tiling.rank(cfg, g)
    again = tiling.rank(cfg, g)
    assert again == first and again is not first
    again.clear()   # a caller's list is its own
    assert tiling.rank(cfg, g) == first == tiling._rank(cfg, g, (2, 1))
    slow = cfg.replace(dram={"latency": 400})
    costs = [c.cycles for c, _ in tiling.rank(slow, g)]
    assert costs == [c.cycles for c, _ in tiling._rank(slow, g, (2, 1))]
    assert costs != [c.cycles for c, _ in first]


def test_top_candidates_are_bit_exact_and_the_model_tracks_the_tlm():
    cfg = load_config("tiny")
    x, w, b = _layer(12, 10, 12, 3)
    g = geometry(cfg, x, w, 1, 1)
    ranked = tiling.rank(cfg, g)
    ref = conv2d_reference(x, w, b, 1, 1, 9, True)
    # the best few and a poor one: all exact; the model orders best vs worst like the TLM
    picks = ranked[:3] + [ranked[-1]]
    measured = []
    for cost, sc in picks:
        prog, unpack, _ = build_conv2d(cfg, x, w, b, 1, 1, 9, True, tiles=sc)
        res = run_program(prog)
        np.testing.assert_array_equal(unpack(res.outputs), ref)
        measured.append(res.cycles)
        assert 0.6 < cost.cycles / res.cycles < 1.4, (sc, cost, res.cycles)
    assert min(measured[:3]) < measured[-1]


def test_confirm_keeps_the_fewest_measured_cycles():
    cfg = load_config("default")
    g = tiling.Geometry(1, 4, 14, 14, 4, 3, 3, 1, (1, 1, 1, 1))
    ranked = tiling.rank(cfg, g)
    fake = {s: 100 - i for i, (_, s) in enumerate(ranked[:4])}      # the 4th is fastest "on the TLM"
    chosen, table = tiling.confirm(ranked, fake.__getitem__, top=4)
    assert chosen == ranked[3][1] and [r[2] for r in table] == [100, 99, 98, 97]
    chosen, _ = tiling.confirm(ranked, lambda s: 7, top=3)            # ties: the best-modeled
    assert chosen == ranked[0][1]


def test_nothing_fits_names_the_limit():
    cfg = load_config("tiny")
    g = tiling.Geometry(1, 1, 20, 20, 1, 17, 17, 1, (0, 0, 0, 0))
    with pytest.raises(ConfigError, match="conv2d: no tiling fits config 'tiny'.*INP buffer"):
        tiling.best(cfg, g)


def test_conv2d_confirm_runs_the_top_schedules_on_the_executor():
    from vta.compiler.conv2d import conv2d
    cfg = load_config("tiny")
    x, w, b = _layer(8, 9, 8, 3, seed=4)
    seen = []

    def tlm(prog):
        res = run_program(prog)
        seen.append(res.cycles)
        return res
    y, res = conv2d(cfg, x, w, b, 1, 1, 8, True, executor=tlm, confirm=3)
    np.testing.assert_array_equal(y, conv2d_reference(x, w, b, 1, 1, 8, True))
    assert len(seen) == 3 and res.cycles == min(seen)
    with pytest.raises(ConfigError, match="reports .cycles"):
        conv2d(cfg, x, w, b, 1, 1, 8, True, executor=lambda p: run_program(p).outputs, confirm=2)


@pytest.mark.parametrize("config", ["tiny", "default"])
def test_bias_weights_express_the_bias_exactly_within_range(config):
    from vta.compiler.requant import bias_weights
    cfg = load_config(config)
    m, k = 127, cfg.block_in - 1
    lo, hi = k * -128 * m, k * 127 * m + m - 1          # q in [k*wmin, k*wmax], residue 0..m-1
    rng = np.random.default_rng(1)
    b = np.concatenate([[lo, hi, 0, -1, 1, m, -m], rng.integers(lo, hi + 1, 200)]).astype(np.int32)
    blocks = -(-len(b) // cfg.block_out)
    ones, tiles = bias_weights(cfg, b, blocks)
    assert ones.dtype == np.int8 and tiles.dtype == np.int8 and tiles.shape == (blocks, cfg.block_out, cfg.block_in)
    got = tiles.reshape(-1, cfg.block_in).astype(np.int64) @ ones[0].astype(np.int64)
    np.testing.assert_array_equal(got[:len(b)], b)
    assert not got[len(b):].any()                         # padded channels: no bias
    assert bias_weights(cfg, np.array([hi + 1], np.int32), 1) is None
    assert bias_weights(cfg, np.array([lo - 1], np.int32), 1) is None
    assert bias_weights(cfg, None, 1) is None


def test_1x1_strided_geometry_reserves_the_fold_and_skips_rows():
    cfg = load_config("default")
    x, w, b = _layer(256, 14, 512, 1)
    g = geometry(cfg, x, w, 2, 0, b)
    assert g.bias == "gemm" and g.row_skip and g.in_rows(7) == 7
    assert geometry(cfg, x, w, 2, 0).bias == "add" and not geometry(cfg, *_layer(16, 14, 16, 3)[:2], 2, 1).row_skip
    sc = tiling.best(cfg, g)
    # one INP entry and one WGT tile per output block reserved per region, no acc bias entries
    assert sc.vt * (sc.tc * sc.toh * ((sc.tow - 1) * 2 + 1) + 1) <= cfg.inp_depth
    assert sc.vt * sc.to * (sc.tc + 1) <= cfg.wgt_depth
    cost = tiling.model(cfg, g, sc)
    add = tiling.model(cfg, tiling.Geometry(*[getattr(g, f) for f in ("nb", "cb", "h", "w", "ob", "kh", "kw", "s", "pads")]), sc)
    # the fold: one GEMM micro-op per output entry instead of a 2-cycle ALU ADD
    assert add.compute - cost.compute >= g.ob * g.oh * g.ow
