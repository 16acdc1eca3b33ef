"""The Gradio UI: the Classify, Batch CSV, Model and Drift tabs, and the named API endpoints for ``gradio_client``
(/classify, /classify_batch, /explain, /score_csv, /drift). Layout and wiring only: the handlers are in
``toxic/serve/handlers.py``, what they show in ``toxic/serve/views.py``, the work in :class:`Service`.
Process-wide Gradio settings (event history, examples cache) are made before ``build``, in
``toxic/serve/startup.py``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import gradio as gr

from toxic.serve import views
from toxic.serve.handlers import DRIFT_WINDOW, Api, Batch, Classify, Drift, user_error
from toxic.serve.service import Service
from toxic.serve.startup import import_styler_without_matplotlib

EXAMPLES_FILE = Path(__file__).resolve().parents[2] / "examples" / "comments.csv"
CORRECTIONS = ["not toxic", "toxic, not hate", "toxic and hate"]
PRIVATE = {"api_visibility": "private"}  # UI plumbing, not part of the API


@functools.cache
def example_texts() -> tuple[str, ...]:
    """The Classify tab's examples: short comments from ``examples/comments.csv`` (none when it is missing)."""
    if not EXAMPLES_FILE.exists():
        return ()
    import pandas as pd

    samples = pd.read_csv(EXAMPLES_FILE, keep_default_na=False)["comment"]
    return tuple(t for t in samples if 20 < len(t) < 200)[:8]


def documented(component, *, example=None, schema: dict | None = None):
    """``component`` with what the "Use via API" page says about it corrected: Gradio's example for a file is a PDF
    (refused here), and a dropdown whose choices come with the file is documented as taking none. Set on the
    instance: subclassing a Gradio component makes Gradio write a .pyi stub next to the module."""
    if example is not None:
        component.example_payload = lambda: example
    if schema is not None:
        component.api_info = lambda: schema
    return component


def clear(outputs: list) -> dict:
    """An event's outputs emptied before it runs: a failure then leaves nothing stale on screen."""
    return {
        "fn": lambda: [None] * len(outputs),
        "inputs": None,
        "outputs": outputs,
        "queue": False,
        **PRIVATE,
    }


def classify_tab(service: Service) -> None:
    ui = Classify(service)
    with gr.Row():
        with gr.Column(scale=3):
            text = gr.Textbox(label="Comment", lines=4, placeholder="Paste a comment…")
            low, high = views.THRESHOLD_RANGE
            sliders = [
                gr.Slider(low, high, value=ui.model_thresholds[label], step=0.01, label=f"{label} threshold")
                for label in ui.labels
            ]
            go = gr.Button("Classify", variant="primary")
        with gr.Column(scale=2):
            scores = gr.Label(label="Probabilities", num_top_classes=len(ui.labels), show_heading=False)
            verdict = gr.Markdown(label="Verdict")
    explain_label = gr.Radio(ui.labels, value=ui.labels[0], label="Explain which label")
    words = gr.HTML(
        label="Which words drove the score (red: pushed it up, blue: pulled it down; hover for figures)"
    )
    state = gr.State({})
    with gr.Accordion("Wrong? Report a mistake", open=False):
        correction = gr.Radio(CORRECTIONS, label="The right answer is")
        report = gr.Button("Report this mistake")
        report_status = gr.Markdown()
    outputs = [scores, verdict, words, state, *sliders]
    if example_texts():
        # cached at first use, for every user after (in a folder keyed by model and examples: startup.py)
        gr.Examples(
            list(example_texts()),
            inputs=[text],
            outputs=outputs,
            fn=user_error(ui.example),
            cache_examples=True,
            cache_mode="lazy",
            label="Examples (TweetEval validation tweets; offensive text)",
        )
    # preprocess=False: the handlers clamp a typed out-of-range threshold and show the value used, where
    # Gradio's own check would refuse the event
    for trigger in (go.click, text.submit):
        trigger(**clear(outputs[:4])).then(
            user_error(ui.classify),
            [text, explain_label, *sliders],
            outputs,
            preprocess=False,
            show_progress_on=verdict,  # one place for progress and an error, not a badge on every output
            **PRIVATE,
        )
    for slider in sliders:
        slider.change(
            ui.rethreshold,
            [state, *sliders],
            [verdict, *sliders],
            trigger_mode="always_last",
            preprocess=False,
            **PRIVATE,
        )
    explain_label.change(user_error(ui.explain_again), [state, explain_label], words, **PRIVATE)
    report.click(user_error(ui.report), [text, state, correction], report_status, **PRIVATE)


