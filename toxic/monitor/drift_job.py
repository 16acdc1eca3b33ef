"""A drift report in a short-lived child process, so that Evidently and the report's frames never enter the app.

Importing Evidently adds ~150 MB to a process and a report at the largest window ~140 MB more, most of which the
allocator keeps: in the app's own process that took its peak from ~210 MB to ~510 MB. In a child, the app keeps
only the window it read (a few MB), and everything the report used goes back to the OS when the child exits.

    result, series = run_in_child(window, clf)          # the app (toxic.serve.service.Service.drift)
    python -m toxic.monitor.drift_job < job.pickle      # what the child runs: a pickled job in, a pickled answer out
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pandas as pd

from toxic.errors import DriftError, ToxicError

TIMEOUT_S = 300  # a report at the largest window takes ~10-20 s on 2 cores; past this the child is stopped


def run_in_child(window: pd.DataFrame, clf, timeout: float = TIMEOUT_S):
    """The report (:class:`toxic.monitor.drift.DriftResult`) and the per-hour series of ``window``, computed by a
    child process that loads the same model with the same deobfuscation. A :class:`ToxicError` raised there is
    raised here with the same message."""
    job = {
        "window": window,
        "model": str(clf.info.path),
        "deobfuscate": clf.deobfuscator is not None,
        "threads": min(2, os.cpu_count() or 1),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "toxic.monitor.drift_job"],
            input=pickle.dumps(job),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DriftError(
            f"the drift report took over {timeout:.0f} s and was stopped: try a smaller window"
        ) from None
    if done.returncode != 0 or not done.stdout:
        sys.stderr.write(done.stderr.decode("utf-8", "replace")[-4000:])  # for the operator, not the caller
        raise DriftError("the drift report failed; the server's log has the details")
    answer = pickle.loads(done.stdout)  # our own child's output, never a caller's bytes
    if isinstance(answer, ToxicError):
        raise answer
    return answer


def _child() -> None:
    from toxic.classifier import Classifier
    from toxic.monitor.drift import report_from_window, timeseries
    from toxic.monitor.profile import load_profile

    job = pickle.loads(sys.stdin.buffer.read())
    try:
        clf = Classifier.load(job["model"], threads=job["threads"], deobfuscate=job["deobfuscate"])
        reference = load_profile(clf.info.path)
        answer = (
            report_from_window(job["window"], clf, reference),
            timeseries(job["window"], "1h", reference),
        )
    except ToxicError as e:
        answer = e
    sys.stdout.buffer.write(pickle.dumps(answer))


if __name__ == "__main__":
    _child()
