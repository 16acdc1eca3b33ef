"""Load test of the running app over loopback: latency, throughput under concurrent clients, batching, start-up
time, memory and batch CSV through the app, each against a baseline measured in the same run.

    .venv/bin/python -m bench.loadtest              # the full run (~17 min): the README's figures
    .venv/bin/python -m bench.loadtest --quick      # 8 clients x 10 s, a 5,000-row CSV: a smoke run (~2 min)

Everything listens on 127.0.0.1 only and every phase is bounded in time and count. Phases:
0. the model alone, in this process: texts/s one text at a time and in batches of 16 (what batching can save in
   the forward pass itself, before any Gradio cost).
1. ready: `python app.py` from process start to GET /healthz answering 200 and to the first POST
   /api/v1/classify; its memory then.
2. latency, one client, calls interleaved: POST /api/v1/classify (one text), `Client.predict("/classify")`, and
   `Client.predict("/noop")`, a Gradio endpoint that does nothing, added to the same app for this script: the
   floor under /classify is Gradio's queue, not the model. Before them, the Perspective-compatible API alone:
   POST /v1alpha1/comments:analyze with a one-sentence comment (TOXICITY, no spans) and with a three-sentence
   comment and spanAnnotations.
3. load: N concurrent clients for T seconds (in several processes, so the load generator's GIL is not the limit):
   gradio_client on /classify with Gradio's batching, the same on an app started with TOXIC_BATCHING=0, and the
   REST endpoint, and comments:analyze (one sentence); and /noop, the most calls/s Gradio and the clients leave
   room for on this machine. Each
   gradio_client shares one prebuilt TLS context (see gradio_client()): without it the clients' own CPU was the
   ceiling. Throughput, p50/p95/p99, errors.
4. memory: the app's peak RSS (VmHWM) in each phase (the kernel's high-water mark is reset between phases) and
   over the whole run.
5. batch CSV: `toxic score` on an R-row CSV of real val tweets vs the same file through the app's /score_csv
   (what the Batch CSV tab calls: upload, score, download).
6. bad inputs mixed into normal traffic: N clients on /classify while one more caller sends bad requests back to
   back (oversized texts and bodies, lone surrogates, non-finite numbers, server paths and URLs as files), then
   a drift report at the largest window (TOXIC_MAX_DRIFT_WINDOW) over a log filled beforehand: the normal callers
   must see 0 errors, every bad request a 4xx, and the app's peak RSS must stay under 400 MB.

    .venv/bin/python -m bench.loadtest --bad-only --clients 4 --seconds 5   # this phase alone (~1 min)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.app_process import Server
from toxic.serve.client import gradio_client

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
CALL_TIMEOUT_S = 60  # a call with no answer by then is an error: a lost call must not hang the run
CONNECT_TIMEOUT_S = 60  # for the load processes to start and every client to connect


# --- the servers --------------------------------------------------------------------------------------------------


def serve() -> None:
    """The app exactly as app.py builds it, plus a no-op Gradio endpoint with the same input and output."""
    from toxic.serve.startup import prepare_process

    prepare_process()  # as `python app.py` does: without it Gradio imports matplotlib (~26 MB) and mcp
    import gradio as gr
    import uvicorn

    import app
    from toxic.serve.server import build_app
    from toxic.serve.service import Service, open_log_or_warn
    from toxic.settings import Settings

    settings = Settings.from_env()
    service = Service(settings, log=open_log_or_warn(settings))
    demo = app.build(service)

    def noop(text: str) -> dict:
        """Does nothing: Gradio's own floor."""
        return {"toxic": 0.0, "hate": 0.0, "labels": []}

    with demo:
        gr.api(noop, api_name="noop")
    uvicorn.run(build_app(demo, service), host="127.0.0.1", port=settings.server_port, log_level="warning")


# --- the clients --------------------------------------------------------------------------------------------------


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


def val_texts() -> list[str]:
    """The real tweets every phase sends: both benchmark val splits."""
    from toxic.data import benchmark_val

    return [t for label in ("toxic", "hate") for t in benchmark_val(label)["text"]]


def rest_times(http: httpx.Client, texts: list[str], calls: int, warmup: int = 10) -> list[float]:
    """Seconds per POST /api/v1/classify of one text, back to back on a keep-alive client; warm-up calls untimed."""
    times = []
    for i in range(calls + warmup):
        start = time.perf_counter()
        http.post("/api/v1/classify", json={"text": texts[i % len(texts)]}).raise_for_status()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


