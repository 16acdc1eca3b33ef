"""Bad input, table-driven, on every surface: REST, gradio_client, raw HTTP to Gradio's API, and the CLI.

Each row is one kind of bad (or odd) input sent on one surface, with what must come back: a clear error (an HTTP
status, a Gradio error or one CLI line, whose message matches) or a normal answer. After every row a normal
request on the same surface must still succeed. No reply, on any row, may carry a server path, a stack trace, or
anything of a file the caller did not upload. More rows (CSV files, the browser) go in other files that import
:class:`Case` and :func:`check_reply`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import MODEL_LABELS, REPO, free_port

CANARY = f"CANARY-{uuid.uuid4().hex}"  # written into the files the app must not read
# what must never reach a caller: a stack trace or an exception's name; and from the app, a server path (the CLI
# names the user's own files, as it should)
TRACE = re.compile(r"Traceback|File \"|\w+Error:")
LEAK = re.compile(TRACE.pattern + r"|(?<![\w.])/(?:tmp|work|home|root|etc|usr|var|proc)/|[A-Z]:\\")
NORMAL = "You are a disgusting idiot."
BATCH_NOISE = 0.15


@dataclass(frozen=True)
class Reply:
    ok: bool  # the request was answered normally
    message: str  # the error's message, or the answer as text
    status: int = 200  # the HTTP status (CLI: the exit code)


@dataclass(frozen=True)
class Case:
    kind: str  # what is wrong with the input (the test id)
    surface: str  # rest | gradio | raw | cli
    send: Callable[[Env], Reply]
    ok: bool = False  # True: a normal answer is expected; False: a clear error
    match: str = ""  # a regex the error message (or the answer) must contain
    status: int | None = None  # the HTTP status (CLI: exit code) expected


@dataclass
class Env:
    """What the cases send to: the app's URL, a gradio_client, the files an attacker would aim at."""

    url: str
    client: object
    secret: Path  # a .csv outside the upload folder, holding CANARY
    upload_dir: Path
    tmp: Path


def check_reply(case: Case, reply: Reply) -> None:
    assert reply.ok == case.ok, f"{case.kind}: expected {'an answer' if case.ok else 'an error'}, got {reply}"
    assert re.search(case.match, reply.message), (
        f"{case.kind}: {reply.message!r} does not match {case.match!r}"
    )
    if case.status is not None:
        assert reply.status == case.status, f"{case.kind}: status {reply.status}, expected {case.status}"
    assert CANARY not in reply.message, f"{case.kind}: the target file's content came back"
    leak = TRACE if case.surface == "cli" else LEAK
    assert not leak.search(reply.message), f"{case.kind}: the reply leaks internals: {reply.message[:300]!r}"


# --- the surfaces -------------------------------------------------------------------------------------------------


def rest(body: bytes | str | dict, content_type: str = "application/json") -> Callable[[Env], Reply]:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    raw = raw.encode() if isinstance(raw, str) else raw

    def send(env: Env) -> Reply:
        r = httpx.post(
            env.url + "/api/v1/classify", content=raw, headers={"content-type": content_type}, timeout=60
        )
        return Reply(r.status_code == 200, r.text, r.status_code)

    return send


def raw(
    api: str, data: object | Callable[[Env], object], *, body: bytes | None = None
) -> Callable[[Env], Reply]:
    """POST /gradio_api/call/<api> as any HTTP client can, then read the result's event stream."""

    def send(env: Env) -> Reply:
        content = (
            body if body is not None else json.dumps({"data": data(env) if callable(data) else data}).encode()
        )
        r = httpx.post(
            f"{env.url}/gradio_api/call/{api}",
            content=content,
            headers={"content-type": "application/json"},
            timeout=60,
        )
        if r.status_code != 200:
            return Reply(False, r.text, r.status_code)
        stream = httpx.get(f"{env.url}/gradio_api/call/{api}/{r.json()['event_id']}", timeout=60).text
        events = re.findall(r"^event: (\w+)\ndata: (.*)$", stream, flags=re.M)
        event, payload = events[-1] if events else ("error", stream)
        return Reply(event == "complete", payload, 200)

    return send


