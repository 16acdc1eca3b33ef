"""The evaluation suite: every figure a model's release is judged on, computed the same way for any number of models.

Sections (each a plain dict per model, JSON-ready; ``train/evaluate.py`` writes them out with plots):

- ``val``: per label on its benchmark val split, macro-F1 at the model's own threshold and at the threshold
  tuned on that split, ROC-AUC, PR-AUC; calibration (ECE with 15 bins, Brier, reliability bins). A model without
  a label (an older model has no ``insult``) is scored on it with a stand-in (``PROXIES``), named in ``scored_by``;
- ``functional``: our functional suite's evaluation half (:mod:`toxic.eval.functional`), accuracy per
  functionality and label at the model's thresholds, and the share of insults at individuals scored as ``hate``;
- ``bias``: bias madlibs, per-identity Subgroup / BPSN / BNSP AUC and the final bias score (evaluation only);
- ``ruddit``: Ruddit ROC-AUC (``offensiveness_score > 0``) and Spearman, read from its path, never copied;
- ``robustness``: macro-F1 at the model's own threshold on val texts perturbed by each :mod:`toxic.eval.perturb` kind,
  as the drop in points (x100) against the same texts clean;
- ``speed``: texts/s through ``toxic.Classifier`` on the same val texts for every model (best of a few rounds,
  models interleaved, so background load hits them alike).

Every model sees exactly the same texts and perturbations (seeded by text), so columns compare.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from toxic.data import DEFAULT_RUDDIT, LABELS, benchmark_val, load_bias_madlibs, load_ruddit
from toxic.errors import DataError
from toxic.eval import functional
from toxic.eval.evaluate import bias_report, ruddit_metrics
from toxic.eval.metrics import best_threshold, binary_metrics
from toxic.eval.perturb import KINDS, perturb_all

SECTIONS = ("val", "functional", "bias", "ruddit", "robustness", "speed")
ECE_BINS = 15
# A label a model lacks is scored with these of its outputs instead (insult: an older model's toxic, then hate).
PROXIES = {"insult": ("toxic", "hate")}


@dataclass(frozen=True)
class SuiteConfig:
    sections: tuple[str, ...] = SECTIONS  # which reports to compute
    quick: bool = False  # subsample every set (development); the full run is the default
    ruddit: Path = DEFAULT_RUDDIT  # ruddit_with_text.csv; read in place, never copied
    ruddit_required: bool = False  # fail when Ruddit is missing (an explicit --ruddit), else skip the section
    seed: int = 0  # subsamples and perturbations
    speed_rounds: int = 3  # timing rounds per model; the best counts

    def __post_init__(self) -> None:
        unknown = set(self.sections) - set(SECTIONS)
        if unknown:
            raise DataError(
                f"unknown report(s) {', '.join(sorted(unknown))}: choose from {', '.join(SECTIONS)}"
            )

    def rows(self, what: str) -> int:
        """How many rows a set is cut to (0 = all): only --quick subsamples."""
        quick = {"val": 300, "bias": 1500, "ruddit": 200, "robustness": 60, "speed": 200}
        full = {"speed": 2000}
        return quick[what] if self.quick else full.get(what, 0)


def _sample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    return frame if not n or n >= len(frame) else frame.sample(n=n, random_state=seed).reset_index(drop=True)


@dataclass
class SuiteData:
    """The texts every model is scored on, loaded (and perturbed) once."""

    val: dict[str, pd.DataFrame]
    bias: pd.DataFrame | None
    ruddit: pd.DataFrame | None
    ruddit_note: str
    perturbed: dict[str, dict[str, list[str]]]  # kind -> label -> texts, row-aligned with robust[label]
    robust: dict[str, pd.DataFrame]
    speed_texts: list[str]
    functional: list[functional.Case]

    @classmethod
    def load(cls, cfg: SuiteConfig) -> SuiteData:
        full = {label: benchmark_val(label) for label in LABELS}  # cleaned once, cut per section
        val = {label: _sample(full[label], cfg.rows("val"), cfg.seed) for label in LABELS}
        bias = _sample(load_bias_madlibs(), cfg.rows("bias"), cfg.seed) if "bias" in cfg.sections else None
        ruddit, note = None, ""
        if "ruddit" in cfg.sections:
            if Path(cfg.ruddit).exists() or cfg.ruddit_required:
                ruddit = _sample(load_ruddit(cfg.ruddit), cfg.rows("ruddit"), cfg.seed)
            else:
                note = f"skipped: {cfg.ruddit} not found (pass --ruddit PATH)"
        robust = {label: _sample(full[label], cfg.rows("robustness"), cfg.seed) for label in LABELS}
        perturbed = {}
        if "robustness" in cfg.sections:
            perturbed = {
                kind: {label: perturb_all(robust[label]["text"].tolist(), kind, cfg.seed) for label in LABELS}
                for kind in KINDS
            }
        everything = pd.concat([full[label][["text"]] for label in LABELS], ignore_index=True)
        speed = _sample(everything, cfg.rows("speed"), cfg.seed)["text"].tolist()
        cases = functional.expand(functional.load_half("eval")) if "functional" in cfg.sections else []
        return cls(val, bias, ruddit, note, perturbed, robust, speed, cases)


def scored_by(clf, label: str) -> str | None:
    """The model output a label is scored with: the label itself, else its first stand-in the model has."""
    return next((name for name in (label, *PROXIES.get(label, ())) if name in clf.labels), None)


def _probs(clf, texts_by_label: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Each label's probability on its own texts, one predict call per label. Separate calls on purpose: the int8
    model quantizes activations per batch, so a text's probability moves a little with its batch-mates (mean
    |dp| ~0.01); scoring each val split alone matches ``toxic eval`` and ``train/calibrate.py``."""
    out = {}
    for label, texts in texts_by_label.items():
        column = clf.labels.index(scored_by(clf, label))
        out[label] = clf.predict_proba(texts)[:, column] if texts else np.zeros(0)
    return out


