"""What the app does, without the UI: classify, explain, score files, flag corrections, log and count.

``app.py`` wires these methods to Gradio components and ``toxic/serve/server.py`` to HTTP routes; both turn the
:class:`ToxicError` raised here into a message for the user (``gr.Error`` / a JSON error), so a bad request never
takes the app down.
"""

from __future__ import annotations

import math
import numbers
import os
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from toxic.batch import ScoreSummary, score_file
from toxic.classifier import Classifier
from toxic.errors import InputError, LimitError, LogError, UploadError
from toxic.explain import explained_words, word_weights
from toxic.monitor.corrections import CorrectionStore, labels_from_choice
from toxic.serve import telemetry
from toxic.serve.memory import release_memory
from toxic.serve.outputs import OutputFolder
from toxic.settings import Settings
from toxic.text import clean_text, safe_text


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
        self.corrections = CorrectionStore(settings.flag_dir, settings.log_text, settings.log_salt)
        self._outputs: OutputFolder | None = None  # made at the first scored file
        self._outputs_lock = threading.Lock()
        self.started = time.time()
        telemetry.MODEL.labels(self.clf.info.model_id, self.clf.info.version).set(1)

    # --- scoring -----------------------------------------------------------------------------------------------

    def check_text(self, text) -> str:
        """The text as the app will score and log it (lone surrogates replaced: :func:`toxic.text.safe_text`), or
        an :class:`InputError` for a non-text and a :class:`LimitError` for a text over TOXIC_MAX_TEXT_CHARS."""
        if text is None:
            return ""
        if not isinstance(text, str):
            raise InputError(f"expected text, got {_json_type(text)}")
        limit = self.settings.max_text_chars
        if len(text) > limit:
            raise LimitError(
                f"text is {len(text):,} characters; the limit is {limit:,} (TOXIC_MAX_TEXT_CHARS): "
                "split it, or score long documents as a CSV file"
            )
        return safe_text(text)

    def check_texts(self, texts) -> list[str]:
        """Every text checked, and the request's count and total characters within their limits: decided before
        any scoring, so an oversized request costs nothing."""
        if not isinstance(texts, list | tuple):
            raise InputError(f"expected a list of texts, got {_json_type(texts)}")
        s = self.settings
        if len(texts) > s.max_request_texts:
            raise LimitError(
                f"{len(texts):,} texts in one request; send at most {s.max_request_texts:,} "
                "(TOXIC_MAX_REQUEST_TEXTS)"
            )
        checked = [self.check_text(t) for t in texts]
        total = sum(map(len, checked))
        if total > s.max_request_chars:
            raise LimitError(
                f"{total:,} characters in one request; the limit is {s.max_request_chars:,} "
                "(TOXIC_MAX_REQUEST_CHARS): send fewer texts at a time"
            )
        # The work is per token, not per character: 20,000 characters of English are ~4,000 tokens, of Chinese
        # 20,000. Counting them costs ~1% of scoring them.
        tokens = sum(len(e.ids) for e in self.clf.tokenizer.encode_batch(checked, add_special_tokens=False))
        if tokens > s.max_request_tokens:
            raise LimitError(
                f"{tokens:,} tokens in one request; the limit is {s.max_request_tokens:,} "
                "(TOXIC_MAX_REQUEST_TOKENS): send fewer or shorter texts at a time"
            )
        return checked

    def check_upload(self, path) -> Path:
        """A file the caller uploaded through the app (Gradio's upload folder, after following every link), or an
        :class:`UploadError` that names no server path. Any other path is refused unread: relative or absolute,
        ``..``, a symbolic link out of the folder, ``file://`` or ``http(s)://``."""
        refused = UploadError(
            "files must be uploaded through the app (the upload button, or gradio_client's handle_file); "
            "a server path or URL is not accepted"
        )
        if not isinstance(path, str | Path) or "://" in str(path) or "\0" in str(path):
            raise refused
        path = Path(path)
        if not path.is_absolute():
            raise refused
        root = self.settings.upload_dir.resolve()
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            if Path(os.path.normpath(path)).is_relative_to(root):  # an upload of ours, deleted since
                raise UploadError(
                    f"{path.name} is gone: uploads are kept {self.settings.file_ttl_s:,} s (TOXIC_FILE_TTL_S); "
                    "upload it again"
                ) from None
            raise refused from None
        if not real.is_relative_to(root) or real == root or not real.is_file():
            raise refused
        return real

    def score(
        self,
        texts: list[str],
        source: str,
        *,
        thresholds: dict[str, float] | None = None,
        store: bool = True,
        request_id: str | list[str] | None = None,
        checked: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and decisions for texts, counted in /metrics and written to the prediction log.

        ``thresholds`` (label -> float, in [0, 1]) are the thresholds the caller decides at; labels left out keep
        the model's. The log keeps them with each record, with ``request_id``: one for the call (a new uuid4 hex
        when None), or a list of one per text when the texts come from several callers (a merged batch).
        ``store=False``: nothing of this call reaches the prediction log. ``checked``: the texts already went
        through :meth:`check_texts`, one caller at a time (a shared batch)."""
        texts = texts if checked else self.check_texts(texts)
        at = self.thresholds_at(thresholds)
        probs = self.clf.predict_proba(texts)
        decisions = self.clf.decide(probs, at)
        telemetry.count(self.labels, decisions)
        if store:
            self._record(texts, probs, decisions, source, request_id, at)
        return probs, decisions

    def thresholds_at(self, thresholds: dict[str, float] | None) -> dict[str, float]:
        """The model's thresholds overridden by the caller's, checked: known labels, numbers in [0, 1]."""
        if not thresholds:
            return dict(self.clf.thresholds)
        unknown = set(thresholds) - set(self.labels)
        if unknown:
            raise InputError(f"no label {sorted(unknown)[0]!r}: thresholds are for {', '.join(self.labels)}")
        for label, value in thresholds.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
                raise InputError(f"the {label} threshold must be a number from 0 to 1, got {value!r}")
            if math.isnan(value):
                raise InputError(f"the {label} threshold must be a number from 0 to 1, got NaN")
        return {**self.clf.thresholds, **{k: float(v) for k, v in thresholds.items()}}

    def _record(self, texts, probs, decisions, source: str, request_id, at: dict) -> None:
        if self.log is None:
            return
        self.log.record_many(
            texts,
            probs,
            decisions,
            self.clf.info.model_id,
            self.clf.info.version,
            source=source,
            request_id=request_id or uuid.uuid4().hex,
            thresholds=at,
            labels=self.labels,
        )

    def results(self, probs: np.ndarray, decisions: np.ndarray) -> list[dict]:
        return [
            {
                **{label: round(float(p[j]), 6) for j, label in enumerate(self.labels)},
                "labels": [label for j, label in enumerate(self.labels) if d[j]],
            }
            for p, d in zip(probs, decisions, strict=True)
        ]

    def classify(self, texts: list[str], source: str = "api", *, request_id=None) -> list[dict]:
        """Results per text; ``request_id`` as in :meth:`score` (a list of one id per text when Gradio merged
        several callers' texts into one call)."""
        with telemetry.observe("classify"):
            return self.results(*self.score(texts, source, request_id=request_id))

    def classify_each(self, texts: list, source: str = "api") -> list[dict]:
        """For a batch shared by several callers: each text checked on its own, so one caller's bad text gives
        that caller ``{"error": ...}`` and never changes another caller's result."""
        checked: dict[int, str] = {}
        errors: dict[int, str] = {}
        for i, text in enumerate(texts):
            try:
                checked[i] = self.check_texts([text])[0]  # each caller's own request, within its own limits
            except InputError as e:
                errors[i] = str(e)
        with telemetry.observe("classify"):
            ids = [uuid.uuid4().hex for _ in checked]  # one request id per caller: Gradio merged their calls
            ok = (
                self.results(*self.score(list(checked.values()), source, checked=True, request_id=ids))
                if checked
                else []
            )
        results = iter(ok)
        return [{"error": errors[i]} if i in errors else next(results) for i in range(len(texts))]

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
            return word_weights(self.clf, self.check_text(text), label, self.settings.max_explain_words)

    def explain_note(self, text: str) -> str | None:
        """What a reader of an explanation must know: that a long text explained its first words only."""
        n, total = explained_words(text or "", self.settings.max_explain_words)
        if n == total:
            return None
        return f"Explained the first {n:,} of {total:,} words (TOXIC_MAX_EXPLAIN_WORDS); the rest are not coloured."

    # --- files -------------------------------------------------------------------------------------------------

    def score_csv(
        self,
        path: str | Path,
        column: str | None = None,
        progress=None,
        *,
        header: bool | None = None,
        thresholds: dict[str, float] | None = None,
        store: bool = True,
        request_id: str | None = None,
        source: str = "batch",
    ) -> tuple[Path, ScoreSummary]:
        """Score a file into a new file that is deleted ``settings.file_ttl_s`` seconds later. Every row is
        logged with ``source`` and one request id, unless ``store=False`` or the operator set TOXIC_LOG_BATCH=0.
        ``header``: None detects whether the first line names the columns."""
        path = self.check_upload(path)
        if path.stat().st_size > self.settings.max_upload_mb * 2**20:
            raise InputError(f"{path.name} is over the {self.settings.max_upload_mb} MB upload limit")
        at = self.thresholds_at(thresholds)
        stem = path.stem.removesuffix(".scored") or "comments"
        out = self._output_folder().new_job() / f"{stem}.scored.csv"
        on_scored = None
        if store and self.settings.log_batch and self.log is not None:
            rid = request_id or uuid.uuid4().hex

            def on_scored(texts, probs, decisions):
                self._record(texts, probs, decisions, source, rid, at)

        try:
            with telemetry.observe("score_csv"):
                summary = score_file(
                    self.clf,
                    path,
                    out,
                    column=column or None,
                    max_rows=self.settings.max_rows,
                    progress=progress,
                    header=header,
                    thresholds=at,
                    on_scored=on_scored,
                    max_cell_chars=self.settings.max_cell_chars,
                )
        finally:
            release_memory()  # the job's freed buffers back to the OS: the app's RSS does not ratchet up
        telemetry.TEXTS.inc(summary.rows)
        for label, n in summary.flagged.items():
            telemetry.PREDICTIONS.labels(label).inc(n)
        return out, summary

    def _output_folder(self) -> OutputFolder:
        with self._outputs_lock:
            if self._outputs is None:
                self._outputs = OutputFolder(self.settings.file_ttl_s)
            return self._outputs

    # --- feedback ----------------------------------------------------------------------------------------------

    def flag(
        self,
        text: str,
        scores: dict,
        correction: str | dict[str, float],
        *,
        prediction_id: str | None = None,
        source: str = "ui",
        extra: dict | None = None,
    ) -> Path:
        """Save a correction (future training data, ``toxic corrections export``): ``correction`` is one of the
        app's choices (``toxic.monitor.corrections.UI_CHOICES``) or label -> value from 0 to 1. Returns the store's
        file."""
        if not text or not text.strip():
            raise InputError("nothing to flag: classify a text first")
        if not correction:
            raise InputError("choose what the right answer is before flagging")
        labels = labels_from_choice(correction, self.labels) if isinstance(correction, str) else correction
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise InputError(
                f"unknown label {', '.join(unknown)}: the model's labels are {', '.join(self.labels)}"
            )
        self.corrections.add(
            text,
            labels,
            source=source,
            model_id=self.clf.info.model_id,
            version=self.clf.info.version,
            scores={label: scores[label] for label in self.labels if scores.get(label) is not None},
            prediction_id=prediction_id,
            extra=extra,
        )
        return self.corrections.path

    def drift(self, last: int):
        """A drift report of the last ``last`` logged predictions, and the per-hour series for plots."""
        from toxic.monitor.drift_job import run_in_child

        limit = self.settings.max_drift_window
        if not isinstance(last, int | float) or not 10 <= last <= limit:
            raise LimitError(
                f"the drift window must be from 10 to {limit:,} predictions (TOXIC_MAX_DRIFT_WINDOW)"
            )
        last = int(last)
        if self.log is None:
            raise LogError(
                self.log_problem or "the prediction log is off (TOXIC_LOG=off): nothing to compare"
            )
        self.log.flush()
        window = self.log.read(last=last)
        with telemetry.observe("drift"):
            result, series = run_in_child(window, self.clf)  # Evidently stays out of the app's process
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


def _json_type(value) -> str:
    """A value's type as a JSON caller knows it (no Python class names, no value echoed)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a " + type(value).__name__


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
