"""PNG plots of a run on val: ROC and PR curves, confusion matrices and score histograms, one file each.

    python -m train.plots models/default    # redraw a model folder's plots/ from the model, at its thresholds

Training draws them at the thresholds tuned on the PyTorch model; calibration (train/calibrate) then moves the
thresholds a model ships with, so a released model's plots are redrawn from the model itself: what the app serves,
calibration included, at the thresholds in its toxic.json.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve  # noqa: E402

from toxic.data import LABELS, MISSING  # noqa: E402


def _label_rows(val, label: str, source: str):
    return (val["source"] == source).to_numpy() & (val[label] != MISSING).to_numpy()


def write_plots(
    val, probs: np.ndarray, thresholds: dict[str, float], out: Path, benchmark: dict[str, str]
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fig_roc, ax_roc = plt.subplots(figsize=(5, 4.5))
    fig_pr, ax_pr = plt.subplots(figsize=(5, 4.5))
    fig_cm, axes_cm = plt.subplots(1, len(LABELS), figsize=(4.5 * len(LABELS), 4))
    fig_h, axes_h = plt.subplots(1, len(LABELS), figsize=(5 * len(LABELS), 3.5))
    for j, label in enumerate(LABELS):
        rows = _label_rows(val, label, benchmark[label])
        y, p = val[label].to_numpy()[rows], probs[rows, j]
        fpr, tpr, _ = roc_curve(y, p)
        ax_roc.plot(fpr, tpr, label=f"{label} ({benchmark[label]} val)")
        prec, rec, _ = precision_recall_curve(y, p)
        ax_pr.plot(rec, prec, label=label)
        cm = confusion_matrix(y, p >= thresholds[label])
        ax = axes_cm[j]
        ax.imshow(cm, cmap="Blues")
        for (a, b), v in np.ndenumerate(cm):
            ax.text(b, a, str(v), ha="center", va="center", color="black")
        ax.set(
            title=f"{label} @ {thresholds[label]:.2f}",
            xlabel="predicted",
            ylabel="true",
            xticks=[0, 1],
            yticks=[0, 1],
        )
        ax = axes_h[j]
        ax.hist([p[y == 0], p[y == 1]], bins=20, range=(0, 1), label=["negative", "positive"], stacked=True)
        ax.axvline(thresholds[label], color="k", linestyle="--")
        ax.set(title=f"{label} scores on val", xlabel="probability")
        ax.legend()
    ax_roc.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax_roc.set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    ax_roc.legend()
    ax_pr.set(title="Precision-recall", xlabel="recall", ylabel="precision")
    ax_pr.legend()
    for fig, name in [(fig_roc, "roc"), (fig_pr, "pr"), (fig_cm, "confusion"), (fig_h, "scores")]:
        fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=110)
        plt.close(fig)


def plots_from_model(model_dir: Path) -> Path:
    """Redraw ``model_dir/plots`` from the exported model on each label's benchmark val split, at the thresholds
    in its toxic.json."""
    import pandas as pd

    from toxic.classifier import Classifier
    from toxic.data import benchmark_val

    clf = Classifier.load(str(model_dir))
    frames = []
    for label in LABELS:
        val = benchmark_val(label)
        frame = pd.DataFrame({"text": val["text"], "source": f"{label} benchmark"})
        for other in LABELS:
            frame[other] = val["label"].to_numpy() if other == label else MISSING
        frames.append(frame)
    val = pd.concat(frames, ignore_index=True)
    probs = clf.predict_proba(val["text"].tolist())
    out = Path(model_dir) / "plots"
    write_plots(val, probs, clf.thresholds, out, benchmark={label: f"{label} benchmark" for label in LABELS})
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Redraw a model folder's plots at the thresholds it ships with."
    )
    parser.add_argument("model_dir", type=Path)
    args = parser.parse_args(argv)
    print(f"wrote {plots_from_model(args.model_dir)}")


if __name__ == "__main__":
    main()