def reliability_bins(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """The points of a reliability diagram: per non-empty bin, mean probability, share positive, count."""
    idx = np.clip(np.digitize(p, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    return [
        {
            "mean_p": float(p[idx == b].mean()),
            "positive": float(y[idx == b].mean()),
            "n": int((idx == b).sum()),
        }
        for b in range(bins)
        if (idx == b).any()
    ]


def val_section(clf, data: SuiteData) -> tuple[dict, dict]:
    """(val, calibration) per label; a label the model lacks is scored with its stand-in, without calibration."""
    scorable = [label for label in LABELS if scored_by(clf, label)]
    probs = _probs(clf, {label: data.val[label]["text"].tolist() for label in scorable})
    val, calibration = {}, {}
    for label in scorable:
        y, p = data.val[label]["label"].to_numpy(), probs[label]
        by = scored_by(clf, label)
        own = binary_metrics(y, p, clf.thresholds[by])
        tuned = best_threshold(y, p)
        val[label] = {
            **{k: own[k] for k in ("n", "threshold", "macro_f1", "accuracy", "roc_auc", "pr_auc")},
            "tuned_threshold": tuned,
            "tuned_macro_f1": binary_metrics(y, p, tuned)["macro_f1"],
            "scored_by": by,
        }
        if by != label:  # every stand-in the model has, each at its own tuned threshold
            texts = data.val[label]["text"].tolist()
            all_probs = clf.predict_proba(texts)
            val[label]["stand_ins"] = {
                alt: {
                    "roc_auc": binary_metrics(y, q, 0.5)["roc_auc"],
                    "tuned_macro_f1": binary_metrics(y, q, best_threshold(y, q))["macro_f1"],
                }
                for alt in PROXIES[label]
                if alt in clf.labels
                for q in [all_probs[:, clf.labels.index(alt)]]
            }
            continue
        calibration[label] = {
            "ece": own["ece"],
            "brier": own["brier"],
            "bins": reliability_bins(y, p),
            "calibrated": label in clf.info.calibration,
        }
    return val, calibration


def functional_section(clf, data: SuiteData) -> dict:
    """Our functional suite's evaluation half at the model's own thresholds (its own labels only)."""
    probs = clf.predict_proba([case.text for case in data.functional])
    report = functional.score(data.functional, probs, list(clf.labels), clf.thresholds)
    if "hate" in clf.labels:  # insults at one person, no identity named: how many cross the hate threshold
        rows = [i for i, case in enumerate(data.functional) if case.functionality == "abuse_individual"]
        hate = probs[rows, clf.labels.index("hate")]
        report["individual_abuse_over_hate_threshold"] = float((hate >= clf.thresholds["hate"]).mean())
    return report


def bias_section(clf, data: SuiteData) -> dict:
    table, summary = bias_report(clf, data.bias)
    return {**summary, "n": len(data.bias), "identities": table.to_dict(orient="records")}


def ruddit_section(clf, data: SuiteData) -> dict:
    if data.ruddit is None:
        return {"skipped": data.ruddit_note}
    p = clf.predict_proba(data.ruddit["text"].tolist())[:, 0]
    result = ruddit_metrics(data.ruddit, p, clf.thresholds[clf.labels[0]])
    # Mean toxic probability per offensiveness band, for the plot: a good model rises left to right.
    bands = pd.cut(data.ruddit["score"], np.linspace(-1, 1, 11), include_lowest=True)
    means = pd.Series(p).groupby(bands.to_numpy(), observed=True).agg(["mean", "size"])
    result["bands"] = [
        {"score": float(interval.mid), "mean_p": float(row["mean"]), "n": int(row["size"])}
        for interval, row in means.iterrows()
    ]
    return result


def robustness_section(clf, data: SuiteData) -> dict:
    labels = [label for label in LABELS if label in clf.labels]

    def f1s(texts: dict[str, list[str]]) -> dict[str, float]:
        probs = _probs(clf, texts)
        return {
            label: float(
                f1_score(
                    data.robust[label]["label"].to_numpy(),
                    probs[label] >= clf.thresholds[label],
                    average="macro",
                    zero_division=0,
                )
            )
            for label in labels
        }

    clean = f1s({label: data.robust[label]["text"].tolist() for label in labels})
    kinds = {}
    for kind in KINDS:
        f1 = f1s({label: data.perturbed[kind][label] for label in labels})
        kinds[kind] = {
            label: {"macro_f1": f1[label], "drop": 100 * (clean[label] - f1[label])} for label in labels
        }
    drops = [(kinds[k][label]["drop"], k, label) for k in KINDS for label in labels]
    worst = max(drops)
    return {
        "n": {label: len(data.robust[label]) for label in labels},
        "clean_macro_f1": clean,
        "kinds": kinds,
        "mean_drop": float(np.mean([d for d, _, _ in drops])),
        "mean_drop_per_label": {
            label: float(np.mean([kinds[k][label]["drop"] for k in KINDS])) for label in labels
        },
        "worst_drop": {
            "drop": worst[0],
            "kind": worst[1],
            "label": worst[2],
            "where": f"{worst[1]} ({worst[2]})",
        },
    }


def speed_section(classifiers: dict, texts: list[str], rounds: int) -> dict[str, dict]:
    """Texts/s of each model on the same texts; models interleaved within each round, the best round counts."""
    for clf in classifiers.values():
        clf.predict_proba(texts[:64])  # warm-up: first-run allocations
    best = dict.fromkeys(classifiers, 0.0)
    for _ in range(rounds):
        for name, clf in classifiers.items():
            started = time.perf_counter()
            clf.predict_proba(texts)
            best[name] = max(best[name], len(texts) / (time.perf_counter() - started))
    return {name: {"n": len(texts), "rounds": rounds, "texts_per_s": tps} for name, tps in best.items()}


def run_suite(classifiers: dict, cfg: SuiteConfig, log=print) -> dict[str, dict]:
    """``{model name: {section: result}}`` for ``{model name: Classifier}``."""
    started = time.perf_counter()
    data = SuiteData.load(cfg)
    log(f"data ready in {time.perf_counter() - started:.0f} s")
    results: dict[str, dict] = {name: {} for name in classifiers}
    sections = {
        "functional": functional_section,
        "bias": bias_section,
        "ruddit": ruddit_section,
        "robustness": robustness_section,
    }
    for name, clf in classifiers.items():
        for section in cfg.sections:
            t0 = time.perf_counter()
            if section == "val":
                results[name]["val"], results[name]["calibration"] = val_section(clf, data)
            elif section in sections:
                results[name][section] = sections[section](clf, data)
            else:
                continue
            log(f"{name}: {section} in {time.perf_counter() - t0:.0f} s")
    if "speed" in cfg.sections:
        for name, speed in speed_section(classifiers, data.speed_texts, cfg.speed_rounds).items():
            results[name]["speed"] = speed
        log("speed: " + ", ".join(f"{n} {r['speed']['texts_per_s']:.0f} texts/s" for n, r in results.items()))
    return results