def batch_tab(service: Service) -> None:
    ui = Batch(service)
    gr.Markdown("Upload a CSV or TSV (or a .txt file, one comment a line). The text column is detected.")
    with gr.Row():
        upload = documented(
            gr.File(label="Comments file", file_types=[".csv", ".tsv", ".txt"], type="filepath"),
            # what handle_file("comments.csv") gives, for a file the reader has
            example={"path": "comments.csv", "url": "comments.csv", "meta": {"_type": "gradio.FileData"}},
        )
        with gr.Column():
            column = documented(
                gr.Dropdown(label="Text column", choices=[], interactive=True, allow_custom_value=True),
                schema={"anyOf": [{"type": "string"}, {"type": "null"}]},  # any column name; None: detected
            )
            run = gr.Button("Score file", variant="primary")
    summary = gr.Markdown(label="Summary")
    scored = gr.File(label="Scored file (input columns + probabilities + labels)")
    with gr.Row():
        hists = [
            gr.BarPlot(
                x="score", y="texts", title=f"{label} score histogram", label=f"{label} histogram", height=240
            )
            for label in ui.labels
        ]
    preview = gr.Dataframe(label="Most toxic rows (row: the row's number in the file)", wrap=True)
    results = [scored, summary, preview, *hists]
    upload.change(user_error(ui.columns), upload, [column, *results], show_progress_on=column, **PRIVATE)
    run.click(**clear(results)).then(
        user_error(ui.score),
        [upload, column],
        results,
        api_name="score_csv",
        concurrency_limit=2,
        show_progress_on=summary,  # one place for progress and an error, not a badge on every output
    )


def model_tab(service: Service) -> None:
    info = service.clf.info
    card = info.path / "README.md"
    body = (
        re.sub(r"^---\n.*?\n---\n", "", card.read_text(), flags=re.S) if card.exists() else "No model card."
    )
    if service.clf.deobfuscator is not None:
        gr.Markdown(
            "*This app undoes look-alike spellings before scoring (`1d10t` -> `idiot`, `f*ck`, `i d i o t`: "
            "`toxic/deobfuscate.py`; `TOXIC_DEOBFUSCATE=0` turns it off). The card's obfuscation figures are the "
            "model's alone.*"
        )
    gr.Markdown(body)
    plots = sorted((info.path / "plots").glob("*.png"))
    if plots:
        gr.Gallery(
            [str(p) for p in plots],
            label=f"Validation plots (at the shipped thresholds: {service.clf.thresholds})",
            columns=2,
            height="auto",
            object_fit="contain",  # the plots have different shapes: cropping hid axes and counts
        )


def drift_tab(service: Service) -> None:
    ui = Drift(service)
    auth = bool(service.settings.dashboard_auth)
    gr.Markdown(
        "The last predictions this app logged, compared with the training data's profile (model scores, the "
        "model's own embedding, text descriptors) by Evidently. "
        + ("Behind a login: the log can hold user text." if auth else "")
    )
    low, default = DRIFT_WINDOW
    with gr.Row():
        window = gr.Number(
            value=default,
            minimum=low,
            maximum=service.settings.max_drift_window,
            precision=0,
            label="Last N predictions",
        )
        user = gr.Textbox("", label="User", visible=auth)
        password = gr.Textbox("", label="Password", type="password", visible=auth)
        refresh = gr.Button("Compute drift", variant="primary")
    summary = gr.Markdown(label="Drift summary")
    with gr.Row():
        per_hour = gr.LinePlot(
            x="time", y="value", title="Predictions per hour", height=240, label="Predictions"
        )
        rates = gr.LinePlot(
            x="time",
            y="value",
            color="series",
            title="Over-threshold rates, mean scores and score drift per hour",
            height=240,
            label="Rates",
        )
    report = gr.HTML(label="Evidently report")
    # the window clamped in the box first (preprocess=False: Gradio's own check would refuse it instead)
    refresh.click(ui.window, window, window, queue=False, preprocess=False, **PRIVATE).then(
        **clear([summary, per_hour, rates, report])
    ).then(
        user_error(ui.report),
        [window, user, password],
        [summary, per_hour, rates, report],
        api_name="drift",
        concurrency_limit=1,
        show_progress_on=summary,
    )


def api_endpoints(service: Service) -> None:
    api = Api(service)
    if service.settings.batching:  # concurrent callers share one forward pass (up to 64 texts)
        endpoint = user_error(api.classify_batched())
        gr.api(endpoint, api_name="classify", batch=True, max_batch_size=64, concurrency_limit=1)
    else:  # one call, one forward pass (TOXIC_BATCHING=0: the load test's baseline)
        gr.api(user_error(api.classify), api_name="classify", concurrency_limit=2)
    gr.api(user_error(api.classify_batch), api_name="classify_batch")
    gr.api(user_error(api.explain), api_name="explain")


def build(service: Service) -> gr.Blocks:
    import_styler_without_matplotlib()
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
            f"int8 ONNX. Independent labels: {views.label_list(info.labels)}."
        )
        api_endpoints(service)  # first: their names are taken before any UI event's
        for name, tab in [
            ("Classify", classify_tab),
            ("Batch CSV", batch_tab),
            ("Model", model_tab),
            ("Drift", drift_tab),
        ]:
            with gr.Tab(name):
                tab(service)
    demo.queue(max_size=service.settings.queue_size, default_concurrency_limit=2)
    return demo
