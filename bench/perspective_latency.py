"""One client's latency on the Perspective-compatible API against `python app.py` over loopback, next to the REST
route's in the same run (its baseline): POST /api/v1/classify (one text), POST /v1alpha1/comments:analyze with a
one-sentence comment (TOXICITY, no spans), and with a three-sentence comment and spanAnnotations, interleaved
call by call so that the machine's load hits each alike. The same comments as bench/loadtest.py's phases.

    .venv/bin/python -m bench.perspective_latency              # 200 calls of each, ~30 s
    .venv/bin/python -m bench.perspective_latency --calls 500
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.loadtest import ANALYZE, analyze_body, pct, perspective_comments, val_texts
from tests.app_process import Server

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200, help="timed calls of each kind (after 10 untimed)")
    args = parser.parse_args(argv)
    texts = val_texts()
    one, three = perspective_comments(texts)
    kinds = {
        "REST /api/v1/classify, one text": lambda i: ("/api/v1/classify", {"text": texts[i % len(texts)]}),
        "comments:analyze, 1 sentence": lambda i: (ANALYZE, analyze_body(one[i % len(one)])),
        "comments:analyze, 3 sentences + spans": lambda i: (
            ANALYZE,
            analyze_body(three[i % len(three)], True),
        ),
    }
    times: dict[str, list[float]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        server = Server([sys.executable, "app.py"], {}, Path(tmp))
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for i in range(args.calls + 10):
                    for name, request in kinds.items():
                        path, body = request(i)
                        start = time.perf_counter()
                        http.post(path, json=body).raise_for_status()
                        if i >= 10:
                            times[name].append(time.perf_counter() - start)
        finally:
            server.stop()
    base = pct(times["REST /api/v1/classify, one text"], 50)
    print(f"\none client, loopback, {args.calls} calls each, interleaved\n")
    print("| call | p50 ms | p95 ms | p50 / REST p50 |\n|---|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {pct(t, 50):.1f} | {pct(t, 95):.1f} | {pct(t, 50) / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
