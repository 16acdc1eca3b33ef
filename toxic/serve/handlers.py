"""What each UI event and named API endpoint does, bound to a :class:`Service`; ``toxic/serve/ui.py`` wires them.

Handlers take and return component values. A :class:`ToxicError` becomes a ``gr.Error`` (:func:`user_error`); the
UI clears an event's outputs before the event runs, so a failed job never leaves the last job's results on screen.
"""

import functools
import uuid

import gradio as gr

from toxic.batch import pick_column, read_chunks, sniff
from toxic.errors import InputError, ToxicError
from toxic.serve import views
from toxic.serve.service import Service

# One classification, as the API returns it: each label's probability, and "labels": those over threshold. Real
# types, not strings (no ``from __future__ import annotations`` here): gr.api documents the return annotation as is.
Result = dict[str, float | list[str]]
DRIFT_WINDOW = (
    30,
    2000,
)  # least and default predictions in a drift window; the most is TOXIC_MAX_DRIFT_WINDOW


def user_error(fn):
    """Run fn; a ToxicError becomes a Gradio error message and the app carries on."""

    @functools.wraps(fn)  # keeps the signature and docstring: gr.api builds the endpoint from them
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ToxicError as e:
            raise gr.Error(str(e), print_exception=False) from None

    return wrapped


class Api:
    """The named endpoints for ``gradio_client`` (and agents over MCP): gr.api documents them from these
    signatures and docstrings."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def classify(self, text: str) -> Result:
        """Classify a comment: the probability of each label (toxic, hate) and the labels at or over the model's
        thresholds. Concurrent callers share one forward pass.

        Args:
            text: the comment to classify
        """
        return self.service.classify([text])[0]

    def classify_batch(self, texts: list[str]) -> list[Result]:
        """Classify a list of comments; one result per text, in order.

        Args:
            texts: the comments to classify
        """
        if not isinstance(texts, list):
            raise InputError("texts must be a list of strings")
        return self.service.classify(texts)

    def explain(self, text: str, label: str = "toxic") -> list[list[str | float]]:
        """Which words drove the score: each word's weight is how much the label's log-odds, log(p / (1 - p)),
        drop without it (positive: the word pushed the score up).

        Args:
            text: the comment to explain
            label: toxic or hate
        """
        return [
            [word, weight] for word, weight in self.service.explain(text, label)
        ]  # [word, weight] in JSON

    def classify_batched(self):
        """/classify with batching: Gradio hands over the texts of concurrent callers as one list and expects a
        list of results back. Documented as :meth:`classify`: each caller sends one text and gets one result."""

        @functools.wraps(self.classify)
        def classify(texts: list[str]) -> list[list[Result]]:
            return [self.service.classify_each(texts)]

        return classify


class Classify:
    """The Classify tab. Its state is the last scored text: ``{"text", "scores", "request_id"}``."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.labels = list(service.labels)
        self.model_thresholds = dict(service.clf.thresholds)

    def thresholds(self, values) -> dict[str, float]:
        """The sliders' values, clamped to the range they allow (an empty or typed-out-of-range box included)."""
        low, high = views.THRESHOLD_RANGE
        return {
            label: views.clamp(v, low, high, self.model_thresholds[label])
            for label, v in zip(self.labels, values, strict=True)
        }

    def classify(self, text: str, explain_label: str, *thresholds: float):
        """Score and explain ``text`` at the sliders' thresholds: (probabilities, verdict, explanation, state,
        *the thresholds used)."""
        text = self.service.check_text(text)
        chosen = self.thresholds(thresholds)
        if not text.strip():
            return None, "Nothing to classify: type or paste a comment.", "", {}, *chosen.values()
        request_id = uuid.uuid4().hex
        probs, _ = self.service.score([text], "ui", thresholds=chosen, request_id=request_id)
        scores = {label: float(probs[0, j]) for j, label in enumerate(self.labels)}
        state = {"text": text, "scores": scores, "request_id": request_id}
        return (
            scores,
            views.verdict(scores, chosen, self.service.read_as(text)),
            self.explanation(text, explain_label),
            state,
            *chosen.values(),
        )

    def example(self, text: str):
        """A clicked example: scored and explained for toxic at the model's thresholds (the sliders go back)."""
        return self.classify(text, self.labels[0], *self.model_thresholds.values())

    def explanation(self, text: str, label: str) -> str:
        label = label if label in self.labels else self.labels[0]
        return views.explanation_html(
            self.service.explain(text, label), label, note=self.service.explain_note(text) or ""
        )

    def explain_again(self, state: dict, label: str) -> str:
        """Another label chosen: explain the scored text for it."""
        return self.explanation(state["text"], label) if state else ""

    def rethreshold(self, state: dict, *thresholds: float):
        """A slider moved: the verdict at the new thresholds, at once, and a threshold out of range clamped.
        What needs no change is left alone, so that a late answer never undoes a newer one."""
        chosen = self.thresholds(thresholds)
        shown = [gr.skip() if v == raw else v for v, raw in zip(chosen.values(), thresholds, strict=True)]
        if not state:
            return gr.skip(), *shown
        read_as = self.service.read_as(state["text"])
        return views.verdict(state["scores"], chosen, read_as), *shown

    def report(self, text: str, state: dict, correction: str) -> str:
        """A moderator reports a mistake: saved with the scores of the text they saw, linked to its prediction."""
        if not state:
            raise InputError("nothing to report: classify a text first")
        if not correction:
            raise InputError("choose the right answer first, then report the mistake")
        if text != state["text"]:
            raise InputError(
                "the comment changed after it was classified: classify it again, then report the mistake"
            )
        self.service.flag(
            state["text"], state["scores"], correction, prediction_id=state["request_id"], source="ui"
        )
        return "Thanks: saved for the next training round."