ANALYZE = "/v1alpha1/comments:analyze"


def perspective_comments(texts: list[str]) -> tuple[list[str], list[str]]:
    """Val tweets that are one sentence each, and comments of three of them (one sentence each, joined)."""
    from toxic.serve.perspective_text import sentence_bounds

    one = [t.strip() for t in texts if len(t.strip()) > 20 and len(sentence_bounds(t.strip())) == 1]
    ended = [t if t[-1] in ".!?" else t + "." for t in one]
    three = [" ".join(ended[i : i + 3]) for i in range(0, len(ended) - 2, 3)]
    return one, three


def analyze_body(text: str, spans: bool = False) -> dict:
    return {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["en"],
            "spanAnnotations": spans}  # fmt: skip


def perspective_times(http: httpx.Client, comments: list[str], calls: int, spans: bool, warmup: int = 10):
    """Seconds per POST comments:analyze, back to back on a keep-alive client; warm-up calls untimed."""
    times = []
    for i in range(calls + warmup):
        start = time.perf_counter()
        http.post(ANALYZE, json=analyze_body(comments[i % len(comments)], spans)).raise_for_status()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def one_client_latency(url: str, texts: list[str], calls: int) -> dict[str, list[float]]:
    """One client. First REST calls alone (``rest``: the one-text latency a REST caller sees); then REST,
    /classify and /noop interleaved, so that drift in the machine's load hits every endpoint alike
    (``rest_mixed``, ``classify``, ``noop``). The mixed REST figure runs a few ms higher: each Gradio call leaves
    the server a little work after it answers (closing its event stream, queue bookkeeping), on the same 2 cores."""
    times: dict[str, list[float]] = {"rest_mixed": [], "classify": [], "noop": []}
    one, three = perspective_comments(texts)
    with httpx.Client(base_url=url, timeout=30) as http:
        times = {
            "rest": rest_times(http, texts, calls),
            "perspective": perspective_times(http, one, calls, spans=False),
            "perspective_spans": perspective_times(http, three, calls, spans=True),
            **times,
        }
        client = gradio_client(url, timeout=CALL_TIMEOUT_S)
        for i in range(calls + 10):
            text = texts[i % len(texts)]
            for name in ("rest_mixed", "classify", "noop"):
                start = time.perf_counter()
                if name == "rest_mixed":
                    http.post("/api/v1/classify", json={"text": text}).raise_for_status()
                else:
                    client.submit(text, api_name=f"/{name}").result(timeout=CALL_TIMEOUT_S)
                if i >= 10:  # the first calls warm up connections
                    times[name].append(time.perf_counter() - start)
        client.close()
    return times


_READY = None  # a load worker's multiprocessing.Barrier: every client connected, then the clock starts


def _set_ready(barrier) -> None:
    global _READY
    _READY = barrier


