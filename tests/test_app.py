"""The running app over real HTTP: every named endpoint through gradio_client, the plain routes through httpx,
and every bad input from the issue, each followed by a normal request that must still succeed."""

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pandas as pd
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from tests.conftest import MODEL_LABELS, REPO, SCORE_COLUMNS, linux_only


@pytest.fixture(autouse=True)
def still_serving(request):
    """After every test here, a normal request still succeeds: nothing took the app down."""
    yield
    if "client" in request.fixturenames:
        client = request.getfixturevalue("client")
        assert "toxic" in client.predict("You are a disgusting idiot.", api_name="/classify")["labels"]


def test_classify(client):
    result = client.predict("You are a disgusting idiot.", api_name="/classify")
    assert set(result) == {*MODEL_LABELS, "labels"} and result["toxic"] > 0.8


def test_classify_batch(client):
    results = client.predict(["Have a nice day!", "You are a disgusting idiot."], api_name="/classify_batch")
    assert [bool(r["labels"]) for r in results] == [False, True]


def test_examples_are_not_computed_at_start(tmp_path, monkeypatch):
    """Examples are cached at first use (the browser test clicks one and checks its cache): computing all eight at
    start held start-up by ~1.2 s and ~50 MB. Process set-up names their cache folder for the model and the
    examples, under the user's GRADIO_EXAMPLES_CACHE; building the UI changes no environment."""
    from tests.app_process import free_port
    from toxic.serve.launch import build_for_process
    from toxic.serve.server import BackgroundServer, build_app
    from toxic.serve.service import Service
    from toxic.settings import Settings

    cache = tmp_path / "cache"
    monkeypatch.setenv("GRADIO_EXAMPLES_CACHE", str(cache))
    service = Service(Settings.from_env(), log=None)
    demo = build_for_process(service)
    keyed = Path(os.environ["GRADIO_EXAMPLES_CACHE"])
    assert keyed.parent == cache and len(keyed.name) == 16
    server = BackgroundServer(build_app(demo, service), "127.0.0.1", free_port()).start(60)
    try:
        assert httpx.get(server.url + "/healthz").json()["ready"]
        assert not list(cache.glob("**/log.csv"))
        environ = dict(os.environ)
        import app

        app.build(service)
        assert dict(os.environ) == environ
    finally:
        server.stop()


def test_without_batching_classify_takes_one_text(tmp_path, monkeypatch):
    """TOXIC_BATCHING=0 (the load test's baseline) serves the same /classify, one forward pass per call."""
    from gradio_client import Client

    import app
    from tests.app_process import free_port
    from toxic.serve.server import BackgroundServer, build_app
    from toxic.serve.service import Service
    from toxic.settings import Settings

    monkeypatch.setenv("TOXIC_BATCHING", "0")
    monkeypatch.setenv("GRADIO_EXAMPLES_CACHE", str(tmp_path / "cache"))
    service = Service(Settings.from_env(), log=None)
    server = BackgroundServer(build_app(app.build(service), service), "127.0.0.1", free_port()).start(60)
    try:
        result = Client(server.url, verbose=False).predict(
            "You are a disgusting idiot.", api_name="/classify"
        )
        assert result["labels"] == service.classify(["You are a disgusting idiot."])[0]["labels"] != []
    finally:
        server.stop()


def test_explain(client):
    weights = client.predict("thanks you stupid idiot", "toxic", api_name="/explain")
    words = [w for w, _ in weights]
    assert words == ["thanks", "you", "stupid", "idiot"]
    assert max(weights, key=lambda w: w[1])[0] in {"stupid", "idiot"}


def test_score_csv(client, tmp_path):
    src = tmp_path / "c.csv"
    pd.DataFrame(
        {"id": [1, 2, 3], "body": ["You are a disgusting idiot.", '=HYPERLINK("http://x","x")', ""]}
    ).to_csv(src, index=False)
    out, summary, preview, *histograms = client.predict(handle_file(str(src)), None, api_name="/score_csv")
    scored = pd.read_csv(out, keep_default_na=False)
    assert list(scored.columns) == ["id", "body", *SCORE_COLUMNS]
    assert scored["toxic_label"].tolist() == [1, 0, 0] and scored["body"][1].startswith("'=")
    assert "Scored **3** rows" in summary and "Over threshold: **toxic**: 1 (33.3%)" in summary
    # the preview keeps the row number and the id, and shows 3 decimals, not float32 noise (0.9210000038146973)
    assert preview["headers"] == ["row", "id", "body", *MODEL_LABELS]
    top = preview["data"][0]
    assert top[:3] == [1, "1", "You are a disgusting idiot."] and all(v == round(v, 3) for v in top[3:])
    # one histogram per label, each counting every row once
    assert len(histograms) == len(MODEL_LABELS)
    assert [sum(row[1] for row in h["data"]) for h in histograms] == [3] * len(MODEL_LABELS)


