"""`toxic beam` on one machine against `toxic score`, on the same CSV, in one run.

    .venv-beam/bin/python -m bench.beam [--rows 100000] [--workers 2]

Builds a CSV of ``--rows`` tweets (the tweeteval texts in data/, repeated), scores it with ``toxic score`` and with
``toxic beam`` (FnApiRunner, ``--workers`` worker processes), each in its own process of this interpreter, and
prints wall-clock rows/s of each (start-up included, as a user waits for it), their ratio (target: Beam >= 0.70 of
toxic score), rows/s per core, and peak memory: toxic score's process, and the largest Beam worker process (the
job's ``worker_peak_rss_mb`` metric). The two outputs are checked to hold the same decisions.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.70


def build_csv(path: Path, rows: int) -> None:
    from toxic.data import data_dir, read_hate, read_offensive

    root = data_dir()
    texts = pd.concat(
        [read(root, split) for read in (read_offensive, read_hate) for split in ("train", "val")]
    )
    texts = texts["text"].tolist()
    repeated = (texts * (rows // len(texts) + 1))[:rows]
    pd.DataFrame({"id": range(1, rows + 1), "text": repeated}).to_csv(path, index=False)


def timed(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "toxic.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"toxic {args[0]} failed:\n{out.stderr[-3000:]}")
    return elapsed, out.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="Beam worker processes (default 2)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "comments.csv"
        build_csv(src, args.rows)
        score_s, _ = timed(["score", str(src), "-o", str(Path(tmp) / "score.csv"), "-q"])
        score_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024  # the only child so far
        workers = [f"--direct_num_workers={args.workers}", "--direct_running_mode=multi_processing"]
        beam_s, log = timed(["beam", "--input", str(src), "--output", str(Path(tmp) / "beam"), *workers])
        worker_peak = re.search(r"peak RSS per worker (\d+) MB", log)
        score = pd.read_csv(Path(tmp) / "score.csv", usecols=["id", "toxic_label", "hate_label"]).set_index(
            "id"
        )
        beam = pd.concat(
            pd.read_csv(p, usecols=["id", "toxic_label", "hate_label"]) for p in Path(tmp).glob("beam-0*")
        )
        beam = beam.set_index("id")
        dead = len(score) - len(beam)  # empty texts: toxic score scores them, toxic beam dead-letters them
        same = bool((beam == score.loc[beam.index]).all().all())
    score_rate, beam_rate = args.rows / score_s, args.rows / beam_s
    print(f"{args.rows:,} rows, {cores} cores, {args.workers} Beam worker processes (FnApiRunner)")
    print(f"  toxic score : {score_s:7.1f} s  {score_rate:7.1f} rows/s  peak RSS {score_peak} MB")
    print(
        f"  toxic beam  : {beam_s:7.1f} s  {beam_rate:7.1f} rows/s  peak RSS per worker "
        f"{worker_peak.group(1) if worker_peak else '?'} MB"
    )
    print(f"  ratio beam / score: {beam_rate / score_rate:.2f} (target >= {TARGET_RATIO:.2f})")
    print(
        f"  beam rows/s per core: {beam_rate / cores:.1f}; the same decisions on every row it scored: {same}"
    )
    print(f"  rows Beam sent to its dead-letter output (empty texts, which toxic score scores): {dead:,}")


if __name__ == "__main__":
    main()
