"""Per-attribute quality of a model through the Perspective-compatible API's table, on our val data: for each
attribute, the label that answers it, its benchmark val split (toxic.data.benchmark_val), ROC-AUC, PR-AUC and ECE,
and the share flagged, precision and recall at the model's threshold and at 0.5, 0.7 and 0.9. The tables of
docs/migrating-from-perspective.md.

    .venv/bin/python -m bench.perspective_quality                  # the embedded model (~1 minute)
    .venv/bin/python -m bench.perspective_quality --model DIR_OR_REPO
"""

from __future__ import annotations

import argparse
import sys

from toxic.classifier import Classifier
from toxic.data import benchmark_val
from toxic.eval.metrics import binary_metrics

SPLITS = {  # what benchmark_val reads
    "toxic": "TweetEval offensive val",
    "hate": "TweetEval hate val",
    "insult": "TweetEval offensive val, OLID level B",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    clf = Classifier.load(args.model)
    summary = [
        "| attribute | label | val split (n, positives) | ROC-AUC | PR-AUC | ECE |",
        "|---|---|---|---|---|---|",
    ]
    cuts = ["| attribute | threshold | flagged | precision | recall |", "|---|---|---|---|---|"]
    for attribute, label in clf.info.attributes.items():
        val = benchmark_val(label)
        y = val["label"].to_numpy()
        p = clf.predict_proba(val["text"].tolist())[:, clf.labels.index(label)]
        m = binary_metrics(y, p, clf.thresholds[label])
        split = f"{SPLITS.get(label, label)} ({len(y):,}, {y.mean():.0%} positive)"
        summary.append(
            f"| {attribute} | {label} | {split} | {m['roc_auc']:.3f} | {m['pr_auc']:.3f} | {m['ece']:.3f} |"
        )
        for t in sorted({clf.thresholds[label], 0.5, 0.7, 0.9}):  # the model's own once, in order
            flagged = p >= t
            hits = int((flagged & (y == 1)).sum())
            precision = hits / flagged.sum() if flagged.any() else float("nan")
            cuts.append(
                f"| {attribute} | {t:.2f}{' (model)' if t == clf.thresholds[label] else ''} | {flagged.mean():.0%} "
                f"| {precision:.2f} | {hits / max(1, (y == 1).sum()):.2f} |"
            )
    print(f"{clf.info.model_id} {clf.info.version}\n")
    print("\n".join(summary) + "\n\n" + "\n".join(cuts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
