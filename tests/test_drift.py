"""Drift on real data, both ways: held-out texts of the training sources are not flagged, Reddit comments (Ruddit)
are. Plus the reference profile shipped with the model, the descriptors, small windows, logs without texts, the
time series, and ``toxic drift`` with a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest

from tests.conftest import toxic_cli
from toxic.data import DEFAULT_RUDDIT, build_splits, load_ruddit
from toxic.errors import DriftError
from toxic.monitor.drift import FEATURES, MIN_ROWS, compare, current_frame, report_from_log, timeseries
from toxic.monitor.predlog import open_log
from toxic.monitor.profile import DESCRIPTORS, EMBEDDING_PREFIX, describe, load_profile

N = 500  # texts per window: enough for the tests Evidently picks at this size, quick on a small CPU


@pytest.fixture(scope="module")
def reference(clf):
    return load_profile(clf.info.path)


@pytest.fixture(scope="module")
def val_texts():
    return build_splits()["validation"]["text"].sample(N, random_state=1).tolist()


@pytest.fixture(scope="module")
def ruddit_texts():
    if not DEFAULT_RUDDIT.exists():
        pytest.skip(f"Ruddit is not at {DEFAULT_RUDDIT} (read from ../shared, never copied into the repo)")
    return load_ruddit()["text"].sample(N, random_state=1).tolist()


def write_log(clf, path, texts, text_mode="full"):
    log = open_log(path, text_mode=text_mode, salt="pepper")
    probs = clf.predict_proba(texts)
    log.record_many(texts, probs, clf.decide(probs), clf.info.model_id, clf.info.version, labels=clf.labels)
    return log


def test_the_default_model_ships_its_profile(clf, reference):
    hidden = clf.embed(["hello"]).shape[1]
    embedding = [c for c in reference.columns if c.startswith(EMBEDDING_PREFIX)]
    assert len(reference) == 5000 and len(embedding) == hidden
    assert set(DESCRIPTORS) | {"toxic", "hate", "toxic_label", "hate_label"} <= set(reference.columns)
    assert reference[list(DESCRIPTORS)].notna().all().all()
    assert 0.1 < reference["toxic_label"].mean() < 0.9  # training data has both classes
    # The profile belongs to this model: its scores agree with its decisions at the model's thresholds.
    assert ((reference["toxic"] >= clf.thresholds["toxic"]) == reference["toxic_label"].astype(bool)).all()


def test_descriptors(clf):
    frame = describe(
        ["@user you are an IDIOT 😡😡 see example.com/x", "", "Supercalifragilisticexpialidocious", "ok ok"],
        clf.tokenizer,
    )
    first = frame.iloc[0]
    assert (first["mentions"], first["urls"], first["emoji"], first["words"]) == (1, 1, 2, 8)
    assert first["upper_share"] == pytest.approx(5 / 31) and 0 < first["non_letter_share"] < 0.3
    assert frame.iloc[1].sum() == 0  # an empty text has defined, zero descriptors
    assert frame.iloc[2]["oov_share"] == 1.0 and frame.iloc[3]["oov_share"] == 0.0


def test_held_out_texts_of_the_training_sources_are_not_drifted(clf, reference, val_texts, tmp_path):
    log = write_log(clf, tmp_path / "val.sqlite", val_texts)
    result = report_from_log(log, clf, reference, last=N)
    s = result.summary
    assert not s["dataset_drift"], s
    assert s["drift_share"] < 0.5 and not s["embedding"]["drifted"]
    assert abs(s["toxic_rate"]["change"]) < 0.1
    assert set(s["features"]) == set(FEATURES) and s["rows"] == {"current": N, "reference": 5000}
    assert s["window"]["predictions"] == N and "<html" in result.html.lower()
    json.dumps(s)  # plain values


def test_reddit_comments_are_drifted(clf, reference, ruddit_texts, tmp_path):
    log = write_log(clf, tmp_path / "ruddit.sqlite", ruddit_texts)
    s = report_from_log(log, clf, reference, last=N).summary
    assert s["dataset_drift"] and s["drift_share"] >= 0.5, s
    assert s["embedding"]["drifted"] and s["embedding"]["score"] > s["embedding"]["threshold"]
    assert {"length", "words", "mentions"} <= set(s["drifted_features"])  # long, untagged Reddit comments


def test_empty_and_single_row_windows_say_why(clf, reference, tmp_path):
    log = open_log(tmp_path / "empty.sqlite")
    with pytest.raises(DriftError, match="window is empty"):
        report_from_log(log, clf, reference)
    write_log(clf, tmp_path / "empty.sqlite", ["just one comment"])
    with pytest.raises(DriftError, match=f"has 1 prediction: a drift report needs at least {MIN_ROWS}"):
        report_from_log(log, clf, reference)


def test_a_log_without_texts_compares_length_and_scores(clf, reference, val_texts, tmp_path):
    log = write_log(clf, tmp_path / "hashed.sqlite", val_texts[:200], text_mode="hash")
    current, notes = current_frame(clf, log.read())
    result = compare(current, reference, notes)
    assert set(result.summary["features"]) == {"length", "toxic", "hate"}
    assert result.summary["embedding"] is None and "texts are not in the log" in result.summary["notes"][0]


def test_timeseries(clf, reference, val_texts, tmp_path):
    window = write_log(clf, tmp_path / "t.sqlite", val_texts[:90]).read()
    window["time"] = pd.Timestamp("2026-07-20T08:00Z") + pd.to_timedelta(np.arange(90) * 2, unit="min")
    series = timeseries(window, freq="1h", reference=reference)
    assert series["predictions"].tolist() == [30, 30, 30]
    assert series["toxic_rate"].iloc[0] == pytest.approx(window["toxic_label"][:30].mean())
    assert series["toxic_mean"].between(0, 1).all() and (series["toxic_score_drift"] >= 0).all()
    assert timeseries(window.iloc[:0]).empty


# --- the command line, with a real webhook receiver ---------------------------------------------------------------


@pytest.fixture
def webhook():
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Content-Type"], json.loads(body)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_cli_check_alerts_on_drift_and_stays_quiet_without(clf, val_texts, ruddit_texts, tmp_path, webhook):
    url, received = webhook
    write_log(clf, tmp_path / "val.sqlite", val_texts[:200]).close()
    write_log(clf, tmp_path / "ruddit.sqlite", ruddit_texts[:200]).close()

    quiet = toxic_cli("drift", "--log", str(tmp_path / "val.sqlite"), "--out", str(tmp_path / "val.html"),
                      "--check", "--webhook", url)  # fmt: skip
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout)["dataset_drift"] is False and received == []
    assert (tmp_path / "val.html").stat().st_size > 10_000

    loud = toxic_cli("drift", "--log", str(tmp_path / "ruddit.sqlite"), "--last", "200", "--out",
                     str(tmp_path / "r.html"), "--check", "--threshold", "0.5", "--webhook", url)  # fmt: skip
    assert loud.returncode == 1, loud.stderr
    assert "threshold 50%" in loud.stderr
    ((content_type, message),) = received
    assert content_type == "application/json" and set(message) == {"text"}
    assert "Drift in toxic predictions" in message["text"] and "r.html" in message["text"]


def test_cli_bad_inputs(tmp_path, monkeypatch):
    missing = toxic_cli("drift", "--log", str(tmp_path / "nope.sqlite"), "--out", str(tmp_path / "r.html"))
    assert missing.returncode == 2 and "no prediction log at" in missing.stderr
    open_log(tmp_path / "empty.sqlite").close()
    empty = toxic_cli("drift", "--log", str(tmp_path / "empty.sqlite"), "--out", str(tmp_path / "r.html"))
    assert empty.returncode == 2 and "window is empty" in empty.stderr
    assert not (tmp_path / "r.html").exists()
    # No credentials anywhere: no emulator, no key file, no gcloud config, no metadata server.
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    gcs = toxic_cli("drift", "--log", "gs://toxic-logs/app", "--out", str(tmp_path / "r.html"))
    assert gcs.returncode == 2 and "no Google Cloud credentials" in gcs.stderr, gcs.stderr
    typo = toxic_cli("drift", "--log", "gs:/toxic-logs/app")
    assert typo.returncode == 2 and "two slashes" in typo.stderr
