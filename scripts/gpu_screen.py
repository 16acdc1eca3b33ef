"""Screen training runs where they were trained, before choosing which come back (a GPU call brings back two).

For each run directory given: val macro-F1 from its metrics.json, then the evaluation suite's bias madlibs and
obfuscation sections (:mod:`toxic.eval.suite`) on the PyTorch checkpoint itself. The int8 export moves these figures a
little; the full suite on the exported models (scripts/evaluate.py) is what decides a release. Writes JSON and
prints one line per run; ``--pick N`` prints the N run names to bring back: the best val scores (mean macro-F1 of
the two labels). An earlier version preferred the best bias score among runs near the best val score: that is
selecting on an evaluation set, so it went.

    python3 scripts/gpu_screen.py runs/gpu-* --json "$OUT/screen.json" --pick 2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from toxic.data import LABELS
from toxic.eval.suite import SuiteConfig, SuiteData, bias_section, robustness_section
from train.train import predict


class TorchScorer:
    """The slice of toxic.Classifier the suite's bias and robustness sections use, on a PyTorch checkpoint."""

    def __init__(self, run: Path, device: torch.device):
        self.labels = LABELS
        self.thresholds = json.loads((run / "metrics.json").read_text())["thresholds"]
        self.tokenizer = AutoTokenizer.from_pretrained(run / "checkpoint")
        self.model = AutoModelForSequenceClassification.from_pretrained(run / "checkpoint").to(device).eval()
        self.device = device

    @torch.inference_mode()
    def predict_proba(self, texts: list[str]) -> np.ndarray:
        ids = self.tokenizer(list(texts), truncation=True, max_length=128)["input_ids"]
        return predict(self.model, ids, self.tokenizer.pad_token_id, self.device, amp=False, batch_size=256)


def finished_metrics(run: Path) -> dict | None:
    """metrics.json; for a run stopped by its time limit after an epoch, one written from its best epoch so far
    (its checkpoint is that epoch's), marked unfinished."""
    if (run / "metrics.json").exists():
        return json.loads((run / "metrics.json").read_text())
    if not (run / "history.json").exists() or not (run / "checkpoint" / "config.json").exists():
        return None
    best = max(json.loads((run / "history.json").read_text()), key=lambda h: h["val"]["score"])
    metrics = {
        "best_epoch": best["epoch"],
        "thresholds": {label: best["val"][label]["threshold"] for label in LABELS},
        "val": best["val"],
        "unfinished": True,
    }
    (run / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def screen(runs: list[Path], quick: bool = False) -> dict[str, dict]:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = SuiteData.load(SuiteConfig(sections=("bias", "robustness"), quick=quick))
    results = {}
    for run in runs:
        metrics = finished_metrics(run)
        if metrics is None:
            print(f"{run.name}: no finished epoch, skipped", flush=True)
            continue
        clf = TorchScorer(run, device)
        bias, robust = bias_section(clf, data), robustness_section(clf, data)
        results[run.name] = {
            "val_f1": {label: metrics["val"][label]["macro_f1"] for label in LABELS},
            "val_score": metrics["val"]["score"],
            "best_epoch": metrics["best_epoch"],
            "history": [h["val"]["score"] for h in json.loads((run / "history.json").read_text())],
            "bias_final": bias["final_bias_score"],
            "min_bpsn": bias["min_bpsn_auc"],
            "worst_bpsn": bias["worst_bpsn_identity"],
            "obfuscation_drop": robust["mean_drop"],
        }
        r = results[run.name]
        print(
            f"{run.name}: val F1 {r['val_f1']['toxic']:.4f} / {r['val_f1']['hate']:.4f} (epoch {r['best_epoch']})"
            f"  bias {r['bias_final']:.3f}  min BPSN {r['min_bpsn']:.3f} ({r['worst_bpsn']})"
            f"  obfuscation drop {r['obfuscation_drop']:.2f}",
            flush=True,
        )
    return results


def pick(results: dict[str, dict], n: int) -> list[str]:
    """The n runs with the best val score. Selection is on val only: bias madlibs and obfuscation are reported,
    never used to choose (they measure generalisation)."""
    return sorted(results, key=lambda k: -results[k]["val_score"])[:n]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--pick", type=int, default=0, help="print the names of the N runs to bring back")
    parser.add_argument("--quick", action="store_true", help="subsampled sets (dry runs)")
    args = parser.parse_args(argv)
    results = screen(args.runs, args.quick)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.pick:
        print("PICK " + " ".join(pick(results, args.pick)), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
