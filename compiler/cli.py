"""``vta-net``: run operators and networks on VTA (the TLM, or the RTL through cosim).

    vta-net conv2d CONFIG --input X.npy --weight W.npy [--bias B.npy] --stride S --pad P
                   --shift K [--relu] --out Y.npy [--backend tlm|rtl] [--stats S.json]
    vta-net dense CONFIG --input X.npy --weight W.npy [--bias B.npy] --shift K [--relu] --out Y.npy ...
    vta-net conv2d-transpose CONFIG ... (W int8 (I, O, KH, KW) as ONNX ConvTranspose)
    vta-net run CONFIG MODEL.onnx --input X.npy [--calib C.npy] [--backend tlm|rtl] [--out Y.npy]
                [--stats S.json] [--check]
    vta-net digits [CONFIG] [--count N] [--backend tlm|rtl]

Operators: X int8 NCHW (dense: (N, K)), W int8 OIHW (dense: (M, K)), B int32 (O,); Y int8,
``clip((acc + B) >> K, lo, hi)``. ``run`` imports a float ONNX model, quantizes it to
power-of-two scales from the calibration inputs (default: the input itself), runs it
layer by layer and prints the per-layer table; ``--check`` compares with the numpy int8
reference (exit 1 when they differ). ``digits`` is the shipped demo: the digits CNN
classifying held-out images. S.json holds cycles, gemm_utilization, roofline_cycles,
dram_bytes_read, dram_bytes_written, instructions and the per-layer list ``layers``. Bad
input is one line on stderr and exit 2.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from vta.cli import run_command
from vta.isa import ConfigError, load_config

from .builder import dtype_for
from .graph import Graph, Node, run_reference, run_vta

PROG = "vta-net"
EXIT_FAIL = 1
#: .npy files above this are refused before reading (their header states the size)
MAX_NPY_BYTES = 1 << 30
STATS_KEYS = ("cycles", "gemm_utilization", "roofline_cycles", "dram_bytes_read", "dram_bytes_written",
              "instructions")


def load_npy(path, what, dtype=None, ndim=None, limit=MAX_NPY_BYTES):
    """An array from ``path`` (no pickles), checked against the expected dtype/rank; errors
    name the file and the argument."""
    try:
        head = np.load(path, mmap_mode="r", allow_pickle=False)   # reads the header only
    except (ValueError, EOFError) as e:
        raise ConfigError(f"{path}: {what} is not a readable .npy array ({str(e)[:100]})") from None
    if head.nbytes > limit:
        raise ConfigError(f"{path}: {what} holds {head.nbytes} bytes, above the {limit}-byte limit "
                          "(--max-input-bytes)")
    a = np.array(head)
    if dtype is not None and a.dtype != np.dtype(dtype):
        raise ConfigError(f"{path}: {what} must be {np.dtype(dtype).name}, found {a.dtype}{list(a.shape)}")
    if dtype is None and a.dtype.kind != "f":
        raise ConfigError(f"{path}: {what} must be a float array, found {a.dtype}{list(a.shape)}")
    if ndim is not None and a.ndim not in ((ndim,) if isinstance(ndim, int) else ndim):
        raise ConfigError(f"{path}: {what} must be {ndim}-D, found shape {list(a.shape)}")
    return a


def _executor(args, cfg):
    """Program -> result on the chosen backend (the TLM in-process, or the RTL simulator)."""
    if args.backend == "rtl":
        from vta.cosim.sim import run_on_rtl
        return lambda prog: run_on_rtl(prog, cfg, sim=args.sim)
    from vta.tlm import run_program
    return lambda prog: run_program(prog, cfg)


def _fmt(v, kind="int"):
    if v is None:
        return "-"
    if kind == "pct":
        return f"{100 * v:.1f}%"
    return f"{int(v):,}"


def layer_table(title, layers):
    t = Table(title=title, title_justify="left")
    for col in ("layer", "op", "output", "MACs", "where", "cycles", "GEMM util", "roofline",
                "DRAM bytes", "zeros", "sat."):
        t.add_column(col, justify="left" if col in ("layer", "op", "output", "where") else "right")
    for r in layers:
        dram = (None if r.get("dram_bytes_read") is None
                else r["dram_bytes_read"] + (r.get("dram_bytes_written") or 0))
        roof = (r["roofline_cycles"] / r["cycles"] if r.get("roofline_cycles") and r.get("cycles") else None)
        t.add_row(r["name"], r["op"], "x".join(map(str, r["shape"])), _fmt(r["macs"] or None),
                  r["where"], _fmt(r["cycles"]), _fmt(r["gemm_utilization"], "pct"), _fmt(roof, "pct"),
                  _fmt(dram), _fmt(r["zeros"], "pct"), _fmt(r["saturated"], "pct"))
    return t


def _summary(console, cfg, run, host_seconds):
    tot = run.totals()
    cyc = tot["cycles"] or 0
    console.print(f"VTA: {tot['vta_layers']} layers, {cyc:,} cycles = {cyc / (cfg.clock_mhz * 1e3):.3f} ms "
                  f"at {cfg.clock_mhz:g} MHz, GEMM utilization {_fmt(tot['gemm_utilization'], 'pct')}, "
                  f"{_fmt(tot['instructions'])} instructions, DRAM {_fmt(tot['dram_bytes_read'])} B read / "
                  f"{_fmt(tot['dram_bytes_written'])} B written; host time {host_seconds:.2f} s")
    reasons = sorted({(r["op"], r["why"]) for r in run.layers if r["where"] == "host"})
    console.print(f"on the host: {tot['host_layers']} layers" + "".join(
        f"\n  {op}: {why[:120]}" for op, why in reasons), markup=False)
    return tot


def _write_stats(path, cfg, run, extra=None):
    tot = run.totals()
    data = {k: tot[k] for k in STATS_KEYS}
    data.update(config=cfg.name, clock_mhz=cfg.clock_mhz, macs=tot["macs"],
                latency_seconds=(tot["cycles"] or 0) / (cfg.clock_mhz * 1e6), layers=run.layers, **(extra or {}))
    Path(path).write_text(json.dumps(data, indent=2) + "\n")


def _console():
    # a pipe or a log file gets the whole table rather than 80 columns of ellipses
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _save_out(path, y):
    np.save(path, y)


# ---- single operators ----------------------------------------------------------------------
def _cmd_op(args):
    cfg = load_config(args.config)
    act, wdt, bdt = (dtype_for(cfg.inp_bits, "input"), dtype_for(cfg.wgt_bits, "weight"),
                     dtype_for(cfg.acc_bits, "accumulator"))
    rank = 2 if args.cmd == "dense" else 4
    lim = args.max_input_bytes
    x = load_npy(args.input, "--input", act, rank, lim)
    w = load_npy(args.weight, "--weight", wdt, rank, lim)
    b = load_npy(args.bias, "--bias", bdt, 1, lim) if args.bias else None
    op = {"conv2d": "conv2d", "dense": "dense", "conv2d-transpose": "conv2d_transpose"}[args.cmd]
    attrs = dict(shift=args.shift, relu=args.relu)
    if rank == 4:
        attrs.update(stride=args.stride, pad=args.pad)
    if op == "conv2d_transpose" and x.shape[1] != w.shape[0]:
        raise ConfigError(f"{args.weight}: --weight has I={w.shape[0]} input channels, --input has "
                          f"C={x.shape[1]}")
    g = Graph(op, "x", tuple(x.shape[1:]), "y", [Node(op, op, ["x"], "y", attrs, dict(weight=w, bias=b))])
    t0 = time.perf_counter()
    run = run_vta(g, x, cfg, _executor(args, cfg), fallback=False)
    _save_out(args.out, run.output)
    if args.stats:
        _write_stats(args.stats, cfg, run)
    r = run.layers[0]
    print(f"{op} on {cfg.name} ({args.backend}): output {list(run.output.shape)} -> {args.out}; "
          f"{_fmt(r['cycles'])} cycles, GEMM utilization {_fmt(r['gemm_utilization'], 'pct')}, "
          f"host {time.perf_counter() - t0:.2f} s")
    return 0


# ---- networks ------------------------------------------------------------------------------
def prepare(model, calib, cfg, limits=None):
    """Import ``model`` (path) and quantize it for ``cfg`` from float ``calib``: the int Graph.
    ``limits``: load_onnx's max_bytes / max_elements."""
    from .onnx_import import load_onnx
    from .quantize import quantize
    if cfg.inp_bits != cfg.out_bits:
        raise ConfigError(f"config '{cfg.name}': a network feeds outputs back as inputs, so input "
                          f"({cfg.inp_bits}) and output ({cfg.out_bits}) widths must match")
    return quantize(load_onnx(str(model), **(limits or {})), calib, act_bits=cfg.inp_bits, wgt_bits=cfg.wgt_bits,
                    acc_bits=cfg.acc_bits)


