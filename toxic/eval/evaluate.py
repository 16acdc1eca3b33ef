"""Evaluation of a served model (``toxic.Classifier``) on data it never trained on, and on val.

- :func:`evaluate_model`: per label on its benchmark val split, at the model's own thresholds.
- :func:`ruddit_report`: Reddit comments (Ruddit), ROC-AUC with ``offensiveness_score > 0`` as positive, Spearman
  (:func:`ruddit_metrics` on probabilities already computed).
- :func:`bias_report`: bias madlibs, per-identity Subgroup / BPSN / BNSP AUC and the final bias score
  (Borkan et al. 2019, the Jigsaw Unintended Bias metric).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from toxic.data import DEFAULT_RUDDIT, benchmark_val, load_bias_madlibs, load_ruddit
from toxic.eval.metrics import binary_metrics

RUDDIT_THRESHOLD = (
    0.0  # offensiveness_score > 0 counts as offensive (scores run from -1 supportive to +1 offensive)
)

# Identity terms used to find the subgroup a madlib sentence names (measurement only, never training).
IDENTITIES = (
    "african american", "middle eastern", "middle aged", "lesbian", "gay", "bisexual", "transgender", "trans",
    "queer", "lgbtq", "lgbt", "homosexual", "heterosexual", "straight", "nonbinary", "female", "male", "black",
    "white", "asian", "african", "american", "canadian", "european", "hispanic", "latino", "latina", "latinx",
    "mexican", "chinese", "japanese", "indian", "christian", "muslim", "jewish", "buddhist", "catholic",
    "protestant", "sikh", "taoist", "old", "older", "young", "younger", "teenage", "millenial", "elderly", "blind",
    "deaf", "paralyzed",
)  # fmt: skip
_IDENTITY_RE = re.compile(r"\b(" + "|".join(sorted(IDENTITIES, key=len, reverse=True)) + r")\b")


def evaluate_model(clf, labels: tuple[str, ...] | None = None) -> dict:
    """Val metrics per label on its benchmark split, at the model's thresholds (no tuning here)."""
    result = {}
    for j, label in enumerate(labels or clf.labels):
        val = benchmark_val(label)
        probs = clf.predict_proba(val["text"].tolist())[:, j]
        result[label] = binary_metrics(val["label"].to_numpy(), probs, clf.thresholds[label])
    return result


def ruddit_report(clf, path=DEFAULT_RUDDIT, frame: pd.DataFrame | None = None) -> dict:
    frame = load_ruddit(path) if frame is None else frame
    probs = clf.predict_proba(frame["text"].tolist())
    return ruddit_metrics(frame, probs[:, 0], clf.thresholds[clf.labels[0]])


def ruddit_metrics(frame: pd.DataFrame, p: np.ndarray, threshold: float) -> dict:
    """ROC-AUC of ``p`` (the toxic probability) against ``offensiveness_score > 0``, Spearman against the score."""
    y = (frame["score"] > RUDDIT_THRESHOLD).to_numpy().astype(int)
    m = binary_metrics(y, p, threshold)
    return {
        "n": len(frame),
        "positive_rule": f"offensiveness_score > {RUDDIT_THRESHOLD}",
        "roc_auc": m["roc_auc"],
        "accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "spearman": float(spearmanr(frame["score"], p).statistic),
    }


def identity_of(text: str) -> str | None:
    match = _IDENTITY_RE.search(text.lower())
    return match.group(1) if match else None


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def _power_mean(values: np.ndarray, power: float = -5) -> float:
    values = values[~np.isnan(values)]
    with np.errstate(divide="ignore"):  # an AUC of 0 sends the mean to 0, as it should
        return float(np.mean(values**power) ** (1 / power))


def bias_metrics(frame: pd.DataFrame, probs: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """Per identity: Subgroup, BPSN, BNSP AUC; and the final bias score (0.25 overall AUC + 0.25 each power mean)."""
    y = frame["label"].to_numpy()
    ids = frame["identity"].to_numpy()
    rows = []
    for identity in sorted(set(ids[pd.notna(ids)])):
        sub = ids == identity
        bpsn = (~sub & (y == 1)) | (sub & (y == 0))
        bnsp = (~sub & (y == 0)) | (sub & (y == 1))
        rows.append(
            {
                "identity": identity,
                "n": int(sub.sum()),
                "subgroup_auc": _auc(y[sub], probs[sub]),
                "bpsn_auc": _auc(y[bpsn], probs[bpsn]),
                "bnsp_auc": _auc(y[bnsp], probs[bnsp]),
                "mean_score_non_toxic": float(probs[sub & (y == 0)].mean()),
            }
        )
    table = pd.DataFrame(rows).sort_values("bpsn_auc").reset_index(drop=True)
    overall = _auc(y, probs)
    means = {m: _power_mean(table[m].to_numpy()) for m in ("subgroup_auc", "bpsn_auc", "bnsp_auc")}
    summary = {
        "overall_auc": overall,
        "mean_subgroup_auc": float(table["subgroup_auc"].mean()),
        "min_bpsn_auc": float(table["bpsn_auc"].min()),
        "worst_bpsn_identity": str(table.loc[0, "identity"]),
        "min_subgroup_auc": float(table["subgroup_auc"].min()),
        "power_means": means,
        "final_bias_score": 0.25 * overall + 0.25 * sum(means.values()),
        "worst_identities": table.head(5)["identity"].tolist(),
    }
    return table, summary


def bias_report(clf, frame: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    frame = load_bias_madlibs() if frame is None else frame
    frame = frame.assign(identity=[identity_of(t) for t in frame["text"]])
    probs = clf.predict_proba(frame["text"].tolist())[:, 0]
    return bias_metrics(frame, probs)