def _load_worker(url: str, kind: str, threads: int, seconds: float, texts: list[str]) -> dict:
    """One process of the load: `threads` clients calling back to back for `seconds`, from the moment every client
    of every process is connected (the `_READY` barrier). kind: "rest", "perspective" (comments:analyze, one
    sentence), or a Gradio endpoint name ("/classify", "/noop"). Every call is bounded by CALL_TIMEOUT_S."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(offset: int) -> None:
        call = None
        try:
            if kind == "perspective":
                http = httpx.Client(base_url=url, timeout=CALL_TIMEOUT_S)
                call = lambda text: http.post(ANALYZE, json=analyze_body(text)).raise_for_status()  # noqa: E731
            elif kind != "rest":
                client = gradio_client(url, timeout=CALL_TIMEOUT_S)
                call = lambda text: client.submit(text, api_name=kind).result(timeout=CALL_TIMEOUT_S)  # noqa: E731
            else:
                http = httpx.Client(base_url=url, timeout=CALL_TIMEOUT_S)
                call = lambda text: http.post("/api/v1/classify", json={"text": text}).raise_for_status()  # noqa: E731
        except Exception as e:  # noqa: BLE001 (a client that cannot connect is an error of the run, counted)
            with lock:
                errors.append(f"connect: {type(e).__name__}: {e}"[:200])
        # a client that could not connect still counts in, so the others start; if one never arrives, the rest
        # start at the timeout, and whatever stopped it is counted as its error
        with contextlib.suppress(threading.BrokenBarrierError):
            _READY.wait(CONNECT_TIMEOUT_S)
        if call is None:
            return
        deadline = time.time() + seconds
        i = offset
        while time.time() < deadline:
            text = texts[i % len(texts)]
            i += 97
            t0 = time.perf_counter()
            try:
                call(text)
                with lock:
                    latencies.append(time.perf_counter() - t0)
            except Exception as e:  # noqa: BLE001 (every failure is counted and reported)
                with lock:
                    errors.append(f"{type(e).__name__}: {e or f'no answer in {CALL_TIMEOUT_S} s'}"[:200])

    pool = [threading.Thread(target=run, args=(k * 13,), daemon=True) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(CONNECT_TIMEOUT_S + seconds + CALL_TIMEOUT_S + 30)
    with lock:
        hung = sum(t.is_alive() for t in pool)
        return {"latencies": list(latencies), "errors": errors + ["a client still waiting at the end"] * hung}


def load_on(
    server: Server, kind: str, clients: int, seconds: float, texts: list[str], procs: int, started=None
) -> dict:
    """`load` against a server; when calls failed, prints their errors and the end of the server's log."""
    figures = load(server.url, kind, clients, seconds, texts, procs, started)
    if figures["errors"]:
        print(f"   {kind}: {figures['errors']} failed calls, e.g. {figures['error_examples']}", flush=True)
        print("   the server's log ends:\n" + server.log_tail(), flush=True)
    return figures


