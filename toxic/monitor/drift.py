"""Drift: a window of the prediction log against the model's reference profile, with Evidently 0.7.

    >>> result = report_from_log(log, clf, load_profile(clf.info.path), last=10_000)
    >>> result.summary["dataset_drift"], result.summary["drift_share"]
    >>> Path("drift.html").write_text(result.html)
    >>> timeseries(log.read(last=10_000), freq="1h")        # for plots over time

What is compared, each a "feature"; the share of drifted features decides ``dataset_drift`` (>= 0.5):

- the text descriptors of :mod:`toxic.monitor.profile` and the model's two scores, each with a test chosen by the size of
  the window: the K-S test (p < 0.05) below :data:`SMALL_WINDOW` rows, else Evidently's default for large data,
  the normed Wasserstein distance (> 0.1). Evidently chooses by the size of the reference (5,000 rows: always
  Wasserstein), but the window is the small sample: on 100-500 held-out texts, the distance's sampling noise alone
  passes 0.1 for 1 to 8 of the 10 features, while K-S flags 0 or 1 (measured on the val split);
- the model's embedding, as one feature: its first :data:`COMPONENTS` principal components (fitted on the
  reference, whitened), with Evidently's "model" drift method (a classifier trained to tell current rows from
  reference rows; ROC AUC above the threshold means drift).

Evidently's own ``EmbeddingsDrift`` metric is not used: in 0.7.23 its calculation also runs t-SNE on up to 5,000
points for its plot, which takes minutes on a small CPU (``bench/bench_drift.py``), against a 10 s budget.
:class:`toxic.monitor.embedding_drift.EmbeddingDrift`, a small Evidently metric, applies the same drift method to the
components and draws a scatter of the first two instead. (``DataDriftPreset(embeddings=...)`` computes nothing
for embeddings in 0.7.23.) A feature's ``score`` is a p-value for K-S (drift below the threshold), a distance
for Wasserstein (drift above it), a ROC AUC for the embedding (drift above it).

Descriptors and embeddings need the logged texts (``text_mode="full"``). When the log holds hashes or nothing,
only the text length and the scores are compared, and ``summary["notes"]`` says so. A model pass costs
milliseconds per text, so embeddings are computed for a seeded sample of at most :data:`EMBED_SAMPLE` texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toxic.errors import DriftError
from toxic.monitor.predlog import HASH_PREFIX, OPTIONAL_LABELS, REQUIRED_LABELS
from toxic.monitor.profile import DESCRIPTORS, EMBEDDING_PREFIX, describe

SCORES = REQUIRED_LABELS  # the scores every model has: drift compares these (and the texts)
FEATURES = (*DESCRIPTORS, *SCORES)
LOGGED_FEATURES = ("length", *SCORES)  # what a log without texts still allows to compare
COMPONENTS = 8  # principal components of the embedding given to the drift method
EMBED_SAMPLE = 1000  # current texts embedded at most (a model pass per text)
MIN_ROWS = 30  # below this a window says nothing reliable
SMALL_WINDOW = 1000  # below this many rows, features are tested with K-S instead of the Wasserstein distance
DRIFT_SHARE = 0.5  # Evidently's default: the dataset drifts when this share of its features does


@dataclass
class DriftResult:
    summary: dict  # plain values, JSON-serialisable
    html: str  # the standalone Evidently report
    notes: list[str] = field(default_factory=list)


# --- the current window ------------------------------------------------------------------------------------------


def current_frame(
    clf, log: pd.DataFrame, embed_sample: int = EMBED_SAMPLE, seed: int = 0
) -> tuple[pd.DataFrame, list[str]]:
    """A log window (``PredictionLog.read()``) as a frame comparable with the reference profile: descriptors,
    logged scores and decisions, and embeddings for a sample of rows (NaN elsewhere). Also returns notes."""
    notes: list[str] = []
    has_text = log["text"].map(lambda t: isinstance(t, str) and not t.startswith(HASH_PREFIX)).to_numpy()
    if len(log) and has_text.mean() < 0.5:
        notes.append(
            "texts are not in the log (text_mode hash or none): compared text length and the model's scores "
            "only; no text descriptors, no embedding drift; length is of the raw text"
        )
        return log[["length", *SCORES, "toxic_label", "hate_label"]].reset_index(drop=True), notes
    if not has_text.all():
        notes.append(f"{int((~has_text).sum()):,} of {len(log):,} predictions have no logged text: left out")
        log = log[has_text]
    log = log.reset_index(drop=True)
    texts = log["text"].tolist()
    frame = pd.concat([describe(texts, clf.tokenizer), log[[*SCORES, "toxic_label", "hate_label"]]], axis=1)
    if texts:
        rows = np.arange(len(texts))
        if len(texts) > embed_sample:
            rows = np.sort(np.random.default_rng(seed).choice(len(texts), size=embed_sample, replace=False))
            notes.append(f"embedding drift on a random sample of {embed_sample:,} of {len(texts):,} texts")
        sample = clf.embed([texts[i] for i in rows])
        embeddings = np.full((len(texts), sample.shape[1]), np.nan, dtype=np.float32)
        embeddings[rows] = sample
        columns = [f"{EMBEDDING_PREFIX}{i}" for i in range(sample.shape[1])]
        frame = pd.concat([frame, pd.DataFrame(embeddings, columns=columns)], axis=1)
    return frame, notes


def window_from_texts(clf, texts: list[str], source: str = "offline") -> pd.DataFrame:
    """Texts scored now by ``clf``, shaped like a log window (``PredictionLog.read()``): to compare a data set
    that never went through the app (e.g. Ruddit) with the reference."""
    from toxic.monitor.predlog import COLUMNS

    probs = clf.predict_proba(list(texts))
    decisions = clf.decide(probs).astype("int64")
    column = {label: j for j, label in enumerate(clf.labels)}
    frame = pd.DataFrame(
        {
            "time": pd.Timestamp.now(tz="UTC"),
            "model_id": clf.info.model_id,
            "version": clf.info.version,
            "source": source,
            "length": [len(t) for t in texts],
            "text": list(texts),
            "request_id": None,
        }
    )
    for label in (*REQUIRED_LABELS, *OPTIONAL_LABELS):
        j = column.get(label)
        frame[label] = probs[:, j].astype(float) if j is not None else np.nan
        frame[f"{label}_label"] = decisions[:, j] if j is not None else pd.NA
        frame[f"{label}_threshold"] = clf.thresholds[label] if j is not None else np.nan
    return frame[list(COLUMNS)]


# --- the comparison -----------------------------------------------------------------------------------------------


def check_window(n: int, what: str = "the window") -> None:
    if n == 0:
        raise DriftError(f"{what} is empty: no predictions to compare (widen the window or wait for traffic)")
    if n < MIN_ROWS:
        raise DriftError(
            f"{what} has {n} prediction{'s' if n != 1 else ''}: a drift report needs at least {MIN_ROWS}; "
            "widen the window"
        )


def _components(current: pd.DataFrame, reference: pd.DataFrame, k: int):
    """Whitened principal components of the embedding, fitted on the reference; None when either side lacks it."""
    from sklearn.decomposition import PCA

    columns = [c for c in reference.columns if c.startswith(EMBEDDING_PREFIX)]
    if not columns or not set(columns) <= set(current.columns):
        return None
    have = current[columns[0]].notna().to_numpy()
    if have.sum() < MIN_ROWS:
        return None
    pca = PCA(n_components=k, whiten=True, random_state=0).fit(reference[columns].to_numpy(np.float32))
    names = [f"pc_{i + 1}" for i in range(k)]
    ref = pd.DataFrame(pca.transform(reference[columns].to_numpy(np.float32)), columns=names)
    cur = pd.DataFrame(np.nan, index=current.index, columns=names)
    cur.loc[have, names] = pca.transform(current.loc[have, columns].to_numpy(np.float32))
    return cur, ref, int(have.sum())


def _rate(frame: pd.DataFrame, column: str) -> float | None:
    return float(frame[column].mean()) if column in frame and len(frame) else None


def compare(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    notes: list[str] | None = None,
    components: int = COMPONENTS,
) -> DriftResult:
    """Evidently drift report of ``current`` (:func:`current_frame`) against ``reference`` (the profile)."""
    # Evidently takes seconds to import: only here, so the rest of this module (and the CLI's errors) stay quick.
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset
    from evidently.tests import lt

    from toxic.monitor.embedding_drift import EmbeddingDrift, auc_threshold

    notes = list(notes or [])
    check_window(len(current))
    check_window(len(reference), "the reference profile")
    features = [c for c in FEATURES if c in current and c in reference and current[c].notna().any()]
    if not features:
        raise DriftError("the window and the reference have no feature in common to compare")
    cur = current[features].reset_index(drop=True)
    ref = reference[features].reset_index(drop=True)
    metrics = [DataDriftPreset(columns=features, num_method="ks" if len(current) < SMALL_WINDOW else None)]
    pcs = _components(current.reset_index(drop=True), reference.reset_index(drop=True), components)
    embedding = None
    if pcs is not None:
        cur_pc, ref_pc, embedded = pcs
        cur, ref = pd.concat([cur, cur_pc], axis=1), pd.concat([ref, ref_pc], axis=1)
        threshold = auc_threshold(embedded, len(ref))
        metrics.append(
            EmbeddingDrift(columns=list(cur_pc.columns), threshold=threshold, tests=[lt(threshold)])
        )
        embedding = {"components": components, "rows": embedded, "threshold": threshold}
    definition = DataDefinition(numerical_columns=list(cur.columns))
    # A constant column (no URLs in the window) makes Evidently's correlation matrix divide by zero: harmless.
    with np.errstate(invalid="ignore", divide="ignore"):
        snapshot = Report(metrics, include_tests=True).run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
    summary = _summary(snapshot.dict(), features, embedding)
    summary["rows"] = {"current": len(current), "reference": len(reference)}
    for label in SCORES:
        before, after = _rate(reference, f"{label}_label"), _rate(current, f"{label}_label")
        summary[f"{label}_rate"] = {
            "reference": before,
            "current": after,
            "change": None if before is None or after is None else after - before,
        }
    summary["notes"] = notes
    return DriftResult(summary=summary, html=snapshot.get_html_str(as_iframe=False), notes=notes)


def _summary(result: dict, features: list[str], embedding: dict | None) -> dict:
    scores, drifted = {}, {}
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            scores[config["column"]] = {
                "score": float(metric["value"]),
                "method": config.get("method"),
                "threshold": config.get("threshold"),
            }
        elif config["type"].endswith(":EmbeddingDrift") and embedding is not None:
            embedding["score"] = float(metric["value"])
            embedding["drifted"] = embedding["score"] > embedding["threshold"]
            embedding["method"] = "model: ROC AUC of a classifier telling current from reference"
    for test in result["tests"]:
        params = test["metric_config"]["params"]
        if params["type"].endswith(":ValueDrift"):
            drifted[params["column"]] = test["status"] == "FAIL"
    per_feature = {name: {**scores[name], "drifted": drifted.get(name, False)} for name in features}
    names = [name for name in features if per_feature[name]["drifted"]]
    if embedding is not None and embedding["drifted"]:
        names.append("embedding")
    counted = len(features) + (embedding is not None)
    share = len(names) / counted
    return {
        "dataset_drift": share >= DRIFT_SHARE,
        "drift_share": share,
        "drifted_features": names,
        "features": per_feature,
        "embedding": embedding,
    }


def report_from_log(
    log, clf, reference: pd.DataFrame, last: int | None = None, since=None, until=None, seed: int = 0
) -> DriftResult:
    """Read a window of ``log`` (a :class:`toxic.monitor.predlog.PredictionLog`), profile it with ``clf`` and compare it
    with ``reference``. Raises :class:`DriftError` for an empty or too small window."""
    return report_from_window(log.read(last=last, since=since, until=until), clf, reference, seed=seed)


def report_from_window(window: pd.DataFrame, clf, reference: pd.DataFrame, seed: int = 0) -> DriftResult:
    """:func:`report_from_log` on a window already read (``PredictionLog.read()``)."""
    check_window(len(window))
    current, notes = current_frame(clf, window, seed=seed)
    versions = sorted(set(window["version"]))
    if len(versions) > 1:
        notes.append(f"the window mixes model versions {', '.join(versions)}: its scores are not comparable")
    result = compare(current, reference, notes)
    result.summary["window"] = {
        "start": window["time"].min().isoformat(),
        "end": window["time"].max().isoformat(),
        "predictions": len(window),
        "model_versions": versions,
    }
    return result


# --- over time ----------------------------------------------------------------------------------------------------


def timeseries(log: pd.DataFrame, freq: str = "1h", reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per time bin: ``predictions``, ``toxic_rate``, ``hate_rate`` (share flagged), ``toxic_mean``,
    ``hate_mean`` (mean scores) and, with a ``reference``, ``toxic_score_drift``: the normed Wasserstein distance
    of the bin's toxic scores to the reference's (Evidently's measure; it flags drift above 0.1)."""
    columns = ["predictions", "toxic_rate", "hate_rate", "toxic_mean", "hate_mean"]
    if reference is not None:
        columns.append("toxic_score_drift")
    if log.empty:
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], tz="UTC", name="time"))
    bins = log.set_index("time").sort_index().resample(freq)
    out = pd.DataFrame(
        {
            "predictions": bins.size(),
            "toxic_rate": bins["toxic_label"].mean(),
            "hate_rate": bins["hate_label"].mean(),
            "toxic_mean": bins["toxic"].mean(),
            "hate_mean": bins["hate"].mean(),
        }
    )
    if reference is not None:
        from scipy.stats import wasserstein_distance

        ref = reference["toxic"].to_numpy()
        scale = float(np.std(ref)) or 1.0
        out["toxic_score_drift"] = bins["toxic"].apply(
            lambda s: wasserstein_distance(s.to_numpy(), ref) / scale if len(s) else np.nan
        )
    out.index.name = "time"
    return out[columns]