def test_healthz_metrics_and_rest(app_server):
    health = httpx.get(app_server.url + "/healthz").json()
    assert health["ready"] is True and health["model_id"] and health["deobfuscate"] is True
    r = httpx.post(
        app_server.url + "/api/v1/classify", json={"texts": ["You are a disgusting idiot.", "hello"]}
    )
    assert r.status_code == 200 and [bool(x["labels"]) for x in r.json()["results"]] == [True, False]
    bad = httpx.post(app_server.url + "/api/v1/classify", json={"nothing": 1})
    assert bad.status_code == 422 and "send either" in bad.json()["error"]
    metrics = httpx.get(app_server.url + "/metrics").text
    assert 'toxic_requests_total{endpoint="rest_classify",status="ok"}' in metrics
    assert (
        "toxic_request_latency_seconds_bucket" in metrics
        and 'toxic_predictions_total{label="toxic"}' in metrics
    )


def test_the_api_page_documents_what_the_endpoints_take(app_server):
    """ "Use via API" is generated from /gradio_api/info: /classify takes one text (batching is the server's
    business), /score_csv's example is a comments file, every output has a name, and no latency figures are
    published (Gradio's /monitoring summary showed "p50: 0 ms"; /metrics has ours)."""
    info = httpx.get(app_server.url + "/gradio_api/info").json()["named_endpoints"]
    assert set(info) == {"/classify", "/classify_batch", "/explain", "/score_csv", "/drift"}
    assert [p["python_type"]["type"] for p in info["/classify"]["parameters"]] == ["str"]
    assert [p["python_type"]["type"] for p in info["/classify_batch"]["parameters"]] == ["list[str]"]
    returns = {name: [r["python_type"]["type"] for r in info[name]["returns"]] for name in info}
    assert returns["/classify"] == ["dict(str, float | list[str])"]
    assert returns["/classify_batch"] == ["list[dict(str, float | list[str])]"]
    assert returns["/explain"] == ["list[list[str | float]]"]
    file, column = info["/score_csv"]["parameters"]
    assert file["example_input"]["path"] == "comments.csv" and column["python_type"]["type"] == "str | None"
    labels = [r["label"] for endpoint in info.values() for r in endpoint["returns"]]
    assert all(label and not label.startswith("value_") for label in labels), labels
    assert httpx.get(app_server.url + "/monitoring/summary").status_code == 403


def test_the_app_sends_no_analytics(app_server):
    """Offline by design: Gradio's usage analytics (on unless an app turns them off) stay off."""
    assert httpx.get(app_server.url + "/config").json()["analytics_enabled"] is False


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "\x00\x01\x1b[31m control \x7f", "😂🔥💯 émojis ünïcödé 你好", "x" * 20_000],
    ids=["empty", "whitespace", "control", "emoji", "at-the-limit"],
)
def test_odd_texts(client, text):
    result = client.predict(text, api_name="/classify")
    assert 0.0 <= result["toxic"] <= 1.0


def test_text_over_the_limit_is_refused(client):
    with pytest.raises(httpx.HTTPStatusError, match="413"):  # refused at the door, before Gradio's queue
        client.predict("y" * 20_001, api_name="/classify")


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("inner.csv", "text\nhello\n")
    return buf.getvalue()


