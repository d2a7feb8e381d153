"""ResNet-18's conv layers C1-C12 as the VTA papers tabulate them, with seeded int8 data:
the workload of bench/resnet18_layers.py and of vta-dse sweeps (one definition)."""
from __future__ import annotations

import numpy as np

# name: (H=W, C, O, kernel, stride); pad = kernel // 2
LAYERS = {
    "C1": (224, 3, 64, 7, 2), "C2": (56, 64, 64, 3, 1), "C3": (56, 64, 64, 1, 1),
    "C4": (56, 64, 128, 3, 2), "C5": (56, 64, 128, 1, 2), "C6": (28, 128, 128, 3, 1),
    "C7": (28, 128, 256, 3, 2), "C8": (28, 128, 256, 1, 2), "C9": (14, 256, 256, 3, 1),
    "C10": (14, 256, 512, 3, 2), "C11": (14, 256, 512, 1, 2), "C12": (7, 512, 512, 3, 1),
}

# how often each layer occurs in ResNet-18 (C3, 1x1 stride 1, is in the papers' table only)
REPEATS = {"C1": 1, "C2": 4, "C3": 0, "C4": 1, "C5": 1, "C6": 3, "C7": 1, "C8": 1, "C9": 3,
           "C10": 1, "C11": 1, "C12": 3}


def layer_data(name):
    """(x, w, b, stride, pad) of layer ``name``: int8 input and weights, int32 bias, seeded
    by the layer number."""
    hw, c, o, k, s = LAYERS[name]
    rng = np.random.default_rng(int(name[1:]))
    x = rng.integers(-128, 128, (1, c, hw, hw), dtype=np.int8)
    w = rng.integers(-128, 128, (o, c, k, k), dtype=np.int8)
    b = rng.integers(-20000, 20000, (o,), dtype=np.int32)
    return x, w, b, s, k // 2
