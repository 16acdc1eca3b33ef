"""Where the time of one REST call goes: POST /api/v1/classify with one text against the model alone.

Measures, interleaved over the same real val tweets (one client, keep-alive, loopback):
- ``model``: ``toxic.Classifier.predict_proba([text])`` in this process (no server running then);
- the REST call against ``python app.py`` started with each environment below, one server at a time:
  ``default``; ``threads=1`` (onnxruntime on one core, leaving the other to the client and the web stack);
  ``log=off`` (no prediction log).

    .venv/bin/python -m bench.rest_latency             # ~2 minutes
    .venv/bin/python -m bench.rest_latency --calls 100 --json runs/rest.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.loadtest import pct, rest_times, val_texts
from tests.app_process import Server
from toxic.classifier import Classifier

VARIANTS = {"default": {}, "threads=1": {"TOXIC_THREADS": "1"}, "log=off": {"TOXIC_LOG": "off"}}


def model_times(texts: list[str], calls: int) -> list[float]:
    clf = Classifier.load()
    for text in texts[:10]:
        clf.predict_proba([text])
    times = []
    for i in range(calls):
        start = time.perf_counter()
        clf.predict_proba([texts[i % len(texts)]])
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    texts = val_texts()[:500]
    results = {"model (in process)": model_times(texts, args.calls)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, env in VARIANTS.items():
            server = Server([sys.executable, "app.py"], env, Path(tmp))
            try:
                with httpx.Client(base_url=server.url, timeout=30) as http:
                    results[f"REST, {name}"] = rest_times(http, texts, args.calls)
            finally:
                server.stop()
    base = pct(results["model (in process)"], 50)
    print(f"| measure ({args.calls} calls, one text each) | p50 ms | p95 ms | mean ms | p50 over the model |")
    print("|---|---|---|---|---|")
    for name, times in results.items():
        p50 = pct(times, 50)
        print(
            f"| {name} | {p50:.2f} | {pct(times, 95):.2f} | {1000 * statistics.mean(times):.2f} | "
            f"{p50 - base:+.2f} ms |"
        )
    if args.json:
        args.json.write_text(json.dumps({k: [1000 * t for t in v] for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