def gradio(api: str, *args: object) -> Callable[[Env], Reply]:
    def send(env: Env) -> Reply:
        from gradio_client.exceptions import AppError

        try:
            return Reply(True, json.dumps(env.client.predict(*args, api_name=api), default=str))
        except AppError as e:
            return Reply(False, str(e), 200)
        except httpx.HTTPStatusError as e:
            return Reply(False, f"{e.response.status_code} {e.response.text}", e.response.status_code)

    return send


def cli(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Callable[[Env], Reply]:
    def send(e: Env) -> Reply:
        argv = [a.replace("{tmp}", str(e.tmp)) for a in args]
        exe = Path(sys.executable).parent / "toxic"
        proc = subprocess.run(
            [str(exe), *argv],
            capture_output=True,
            cwd=e.tmp,
            env={**os.environ, **(env or {})},
            input=stdin,
            timeout=300,
        )
        out = proc.stdout.decode("utf-8") + proc.stderr.decode("utf-8")  # strict: the output must be UTF-8
        lines = proc.stderr.decode().strip().splitlines()
        assert proc.returncode == 0 or len(lines) == 1, f"more than one line for an error: {lines}"
        return Reply(proc.returncode == 0, out, proc.returncode)

    return send


def normal(surface: str, env: Env) -> None:
    """A normal request on the surface: it must succeed after any bad one."""
    if surface == "rest":
        r = httpx.post(env.url + "/api/v1/classify", json={"text": NORMAL}, timeout=60)
        assert r.status_code == 200 and "toxic" in r.json()["results"][0]["labels"]
    elif surface == "cli":
        assert cli("predict", NORMAL)(env).ok
    else:
        assert "toxic" in env.client.predict(NORMAL, api_name="/classify")["labels"]


# --- the rows -----------------------------------------------------------------------------------------------------


def _file(path: Callable[[Env], str]) -> Callable[[Env], list]:
    return lambda env: [{"path": path(env), "meta": {"_type": "gradio.FileData"}}, None]


def _link(env: Env) -> str:
    """A symbolic link inside the upload folder that points at the secret file."""
    folder = env.upload_dir / f"toxic-test-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    (folder / "comments.csv").symlink_to(env.secret)
    return str(folder / "comments.csv")


UPLOAD = "must be uploaded through the app"
LIMIT_TEXT = "limit is 20,000 \\(TOXIC_MAX_TEXT_CHARS\\)"
INVALID = "invalid request"
SURROGATE = '{"text": "\\ud800 lone surrogate"}'

# fmt: off
REST = [
    Case("non-finite number", "rest", rest('{"text": 1e999}'), match=INVALID, status=422),
    Case("NaN literal", "rest", rest('{"text": NaN}'), match=INVALID, status=422),
    Case("number for text", "rest", rest({"text": 5}), match="text: Input should be a valid string", status=422),
    Case("boolean for text", "rest", rest({"text": True}), match=INVALID, status=422),
    Case("object for text", "rest", rest({"text": {"a": 1}}), match=INVALID, status=422),
    Case("non-strings in texts", "rest", rest({"texts": [1, None]}), match="texts.0", status=422),
    Case("string for texts", "rest", rest({"texts": "abc"}), match=INVALID, status=422),
    Case("text and texts", "rest", rest({"text": "a", "texts": ["b"]}), match="send either", status=422),
    Case("neither text nor texts", "rest", rest({}), match="send either", status=422),
    Case("not JSON", "rest", rest("nope"), match=INVALID, status=422),
    Case("invalid UTF-8 body", "rest", rest(b'{"text": "\xff\xfe"}'), match=INVALID, status=400),
    Case("JSON array body", "rest", rest("[]"), match=INVALID, status=422),
    Case("integer of 5,000 digits", "rest", rest('{"text": ' + "9" * 5000 + "}"), match=INVALID, status=400),
    Case("deep nesting", "rest", rest('{"text": ' + "[" * 50_000 + "]" * 50_000 + "}"), match=INVALID, status=400),
    Case("form body", "rest", rest("text=hi", "application/x-www-form-urlencoded"), match=INVALID),
    Case("lone surrogate", "rest", rest(SURROGATE), ok=True, match='"results"'),
    Case("split surrogate pair", "rest", rest('{"text": "\\ud83d\\ude00"}'), ok=True, match='"results"'),
    Case("NUL and control characters", "rest", rest({"text": "\x00\x1b[31m\x7f\u202e"}), ok=True),
    Case("empty list", "rest", rest({"texts": []}), ok=True, match='"results":\\[\\]'),
    Case("text at the limit", "rest", rest({"text": "x" * 20_000}), ok=True),
    Case("text over the limit", "rest", rest({"text": "x" * 20_001}), match=LIMIT_TEXT, status=413),
    Case("257 texts", "rest", rest({"texts": ["hi"] * 257}), match="at most 256", status=413),
    Case("114,000 characters", "rest", rest({"texts": ["x " * 9500] * 6}), match="100,000", status=413),
    Case("20,000 Chinese characters", "rest", rest({"text": "你好世界" * 5000}), match="TOXIC_MAX_REQUEST_TOKENS", status=413),
    Case("five long English texts", "rest", rest({"texts": ["you idiot " * 1900] * 5}), match="TOXIC_MAX_REQUEST_TOKENS", status=413),
    Case("20 MB body", "rest", rest({"texts": ["x" * 1_000_000] * 20}), match="too large", status=413),
]

FILE = {"meta": {"_type": "gradio.FileData"}}
GRADIO = [
    Case("number to /classify", "gradio", gradio("/classify", 5), ok=True, match="expected text, got a number"),
    Case("text over the limit", "gradio", gradio("/classify", "y" * 20_001), status=413),
    Case("257 texts to /classify_batch", "gradio", gradio("/classify_batch", ["a"] * 257), status=413),
    Case("string for a list", "gradio", gradio("/classify_batch", "abc"), match="must be a list"),
    Case("non-strings in a list", "gradio", gradio("/classify_batch", ["a", 3]), match="expected text"),
    Case("unknown label", "gradio", gradio("/explain", "hi", "rude"), match="label must be one of"),
    Case("long text to /explain", "gradio", gradio("/explain", "word " * 3999), ok=True),
    Case("explain over the limit", "gradio", gradio("/explain", "word " * 4001), status=413),
    Case("http URL as a file", "gradio", gradio("/score_csv", {"path": "http://127.0.0.1:9/a.csv", **FILE}, None), status=400),
    Case("https URL as a file", "gradio", gradio("/score_csv", {"path": "https://example.com/a.csv", **FILE}, None), status=400),
    Case("drift window too large", "gradio", gradio("/drift", 10**9, "", ""), match="maximum value 5000"),
    Case("drift window negative", "gradio", gradio("/drift", -5, "", ""), match="minimum value 30"),
]

RAW = [
    Case("absolute path", "raw", raw("score_csv", _file(lambda e: str(e.secret))), match=UPLOAD, status=400),
    Case("app's own file", "raw", raw("score_csv", _file(lambda e: str(REPO / "examples/comments.csv"))), match=UPLOAD, status=400),
    Case("relative path", "raw", raw("score_csv", _file(lambda e: "examples/comments.csv")), match=UPLOAD, status=400),
    Case("dot-dot out of uploads", "raw", raw("score_csv", _file(lambda e: f"{e.upload_dir}{'/..' * 12}{e.secret}")), match=UPLOAD, status=400),
    Case("symlink in uploads", "raw", raw("score_csv", _file(_link)), match=UPLOAD, status=400),
    Case("file:// URL", "raw", raw("score_csv", _file(lambda e: f"file://{e.secret}")), match=UPLOAD, status=400),
    Case("http:// URL", "raw", raw("score_csv", _file(lambda e: f"{e.url}/gradio_api/info")), match=UPLOAD, status=400),
    Case("https:// URL", "raw", raw("score_csv", _file(lambda e: "https://example.com/a.csv")), match=UPLOAD, status=400),
    Case("the upload folder itself", "raw", raw("score_csv", _file(lambda e: str(e.upload_dir))), match=UPLOAD, status=400),
    Case("missing file in uploads", "raw", raw("score_csv", _file(lambda e: f"{e.upload_dir}/nope/x.csv")), match="x.csv is gone", status=400),
    Case("number as a path", "raw", raw("score_csv", [{"path": 5, **FILE}, None]), match=UPLOAD, status=400),
    Case("path in a nested value", "raw", raw("classify_batch", lambda e: [[{"path": str(e.secret)}]]), match=UPLOAD, status=400),
    Case("lone surrogate to /classify", "raw", raw("classify", None, body=b'{"data": ["\\ud800 hi"]}'), ok=True, match='"toxic"'),
    Case("text over the limit", "raw", raw("classify", ["z" * 20_001]), match=LIMIT_TEXT, status=413),
    Case("too many tokens", "raw", raw("classify", ["你好" * 9000]), match="TOXIC_MAX_REQUEST_TOKENS", status=413),
    Case("no arguments", "raw", raw("classify", [])),
    Case("not JSON", "raw", raw("classify", None, body=b"nope")),
    Case("cleared drift window", "raw", raw("drift", [None, "", ""]), match="TOXIC_MAX_DRIFT_WINDOW"),
    Case("NaN drift window", "raw", raw("drift", None, body=b'{"data": [NaN, "", ""]}'), match="finite", status=422),
    Case("Infinity to /explain", "raw", raw("explain", None, body=b'{"data": ["hi", Infinity]}'), match="finite", status=422),
]

CLI = [
    Case("two-character delimiter", "cli", cli("score", "{tmp}/c.csv", "--delimiter", "ab"), match="--delimiter must be one character", status=2),
    Case("output folder missing", "cli", cli("score", "{tmp}/c.csv", "-o", "/nonexistent/dir/o.csv"), match="does not exist", status=2),
    Case("output is a folder", "cli", cli("score", "{tmp}/c.csv", "-o", "{tmp}"), match="is a folder", status=2),
    Case("drift report folder missing", "cli", cli("drift", "--log", "{tmp}/p.sqlite", "--out", "/nonexistent/r.html"), match="does not exist", status=2),
    Case("TOXIC_THREADS=abc", "cli", cli("predict", "hi", env={"TOXIC_THREADS": "abc"}), match="TOXIC_THREADS must be a whole number", status=2),
    Case("TOXIC_THREADS=-1", "cli", cli("predict", "hi", env={"TOXIC_THREADS": "-1"}), match="TOXIC_THREADS", status=2),
    Case("TOXIC_DEOBFUSCATE=maybe", "cli", cli("predict", "hi", env={"TOXIC_DEOBFUSCATE": "maybe"}), match="TOXIC_DEOBFUSCATE must be 1 or 0", status=2),
    Case("missing input file", "cli", cli("score", "{tmp}/missing.csv", "-o", "{tmp}/o.csv"), match="error: ", status=2),
    Case("invalid UTF-8 argument", "cli", cli("predict", os.fsdecode(b"caf\xe9 idiot")), ok=True, match="caf\ufffd idiot"),
    Case("invalid UTF-8 on stdin", "cli", cli("predict", stdin=b"caf\xe9\n"), ok=True, match="\ufffd"),
]
# fmt: on

CASES = REST + GRADIO + RAW + CLI


@pytest.fixture(scope="module")
def env(app_server, client, tmp_path_factory) -> Env:
    tmp = tmp_path_factory.mktemp("bad")
    secret = tmp / "secret.csv"
    secret.write_text(f"id,text\n1,{CANARY} you idiot\n", encoding="utf-8")
    (tmp / "c.csv").write_text("text\nhello there\nyou idiot\n", encoding="utf-8")
    return Env(app_server.url, client, secret, app_server.service.settings.upload_dir, tmp)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.surface}-{c.kind}")
