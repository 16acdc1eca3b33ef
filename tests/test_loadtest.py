"""bench/loadtest.py end to end at a tiny size: it starts the real app (and its no-batching twin), drives it
with real clients and prints every figure and target. The figures themselves are for idle machines, not tests."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, linux_only


@pytest.mark.slow
@linux_only  # peak RSS from /proc
def test_loadtest_runs_and_reports_every_target(tmp_path):
    out = tmp_path / "figures.json"
    args = ["--clients", "3", "--seconds", "1", "--calls", "5", "--csv-rows", "300", "--procs", "2"]
    proc = subprocess.run(
        [sys.executable, "-m", "bench.loadtest", *args, "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    figures = json.loads(out.read_text())
    for phase in (
        "load_gradio_batching",
        "load_gradio_no_batching",
        "load_gradio_noop",
        "load_rest",
        "load_perspective",
    ):
        assert figures[phase]["calls"] > 0 and figures[phase]["errors"] == 0, figures[phase]
    assert figures["csv"]["rows"] == 300 and figures["ready_s"] > 0
    assert set(figures["latency"]) == {
        "rest",
        "perspective",
        "perspective_spans",
        "rest_mixed",
        "classify",
        "noop",
    }  # REST alone, then interleaved
    assert "between Gradio calls" in proc.stdout
    peaks = figures["phase_peak_rss_mb"]  # measured phase by phase, and the run's peak is the largest of them
    assert set(peaks) == {
        "start", "latency", "load_gradio_batching", "load_gradio_noop", "load_rest", "load_perspective", "csv"
    }  # fmt: skip
    assert figures["peak_rss_mb"] == max(peaks.values()) > 100
    model = figures["model"]  # the forward pass alone, one text at a time and in batches
    assert model["batch"] == 16 and model["one_per_s"] > 0 and model["batched_per_s"] > 0
    bad = figures["bad_phase"]  # bad requests among normal callers: none of them fails a normal call
    assert bad["normal"]["calls"] > 0 and bad["normal"]["errors"] == 0 and bad["bad"]["failed"] == 0, bad
    assert bad["bad"]["refused"] > 0 and "bad inputs among normal traffic" in proc.stdout
    assert "peak RSS by phase" in proc.stdout and "the most any batching could give here" in proc.stdout
    for target in (
        "REST p50",
        "comments:analyze p50, one sentence",
        "3 sentences + spans",
        "/noop p50",
        "batching / no batching",
        "ready",
        "peak RSS",
        "batch CSV",
    ):
        assert target in proc.stdout, proc.stdout