def load(
    url: str,
    kind: str,
    clients: int,
    seconds: float,
    texts: list[str],
    procs: int = 4,
    started: threading.Event | None = None,
) -> dict:
    """`clients` clients in `procs` processes for `seconds`, timed from when all of them are connected (then
    `started` is set, for a caller that runs something beside the load)."""
    procs = min(procs, clients)
    per = [clients // procs + (1 if k < clients % procs else 0) for k in range(procs)]
    if kind == "perspective":
        texts = perspective_comments(texts)[0]
    jobs = [(url, kind, n, seconds, texts) for n in per]
    # spawned, not forked: this process already runs client threads (a Gradio heartbeat), and a fork can copy a
    # lock one of them holds. multiprocessing.Pool, not ProcessPoolExecutor: leaving the block terminates the
    # workers, so a thread stuck in a client library cannot keep the run from ending.
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(clients + 1)  # every client, and this process
    with ctx.Pool(procs, initializer=_set_ready, initargs=(ready,)) as pool:
        result = pool.starmap_async(_load_worker, jobs)
        with contextlib.suppress(threading.BrokenBarrierError):  # a worker that never started: raised below
            ready.wait(CONNECT_TIMEOUT_S)
        if started is not None:
            started.set()
        parts = result.get(CONNECT_TIMEOUT_S + seconds + CALL_TIMEOUT_S + 120)
    latencies = [x for p in parts for x in p["latencies"]]
    errors = [x for p in parts for x in p["errors"]]
    return {
        "clients": clients,
        "seconds": seconds,
        "calls": len(latencies),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
        "per_s": len(latencies) / seconds,
        "p50_ms": pct(latencies, 50),
        "p95_ms": pct(latencies, 95),
        "p99_ms": pct(latencies, 99),
    }


# --- bad inputs among normal traffic -------------------------------------------------------------------------------

DRIFT_WINDOW = 5_000  # TOXIC_MAX_DRIFT_WINDOW's default (docs/limits.md)


def _file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def bad_requests() -> list[tuple[str, str, bytes]]:
    """(kind, route, body) of requests the app must refuse with a 4xx, or answer normally, never with a 5xx."""
    call = "/gradio_api/call/"

    def body(value) -> bytes:
        return json.dumps(value).encode()

    return [
        ("text over the limit (REST)", "/api/v1/classify", body({"text": "x" * 20_001})),
        ("5 MB body (REST)", "/api/v1/classify", body({"texts": ["x" * 1_000_000] * 5})),
        ("257 texts (REST)", "/api/v1/classify", body({"texts": ["hi"] * 257})),
        ("non-finite number (REST)", "/api/v1/classify", b'{"text": 1e999}'),
        ("lone surrogate (REST)", "/api/v1/classify", b'{"text": "\\ud800 hi"}'),
        ("not JSON (REST)", "/api/v1/classify", b"nope"),
        ("lone surrogate (/classify)", call + "classify", b'{"data": ["\\ud800 hi"]}'),
        ("number (/classify)", call + "classify", body({"data": [5]})),
        ("text over the limit (/classify)", call + "classify", body({"data": ["y" * 20_001]})),
        ("long text (/explain)", call + "explain", body({"data": ["word " * 3999, "toxic"]})),
        ("server path as a file", call + "score_csv", body({"data": [_file_data("/etc/hostname"), None]})),
        (
            "relative path as a file",
            call + "score_csv",
            body({"data": [_file_data("examples/comments.csv"), None]}),
        ),
        ("URL as a file", call + "score_csv", body({"data": [_file_data("http://127.0.0.1:9/a.csv"), None]})),
        ("NaN drift window", call + "drift", b'{"data": [NaN, "", ""]}'),
    ]


def bad_traffic(url: str, seconds: float, started: threading.Event) -> dict:
    """One caller sending every kind of bad request in turn for `seconds` once `started` is set. A Gradio call's
    result stream is read to its end. Counted: refused (4xx, or a Gradio error event), answered (200), failed (5xx,
    no answer)."""
    counts = {"sent": 0, "refused": 0, "answered": 0, "failed": 0}
    failures: list[str] = []
    requests = bad_requests()
    with httpx.Client(base_url=url, timeout=CALL_TIMEOUT_S) as http:
        started.wait(CONNECT_TIMEOUT_S)
        deadline = time.time() + seconds
        i = 0
        while time.time() < deadline:
            kind, route, body = requests[i % len(requests)]
            i += 1
            counts["sent"] += 1
            try:
                r = http.post(route, content=body, headers={"content-type": "application/json"})
                if r.status_code == 200 and route.startswith("/gradio_api/"):
                    stream = http.get(f"{route}/{r.json()['event_id']}").text
                    outcome = "refused" if "event: error" in stream else "answered"
                else:
                    outcome = (
                        "answered" if r.status_code == 200 else "refused" if r.status_code < 500 else "failed"
                    )
                problem = f"HTTP {r.status_code}"
            except httpx.HTTPError as e:
                outcome, problem = "failed", type(e).__name__
            if outcome == "failed" and len(failures) < 5:
                failures.append(f"{kind}: {problem}")
            counts[outcome] += 1
    return {**counts, "failures": failures}


def fill_log(path: Path, rows: int, texts: list[str]) -> None:
    """A prediction log of `rows` rows of real tweets (scores drawn at random: only the report's cost matters)."""
    import numpy as np

    from toxic.monitor.predlog import open_log

    rng = np.random.default_rng(0)
    with open_log(str(path)) as log:
        for start in range(0, rows, 5000):
            n = min(5000, rows - start)
            probs = rng.random((n, 2)).astype(np.float32)
            log.record_many(
                [texts[(start + k) % len(texts)] for k in range(n)], probs, probs > 0.5, "fill", "0"
            )
        log.flush()


def logged_server(serve_cmd: list[str], env: dict, work: Path, texts: list[str]) -> Server:
    """The app with a prediction log filled beforehand to the largest drift window (for the bad-input phase)."""
    log = work / "predictions.sqlite"
    fill_log(log, DRIFT_WINDOW, texts)
    return Server(serve_cmd, {**env, "TOXIC_LOG": str(log)}, work)


def bad_phase(server: Server, args, texts: list[str]) -> dict:
    """Normal /classify clients and one bad caller at once, then a drift report at the largest window."""
    print(f"6/6 bad inputs among {args.clients} clients x {args.seconds:.0f} s, then a drift", flush=True)
    server.phase_peak_mb()
    started = threading.Event()  # set when the normal clients are connected
    bad: dict = {}
    sender = threading.Thread(target=lambda: bad.update(bad_traffic(server.url, args.seconds, started)))
    sender.start()
    normal = load_on(server, "/classify", args.clients, args.seconds, texts, args.procs, started)
    started.set()  # in case the load never got that far: the sender then ends by itself
    sender.join(CALL_TIMEOUT_S + 30)
    client = gradio_client(server.url)
    t0 = time.perf_counter()
    client.predict(DRIFT_WINDOW, "", "", api_name="/drift")
    drift_s = time.perf_counter() - t0
    client.close()
    return {"normal": normal, "bad": bad, "drift_s": drift_s, "peak_rss_mb": server.phase_peak_mb()}


def model_batching_gain(texts: list[str], batch: int, n: int = 256) -> dict:
    """The model's own texts/s one text at a time and in batches of ``batch``, in this process, same texts,
    interleaved rounds: what batching could save in the forward pass alone, before any Gradio cost."""
    from toxic.classifier import Classifier

    clf = Classifier.load()
    sample = texts[:n]
    clf.predict_proba(sample[:batch])  # warm-up
    one, batched = [], []
    for _ in range(3):
        start = time.perf_counter()
        for t in sample:
            clf.predict_proba([t])
        one.append(n / (time.perf_counter() - start))
        start = time.perf_counter()
        for at in range(0, n, batch):
            clf.predict_proba(sample[at : at + batch])
        batched.append(n / (time.perf_counter() - start))
    return {"batch": batch, "one_per_s": statistics.median(one), "batched_per_s": statistics.median(batched)}


# --- batch CSV ----------------------------------------------------------------------------------------------------


def csv_file(rows: int, texts: list[str], workdir: Path) -> Path:
    import pandas as pd

    path = workdir / f"comments-{rows}.csv"
    frame = pd.DataFrame({"id": range(rows), "comment": [texts[i % len(texts)] for i in range(rows)]})
    frame.to_csv(path, index=False)
    return path


def csv_cli(path: Path, workdir: Path, threads: int) -> float:
    exe = Path(PY).parent / "toxic"
    start = time.perf_counter()
    subprocess.run(
        [str(exe), "score", str(path), "-o", str(workdir / "cli.scored.csv"), "--column", "comment"],
        check=True,
        capture_output=True,
        env={**os.environ, "TOXIC_THREADS": str(threads)},
    )
    return time.perf_counter() - start


def csv_app(url: str, path: Path) -> tuple[float, int]:
    import pandas as pd
    from gradio_client import handle_file

    client = gradio_client(url, timeout=None)
    start = time.perf_counter()
    out, *_ = client.predict(handle_file(str(path)), "comment", api_name="/score_csv")
    elapsed = time.perf_counter() - start
    return elapsed, len(pd.read_csv(out, usecols=["toxic"]))


# --- the run ------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients in each load phase")
    parser.add_argument("--seconds", type=float, default=60, help="length of each load phase")
    parser.add_argument("--calls", type=int, default=200, help="calls per endpoint in the latency phase")
    parser.add_argument("--csv-rows", type=int, default=100_000, help="rows of the batch CSV (0 skips it)")
    parser.add_argument("--procs", type=int, default=4, help="load-generator processes")
    parser.add_argument("--threads", type=int, default=0, help="TOXIC_THREADS for the app and CLI (0 = all)")
    parser.add_argument("--quick", action="store_true", help="8 clients x 10 s, 50 calls, 5,000 rows")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument(
        "--bad-only", action="store_true", help="only phase 6: bad inputs among normal traffic"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve()
    if args.quick:
        args.clients, args.seconds, args.calls, args.csv_rows = 8, 10, 50, 5000

    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # the clients and their workers send nothing out either
    texts = val_texts()
    env = {"TOXIC_THREADS": str(args.threads)} if args.threads else {}
    serve_cmd = [PY, "-m", "bench.loadtest", "--serve"]
    figures: dict = {"cpus": os.cpu_count(), "clients": args.clients, "seconds": args.seconds}
    t_all = time.perf_counter()
    if args.bad_only:
        with tempfile.TemporaryDirectory(prefix="toxic-loadtest-") as tmp:
            server = logged_server(serve_cmd, env, Path(tmp), texts)
            try:
                figures["bad_phase"] = bad_phase(server, args, texts)
            finally:
                server.stop()
        report_bad(figures["bad_phase"])
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2))
        return
    with tempfile.TemporaryDirectory(prefix="toxic-loadtest-") as tmp:
        work = Path(tmp)

        # 16: about the batch Gradio forms under 32 clients (14-18 counted, docs/experiments.md)
        figures["model"] = model_batching_gain(texts, batch=16)
        print("1/5 start-up: python app.py", flush=True)
        app_server = Server([PY, "app.py"], env, work)
        figures["ready_s"] = app_server.ready_s
        figures["first_prediction_s"] = app_server.first_prediction_s
        figures["ready_rss_mb"] = app_server.memory_mb()[0]
        app_server.stop()

        server = logged_server(serve_cmd, {**env, "TOXIC_BATCHING": "1"}, work, texts)
        peaks = figures["phase_peak_rss_mb"] = {"start": server.phase_peak_mb()}
        try:
            print(f"2/5 latency: one client, {args.calls} calls per endpoint, interleaved", flush=True)
            times = one_client_latency(server.url, texts, args.calls)
            figures["latency"] = {
                name: {"p50_ms": pct(t, 50), "p95_ms": pct(t, 95), "p99_ms": pct(t, 99), "mean_ms":
                       statistics.fmean(t) * 1000} for name, t in times.items()
            }  # fmt: skip
            peaks["latency"] = server.phase_peak_mb()

            print(f"3/5 load: {args.clients} clients x {args.seconds:.0f} s, five times", flush=True)
            for phase, kind in (
                ("load_gradio_batching", "/classify"),
                ("load_gradio_noop", "/noop"),
                ("load_rest", "rest"),
                ("load_perspective", "perspective"),
            ):
                figures[phase] = load_on(server, kind, args.clients, args.seconds, texts, args.procs)
                peaks[phase] = server.phase_peak_mb()
            print("4/5 memory", flush=True)
            figures["rss_mb"] = server.memory_mb()[0]

            if args.csv_rows:
                print(f"5/5 batch CSV: {args.csv_rows:,} rows, toxic score vs the app", flush=True)
                path = csv_file(args.csv_rows, texts, work)
                cli_s = csv_cli(path, work, args.threads)
                app_s, app_rows = csv_app(server.url, path)
                if app_rows != args.csv_rows:
                    raise SystemExit(f"the app scored {app_rows} of {args.csv_rows} rows")
                figures["csv"] = {
                    "rows": args.csv_rows,
                    "cli_rows_per_s": args.csv_rows / cli_s,
                    "app_rows_per_s": args.csv_rows / app_s,
                }
                peaks["csv"] = server.phase_peak_mb()
            figures["peak_rss_mb"] = max(peaks.values())

            figures["bad_phase"] = bad_phase(server, args, texts)
        finally:
            server.stop()

        plain = Server(serve_cmd, {**env, "TOXIC_BATCHING": "0"}, work)
        try:
            print("   load without batching (TOXIC_BATCHING=0)", flush=True)
            figures["load_gradio_no_batching"] = load_on(
                plain, "/classify", args.clients, args.seconds, texts, args.procs
            )
        finally:
            plain.stop()
    figures["wall_s"] = time.perf_counter() - t_all
    report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