def test_bad_input(env, case):
    check_reply(case, case.send(env))
    normal(case.surface, env)


def test_enough_kinds():
    assert len({c.kind for c in CASES}) >= 40


def test_one_callers_bad_text_never_changes_anothers_result(env):
    """15 gradio_client callers of the batched /classify and, among them, callers sending a lone surrogate, a
    number and an oversized text over raw HTTP: every innocent caller gets exactly the result its text gets alone."""
    from toxic.serve.client import gradio_client

    texts = [f"{w} comment number {i}" for i, w in enumerate(["you idiot", "have a nice day", "shut up"] * 5)]
    alone = {t: env.client.predict(t, api_name="/classify") for t in texts}
    poison = [
        raw("classify", None, body=b'{"data": ["\\ud800\\udfff"]}'),
        raw("classify", [5]),
        raw("classify", ["q" * 20_001]),
    ]
    got: dict[str, dict] = {}
    bad: list[Reply] = []
    start = threading.Barrier(len(texts) + 3 * len(poison))

    def innocent(text: str) -> None:
        c = gradio_client(env.url)
        start.wait()
        got[text] = c.predict(text, api_name="/classify")

    def poisoned(send) -> None:
        start.wait()
        bad.append(send(env))

    threads = [threading.Thread(target=innocent, args=(t,)) for t in texts]
    threads += [threading.Thread(target=poisoned, args=(p,)) for p in poison * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(got) == len(texts) and len(bad) == 3 * len(poison)
    # Within BATCH_NOISE of the text alone: the int8 model quantises its activations per batch, so whoever shares
    # a batch moves a score a little (the model shipped 2026-12-02: up to 0.118 on these texts in 300 random
    # batches of themselves, with no bad caller at all)
    for text in texts:
        assert "error" not in got[text], text
        for label in MODEL_LABELS:
            assert got[text][label] == pytest.approx(alone[text][label], abs=BATCH_NOISE), text
    assert all(not LEAK.search(r.message) for r in bad)


def test_service_refuses_any_file_not_uploaded(app_server, env):
    """The check every handler goes through (the Batch CSV tab's column reader and scorer, /score_csv)."""
    from toxic.errors import UploadError

    service = app_server.service
    for path in [env.secret, "examples/comments.csv", f"file://{env.secret}", "http://x/a.csv", None, 5]:
        with pytest.raises(UploadError) as e:
            service.check_upload(path)
        assert not LEAK.search(str(e.value))
    uploaded = env.upload_dir / f"toxic-test-{uuid.uuid4().hex}" / "ok.csv"
    uploaded.parent.mkdir(parents=True)
    uploaded.write_text("text\nhello\n")
    assert service.check_upload(str(uploaded)) == uploaded.resolve()


def test_sigterm_stops_a_busy_app_within_10_seconds(tmp_path):
    """`python app.py` busy with requests at the text limits still exits within 10 s of SIGTERM."""
    import signal
    import time

    port = free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "TOXIC_LOG": str(tmp_path / "p.sqlite"),
        "GRADIO_EXAMPLES_CACHE": str(tmp_path / "examples"),
    }
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        body = {"texts": ["you idiot " * 1990] * 4}  # ~16,000 tokens: about the most one request may hold

        def busy() -> None:
            with contextlib.suppress(httpx.HTTPError):  # cut off by the shutdown: expected
                httpx.post(url + "/api/v1/classify", json=body, timeout=60)

        callers = [threading.Thread(target=busy, daemon=True) for _ in range(6)]
        for c in callers:
            c.start()
        time.sleep(1.5)
        stopped = time.monotonic()
        assert sum(c.is_alive() for c in callers) >= 4  # work still running and waiting: the server is busy
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert time.monotonic() - stopped < 10
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("TOXIC_MAX_TEXT_CHARS", "0", "from 1 up, got 0"),
        ("TOXIC_MAX_TEXT_CHARS", "20k", "whole number from 1 up, got '20k'"),
        ("TOXIC_MAX_EXPLAIN_WORDS", "5000", "from 1 to 1,024"),
        ("TOXIC_MAX_DRIFT_WINDOW", "5", "from 10 up"),
        ("TOXIC_BATCHING", "maybe", "must be 1 or 0"),
        ("GRADIO_SERVER_PORT", "70000", "from 0 to 65,535"),
        ("TOXIC_LOG_TEXT", "all", "full, hash or none"),
        ("TOXIC_QUEUE_SIZE", "-3", "from 1 up"),
    ],
)
def test_settings_name_the_wrong_variable_and_its_values(monkeypatch, name, value, says):
    from toxic.errors import ToxicError
    from toxic.settings import Settings

    monkeypatch.setenv(name, value)
    with pytest.raises(ToxicError, match=re.escape(says)) as e:
        Settings.from_env()
    assert str(e.value).startswith(name)


def test_settings_read_every_limit(monkeypatch):
    from toxic.settings import Settings

    for name, value in [
        ("TOXIC_MAX_REQUEST_TOKENS", "1_000"),
        ("TOXIC_MAX_CELL_CHARS", "7"),
        ("TOXIC_DATA_DIR", "/d"),
    ]:
        monkeypatch.setenv(name, value)
    s = Settings.from_env()
    assert (s.max_request_tokens, s.max_cell_chars, s.data_dir) == (1000, 7, Path("/d"))
