"""The Gradio UI: the Classify, Batch CSV, Drift and Model tabs, and the named API endpoints for ``gradio_client``
(/classify, /classify_batch, /explain, /score_csv). The work itself lives in :class:`toxic.serve.service.Service`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import os
import re
from pathlib import Path

import gradio as gr
import pandas as pd

from toxic.batch import pick_column, read_chunks, sniff
from toxic.errors import ToxicError
from toxic.explain import for_highlight
from toxic.serve.service import Service, histogram_frame
from toxic.serve.startup import import_styler_without_matplotlib

EXAMPLES_FILE = Path(__file__).resolve().parents[2] / "examples" / "comments.csv"
CORRECTIONS = ["not toxic", "toxic, not hate", "toxic and hate"]


def _user_error(fn):
    """Run fn; a ToxicError becomes a Gradio error message and the app carries on."""

    @functools.wraps(fn)  # keeps the signature and docstring: gr.api builds the endpoint from them
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ToxicError as e:
            raise gr.Error(str(e), print_exception=False) from None

    return wrapped


@contextlib.contextmanager
def examples_cache(service: Service, examples: list[str]):
    """Cache the examples' outputs in a folder named for the model and the examples, so that a new model or new
    examples never show stale cached results (Gradio reuses a cache folder as long as it exists)."""
    user_root = os.environ.get("GRADIO_EXAMPLES_CACHE")
    root = user_root or ".gradio/cached_examples"
    info = service.clf.info
    meta = info.path / "toxic.json"
    key = hashlib.sha256(
        "\n".join(
            [info.model_id, info.version, meta.read_text() if meta.exists() else "", *examples]
        ).encode()
    ).hexdigest()[:16]
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(Path(root) / key)
    try:
        yield
    finally:
        if user_root is None:
            os.environ.pop("GRADIO_EXAMPLES_CACHE", None)
        else:
            os.environ["GRADIO_EXAMPLES_CACHE"] = user_root


def build(service: Service) -> gr.Blocks:
    import_styler_without_matplotlib()
    labels = service.labels
    thresholds = service.clf.thresholds

    # --- API endpoints (also what agents see over MCP) ------------------------------------------------------------

    def classify(text: list[str]) -> list[dict]:
        """Classify comments: the probability of each label (toxic, hate) and the labels at or over the model's
        thresholds. Concurrent callers share one forward pass.

        Args:
            text: the comment to classify
        """
        return [service.classify_each(text)]

    def classify_one(text: str) -> dict:
        """Classify a comment: the probability of each label (toxic, hate) and the labels at or over the model's
        thresholds.

        Args:
            text: the comment to classify
        """
        return service.classify([text])[0]

    def classify_batch(texts: list[str]) -> list[dict]:
        """Classify a list of comments; one result per text, in order.

        Args:
            texts: the comments to classify
        """
        if not isinstance(texts, list):
            raise ToxicError("texts must be a list of strings")
        return service.classify(texts)

    def explain(text: str, label: str = "toxic") -> list[tuple[str, float]]:
        """Which words drove the score: each word's weight is how much the label's log-odds, log(p / (1 - p)),
        drop without it (positive: the word pushed the score up).

        Args:
            text: the comment to explain
            label: toxic or hate
        """
        return service.explain(text, label)

    # --- UI handlers ----------------------------------------------------------------------------------------------

    def ui_classify(text: str, t_toxic: float, t_hate: float):
        text = service.check_text(text)
        probs, _ = service.score([text], source="ui")
        scores = {label: float(probs[0, j]) for j, label in enumerate(labels)}
        chosen = {"toxic": t_toxic, "hate": t_hate}
        flagged = [label for label in labels if scores[label] >= chosen[label]]
        if not text.strip():
            verdict = "Nothing to classify: type or paste a comment."
        elif flagged:
            verdict = "**Flagged:** " + ", ".join(
                f"`{label}` ({scores[label]:.0%} ≥ {chosen[label]:.2f})" for label in flagged
            )
        else:
            verdict = "**Not flagged** at these thresholds."
        read_as = service.read_as(text)
        if read_as:  # look-alike spellings were undone: show what the model scored
            verdict += "\n\nRead as: `" + read_as.replace("`", "'") + "`"
        if note := service.explain_note(text):
            verdict += "\n\n" + note
        weights = service.explain(text) if text.strip() else []
        return scores, verdict, for_highlight(weights), scores

    def ui_example(text: str):
        """A clicked example: scored at the model's thresholds, and the sliders go back to them."""
        return (
            *ui_classify(text, thresholds["toxic"], thresholds["hate"]),
            thresholds["toxic"],
            thresholds["hate"],
        )

    def ui_flag(text: str, scores: dict, correction: str):
        service.flag(text, scores or {}, correction)
        return "Thanks: saved for the next training round."

    def ui_columns(file):
        if file is None:
            return gr.Dropdown(choices=[], value=None)
        file = service.check_upload(file)
        fmt = sniff(file)
        first = next(read_chunks(file, fmt, 200), pd.DataFrame(columns=fmt.columns))
        try:
            detected = pick_column(fmt, first)
        except ToxicError:
            detected = None
        note = "; ".join(fmt.notes)
        return gr.Dropdown(
            choices=fmt.columns, value=detected, info=note or "detected automatically; change it if wrong"
        )

    def ui_score_csv(file, column: str | None, progress=gr.Progress()):  # noqa: B008 (Gradio injects it)
        if file is None:
            raise ToxicError("upload a CSV, TSV or TXT file first")
        path = service.check_upload(file)
        with path.open("rb") as f:
            total = max(1, sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")))
        progress(0, desc="scoring")
        out, summary = service.score_csv(
            path, column, progress=lambda rows: progress(min(rows / total, 1.0), desc=f"{rows:,} rows")
        )
        counts = ", ".join(
            f"**{label}**: {n:,} ({n / summary.rows:.1%})" for label, n in summary.flagged.items()
        )
        text = f"Scored **{summary.rows:,}** rows of column `{summary.column}`. Flagged: {counts}."
        if summary.notes:
            text += "\n\n" + "\n".join(f"- {n}" for n in summary.notes)
        preview = (
            # float64 before rounding: float32 0.921 prints as 0.9210000038146973 (the file keeps 6 decimals)
            summary.top[[summary.column, *labels]].head(20).astype(dict.fromkeys(labels, float)).round(3)
            if summary.top is not None
            else pd.DataFrame()
        )
        return str(out), text, preview, histogram_frame(summary)

    def ui_drift(last: float, user: str = "", password: str = ""):
        """Drift of the last N logged predictions against the model's reference profile."""
        auth = service.settings.dashboard_auth
        if auth and (user, password) != auth:
            raise ToxicError("wrong user name or password (TOXIC_DASHBOARD_AUTH)")
        result, series = service.drift(last)
        s = result.summary
        emb = s.get("embedding") or {}
        flag_rates = "; ".join(
            f"{label} {v['current']:.1%} vs {v['reference']:.1%}"
            for label in ("toxic", "hate")
            if (v := s.get(f"{label}_rate")) and v["current"] is not None and v["reference"] is not None
        )
        rows = [
            ("dataset drift", "**yes**" if s["dataset_drift"] else "no"),
            (
                "share of drifted features",
                f"{s['drift_share']:.0%} ({', '.join(s['drifted_features']) or 'none'})",
            ),
            (
                "embedding drift score",
                f"{emb['score']:.3f} (drifted: {emb['drifted']})" if "score" in emb else "n/a",
            ),
            ("flag rate, window vs reference", flag_rates or "n/a"),
            (
                "window",
                f"{s['window']['predictions']:,} predictions, {s['window']['start']} to {s['window']['end']}",
            ),
        ]
        table = "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
        notes = "\n".join(f"- {n}" for n in result.notes)
        frame = series.reset_index().melt(id_vars="time", var_name="series", value_name="value")
        counts = frame[frame["series"] == "predictions"]
        series_rows = frame[frame["series"] != "predictions"]
        embed = (
            f'<iframe srcdoc="{html.escape(result.html)}" style="width:100%;height:900px;border:0"></iframe>'
        )
        return table + ("\n\n" + notes if notes else ""), counts, series_rows, embed

    # --- layout ---------------------------------------------------------------------------------------------------

    info = service.clf.info
    # analytics off: the app makes no outbound calls (Gradio's would send usage data and check its version online)
    # delete_cache: uploads and Gradio's copies of scored files are deleted TOXIC_FILE_TTL_S seconds after they were
    # made (checked every quarter of that), and all of them when the server stops.
    ttl = service.settings.file_ttl_s
    with gr.Blocks(
        title="toxic: offline toxic-comment classifier",
        analytics_enabled=False,
        delete_cache=(max(1, min(ttl // 4, 300)), ttl),
    ) as demo:
        gr.Markdown(
            f"# toxic\nAn open toxic-comment classifier that runs offline: `{info.model_id}` ({info.version}), "
            "int8 ONNX. Two independent labels: **toxic** (insults, profanity, threats, hate) and **hate** "
            "(attacks on a protected group)."
        )
        with gr.Tab("Classify"):
            with gr.Row():
                with gr.Column(scale=3):
                    text = gr.Textbox(label="Comment", lines=4, placeholder="Paste a comment…")
                    with gr.Row():
                        t_toxic = gr.Slider(
                            0.01, 0.99, value=thresholds["toxic"], step=0.01, label="toxic threshold"
                        )
                        t_hate = gr.Slider(
                            0.01, 0.99, value=thresholds["hate"], step=0.01, label="hate threshold"
                        )
                    go = gr.Button("Classify", variant="primary")
                with gr.Column(scale=2):
                    scores = gr.Label(label="Probabilities", num_top_classes=len(labels), show_heading=False)
                    verdict = gr.Markdown()
            words = gr.HighlightedText(
                label="Which words drove the toxic score (red: pushed it up, blue: down)",
                combine_adjacent=False,
            )
            last_scores = gr.State({})
            with gr.Accordion("Wrong? Flag it", open=False):
                correction = gr.Radio(CORRECTIONS, label="The right answer is")
                flag_btn = gr.Button("Flag this prediction")
                flag_status = gr.Markdown()
            outputs = [scores, verdict, words, last_scores]
            if EXAMPLES_FILE.exists():
                samples = pd.read_csv(EXAMPLES_FILE, keep_default_na=False)["comment"]
                examples = [t for t in samples if 20 < len(t) < 200][:8]
                # cached per model and examples at first use, for every user after: caching all eight at start
                # held start-up by ~1.2 s and ~50 MB of RSS (docs/experiments.md, "App start-up")
                with examples_cache(service, examples):
                    gr.Examples(
                        examples,
                        inputs=[text],
                        outputs=[*outputs, t_toxic, t_hate],
                        fn=ui_example,
                        cache_examples=True,
                        cache_mode="lazy",
                        label="Examples (TweetEval validation tweets; offensive text)",
                    )
            go.click(_user_error(ui_classify), [text, t_toxic, t_hate], outputs, api_visibility="private")
            text.submit(_user_error(ui_classify), [text, t_toxic, t_hate], outputs, api_visibility="private")
            flag_btn.click(
                _user_error(ui_flag), [text, last_scores, correction], flag_status, api_visibility="private"
            )

        with gr.Tab("Batch CSV"):
            gr.Markdown(
                "Upload a CSV or TSV (or a .txt file, one comment a line). The text column is detected."
            )
            with gr.Row():
                upload = gr.File(label="Comments file", file_types=[".csv", ".tsv", ".txt"], type="filepath")
                with gr.Column():
                    column = gr.Dropdown(
                        label="Text column", choices=[], interactive=True, allow_custom_value=True
                    )
                    run = gr.Button("Score file", variant="primary")
            summary = gr.Markdown()
            with gr.Row():
                scored = gr.File(label="Scored file (input columns + probabilities + labels)")
                hist = gr.BarPlot(x="score", y="texts", color="label", title="Score histogram", height=260)
            preview = gr.Dataframe(label="Most toxic rows", wrap=True)
            upload.change(_user_error(ui_columns), upload, column, api_visibility="private")
            run.click(
                _user_error(ui_score_csv),
                [upload, column],
                [scored, summary, preview, hist],
                api_name="score_csv",
                concurrency_limit=2,
            )

        with gr.Tab("Model"):
            card = info.path / "README.md"
            body = (
                re.sub(r"^---\n.*?\n---\n", "", card.read_text(), flags=re.S)
                if card.exists()
                else "No model card."
            )
            if service.clf.deobfuscator is not None:
                gr.Markdown(
                    "*This app undoes look-alike spellings before scoring (`1d10t` -> `idiot`, `f*ck`, "
                    "`i d i o t`: `toxic/deobfuscate.py`; `TOXIC_DEOBFUSCATE=0` turns it off). The card's "
                    "obfuscation figures are the model's alone.*"
                )
            gr.Markdown(body)
            plots = sorted((info.path / "plots").glob("*.png")) if (info.path / "plots").exists() else []
            if plots:
                gr.Gallery(
                    [str(p) for p in plots],
                    label="Validation plots",
                    columns=2,
                    height="auto",
                    object_fit="contain",  # the plots have different shapes: cropping hid axes and counts
                )

        with gr.Tab("Drift"):
            gr.Markdown(
                "The last predictions this app logged, compared with the training data's profile (model scores, "
                "the model's own embedding, text descriptors) by Evidently. "
                + ("Behind a login: the log can hold user text." if service.settings.dashboard_auth else "")
            )
            with gr.Row():
                window = gr.Number(
                    value=2000,
                    minimum=10,
                    maximum=service.settings.max_drift_window,
                    precision=0,
                    label="Last N predictions",
                )
                user = gr.Textbox(label="User", visible=bool(service.settings.dashboard_auth))
                password = gr.Textbox(
                    label="Password", type="password", visible=bool(service.settings.dashboard_auth)
                )
                refresh = gr.Button("Compute drift", variant="primary")
            drift_summary = gr.Markdown()
            with gr.Row():
                per_hour = gr.LinePlot(x="time", y="value", title="Predictions per hour", height=240)
                rates = gr.LinePlot(
                    x="time",
                    y="value",
                    color="series",
                    title="Rates, mean scores and score drift per hour",
                    height=240,
                )
            report = gr.HTML()
            refresh.click(
                _user_error(ui_drift),
                [window, user, password],
                [drift_summary, per_hour, rates, report],
                api_name="drift",
                concurrency_limit=1,
            )

        if service.settings.batching:  # concurrent callers share one forward pass (up to 64 texts)
            gr.api(
                _user_error(classify), api_name="classify", batch=True, max_batch_size=64, concurrency_limit=1
            )
        else:  # one call, one forward pass (TOXIC_BATCHING=0: the load test's baseline)
            gr.api(_user_error(classify_one), api_name="classify", concurrency_limit=2)
        gr.api(_user_error(classify_batch), api_name="classify_batch")
        gr.api(_user_error(explain), api_name="explain")
    # Gradio keeps the last GRADIO_ANALYTICS_MAX_EVENTS events (default 10,000) and, after every one
    # (GRADIO_ANALYTICS_CACHE_FREQUENCY, default 1), rebuilds a pandas summary of all of them for its API page: a
    # cost per call and an RSS that grow with the calls served (docs/experiments.md). /metrics has ours.
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")
    demo.queue(max_size=service.settings.queue_size, default_concurrency_limit=2)
    return demo