def _float_reference(model, x):
    """onnxruntime's float output (None when onnxruntime is missing)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1          # the machine is shared; one thread is enough here
    sess = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]


def _cmd_run(args):
    from .quantize import dequantize, quantize_input
    cfg = load_config(args.config)
    x = load_npy(args.input, "--input", None, (2, 4), args.max_input_bytes)
    calib = load_npy(args.calib, "--calib", None, (2, 4), args.max_input_bytes) if args.calib else x
    if not Path(args.model).is_file():
        raise ConfigError(f"{args.model}: no such model file")
    t0 = time.perf_counter()
    g = prepare(args.model, calib, cfg, dict(max_bytes=args.max_model_bytes, max_elements=args.max_tensor_elements))
    xi = quantize_input(g, x, cfg.inp_bits)
    console = _console()
    run = run_vta(g, xi, cfg, _executor(args, cfg),
                  progress=None if args.quiet else
                  (lambda i, n, node: print(f"  [{i + 1}/{n}] {node.name} ({node.op})", file=sys.stderr)))
    host = time.perf_counter() - t0
    console.print(layer_table(f"{g.name} on {cfg.name} ({args.backend}), batch {len(x)}", run.layers))
    _summary(console, cfg, run, host)
    extra = {"host_seconds": host}
    f = _float_reference(args.model, x)
    if f is not None and f.shape == run.output.shape:
        deq = dequantize(g, run.output)
        agree = float(np.mean(f.reshape(len(f), -1).argmax(1) == deq.reshape(len(deq), -1).argmax(1)))
        console.print(f"float (onnxruntime) vs int8: top-1 agreement {100 * agree:.1f}%, "
                      f"max |difference| {np.abs(f - deq).max():.4g}")
        extra["float_top1_agreement"] = agree
    if args.out:
        _save_out(args.out, run.output)
    status = 0
    if args.check:
        ref = run_reference(g, xi, acc_bits=cfg.acc_bits, out_bits=cfg.out_bits)
        same = np.array_equal(ref, run.output)
        extra["check"] = bool(same)
        console.print("[bold green]PASS[/] identical to the numpy int8 reference" if same else
                      f"[bold red]FAIL[/] {int(np.sum(ref != run.output))} of {ref.size} outputs differ "
                      "from the numpy int8 reference")
        status = 0 if same else EXIT_FAIL
    if args.stats:
        _write_stats(args.stats, cfg, run, extra)
    return status


def _cmd_digits(args):
    from .quantize import quantize_input
    from .zoo import DIGITS_ONNX, digits_data
    cfg = load_config(args.config)
    t0, c0 = time.perf_counter(), time.process_time()
    x_tr, _, x_te, y_te = digits_data()
    x, y = x_te[:args.count], y_te[:args.count]
    g = prepare(DIGITS_ONNX, x_tr, cfg)
    xi = quantize_input(g, x, cfg.inp_bits)
    run = run_vta(g, xi, cfg, _executor(args, cfg))
    host = time.perf_counter() - t0
    console = _console()
    if args.layers:
        console.print(layer_table(f"digits CNN on {cfg.name} ({args.backend}), batch {len(x)}", run.layers))
    pred = run.output.argmax(1)
    ref = run_reference(g, xi, acc_bits=cfg.acc_bits, out_bits=cfg.out_bits).argmax(1)
    f = _float_reference(DIGITS_ONNX, x)
    tot = run.totals()
    cyc = tot["cycles"] or 0
    console.print(f"digits CNN ({DIGITS_ONNX.name}) on VTA config '{cfg.name}' ({args.backend}): "
                  f"{len(x)} held-out 8x8 images")
    console.print("  predictions: " + " ".join(f"{p}{'' if p == t else '(' + str(t) + '?)'}"
                                               for p, t in zip(pred[:20], y[:20]))
                  + (" ..." if len(x) > 20 else ""))
    console.print(f"  accuracy: int8 on VTA {100 * np.mean(pred == y):.2f}%"
                  + (f", float (onnxruntime) {100 * np.mean(f.argmax(1) == y):.2f}%" if f is not None else "")
                  + f"; predictions identical to the numpy int8 reference: {'yes' if np.array_equal(pred, ref) else 'NO'}")
    console.print(f"  VTA: {cyc:,} cycles = {cyc / (cfg.clock_mhz * 1e3):.3f} ms at {cfg.clock_mhz:g} MHz "
                  f"({cyc / max(len(x), 1):,.0f} cycles per image), GEMM utilization "
                  f"{_fmt(tot['gemm_utilization'], 'pct')}; host ops: "
                  f"{', '.join(sorted({r['op'] for r in run.layers if r['where'] == 'host'})) or 'none'}")
    console.print(f"  host time {host:.2f} s ({time.process_time() - c0:.2f} s CPU), import, quantization "
                  "and reference check included")
    return 0 if np.array_equal(pred, ref) else EXIT_FAIL


def _nonneg_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, found {text[:40]!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, found {text[:40]!r}")
    return v


def _positive_int(text):
    v = _nonneg_int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text[:40]!r}")
    return v


def _limit_args(p, model):
    from .graph import MAX_TENSOR_ELEMENTS
    from .onnx_import import MAX_MODEL_BYTES
    p.add_argument("--max-input-bytes", type=_positive_int, default=MAX_NPY_BYTES, metavar="N",
                   help="refuse .npy files holding more (default: %(default)s)")
    if model:
        p.add_argument("--max-model-bytes", type=_positive_int, default=MAX_MODEL_BYTES, metavar="N",
                       help="refuse larger ONNX files (default: %(default)s)")
        p.add_argument("--max-tensor-elements", type=_positive_int, default=MAX_TENSOR_ELEMENTS, metavar="N",
                       help="refuse models with a larger tensor per image (default: %(default)s)")


def _backend_args(p):
    p.add_argument("--backend", choices=("tlm", "rtl"), default="tlm",
                   help="tlm: the transaction-level model in-process (default); rtl: the RTL in a simulator")
    p.add_argument("--sim", choices=("verilator", "icarus"), default="verilator",
                   help="simulator of --backend rtl (default: verilator)")


def _parser():
    p = argparse.ArgumentParser(prog=PROG, description="Run operators and networks on VTA.")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, hint in (("conv2d", "X int8 NCHW, W int8 OIHW"), ("dense", "X int8 (N, K), W int8 (M, K)"),
                       ("conv2d-transpose", "X int8 NCHW, W int8 (I, O, KH, KW)")):
        o = sub.add_parser(name, help=f"one {name} on VTA ({hint}, B int32, Y int8)")
        o.add_argument("config", help="config YAML path or bundled name (default, tiny, ...)")
        o.add_argument("--input", required=True, metavar="X.npy")
        o.add_argument("--weight", required=True, metavar="W.npy")
        o.add_argument("--bias", metavar="B.npy")
        if name != "dense":
            o.add_argument("--stride", type=_nonneg_int, required=True)
            o.add_argument("--pad", type=_nonneg_int, required=True)
        o.add_argument("--shift", type=_nonneg_int, required=True, help="arithmetic right shift")
        o.add_argument("--relu", action="store_true", help="clip at 0 instead of the type's minimum")
        o.add_argument("--out", required=True, metavar="Y.npy")
        o.add_argument("--stats", metavar="S.json")
        _limit_args(o, model=False)
        _backend_args(o)
        o.set_defaults(func=_cmd_op)
    r = sub.add_parser("run", help="import, quantize and run a float ONNX model")
    r.add_argument("config", help="config YAML path or bundled name")
    r.add_argument("model", metavar="MODEL.onnx")
    r.add_argument("--input", required=True, metavar="X.npy", help="float input, batch first")
    r.add_argument("--calib", metavar="C.npy", help="float calibration inputs (default: the input)")
    r.add_argument("--out", metavar="Y.npy", help="write the int8 output")
    r.add_argument("--stats", metavar="S.json")
    r.add_argument("--check", action="store_true", help="compare with the numpy int8 reference")
    r.add_argument("--quiet", action="store_true", help="no per-layer progress on stderr")
    _limit_args(r, model=True)
    _backend_args(r)
    r.set_defaults(func=_cmd_run)
    d = sub.add_parser("digits", help="the shipped digits CNN classifying held-out images")
    d.add_argument("config", nargs="?", default="default", help="config (default: default)")
    d.add_argument("--count", type=_positive_int, default=360, help="held-out images to classify (max 360)")
    d.add_argument("--layers", action="store_true", help="also print the per-layer table")
    _backend_args(d)
    d.set_defaults(func=_cmd_digits)
    return p


def main(argv=None):
    return run_command(PROG, _parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