class Batch:
    """The Batch CSV tab."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.labels = list(service.labels)

    def cleared(self) -> tuple:
        """Empty outputs: (scored file, summary, preview, *one histogram per label)."""
        return None, "", None, *[None] * len(self.labels)

    def columns(self, file: str | None):
        """A new file: its columns, the text column detected, and the last file's results gone."""
        if file is None:
            return gr.Dropdown(choices=[], value=None), *self.cleared()
        file = self.service.check_upload(file)
        fmt = sniff(file)
        first = next(read_chunks(file, fmt, 200), None)
        try:
            detected = pick_column(fmt, first)
        except ToxicError:
            detected = None
        note = "; ".join(fmt.notes) or "detected automatically; change it if wrong"
        return gr.Dropdown(choices=fmt.columns, value=detected, info=note), *self.cleared()

    def score(self, file: str | None, column: str | None, progress=gr.Progress()):  # noqa: B008 (Gradio injects it)
        if file is None:
            raise InputError("upload a CSV, TSV or TXT file first")
        path = self.service.check_upload(file)
        total = views.count_lines(path)
        progress(0, desc="scoring")
        out, summary = self.service.score_csv(
            path, column, progress=lambda rows: progress(min(rows / total, 1.0), desc=f"{rows:,} rows")
        )
        return (
            str(out),
            views.batch_summary(summary.rows, summary.column, summary.flagged, summary.notes),
            views.preview_frame(summary.top, summary.column, self.labels),
            *[views.histogram_frame(summary.histogram[label]) for label in self.labels],
        )


class Drift:
    """The Drift tab."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def window(self, last) -> int:
        """The window as used: from DRIFT_WINDOW's least to TOXIC_MAX_DRIFT_WINDOW, the default when empty."""
        low, default = DRIFT_WINDOW
        return int(views.clamp(last, low, self.service.settings.max_drift_window, default))

    def report(self, last: float, user: str = "", password: str = ""):
        """Drift of the last N logged predictions against the model's reference profile."""
        from toxic.monitor.drift import MIN_ROWS

        service = self.service
        auth = service.settings.dashboard_auth
        if auth and (user, password) != auth:
            raise InputError("wrong user name or password (TOXIC_DASHBOARD_AUTH)")
        if last is None:
            raise InputError(
                "enter how many of the last predictions to compare: "
                f"{DRIFT_WINDOW[0]} to {service.settings.max_drift_window:,} (TOXIC_MAX_DRIFT_WINDOW)"
            )
        if service.log is not None:
            service.log.flush()
            logged = len(service.log.read(last=MIN_ROWS))
            if logged < MIN_ROWS:  # not a failure: the log is young
                return views.drift_waiting(logged, MIN_ROWS), None, None, ""
        result, series = service.drift(last)
        per_hour, rates = views.drift_frames(series)
        return (
            views.drift_table(result.summary, result.notes),
            per_hour,
            rates,
            views.report_iframe(result.html),
        )
