"""The sweep's workloads: ResNet-18's conv layers C1-C12, each compiled with the tiling
search's best schedule for the config under test and run on the TLM.

The layer table and data are vta.compiler.resnet18's (bench/resnet18_layers.py uses the
same); ``scale`` divides each layer's height and width so small sweeps are fast
(channels, kernel and stride are kept, so the GEMM shapes the buffers must hold are the same).
"""
from __future__ import annotations

import numpy as np

from vta.compiler.resnet18 import LAYERS, layer_data as _full_layer  # noqa: F401  (LAYERS: the sweep's)


def layer_data(name, scale=1):
    """(x, w, b, stride, pad) of a layer, its input height and width divided by ``scale``
    (at least the kernel size)."""
    x, w, b, s, p = _full_layer(name)
    if scale > 1:
        k = w.shape[2]
        hw = max(k, x.shape[2] // scale)
        x = np.ascontiguousarray(x[:, :, :hw, :hw])
    return x, w, b, s, p


def macs(x, w, s, p):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = (h + 2 * p - kh) // s + 1, (wd + 2 * p - kw) // s + 1
    return n * o * oh * ow * c * kh * kw


def run_layer(cfg, name, scale=1):
    """(TLM cycles, MACs, schedule) of one layer on ``cfg`` with the best-modeled tiling.
    Raises ConfigError when no tiling fits the buffers (the point is then invalid)."""
    from vta.compiler import tiling
    from vta.compiler.conv2d import build_conv2d, lower
    from vta.tlm import run_program
    x, w, b, s, p = layer_data(name, scale)
    g = lower(cfg, x, w, s, p, b)[2]   # with the bias: its fold changes the schedule
    ranked = tiling.rank(cfg, g)
    if not ranked:
        from vta.isa import ConfigError
        raise ConfigError(f"conv2d: no tiling of layer {name} fits config '{cfg.name}'")
    sc = ranked[0][1]
    prog, _, _ = build_conv2d(cfg, x, w, b, s, p, 10, True, tiles=sc)
    return run_program(prog).cycles, macs(x, w, s, p), str(sc)
