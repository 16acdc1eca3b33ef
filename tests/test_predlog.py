"""The prediction log against real sinks: SQLite files, and gcp-storage-emulator on 127.0.0.1 (stopped and restarted
for outages), a writer process killed with SIGKILL, and every bad input the issue names."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.conftest import REPO
from tests.storage_emulator import Emulator
from toxic.errors import LogError
from toxic.monitor.gcs_sink import GCSConfig
from toxic.monitor.predlog import COLUMNS, open_log

FAST = GCSConfig(batch_records=200, flush_seconds=0.1, timeout=3, first_backoff=0.1, max_backoff=0.5)


def scores(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    probs = np.random.default_rng(seed).random((n, 2)).astype(np.float32)
    return probs, probs >= 0.5


def record(log, texts: list[str], source: str = "app") -> None:
    probs, decisions = scores(len(texts))
    log.record_many(texts, probs, decisions, "toxic-test", "v1", source=source)


@pytest.fixture
def gcs_disk(tmp_path, monkeypatch):
    """An emulator that keeps its objects on disk, so a stop()/start() outage loses nothing on the server side."""
    emulator = Emulator(data_dir=str(tmp_path / "gcs-data"))
    emulator.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "test")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    yield emulator
    emulator.stop()


@pytest.fixture(params=["sqlite", "gcs"])
def log_uri(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "logs" / "predictions.sqlite")
    gcs = request.getfixturevalue("gcs")
    bucket = f"log-{request.node.name.split('[')[0][-20:].replace('_', '-')}-{time.monotonic_ns() % 10**6}"
    gcs.bucket(bucket)
    return f"gs://{bucket}/predictions"


def opened(uri: str, tmp_path, **kwargs):
    if uri.startswith("gs://"):
        return open_log(uri, spill_dir=tmp_path / "spill", config=FAST, **kwargs)
    return open_log(uri, **kwargs)


# --- round trips ----------------------------------------------------------------------------------------------------


def test_round_trip(log_uri, tmp_path):
    before = datetime.now(UTC)
    log = opened(log_uri, tmp_path)
    probs = np.array([[0.91, 0.12], [0.05, 0.01], [0.7, 0.66]], dtype=np.float32)
    log.record_many(
        ["you idiot", "nice day", "é ünïcode 🙂"], probs, probs >= 0.5, "toxic-test", "v1", source="api"
    )
    assert log.flush()
    frame = log.read()
    log.close()
    assert list(frame.columns) == list(COLUMNS) and len(frame) == 3
    row = frame.iloc[2]
    assert row["text"] == "é ünïcode 🙂" and row["length"] == len("é ünïcode 🙂")
    assert (row["toxic_label"], row["hate_label"]) == (1, 1) and row["toxic"] == pytest.approx(0.7, abs=1e-6)
    assert (row["model_id"], row["version"], row["source"]) == ("toxic-test", "v1", "api")
    assert str(frame["time"].dt.tz) == "UTC" and frame["time"].min() >= before - timedelta(seconds=1)

    again = opened(log_uri, tmp_path)  # a restarted app appends to the same log
    record(again, ["fourth"])
    again.flush()
    assert again.read(last=2)["text"].tolist() == ["é ünïcode 🙂", "fourth"]
    assert len(again.read(since=datetime.now(UTC) + timedelta(hours=1))) == 0
    assert len(again.read(until=before - timedelta(hours=1))) == 0
    assert len(again.read(last=0)) == 0
    again.close()


def test_audit_columns_round_trip(log_uri, tmp_path):
    log = opened(log_uri, tmp_path)
    probs = np.array([[0.45, 0.2], [0.3, 0.5]], dtype=np.float32)
    at = {"toxic": 0.42, "hate": 0.55}
    log.record_many(
        ["a", "b"], probs, probs >= [0.42, 0.55], "m", "v2", source="batch", request_id="r1", thresholds=at
    )
    log.record_many(["c"], probs[:1], probs[:1] >= 0.5, "m", "v2", source="api")  # a caller that says nothing
    log.flush()
    frame = log.read()
    log.close()
    assert frame["request_id"].tolist() == ["r1", "r1", None]
    assert frame["toxic_threshold"].tolist()[:2] == [0.42, 0.42] and frame["hate_threshold"].iloc[0] == 0.55
    assert frame["toxic_threshold"].isna().tolist() == [False, False, True]
    assert frame["source"].tolist() == ["batch", "batch", "api"]


def test_a_third_label_is_kept_by_name_and_left_empty_for_a_model_without_it(log_uri, tmp_path):
    log = opened(log_uri, tmp_path)
    probs = np.array([[0.8, 0.1, 0.7], [0.2, 0.3, 0.1]], dtype=np.float32)  # a model's own label order
    labels = ("insult", "hate", "toxic")
    at = {"toxic": 0.5, "hate": 0.4, "insult": 0.45}
    log.record_many(["x", "y"], probs, probs >= 0.45, "m3", "v", labels=labels, thresholds=at)
    log.record_many(["z"], np.array([[0.9, 0.2]]), np.array([[1, 0]]), "m2", "v", thresholds=at)
    log.flush()
    frame = log.read()
    log.close()
    assert frame["toxic"].tolist()[:2] == pytest.approx([0.7, 0.1]) and frame["hate"].iloc[
        1
    ] == pytest.approx(0.3)
    assert frame["insult"].tolist()[:2] == pytest.approx([0.8, 0.2]) and np.isnan(frame["insult"].iloc[2])
    assert frame["insult_label"].isna().tolist() == [False, False, True]
    assert frame["insult_label"].iloc[:2].tolist() == [1, 0] and frame["toxic_label"].tolist() == [1, 0, 1]
    assert frame["insult_threshold"].tolist()[:2] == [0.45, 0.45] and np.isnan(
        frame["insult_threshold"].iloc[2]
    )
    with opened(log_uri, tmp_path) as again, pytest.raises(LogError, match="toxic and hate; missing hate"):
        again.record_many(["w"], probs[:1, :2], probs[:1, :2] > 0, "m", "v", labels=("insult", "toxic"))


SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE predictions (
    id INTEGER PRIMARY KEY, time REAL NOT NULL, model_id TEXT NOT NULL, version TEXT NOT NULL,
    source TEXT NOT NULL, toxic REAL NOT NULL, hate REAL NOT NULL, toxic_label INTEGER NOT NULL,
    hate_label INTEGER NOT NULL, length INTEGER NOT NULL, text TEXT
);
CREATE INDEX predictions_time ON predictions (time);
INSERT INTO meta VALUES ('format', 'toxic-prediction-log'), ('schema', '1');
INSERT INTO predictions VALUES (1, 1780000000.5, 'm', 'v1', 'ui', 0.9, 0.1, 1, 0, 9, 'old words');
"""


