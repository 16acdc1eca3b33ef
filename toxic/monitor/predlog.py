"""The prediction log: every prediction the app makes, kept where one URI says, read back as a pandas frame.

    >>> log = open_log("logs/predictions.sqlite")            # a file path: SQLite
    >>> log = open_log("gs://my-bucket/toxic/predictions")    # Google Cloud Storage: batched NDJSON objects
    >>> log.record_many(texts, probs, decisions, model_id, version, source="api",
    ...                 request_id="9f1c...", thresholds={"toxic": 0.4, "hate": 0.41})
    >>> log.read(last=10_000)                                 # columns: COLUMNS, oldest first
    >>> log.close()

Each record keeps what an auditor needs to reproduce its labels: the model (``model_id``, ``version``), where the
request came from (``source``: ui, api, rest, batch, ...), the request it belongs to (``request_id``; one id for
all rows of a batch) and the thresholds its labels were decided at (``toxic_threshold``, ``hate_threshold``).
Every model scores ``toxic`` and ``hate``; ``insult`` (score, decision, threshold) is kept for models that have
it and left empty for the others. Records written before a column existed read back with it empty (None / NaN).

Each sink lives in its own module and states its durability promise there:

- :mod:`toxic.monitor.sqlite_sink` (a file path, the local default): committed before ``record_many`` returns,
  survives ``kill -9`` of the app.
- :mod:`toxic.monitor.gcs_sink` (``gs://``): buffered and uploaded in batches by a background thread, spilled to
  a local folder while the bucket is away, never duplicated on retry.

Texts are kept according to ``text_mode``: ``full``; ``hash`` (``"sha256:"`` + hex SHA-256 of salt + text, for
deployments that must not store user text); ``none`` (NULL). ``length`` is always the raw text's length.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toxic.errors import LogError

if TYPE_CHECKING:
    from toxic.monitor.gcs_sink import GCSConfig

COLUMNS = (
    "time",
    "model_id",
    "version",
    "source",
    "toxic",
    "hate",
    "toxic_label",
    "hate_label",
    "length",
    "text",
    "request_id",
    "toxic_threshold",
    "hate_threshold",
    "insult",
    "insult_label",
    "insult_threshold",
)
REQUIRED_LABELS = ("toxic", "hate")  # every model has these: their columns are never empty
OPTIONAL_LABELS = ("insult",)  # kept when the model has the label, empty otherwise
TEXT_MODES = ("full", "hash", "none")
HASH_PREFIX = "sha256:"


def open_log(
    uri: str,
    text_mode: str = "full",
    salt: str | None = None,
    *,
    create: bool = True,
    spill_dir: str | os.PathLike | None = None,
    config: GCSConfig | None = None,
) -> PredictionLog:
    """The log at ``uri``: ``gs://bucket/prefix`` or a file path (SQLite). ``create=False`` refuses to start a
    new local log (for readers such as ``toxic drift``). Raises :class:`LogError` with a fix for a bad URI,
    missing credentials, an unreachable or missing bucket, a file that is not a log, or a corrupted log."""
    uri = str(uri).strip()
    if not uri:
        raise LogError("the prediction log URI is empty: give a file path or gs://bucket/prefix")
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", uri)
    if uri.startswith("gs://"):
        from toxic.monitor.gcs_sink import GCSLog

        bucket, prefix = parse_gs_uri(uri)
        return GCSLog(uri, bucket, prefix, text_mode, salt, spill_dir=spill_dir, config=config)
    if scheme and scheme.group(1).lower() in {"gs", "gcs", "gcp", "gc", "storage"}:
        raise LogError(f"{uri!r} is not a valid bucket URI: write gs://BUCKET/PREFIX (two slashes after gs:)")
    if scheme and uri[len(scheme.group(0)) :].startswith("//"):
        raise LogError(
            f"unsupported log URI scheme {scheme.group(1)!r} in {uri!r}: use a file path (SQLite) or gs://bucket/prefix"
        )
    from toxic.monitor.sqlite_sink import SQLiteLog

    return SQLiteLog(Path(uri).expanduser(), text_mode, salt, create=create)


_BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]{1,61}[a-z0-9])?$")


def parse_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/some/prefix`` -> ``("bucket", "some/prefix")``, with the bucket name checked by GCS rules."""
    rest = uri[len("gs://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise LogError(f"{uri!r} names no bucket: write gs://BUCKET/PREFIX")
    if not _BUCKET.match(bucket) or ".." in bucket or bucket.startswith("goog"):
        raise LogError(
            f"{bucket!r} in {uri!r} is not a valid bucket name: 3-63 characters, lower-case letters, digits, '-', "
            "'_' and '.', starting and ending with a letter or digit"
        )
    return bucket, prefix.strip("/")


def utc_seconds(value: datetime | str | None) -> float | None:
    """A datetime (naive = UTC) or an ISO string as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as e:
            raise LogError(f"not an ISO date/time: {value!r} (e.g. 2026-07-20T08:00:00Z)") from e
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def frame_of(rows: Sequence[tuple]) -> pd.DataFrame:
    """Rows in COLUMNS order (time as epoch seconds) as the frame every reader returns."""
    frame = pd.DataFrame.from_records(list(rows), columns=list(COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"].astype(float), unit="s", utc=True)
    for c in ("toxic", "hate", "toxic_threshold", "hate_threshold", "insult", "insult_threshold"):
        frame[c] = frame[c].astype(float)
    for c in ("toxic_label", "hate_label", "length"):
        frame[c] = frame[c].astype("int64")
    frame["insult_label"] = frame["insult_label"].astype("Int64")  # empty for a model without the label
    for c in ("model_id", "version", "source", "text", "request_id"):
        frame[c] = frame[c].astype(object)
    return frame


def _threshold(thresholds: dict[str, float], label: str) -> float | None:
    value = thresholds.get(label)
    return None if value is None else float(value)


class PredictionLog(ABC):
    """One interface over the sinks. Thread-safe: one instance may be shared by all request handlers."""

    def __init__(self, uri: str, text_mode: str, salt: str | None) -> None:
        if text_mode not in TEXT_MODES:
            raise LogError(f"text_mode must be one of {', '.join(TEXT_MODES)}, got {text_mode!r}")
        if text_mode == "hash" and not salt:
            raise LogError(
                "text_mode 'hash' needs a secret salt (a long random string, kept the same across restarts)"
            )
        self.uri = uri
        self.text_mode = text_mode
        self._salt = (salt or "").encode("utf-8")

    def record_many(
        self,
        texts: Sequence[str],
        probs: np.ndarray,
        decisions: np.ndarray,
        model_id: str,
        version: str,
        source: str = "app",
        *,
        request_id: str | Sequence[str] | None = None,
        thresholds: dict[str, float] | None = None,
        labels: Sequence[str] = REQUIRED_LABELS,
    ) -> None:
        """Record one prediction per text: ``probs`` and ``decisions`` are ``(n, len(labels))``, the model's
        ``labels`` in its order (``toxic`` and ``hate`` among them), decided at ``thresholds`` (label -> float;
        None when the caller does not say) for the request ``request_id``: one id for all, or one per text (texts
        of several callers scored in one batch). Labels the log has no column for are not kept."""
        n = len(texts)
        labels = list(labels)
        probs = np.asarray(probs)
        decisions = np.asarray(decisions)
        width = len(labels)
        if probs.shape != (n, width) or decisions.shape != (n, width):
            raise LogError(
                f"record_many: {n} texts and labels {', '.join(labels)} need probs and decisions of shape "
                f"({n}, {width}), got {probs.shape} and {decisions.shape}"
            )
        missing = [label for label in REQUIRED_LABELS if label not in labels]
        if missing:
            raise LogError(
                f"record_many: the log needs the labels toxic and hate; missing {', '.join(missing)}"
            )
        if n == 0:
            return
        ids = [request_id] * n if request_id is None or isinstance(request_id, str) else list(request_id)
        if len(ids) != n:
            raise LogError(f"record_many: {n} texts need one request id or {n}, got {len(ids)}")
        head = (time.time(), model_id, version, source)
        at = thresholds or {}
        tail = (_threshold(at, "toxic"), _threshold(at, "hate"))
        lengths = [len(t) if isinstance(t, str) else 0 for t in texts]
        cols = [labels.index(label) for label in REQUIRED_LABELS]
        p, d = probs[:, cols].tolist(), decisions[:, cols].astype(np.int8).tolist()
        extra = self._optional(labels, probs, decisions, at)
        kept = self._kept_texts(texts)
        rows = zip(p, d, lengths, kept, ids, extra, strict=True)
        self._write([(*head, *pi, *di, n, k, rid, *tail, *x) for pi, di, n, k, rid, x in rows])

    @staticmethod
    def _optional(labels: list[str], probs: np.ndarray, decisions: np.ndarray, at: dict) -> list[tuple]:
        """Per row, (score, decision, threshold) of each optional label: None where the model lacks it."""
        n, columns = len(probs), []
        for label in OPTIONAL_LABELS:
            if label in labels:
                j = labels.index(label)
                columns += [
                    probs[:, j].tolist(),
                    decisions[:, j].astype(np.int8).tolist(),
                    [_threshold(at, label)] * n,
                ]
            else:
                columns += [[None] * n] * 3
        return list(zip(*columns, strict=True))

    def _kept_texts(self, texts: Sequence[str]) -> list[str | None]:
        if self.text_mode == "full":
            return [t if isinstance(t, str) else None for t in texts]
        if self.text_mode == "none":
            return [None] * len(texts)
        salt = self._salt
        return [
            HASH_PREFIX + hashlib.sha256(salt + t.encode("utf-8", "surrogatepass")).hexdigest()
            if isinstance(t, str)
            else None
            for t in texts
        ]

    @abstractmethod
    def _write(self, rows: list[tuple]) -> None: ...

    @abstractmethod
    def read(
        self,
        last: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> pd.DataFrame:
        """Records with ``since <= time < until`` (UTC; naive datetimes are UTC), the ``last`` N of them when
        given, oldest first, as a frame with columns :data:`COLUMNS` (``time`` tz-aware UTC)."""

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every record so far is durable (written, uploaded or spilled). True when done in time."""
        return True

    def stats(self) -> dict:
        """Counters for a health view (buffered records, spilled batches, errors)."""
        return {}

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r}, text_mode={self.text_mode!r})"


def __getattr__(name: str):
    """The sinks' classes, importable from here as before they had their own modules (imported on first use:
    the GCS client library loads only for a gs:// log)."""
    if name in ("GCSConfig", "GCSLog"):
        from toxic.monitor import gcs_sink

        return getattr(gcs_sink, name)
    if name == "SQLiteLog":
        from toxic.monitor.sqlite_sink import SQLiteLog

        return SQLiteLog
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
