"""Write ResNet-18 (ImageNet topology, 224x224 input, seeded random weights) as ONNX.

    python models/make_resnet18.py [--seed 0] [--out build/models/resnet18_seed0.onnx]

The model (about 47 MB) is not committed; vta.compiler.zoo.resnet18_onnx builds it and
bench/resnet18_net.py generates it on demand into build/models/. Real weights cannot be
downloaded here; any real ResNet-18 ONNX file (with BatchNormalization) loads the same way.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from vta.compiler.zoo import resnet18_onnx


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    import onnx
    out = a.out or Path("build/models") / f"resnet18_seed{a.seed}.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(resnet18_onnx(a.seed), str(out))
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
