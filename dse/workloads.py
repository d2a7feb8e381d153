"""The sweep's workloads: ResNet-18's conv layers C1-C12, each compiled with the tiling
search's best schedule for the config under test and run on the TLM.

The layer table and data are bench/resnet18_layers.py's (one definition, loaded from the
source tree); ``scale`` divides each layer's height and width so small sweeps are fast
(channels, kernel and stride are kept, so the GEMM shapes the buffers must hold are the same).
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache

from pathlib import Path

import numpy as np

from vta.isa import VTAError

_ROOT = Path(__file__).resolve().parents[1]   # the repository root (the package ``vta``)


class WorkloadError(VTAError):
    pass


@lru_cache(maxsize=1)
def _bench():
    path = _ROOT / "bench" / "resnet18_layers.py"
    if not path.is_file():
        raise WorkloadError(f"{path}: the ResNet-18 layer table is missing (vta-dse needs the source tree)")
    spec = importlib.util.spec_from_file_location("vta_bench_resnet18_layers", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _Layers(dict):
    """LAYERS read on first use (importing the bench module pulls in the compiler)."""
    def _load(self):
        if not super().__len__():
            self.update(_bench().LAYERS)

    def __contains__(self, k): self._load(); return super().__contains__(k)
    def __iter__(self): self._load(); return super().__iter__()
    def __len__(self): self._load(); return super().__len__()
    def __getitem__(self, k): self._load(); return super().__getitem__(k)


LAYERS = _Layers()


def layer_data(name, scale=1):
    """(x, w, b, stride, pad) of a layer, its input height and width divided by ``scale``
    (at least the kernel size)."""
    x, w, b, s, p = _bench().layer_data(name)
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
