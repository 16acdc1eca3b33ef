"""Calibrate an exported model's probabilities on val: Platt (or temperature) scaling per label.

    python -m train.calibrate runs/x/onnx                  # Platt scaling, writes runs/x/onnx/toxic.json
    python -m train.calibrate runs/x/onnx --method temperature --dry-run

Per label, on its benchmark val split (``toxic.data.BENCHMARKS``: TweetEval offensive for toxic and insult, TweetEval hate for hate): the int8 model's
raw logits (any calibration already in toxic.json is ignored) -> ``(scale, bias)`` minimising log loss -> the
decision threshold re-tuned for macro-F1 on the calibrated probabilities. ``toxic.json`` gets
``"calibration": {label: {"scale", "bias", "method", "fit", "n", "ece_before", "ece_after", "ece_held_out", ...}}``
and the new thresholds. A label keeps its fit only when it lowers the held-out ECE (below); otherwise its
probabilities stay as the model gives them (scale 1, bias 0). ``ece_after`` is in-sample (fitted and measured on the same val); ``ece_held_out`` fits on
one half and measures on the other, both ways, over 10 random halvings (before and after): the honest figure.
Never fitted on bias madlibs or Ruddit. A drift reference profile (``reference.parquet``) in the folder is rewritten,
since its scores and decisions change with the calibration.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from toxic.classifier import Classifier, read_info, resolve_model_dir
from toxic.data import benchmark_val
from toxic.errors import ToxicError
from toxic.eval import calibration
from toxic.eval.metrics import best_threshold, binary_metrics


def raw_logits(model_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per label: (uncalibrated logits on its benchmark val split, labels). Each distinct text is scored once:
    `toxic` and `insult` share most of their val tweets."""
    clf = Classifier(dataclasses.replace(read_info(model_dir), calibration={}))
    vals = {label: benchmark_val(label) for label in clf.labels}  # the model's own labels
    texts = list(dict.fromkeys(t for val in vals.values() for t in val["text"]))
    row = {t: i for i, t in enumerate(texts)}
    probs = clf.predict_proba(texts)
    out = {}
    for j, (label, val) in enumerate(vals.items()):
        p = probs[[row[t] for t in val["text"]], j]
        out[label] = (calibration.logit(p), val["label"].to_numpy())
    return out


def calibrate(model_dir: Path, method: str = "platt") -> dict:
    """Fit per label; returns the new ``calibration`` and ``thresholds`` entries of toxic.json."""
    fitted, thresholds = {}, {}
    for label, (z, y) in raw_logits(model_dir).items():
        a, b = fit = calibration.fit(z, y, method)
        held_out = dict(zip(("before", "after"), calibration.held_out_ece(z, y, method), strict=True))
        kept = held_out["after"] < held_out["before"]
        if not kept:  # the fit does not carry to unseen texts: keep the model's own probabilities
            a, b = 1.0, 0.0
        before, after = calibration.sigmoid(z), calibration.apply(z, a, b)
        threshold = best_threshold(y, after)
        m_before, m_after = (
            binary_metrics(y, before, best_threshold(y, before)),
            binary_metrics(y, after, threshold),
        )
        fitted[label] = {
            "scale": a,
            "bias": b,
            "method": method if kept else f"none ({method} did not lower the held-out ECE)",
            "fit": dict(zip(("scale", "bias"), fit, strict=True)),  # on all of val, kept or not
            "fitted_on": f"{label} benchmark val (n={len(y)})",
            "n": int(len(y)),
            "ece_before": m_before["ece"],
            "ece_after": m_after["ece"],
            "ece_held_out": held_out,
            "brier_before": m_before["brier"],
            "brier_after": m_after["brier"],
            "macro_f1_before": m_before["macro_f1"],
            "macro_f1_after": m_after["macro_f1"],
        }
        thresholds[label] = threshold
    return {"calibration": fitted, "thresholds": thresholds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("--method", choices=calibration.METHODS, default="platt")
    parser.add_argument("--dry-run", action="store_true", help="print the fit, do not write toxic.json")
    args = parser.parse_args(argv)
    try:
        model_dir = resolve_model_dir(args.model_dir)
        result = calibrate(model_dir, args.method)
    except ToxicError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for label, c in result["calibration"].items():
        print(
            f"{label}: {c['method']}, scale {c['scale']:.4f} bias {c['bias']:+.4f} | ECE {c['ece_before']:.4f} -> {c['ece_after']:.4f} "
            f"(held-out halves {c['ece_held_out']['before']:.4f} -> {c['ece_held_out']['after']:.4f}) | Brier {c['brier_before']:.4f} -> {c['brier_after']:.4f} | "
            f"macro-F1 {c['macro_f1_before']:.4f} -> {c['macro_f1_after']:.4f} at threshold {result['thresholds'][label]:.2f}"
        )
    if not args.dry_run:
        path = model_dir / "toxic.json"
        meta = json.loads(path.read_text())
        meta["thresholds_uncalibrated"] = meta.get("thresholds_uncalibrated", meta["thresholds"])
        meta.update(result)
        path.write_text(json.dumps(meta, indent=2))
        print(f"wrote calibration and thresholds to {path}")
        if (model_dir / "reference.parquet").exists():  # its scores and decisions are the model's: redo them
            from toxic.monitor.profile import load_profile, write_profile

            n = len(load_profile(model_dir))  # as many training texts as before, scored anew
            print(f"rewrote {write_profile(model_dir, n=n)} with the calibrated scores and thresholds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