BAD_FILES = {
    "empty.csv": (b"", "empty (0 bytes)"),
    "header.csv": (b"id,text\n", "no rows"),
    "numbers.csv": (b"a,b\n1,2\n3,4\n", "cannot tell which column"),
    "binary.csv": (bytes(range(256)) * 16, "binary file"),
    "archive.csv": (_zip(), "archive"),
    "rows.csv": (b"text\n" + b"hello there\n" * 5001, "more than 5,000 rows"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_get_a_clear_message(client, tmp_path, name):
    content, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AppError, match=re.escape(message)):
        client.predict(handle_file(str(path)), None, api_name="/score_csv")


def test_file_over_the_upload_limit(client, tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"text\n" + b"a long enough comment line\n" * 50_000)  # ~1.3 MB > 1 MB
    with pytest.raises(Exception, match="(?i)size|large|limit"):
        client.predict(handle_file(str(path)), None, api_name="/score_csv")


@pytest.mark.parametrize(
    ("name", "content", "check"),
    [
        (
            "latin1.csv",
            "text\ncrème brûlée très déçu\n".encode("cp1252"),
            lambda df: "crème" in df.iloc[0, 0],
        ),
        ("semi.csv", b"id;text\n1;hello there\n2;you idiot\n", lambda df: len(df) == 2),
        ("tab.tsv", b"id\ttext\n1\thello there\n", lambda df: len(df) == 1),
        (
            "multi.csv",
            b'id,text\n1,"line one\nline two, still the same cell"\n',
            lambda df: "line two" in df["text"][0],
        ),
        ("dup.csv", b"text,text\nhello world,x\n", lambda df: list(df.columns[:2]) == ["text", "text.1"]),
        ("cells.csv", b"id,text\n1,\n2,hello\n", lambda df: df["toxic"][0] == 0.0),
        ("lines.txt", b"hello\nyou idiot\n", lambda df: len(df) == 2),
    ],
)
def test_odd_but_valid_files_are_scored(client, tmp_path, name, content, check):
    path = tmp_path / name
    path.write_bytes(content)
    out, *_ = client.predict(handle_file(str(path)), None, api_name="/score_csv")
    sep = "\t" if name.endswith(".tsv") else (";" if name.startswith("semi") else ",")
    scored = pd.read_csv(out, sep=sep, keep_default_na=False)
    assert check(scored), scored


def test_user_chosen_column(client, tmp_path):
    path = tmp_path / "two.csv"
    path.write_bytes(b"title,body\nnice post about cats and dogs,You are a disgusting idiot.\n")
    out, summary, *_ = client.predict(handle_file(str(path)), "body", api_name="/score_csv")
    assert "`body`" in summary and pd.read_csv(out)["toxic_label"][0] == 1


def test_unknown_column_is_a_clear_message(client, tmp_path):
    path = tmp_path / "two.csv"
    path.write_bytes(b"title,body\na,b\n")
    with pytest.raises(AppError, match="no column 'nope'"):
        client.predict(handle_file(str(path)), "nope", api_name="/score_csv")


def test_predictions_are_logged_and_the_drift_tab_reports(client, app_server):
    from toxic.data import benchmark_val

    texts = benchmark_val("toxic")["text"].head(120).tolist()
    client.predict(texts, api_name="/classify_batch")
    summary, per_hour, series, report = client.predict(200, "", "", api_name="/drift")
    assert "dataset drift" in summary and "predictions" in summary
    assert "<iframe" in report
    logged = app_server.service.log.read()
    assert len(logged) >= 120 and set(texts) <= set(logged["text"])


def test_drift_window_too_small_is_a_clear_message(client):
    with pytest.raises(AppError, match="less than minimum value 30"):
        client.predict(10, "", "", api_name="/drift")  # at least 30 are needed
    with pytest.raises(AppError, match="enter how many"):
        client.predict(None, "", "", api_name="/drift")  # a cleared number box


@pytest.fixture(scope="module")
def app_process(tmp_path_factory):
    """``python app.py`` as a user starts it, in its own process (one for the tests of this module that need it)."""
    from tests.app_process import Server

    server = Server([sys.executable, "app.py"], {}, tmp_path_factory.mktemp("app-process"))
    yield server
    server.stop()


@linux_only
def test_the_app_process_never_loads_matplotlib(app_process):
    """Gradio imports matplotlib (and pyplot) at the first event when it can, and pandas' Styler at the first
    gr.Dataframe: 0.5-0.9 s of start-up and ~20 MB for plots the app never draws. ``python app.py``, after caching
    its examples and answering a Gradio call, must not have it mapped."""
    from toxic.serve.client import gradio_client

    assert "toxic" in gradio_client(app_process.url).predict("you idiot", api_name="/classify")["labels"]
    maps = Path(f"/proc/{app_process.proc.pid}/maps").read_text()
    assert "site-packages/onnxruntime/" in maps and "site-packages/matplotlib/" not in maps


@linux_only
def test_the_app_process_never_loads_pyarrow_or_evidently(app_process):
    """pandas imports pyarrow (~30 MB) at its own import and Evidently adds ~150 MB more: ``python app.py`` keeps
    both out (toxic/serve/startup.py), and the Drift tab's report runs in a child process that has them
    (toxic/monitor/drift_job.py). The report works and the app's process still has neither mapped."""
    from toxic.data import benchmark_val
    from toxic.serve.client import gradio_client

    client = gradio_client(app_process.url)
    client.predict(benchmark_val("toxic")["text"].head(60).tolist(), api_name="/classify_batch")
    before = Path(f"/proc/{app_process.proc.pid}/maps").read_text()
    summary, *_ = client.predict(50, "", "", api_name="/drift")
    after = Path(f"/proc/{app_process.proc.pid}/maps").read_text()
    assert "site-packages/pandas/" in before and "site-packages/pyarrow/" not in before
    assert "dataset drift" in summary
    assert "site-packages/pyarrow/" not in after and "site-packages/evidently/" not in after


def test_gradio_event_history_is_bounded_unless_the_user_sets_it(tmp_path):
    """Gradio's defaults keep 10,000 events and re-summarise all of them in pandas after every event: /noop under
    32 clients fell from 143 to 95 calls/s over four 15 s phases, and RSS grew ~3 KB a call. The app keeps 1,000
    and re-summarises every 100 (200 calls/s, steady); a value the user sets wins. The attribute names are
    Gradio's: if they change, this test says the bound may no longer hold."""
    code = (
        "from toxic.serve.launch import build_for_process; from toxic.serve.service import Service; "
        "from toxic.settings import Settings; q = build_for_process(Service(Settings.from_env(), log=None))._queue; "
        "print(q.ANALYTICS_MAX_EVENTS, q.ANAYLTICS_CACHE_FREQUENCY)"
    )
    for env, expected in (({}, "1000 100"), ({"GRADIO_ANALYTICS_MAX_EVENTS": "50"}, "50 100")):
        environ = {k: v for k, v in os.environ.items() if not k.startswith("GRADIO_ANALYTICS_")}
        environ |= {"GRADIO_EXAMPLES_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(REPO), **env}
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=environ, capture_output=True, text=True, timeout=120
        )
        assert out.stdout.strip().splitlines()[-1:] == [expected], out.stdout[-2000:] + out.stderr[-2000:]


def test_the_app_builds_without_importing_matplotlib(tmp_path):
    """gr.Dataframe imports pandas' Styler, which imports matplotlib.pyplot for colour maps the app never draws
    (0.9 s of start-up, ~17 MB). In a fresh process, building the app must leave matplotlib unimported, and a
    later ``import matplotlib`` must still work."""
    code = (
        "import sys, app; from toxic.serve.service import Service; from toxic.settings import Settings; "
        "app.build(Service(Settings.from_env(), log=None)); "
        "print('matplotlib' in sys.modules, 'pandas.io.formats.style' in sys.modules); "
        "import matplotlib.pyplot; print('matplotlib' in sys.modules)"
    )
    env = {**os.environ, "GRADIO_EXAMPLES_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.split()[-3:] == ["False", "True", "True"], out.stdout + out.stderr


def test_mcp_server_only_when_asked(app_process, tmp_path):
    """TOXIC_MCP=1: LLM agents get the endpoints as MCP tools (classify among them). Without it (app_process)
    there is no MCP route, and `python app.py` keeps Gradio from importing the `mcp` package at all
    (toxic/serve/startup.py)."""
    from tests.app_process import Server

    server = Server([sys.executable, "app.py"], {"TOXIC_MCP": "1"}, tmp_path)
    try:
        schema = httpx.get(server.url + "/gradio_api/mcp/schema")
    finally:
        server.stop()
    assert schema.status_code == 200 and "classify" in {tool["name"] for tool in schema.json()}
    assert httpx.get(app_process.url + "/gradio_api/mcp/schema").status_code == 404
    code = "import sys; from toxic.serve.startup import keep_out_unused; keep_out_unused(); import gradio; "
    code += "print(sys.modules.get('mcp') is not None)"
    for flag, imported in (("0", "False"), ("1", "True")):
        env = {**os.environ, "TOXIC_MCP": flag, "PYTHONPATH": str(REPO)}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.stdout.strip() == imported, out.stderr[-2000:]
