"""Drift of Ruddit (Reddit comments) against the training data: how far from its training distribution the model
works on another platform. Writes OUT/drift.json (the summary), OUT/drift.html (Evidently) and OUT/drift.md.

    python -m bench.drift_ruddit [--out reports/ruddit_drift] [--ruddit PATH] [--model DIR] [--n 2000]

Ruddit's text has no license: it is read from ../shared/data/ruddit/ and never copied into the repo (the outputs
hold statistics only). The accuracy of the model on Ruddit is reported by train/evaluate.py.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from toxic.classifier import Classifier
from toxic.data import DEFAULT_RUDDIT, load_ruddit
from toxic.errors import ToxicError
from toxic.monitor.drift import compare, current_frame, window_from_texts
from toxic.monitor.profile import load_profile


def markdown(summary: dict, n_total: int, model: str) -> str:
    s = summary
    verdict = "**drifted**" if s["dataset_drift"] else "not drifted"
    lines = [
        "# Drift: Ruddit (Reddit comments) vs the training data",
        "",
        f"Model `{model}`; {s['rows']['current']:,} Ruddit comments (of {n_total:,}) against the "
        f"{s['rows']['reference']:,}-text reference profile of the training data.",
        "",
        f"Ruddit is {verdict}: {s['drift_share']:.0%} of the features moved (the dataset drifts at 50%).",
        "",
        "| feature | drift score | method | threshold | drifted |",
        "|---|---:|---|---:|:-:|",
    ]
    for name, f in s["features"].items():
        lines.append(
            f"| {name} | {f['score']:.3f} | {f['method']} | {f['threshold']} | {'yes' if f['drifted'] else ''} |"
        )
    if s["embedding"]:
        e = s["embedding"]
        lines.append(
            f"| embedding ({e['components']} PCs, {e['rows']:,} texts) | {e['score']:.3f} | ROC AUC, model method "
            f"| {e['threshold']:.3f} | {'yes' if e['drifted'] else ''} |"
        )
    t, h = s["toxic_rate"], s["hate_rate"]
    lines += [
        "",
        f"Flagged toxic: {t['reference']:.1%} of training texts, {t['current']:.1%} of Ruddit comments; "
        f"flagged hate: {h['reference']:.1%} vs {h['current']:.1%}.",
        "",
        *[f"- {note}" for note in s["notes"]],
        "",
        "Reproduce: `python -m bench.drift_ruddit`; the full report is `drift.html`.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/ruddit_drift", help="output folder (default: %(default)s)")
    parser.add_argument("--ruddit", default=str(DEFAULT_RUDDIT), help="ruddit_with_text.csv")
    parser.add_argument("--model", default=None, help="model directory (default: the embedded model)")
    parser.add_argument("--n", type=int, default=2000, help="comments sampled (0: all; default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    try:
        clf = Classifier.load(args.model)
        reference = load_profile(clf.info.path)
        texts = load_ruddit(args.ruddit)["text"]
        sample = texts.sample(args.n, random_state=args.seed) if 0 < args.n < len(texts) else texts
        current, notes = current_frame(
            clf, window_from_texts(clf, sample.tolist(), source="ruddit"), seed=args.seed
        )
        result = compare(current, reference, notes)
    except ToxicError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "drift.json").write_text(json.dumps(result.summary, indent=2))
    (out / "drift.html").write_text(result.html, encoding="utf-8")
    (out / "drift.md").write_text(
        markdown(result.summary, len(texts), f"{clf.info.model_id} {clf.info.version}")
    )
    s = result.summary
    print(
        f"Ruddit vs training: dataset drift {s['dataset_drift']}, {s['drift_share']:.0%} of features drifted "
        f"({', '.join(s['drifted_features'])}); toxic rate {s['toxic_rate']['reference']:.1%} -> "
        f"{s['toxic_rate']['current']:.1%}; {time.perf_counter() - started:.0f} s -> {out}/drift.{{json,html,md}}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
