"""Metrics over (labels, probabilities): pure numpy/scikit-learn, shared by training, ``toxic eval`` and reports."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The decision threshold that maximises macro-F1 on (y, p), searched on a 0.01 grid."""
    grid = np.arange(0.05, 0.96, 0.01)
    scores = [f1_score(y, p >= t, average="macro", zero_division=0) for t in grid]
    return float(round(grid[int(np.argmax(scores))], 2))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 15) -> float:
    """ECE with equal-width bins: the mean |accuracy - confidence| weighted by bin size (binary, P(y=1))."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(y[mask].mean() - p[mask].mean())
    return float(ece)


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Macro-F1, accuracy at the threshold; ROC-AUC and PR-AUC; calibration (ECE, Brier)."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    pred = p >= threshold
    both = len(np.unique(y)) == 2
    return {
        "n": int(len(y)),
        "threshold": float(threshold),
        "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
        "accuracy": float((pred == y).mean()),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "ece": expected_calibration_error(y, p),
        "brier": float(np.mean((p - y) ** 2)),
    }