def report(f: dict) -> None:
    lat = f["latency"]
    batching, plain, rest = f["load_gradio_batching"], f["load_gradio_no_batching"], f["load_rest"]
    noop = f["load_gradio_noop"]
    floor = lat["classify"]["p50_ms"] / lat["noop"]["p50_ms"]
    speedup = batching["per_s"] / plain["per_s"] if plain["per_s"] else float("inf")
    print(f"\ntoxic load test: {f['cpus']} CPUs, loopback, {f['wall_s']:.0f} s in all\n")
    print("| phase | calls/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    for name, key in [("REST /api/v1/classify, 1 client", "rest"),
                      ("comments:analyze, 1 sentence, 1 client", "perspective"),
                      ("comments:analyze, 3 sentences + spanAnnotations, 1 client", "perspective_spans"),
                      ("REST /api/v1/classify, 1 client, between Gradio calls", "rest_mixed"),
                      ("Client.predict /classify, 1 client", "classify"),
                      ("Client.predict /noop, 1 client", "noop")]:  # fmt: skip
        if key not in lat:
            continue
        x = lat[key]
        print(f"| {name} | {1000 / x['mean_ms']:.0f} | {x['p50_ms']:.1f} | {x['p95_ms']:.1f} | "
              f"{x['p99_ms']:.1f} | 0 |")  # fmt: skip
    for name, x in [(f"{f['clients']} clients, /classify, batching", batching),
                    (f"{f['clients']} clients, /classify, no batching", plain),
                    (f"{f['clients']} clients, /noop (Gradio's ceiling here)", noop),
                    (f"{f['clients']} clients, REST", rest),
                    (f"{f['clients']} clients, comments:analyze", f["load_perspective"])]:  # fmt: skip
        print(f"| {name} ({x['seconds']:.0f} s) | {x['per_s']:.1f} | {x['p50_ms']:.0f} | {x['p95_ms']:.0f} | "
              f"{x['p99_ms']:.0f} | {x['errors']} |")  # fmt: skip
    errors = batching["errors"] + plain["errors"] + rest["errors"] + f["load_perspective"]["errors"]
    one, spans = lat["perspective"]["p50_ms"], lat["perspective_spans"]["p50_ms"]
    checks = [
        ("REST p50, one text", f"{lat['rest']['p50_ms']:.1f} ms", "<= 10 ms", lat["rest"]["p50_ms"] <= 10),
        ("comments:analyze p50, one sentence", f"{one:.1f} ms", "<= 10 ms", one <= 10),
        ("comments:analyze p50, 3 sentences + spans", f"{spans:.1f} ms", "<= 25 ms", spans <= 25),
        ("/classify p50 / /noop p50", f"{floor:.2f}x", "<= 1.2x", floor <= 1.2),
        (f"errors under {f['clients']} clients", str(errors), "0", errors == 0),
        ("batching / no batching, calls/s", f"{speedup:.2f}x", ">= 2x", speedup >= 2),
        ("ready (process start to /healthz 200)", f"{f['ready_s']:.2f} s", "<= 6 s", f["ready_s"] <= 6),
        ("peak RSS of the app", f"{f['peak_rss_mb']:.0f} MB", "<= 300 MB", f["peak_rss_mb"] <= 300),
    ]
    if "csv" in f:
        c = f["csv"]
        share = c["app_rows_per_s"] / c["cli_rows_per_s"]
        checks.append((f"batch CSV, {c['rows']:,} rows: app vs toxic score", f"{c['app_rows_per_s']:.0f} vs "
                       f"{c['cli_rows_per_s']:.0f} rows/s = {share:.0%}", ">= 80%", share >= 0.8))  # fmt: skip
    print("\n| target | measured | goal | met |\n|---|---|---|---|")
    for name, measured, goal, ok in checks:
        print(f"| {name} | {measured} | {goal} | {'yes' if ok else 'NO'} |")
    print(
        f"\nfirst prediction {f['first_prediction_s']:.2f} s after start; RSS at ready {f['ready_rss_mb']:.0f} MB"
    )
    print("peak RSS by phase, MB: " + ", ".join(f"{k} {v:.0f}" for k, v in f["phase_peak_rss_mb"].items()))
    ceiling = noop["per_s"] / plain["per_s"] if plain["per_s"] else float("inf")
    m = f["model"]
    print(
        f"the most any batching could give here: /noop {noop['per_s']:.1f} calls/s over no batching "
        f"{plain['per_s']:.1f} = {ceiling:.2f}x (a batched /classify cannot beat an endpoint that does nothing); "
        f"the model alone, in process: {m['batched_per_s']:.0f} texts/s in batches of {m['batch']} over "
        f"{m['one_per_s']:.0f} one at a time = {m['batched_per_s'] / m['one_per_s']:.2f}x"
    )
    for x in (batching, plain, rest, noop):
        for e in x["error_examples"]:
            print("error:", e)
    if "bad_phase" in f:
        report_bad(f["bad_phase"])


def report_bad(b: dict) -> None:
    n, bad = b["normal"], b["bad"]
    ok = n["errors"] == 0 and bad["failed"] == 0 and b["peak_rss_mb"] < 400
    print(
        f"\nbad inputs among normal traffic: {n['calls']:,} normal /classify calls from {n['clients']} clients, "
        f"{n['errors']} errors (p50 {n['p50_ms']:.0f} ms, p99 {n['p99_ms']:.0f} ms); {bad['sent']:,} bad requests: "
        f"{bad['refused']:,} refused, {bad['answered']:,} answered, {bad['failed']} failed {bad['failures']}; "
        f"a drift report of {DRIFT_WINDOW:,} predictions in {b['drift_s']:.1f} s; "
        f"peak RSS {b['peak_rss_mb']:.0f} MB (target < 400 MB): {'met' if ok else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