def test_a_schema_1_log_is_migrated_in_place_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_1)
    conn.close()

    def schema() -> str:
        return sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]

    with open_log(path, create=False) as reader:  # a reader leaves the file as it is and reads NULLs
        old = reader.read()
    assert schema() == "1" and old["text"].tolist() == ["old words"] and old["request_id"].tolist() == [None]
    with open_log(path) as log:  # a writer migrates
        log.record_many(
            ["new"],
            np.array([[0.2, 0.3]]),
            np.zeros((1, 2)),
            "m",
            "v2",
            request_id="r9",
            thresholds={"toxic": 0.4, "hate": 0.41},
        )
        frame = log.read()
    assert schema() == "3"
    assert frame["text"].tolist() == ["old words", "new"] and frame["insult"].isna().all()
    assert frame["request_id"].tolist() == [None, "r9"] and np.isnan(frame["toxic_threshold"].iloc[0])
    assert frame["hate_threshold"].iloc[1] == 0.41 and frame["toxic"].iloc[0] == 0.9
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema'")
    conn.commit()
    conn.close()
    with pytest.raises(LogError, match="newer version of toxic"):
        open_log(path)


def test_text_modes_hash_and_none(tmp_path):
    texts = ["you idiot", "hello there"]
    with open_log(tmp_path / "h.sqlite", text_mode="hash", salt="pepper") as log:
        record(log, texts)
        hashed = log.read()["text"].tolist()
    with open_log(tmp_path / "h2.sqlite", text_mode="hash", salt="other") as log:
        record(log, texts)
        other = log.read()["text"].tolist()
    with open_log(tmp_path / "n.sqlite", text_mode="none") as log:
        record(log, texts)
        none = log.read()
    assert all(h.startswith("sha256:") and len(h) == 7 + 64 for h in hashed)
    assert hashed[0] != hashed[1] and hashed != other and "idiot" not in "".join(hashed)
    assert none["text"].isna().all() and none["length"].tolist() == [9, 11]
    with pytest.raises(LogError, match="salt"):
        open_log(tmp_path / "x.sqlite", text_mode="hash")
    with pytest.raises(LogError, match="text_mode"):
        open_log(tmp_path / "x.sqlite", text_mode="partial")


def test_sqlite_is_wal_and_survives_reading_while_writing(tmp_path):
    path = tmp_path / "p.sqlite"
    log = open_log(path)
    record(log, ["a"])
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    log.close()


