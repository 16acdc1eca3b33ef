"""What logging adds to a prediction: ``record_many`` into SQLite and into GCS, against no logging, same run.

    python -m bench.bench_predlog [--calls 2000]

First the cost of a prediction without logging (one text through the embedded model), then the time spent in
``record_many`` per prediction for each sink and text mode, one text a call (the app's single predictions) and 32
a call (a batch), with the overhead as a share of the prediction. The GCS sink writes to gcp-storage-emulator,
started here on 127.0.0.1; its uploads run in the background thread, as in the app. Target: <= 0.2 ms.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.storage_emulator import Emulator
from toxic.classifier import Classifier
from toxic.monitor.predlog import open_log

TEXT = "Honestly this is the dumbest take I have read all week, you clown."


def per_call(fn, calls: int) -> np.ndarray:
    times = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter()
        fn(i)
        times[i] = time.perf_counter() - start
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="record_many calls per case")
    args = parser.parse_args()

    clf = Classifier.load()
    clf.predict_proba([TEXT])  # warm up
    predict = per_call(lambda i: clf.predict_proba([TEXT]), 200)
    predict_ms = float(np.median(predict)) * 1e3
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"prediction without logging (1 text): median {predict_ms:.2f} ms, p99 {np.percentile(predict, 99) * 1e3:.2f} ms"
    )

    probs = clf.predict_proba([TEXT] * 32)
    decisions = clf.decide(probs)
    tmp = Path(tempfile.mkdtemp(prefix="bench-predlog-"))
    emulator = Emulator()
    emulator.start()
    os.environ["STORAGE_EMULATOR_HOST"] = emulator.host
    emulator.bucket("bench")
    sinks = {"sqlite": lambda mode: open_log(tmp / f"{mode}.sqlite", text_mode=mode, salt="s")}
    sinks["gcs"] = lambda mode: open_log(
        f"gs://bench/{mode}", text_mode=mode, salt="s", spill_dir=tmp / "spill"
    )

    print(f"\n{'sink':7} {'text':5} {'batch':>5} {'us/prediction':>14} {'p99 us':>8} {'vs prediction':>14}")
    try:
        for sink, opener in sinks.items():
            for mode in ("full", "hash"):
                for batch in (1, 32):
                    log = opener(mode)
                    texts = [f"{TEXT} {j}" for j in range(batch)]
                    p, d = probs[:batch], decisions[:batch]
                    times = per_call(lambda i: log.record_many(texts, p, d, "toxic", "v1"), args.calls)  # noqa: B023
                    log.close()
                    us = float(np.median(times)) / batch * 1e6
                    p99 = float(np.percentile(times, 99)) / batch * 1e6
                    share = us / 1e3 / predict_ms
                    print(f"{sink:7} {mode:5} {batch:5d} {us:14.1f} {p99:8.1f} {share:13.2%}")
    finally:
        emulator.stop()
    print("\nus/prediction: median time in record_many divided by the texts per call; target <= 200 us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
