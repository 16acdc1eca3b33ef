"""What the app does, without the UI: classify, explain, score files, flag corrections, log and count.

``app.py`` wires these methods to Gradio components and ``toxic/serve/server.py`` to HTTP routes; both turn the
:class:`ToxicError` raised here into a message for the user (``gr.Error`` / a JSON error), so a bad request never
takes the app down.
"""

from __future__ import annotations

import csv
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from toxic.batch import ScoreSummary, score_file
from toxic.classifier import Classifier
from toxic.errors import InputError, LogError
from toxic.explain import word_weights
from toxic.serve import telemetry
from toxic.serve.memory import release_memory
from toxic.settings import Settings
from toxic.text import clean_text


class Service:
    def __init__(self, settings: Settings, classifier: Classifier | None = None, log=None) -> None:
        self.settings = settings
        self.clf = classifier or Classifier.load(
            settings.model,
            revision=settings.model_revision,
            threads=settings.threads,
            deobfuscate=settings.deobfuscate,
        )
        self.labels = self.clf.labels
        self.log = log  # a toxic.monitor.predlog.PredictionLog, or None
        self.log_problem: str | None = None  # why there is no log, shown in the Drift tab
        self._flag_lock = threading.Lock()
        self.started = time.time()
        telemetry.MODEL.labels(self.clf.info.model_id, self.clf.info.version).set(1)

    # --- scoring -----------------------------------------------------------------------------------------------

    def check_text(self, text) -> str:
        if text is None:
            return ""
        if not isinstance(text, str):
            raise InputError(f"expected text, got {type(text).__name__}")
        if len(text) > self.settings.max_text_chars:
            raise InputError(
                f"text is {len(text):,} characters; the limit is {self.settings.max_text_chars:,} (TOXIC_MAX_TEXT_CHARS)"
            )
        return text

    def score(
        self,
        texts: list[str],
        source: str,
        *,
        thresholds: dict[str, float] | None = None,
        store: bool = True,
        request_id: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and decisions for texts, counted in /metrics and written to the prediction log (unless
        ``store`` is False). Decisions are taken at ``thresholds`` (label -> float) when given, else the model's."""
        texts = [self.check_text(t) for t in texts]
        probs = self.clf.predict_proba(texts)
        decisions = self.clf.decide(probs, thresholds)
        telemetry.count(self.labels, decisions)
        if self.log is not None and store:
            self.log.record_many(
                texts, probs, decisions, self.clf.info.model_id, self.clf.info.version, source=source
            )
        return probs, decisions

    def results(self, probs: np.ndarray, decisions: np.ndarray) -> list[dict]:
        return [
            {
                **{label: round(float(p[j]), 6) for j, label in enumerate(self.labels)},
                "labels": [label for j, label in enumerate(self.labels) if d[j]],
            }
            for p, d in zip(probs, decisions, strict=True)
        ]

    def classify(self, texts: list[str], source: str = "api") -> list[dict]:
        with telemetry.observe("classify"):
            return self.results(*self.score(texts, source))

    def read_as(self, text: str, limit: int = 300) -> str | None:
        """The text as the model read it when undoing look-alike spellings changed it (``1d10t`` -> ``idiot``),
        cut to ``limit`` characters; None when nothing was undone."""
        if self.clf.deobfuscator is None:
            return None
        cleaned = clean_text(text)
        read = self.clf.deobfuscator(cleaned) if cleaned else cleaned
        if read == cleaned:
            return None
        return read if len(read) <= limit else read[:limit] + "…"

    def explain(self, text: str, label: str = "toxic") -> list[tuple[str, float]]:
        if label not in self.labels:
            raise InputError(f"label must be one of {', '.join(self.labels)}")
        with telemetry.observe("explain"):
            return word_weights(self.clf, self.check_text(text), label)

    # --- files -------------------------------------------------------------------------------------------------

    def score_csv(
        self, path: str | Path, column: str | None = None, progress=None
    ) -> tuple[Path, ScoreSummary]:
        path = Path(path)
        if path.stat().st_size > self.settings.max_upload_mb * 2**20:
            raise InputError(f"{path.name} is over the {self.settings.max_upload_mb} MB upload limit")
        out_dir = Path(tempfile.mkdtemp(prefix="toxic-"))
        stem = path.stem.removesuffix(".scored") or "comments"
        out = out_dir / f"{stem}.scored.csv"
        try:
            with telemetry.observe("score_csv"):
                summary = score_file(
                    self.clf,
                    path,
                    out,
                    column=column or None,
                    max_rows=self.settings.max_rows,
                    progress=progress,
                )
        finally:
            release_memory()  # the job's freed buffers back to the OS: the app's RSS does not ratchet up
        telemetry.TEXTS.inc(summary.rows)
        for label, n in summary.flagged.items():
            telemetry.PREDICTIONS.labels(label).inc(n)
        return out, summary

    # --- feedback ----------------------------------------------------------------------------------------------

    def flag(
        self,
        text: str,
        scores: dict,
        correction: str,
        *,
        prediction_id: str | None = None,
        source: str = "ui",
    ) -> Path:
        """Append a user's correction to ``flag_dir/corrections.csv`` (future training data). ``prediction_id``
        is the request id of the prediction it corrects."""
        if not text or not text.strip():
            raise InputError("nothing to flag: classify a text first")
        if not correction:
            raise InputError("choose what the right answer is before flagging")
        self.settings.flag_dir.mkdir(parents=True, exist_ok=True)
        path = self.settings.flag_dir / "corrections.csv"
        row = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "text": text,
            "correction": correction,
            **{label: scores.get(label) for label in self.labels},
            "model_id": self.clf.info.model_id,
            "version": self.clf.info.version,
        }
        with self._flag_lock:
            new = not path.exists()
            with path.open("a", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(row))
                if new:
                    writer.writeheader()
                writer.writerow(row)
        return path

    def drift(self, last: int):
        """A drift report of the last ``last`` logged predictions, and the per-hour series for plots."""
        from toxic.monitor.drift import report_from_log, timeseries
        from toxic.monitor.profile import load_profile

        if self.log is None:
            raise LogError(
                self.log_problem or "the prediction log is off (TOXIC_LOG=off): nothing to compare"
            )
        reference = load_profile(self.clf.info.path)  # a DriftError says how to build a missing one
        self.log.flush()
        try:
            with telemetry.observe("drift"):
                result = report_from_log(self.log, self.clf, reference, last=last)
                series = timeseries(self.log.read(last=last), "1h", reference)
        finally:
            release_memory()
        return result, series

    def health(self) -> dict:
        info = self.clf.info
        return {
            "ready": True,
            "model_id": info.model_id,
            "version": info.version,
            "labels": list(self.labels),
            "deobfuscate": self.clf.deobfuscator is not None,
            "uptime_s": round(time.time() - self.started, 1),
        }


def open_log_or_warn(settings: Settings):
    """The prediction log named by the settings; on a bad URI or missing credentials the app still serves
    predictions: it prints the problem and the Drift tab shows it."""
    if settings.log.lower() == "off":
        return None
    from toxic.monitor.predlog import open_log

    try:
        return open_log(settings.log, settings.log_text, settings.log_salt)
    except LogError as e:
        print(f"toxic: prediction logging is off: {e}", flush=True)
        return None