# --- concurrency, outages, crashes ------------------------------------------------------------------------------------


def test_8_threads_10000_records_arrive_exactly_once(log_uri, tmp_path):
    log = opened(log_uri, tmp_path)
    sizes = [1, 3, 7, 1, 16]  # mixed batch sizes, as single and batch predictions arrive

    def writer(w: int) -> None:
        i = 0
        while i < 1250:
            n = min(sizes[i % len(sizes)], 1250 - i)
            record(log, [f"w{w}-{j}" for j in range(i, i + n)])
            i += n

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    texts = opened(log_uri, tmp_path).read()["text"]
    counts = Counter(texts)
    assert len(texts) == 10_000 and max(counts.values()) == 1
    assert set(counts) == {f"w{w}-{j}" for w in range(8) for j in range(1250)}


def test_gcs_outage_mid_stream_loses_and_duplicates_nothing(gcs_disk, tmp_path):
    gcs_disk.bucket("outage")
    spill = tmp_path / "spill"
    config = GCSConfig(
        batch_records=50, flush_seconds=0.05, max_buffer=400, timeout=2, first_backoff=0.1, max_backoff=0.3
    )
    log = open_log("gs://outage/p", spill_dir=spill, config=config)
    marks = {k: threading.Event() for k in (600, 1800)}
    peak = [0]

    def writer() -> None:
        for i in range(3000):
            record(log, [f"r{i}"])
            peak[0] = max(peak[0], log.stats()["buffered"])
            if i in marks:
                marks[i].set()
            time.sleep(0.0005)

    thread = threading.Thread(target=writer)
    thread.start()
    assert marks[600].wait(60)
    gcs_disk.stop()
    assert marks[1800].wait(60)
    assert log.flush(30)
    during = log.stats()
    assert during["spilled_batches"] > 0 and not during["bucket_ok"] and during["errors"] > 0
    gcs_disk.start()
    thread.join(60)
    log.close()
    assert list(spill.glob("*.ndjson")) == []  # everything spilled was uploaded once the bucket came back
    assert peak[0] <= config.max_buffer  # memory stayed bounded
    texts = open_log("gs://outage/p", spill_dir=tmp_path / "reader").read()["text"].tolist()
    assert len(texts) == 3000 and set(texts) == {f"r{i}" for i in range(3000)}


def test_gcs_counters_with_six_writers_through_an_outage(gcs_disk, tmp_path):
    """Six writers, a buffer small enough that their own threads spill while the uploader spills and drains:
    after the outage every record is in the bucket once and the counters add up."""
    bucket = gcs_disk.bucket("counters")
    config = GCSConfig(
        batch_records=40, flush_seconds=0.05, max_buffer=120, timeout=2, first_backoff=0.1, max_backoff=0.3
    )
    log = open_log("gs://counters/p", spill_dir=tmp_path / "spill", config=config)
    writers, per_writer = 6, 600
    halfway = threading.Barrier(writers + 1)
    resume = threading.Event()

    def writer(w: int) -> None:
        for i in range(per_writer):
            record(log, [f"w{w}-{i}"])
            if i == per_writer // 3:
                halfway.wait(60)
            if i == 2 * per_writer // 3:
                resume.wait(60)
            time.sleep(0.0002)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    halfway.wait(60)
    gcs_disk.stop()  # the outage: writers go on while the bucket is away
    time.sleep(1.0)
    during = log.stats()
    gcs_disk.start()
    resume.set()
    for t in threads:
        t.join(60)
    log.close()
    after = log.stats()
    objects = [b.name for b in bucket.client.list_blobs("counters", prefix="p/")]
    assert during["errors"] > 0 and not during["bucket_ok"]
    assert after["spills"] > 0 and after["spilled_batches"] == 0 and after["bucket_ok"]
    assert after["accepted_records"] == after["handled_records"] == writers * per_writer
    assert after["uploaded_objects"] == len(objects) and after["buffered"] == 0
    texts = open_log("gs://counters/p", spill_dir=tmp_path / "reader").read()["text"].tolist()
    assert len(texts) == writers * per_writer
    assert set(texts) == {f"w{w}-{i}" for w in range(writers) for i in range(per_writer)}


def test_gcs_close_during_outage_spills_and_next_process_uploads(gcs_disk, tmp_path):
    gcs_disk.bucket("later")
    spill = tmp_path / "spill"
    log = open_log("gs://later/p", spill_dir=spill, config=FAST)
    gcs_disk.stop()
    record(log, [f"t{i}" for i in range(25)])
    log.close()  # the bucket is down: the buffer goes to disk
    assert len(list(spill.glob("*.ndjson"))) == 1
    gcs_disk.start()
    again = open_log("gs://later/p", spill_dir=spill, config=FAST)  # uploads the backlog first
    again.close()
    assert list(spill.glob("*.ndjson")) == []
    assert sorted(open_log("gs://later/p", spill_dir=tmp_path / "r").read()["text"]) == sorted(
        f"t{i}" for i in range(25)
    )


