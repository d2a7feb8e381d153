"""Train the digits CNN on scikit-learn's bundled 8x8 digits, in numpy, and write
models/digits_cnn.onnx (vta.compiler.zoo.digits_onnx has the topology).

    python models/train_digits.py [--epochs 30] [--seed 0] [--out models/digits_cnn.onnx]

No deep-learning framework: convolutions are im2col matrix products, trained with Adam on
softmax cross-entropy. Deterministic for a given seed (about 80 s of CPU).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from vta.compiler.zoo import DIGITS_ONNX, digits_data, digits_onnx


def im2col(x, k=3, pad=1):
    """(N, C, H, W) -> (N*H*W, C*k*k) for a stride-1 'same' convolution."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.stack([xp[:, :, i:i + h, j:j + w] for i in range(k) for j in range(k)], axis=2)
    return cols.transpose(0, 3, 4, 1, 2).reshape(n * h * w, c * k * k)


def col2im(dcols, shape, k=3, pad=1):
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, k * k).transpose(0, 3, 4, 1, 2)
    dx = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dcols.dtype)
    for t in range(k * k):
        i, j = divmod(t, k)
        dx[:, :, i:i + h, j:j + w] += d[:, :, t]
    return dx[:, :, pad:pad + h, pad:pad + w]


def conv_fwd(x, w, b):
    n, _, h, wd = x.shape
    cols = im2col(x)
    y = cols @ w.reshape(w.shape[0], -1).T + b
    return y.reshape(n, h, wd, -1).transpose(0, 3, 1, 2), cols


def conv_bwd(dy, cols, x_shape, w):
    o = w.shape[0]
    d = dy.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (d.T @ cols).reshape(w.shape)
    dx = col2im(d @ w.reshape(o, -1), x_shape)
    return dx, dw, d.sum(0)


def pool_fwd(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    y = r.max(axis=(3, 5))
    mask = r == y[:, :, :, None, :, None]
    mask = mask / mask.sum(axis=(3, 5), keepdims=True)       # ties share the gradient
    return y, mask


def pool_bwd(dy, mask):
    n, c, h2, _, w2, _ = mask.shape
    return (mask * dy[:, :, :, None, :, None]).reshape(n, c, h2 * 2, w2 * 2)


def forward(p, x):
    a1, c1 = conv_fwd(x, p["w1"], p["b1"])
    r1 = np.maximum(a1, 0)
    a2, c2 = conv_fwd(r1, p["w2"], p["b2"])
    r2 = np.maximum(a2, 0)
    p1, m1 = pool_fwd(r2)
    a3, c3 = conv_fwd(p1, p["w3"], p["b3"])
    s = a3 + p1
    r3 = np.maximum(s, 0)
    p2, m2 = pool_fwd(r3)
    f = p2.reshape(len(x), -1)
    logits = f @ p["w4"].T + p["b4"]
    return logits, locals()


def backward(p, c, dlogits):
    g = {}
    g["w4"], g["b4"] = dlogits.T @ c["f"], dlogits.sum(0)
    dp2 = (dlogits @ p["w4"]).reshape(c["p2"].shape)
    ds = pool_bwd(dp2, c["m2"]) * (c["s"] > 0)
    dp1, g["w3"], g["b3"] = conv_bwd(ds, c["c3"], c["p1"].shape, p["w3"])
    dp1 = dp1 + ds
    dr2 = pool_bwd(dp1, c["m1"]) * (c["a2"] > 0)
    dr1, g["w2"], g["b2"] = conv_bwd(dr2, c["c2"], c["r1"].shape, p["w2"])
    _, g["w1"], g["b1"] = conv_bwd(dr1 * (c["a1"] > 0), c["c1"], c["x"].shape, p["w1"])
    return g


def train(epochs=30, seed=0, batch=64, lr=3e-3):
    rng = np.random.default_rng(seed)
    x_tr, y_tr, x_te, y_te = digits_data()

    def he(*shape):
        return rng.normal(0, np.sqrt(2.0 / np.prod(shape[1:])), shape).astype(np.float32)
    p = dict(w1=he(16, 1, 3, 3), b1=np.zeros(16, np.float32), w2=he(32, 16, 3, 3), b2=np.zeros(32, np.float32),
             w3=he(32, 32, 3, 3) * 0.5, b3=np.zeros(32, np.float32), w4=he(10, 128), b4=np.zeros(10, np.float32))
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(a) for k, a in p.items()}
    step = 0
    for ep in range(epochs):
        order = rng.permutation(len(x_tr))
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            logits, cache = forward(p, x_tr[idx])
            z = np.exp(logits - logits.max(1, keepdims=True))
            prob = z / z.sum(1, keepdims=True)
            prob[np.arange(len(idx)), y_tr[idx]] -= 1
            grads = backward(p, cache, prob / len(idx))
            step += 1
            for k in p:               # Adam
                m[k] = 0.9 * m[k] + 0.1 * grads[k]
                v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
                mh, vh = m[k] / (1 - 0.9 ** step), v[k] / (1 - 0.999 ** step)
                p[k] = (p[k] - lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
        if ep % 10 == 9 or ep == epochs - 1:
            acc = np.mean(forward(p, x_te)[0].argmax(1) == y_te)
            print(f"epoch {ep + 1}: held-out accuracy {acc:.4f}")
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=DIGITS_ONNX)
    a = ap.parse_args()
    import onnx
    p = train(a.epochs, a.seed)
    onnx.save(digits_onnx(p), str(a.out))
    print(f"wrote {a.out} ({a.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