def test_gcs_retried_upload_of_a_batch_that_landed_does_not_duplicate(gcs, tmp_path):
    bucket = gcs.bucket("retry")
    log = open_log("gs://retry/p", spill_dir=tmp_path / "s1", config=FAST)
    record(log, [f"x{i}" for i in range(10)])
    log.close()
    (blob,) = list(gcs.client().list_blobs("retry", prefix="p/"))
    # The upload landed but, say, its response was lost: the same batch also waits in a spill folder.
    spill = tmp_path / "s2"
    spill.mkdir()
    (spill / blob.name.rsplit("/", 1)[1]).write_bytes(bucket.blob(blob.name).download_as_bytes())
    open_log("gs://retry/p", spill_dir=spill, config=FAST).close()
    assert list(spill.glob("*.ndjson")) == []
    assert sorted(open_log("gs://retry/p", spill_dir=tmp_path / "r").read()["text"]) == sorted(
        f"x{i}" for i in range(10)
    )


WRITER = """
import sys, numpy as np
from toxic.monitor.predlog import open_log
log = open_log(sys.argv[1])
probs = np.array([[0.9, 0.1]], dtype=np.float32)
i = 0
while True:
    log.record_many([f"id-{i}"], probs, probs > 0.5, "toxic-test", "v1")
    print(i, flush=True)  # acknowledged: record_many returned
    i += 1
"""


def test_sqlite_keeps_every_acknowledged_record_through_sigkill(tmp_path):
    path = tmp_path / "crash.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    acknowledged = []
    for line in proc.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) == 300:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    texts = set(open_log(path, create=False).read()["text"])
    assert {f"id-{i}" for i in acknowledged} <= texts


# --- bad input ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri, message",
    [
        ("gs://Bad_Bucket/x", "not a valid bucket name"),
        ("gs:/bucket/x", "two slashes"),
        ("gcs://bucket/x", "gs://BUCKET"),
        ("gs:///x", "names no bucket"),
        ("s3://bucket/x", "unsupported log URI scheme"),
        ("", "empty"),
    ],
)
def test_malformed_uris(uri, message):
    with pytest.raises(LogError, match=message):
        open_log(uri)


def test_misspelled_bucket(gcs, tmp_path):
    gcs.bucket("predictions-prod")
    with pytest.raises(LogError, match="gs://predictions-prdo does not exist"):
        open_log("gs://predictions-prdo/app", spill_dir=tmp_path)


def test_unreachable_bucket(gcs, monkeypatch, tmp_path):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(LogError, match="cannot reach gs://logs"):
        open_log("gs://logs/app", spill_dir=tmp_path, config=GCSConfig(timeout=1))


def test_missing_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))
    with pytest.raises(LogError, match="no Google Cloud credentials"):
        open_log("gs://logs/app", spill_dir=tmp_path)


def test_files_that_are_not_our_log(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("these are my notes\n" * 100)
    with pytest.raises(LogError, match="not a SQLite database"):
        open_log(text)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(LogError, match=r"not a prediction log \(its tables: users\)"):
        open_log(other)
    assert sqlite3.connect(other).execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # left untouched
    with pytest.raises(LogError, match="is a directory"):
        open_log(tmp_path)
    with pytest.raises(LogError, match="no prediction log at"):
        open_log(tmp_path / "missing.sqlite", create=False)


def test_corrupted_log(tmp_path):
    path = tmp_path / "p.sqlite"
    with open_log(path) as log:
        for i in range(20):
            record(log, [f"comment number {i}-{j} " * 5 for j in range(100)])
    size = path.stat().st_size
    assert size > 64 * 1024
    with path.open("r+b") as f:  # a disk error: a few pages in the middle overwritten
        f.seek(size // 2)
        f.write(np.random.default_rng(0).bytes(3 * 4096))
    with pytest.raises(LogError, match="corrupted"):
        open_log(path).read()
    with path.open("r+b") as f:  # the header gone
        f.write(b"\0" * 100)
    with pytest.raises(LogError, match="not a SQLite database|corrupted"):
        open_log(path)


def test_record_many_checks_shapes(tmp_path):
    with open_log(tmp_path / "p.sqlite") as log, pytest.raises(LogError, match="shape"):
        log.record_many(["a", "b"], np.zeros((3, 2)), np.zeros((3, 2)), "m", "v")
