"""`toxic beam`: the Beam pipeline run for real (FnApiRunner, worker processes) on real files, in .venv-beam.

The pipeline runs in a subprocess of the batch-scoring environment, as a user runs it; what it writes is read back
here with csv, json and pyarrow and compared with `toxic score` on the same rows.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO

BEAM_PYTHON = REPO / ".venv-beam" / "bin" / "python"
pytestmark = pytest.mark.beam


@pytest.fixture(scope="session")
def beam_python() -> Path:
    """The batch-scoring environment's interpreter; its absence fails in CI and skips elsewhere."""
    if BEAM_PYTHON.exists():
        return BEAM_PYTHON
    if os.environ.get("CI"):
        pytest.fail("CI must install the batch-scoring environment (.venv-beam): ./tasks.sh setup-beam")
    pytest.skip("no batch-scoring environment here: ./tasks.sh setup-beam")


def toxic_beam(python: Path, *args: str, env: dict | None = None, timeout: int = 600):
    return subprocess.run(
        [str(python), "-m", "toxic.cli", "beam", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


ONE_WORKER = ("--direct_num_workers=1", "--direct_running_mode=in_memory")  # small files: no worker start-up


def read_scored(prefix: Path) -> pd.DataFrame:
    shards = sorted(prefix.parent.glob(prefix.name + "-[0-9]*-of-*.csv"))
    assert shards, f"no output under {prefix}"
    return pd.concat(
        [pd.read_csv(s, dtype={"id": str}, keep_default_na=False) for s in shards], ignore_index=True
    )


def dead_letters(prefix: Path) -> list[dict]:
    path = prefix.parent / (prefix.name + "-deadletter-00000-of-00001.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def val_tweets(n: int) -> pd.DataFrame:
    from toxic.data import data_dir, read_hate, read_offensive

    root = data_dir()
    texts = pd.concat([read_offensive(root, "val"), read_hate(root, "val")], ignore_index=True)["text"]
    return pd.DataFrame({"id": [f"t{i}" for i in range(n)], "text": texts.head(n).tolist()})


def test_matches_toxic_score_on_2000_val_tweets(beam_python, clf, tmp_path):
    """Two worker processes (the default here) against toxic score's own code on the same file: every row once, the
    same text read, the same scores and decisions. Rows are scored in toxic score's chunks, so the int8 model's
    batch effects (~1% of decisions flip when the same rows are batched otherwise) do not come in."""
    from toxic.batch import score_file

    src = tmp_path / "val.csv"
    val_tweets(2000).to_csv(src, index=False)
    score_file(clf, src, tmp_path / "score.csv")
    expected = pd.read_csv(tmp_path / "score.csv", dtype={"id": str}, keep_default_na=False).set_index("id")
    blank = expected["text"].str.strip() == ""  # toxic score scores it 0; here it is a dead letter

    out = toxic_beam(beam_python, "--input", str(src), "--output", str(tmp_path / "beam" / "val"))
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"scored {2000 - blank.sum():,} rows" in out.stderr and "FnApiRunner" in out.stderr
    got = read_scored(tmp_path / "beam" / "val").set_index("id")
    assert got.index.is_unique and set(got.index) == set(expected.index[~blank])
    expected = expected[~blank]
    got = got.loc[expected.index]
    assert (got["text"] == expected["text"]).all()  # read as toxic score reads it
    assert (got["source_row"].to_numpy() == expected.index.str[1:].astype(int) + 1).all()
    assert set(got["source_file"]) == {str(src)}
    for label in clf.labels:
        assert (got[f"{label}_label"] == expected[f"{label}_label"]).all(), label
        assert np.allclose(got[label], expected[label], atol=1e-6), label
    assert [d["kind"] for d in dead_letters(tmp_path / "beam" / "val")] == ["empty text"] * blank.sum()
    summary = json.loads((tmp_path / "beam" / "val-summary.json").read_text())
    assert summary["rows"] == len(expected) and summary["dead_letters"] == blank.sum()
    assert summary["labels"]["toxic"]["flagged"] == int(got["toxic_label"].sum())
    assert sum(summary["labels"]["hate"]["histogram"]) == len(expected)


def bad_csv(path: Path) -> dict[int, str]:
    """A CSV with good rows and one of each bad kind; returns the bad rows' numbers and their kind."""
    rows = [b"id,text,lang"]
    for i in range(1, 21):
        rows.append(f"g{i},a perfectly ordinary comment number {i},en".encode())
    rows += [
        b"b3,"
        + b"x" * 100_000
        + b",en",  # row 21: 100 KB, and the first 64 KB (what detection reads) are UTF-8
        b"b1,caf\xc3\xa9 \xff a byte that is not UTF-8,fr",  # row 22
        b'b2,"",en',  # row 23: empty text
        b"b4",  # row 24: the text column is missing
        b"b5,too,many,fields",  # row 25
        b"g21,the last good row,en",  # row 26
    ]
    path.write_bytes(b"\n".join(rows) + b"\n")
    return {
        21: "text too long",
        22: "invalid encoding",
        23: "empty text",
        24: "missing text",
        25: "wrong field count",
    }


def test_bad_rows_and_files_go_to_dead_letters_and_reruns_write_the_same_files(beam_python, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    bad = bad_csv(src / "a.csv")
    (src / "b.csv").write_text("id,comment\n1,other columns\n")  # another header: the whole file
    (src / "c.csv").write_bytes(b"%PDF-1.7\x00\x00binary")  # not text at all
    prefix = tmp_path / "out" / "scored"
    args = ("--input", str(src / "*.csv"), "--output", str(prefix), *ONE_WORKER)

    out = toxic_beam(beam_python, *args, env={"TOXIC_MAX_TEXT_CHARS": "20000"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "21 rows" in out.stderr and "7 dead letter(s)" in out.stderr
    scored = read_scored(prefix)
    assert sorted(scored["id"]) == sorted(f"g{i}" for i in range(1, 22))
    letters = dead_letters(prefix)
    by_row = {d["source_row"]: d for d in letters if d["source_file"].endswith("a.csv")}
    assert {n: d["kind"] for n, d in by_row.items()} == bad
    assert (
        by_row[22]["row"]["text"] == "café \\xff a byte that is not UTF-8" and "UTF-8" in by_row[22]["reason"]
    )
    assert "100,000 characters" in by_row[21]["reason"] and "20,000" in by_row[21]["reason"]
    assert "(100,000 characters)" in by_row[21]["row"]["text"]  # repeated cut, not whole
    files = {Path(d["source_file"]).name: d for d in letters if d["source_row"] is None}
    assert files["b.csv"]["kind"] == "other columns" and "'comment'" in files["b.csv"]["reason"]
    assert files["c.csv"]["kind"] == "unreadable file" and "not a comments file" in files["c.csv"]["reason"]
    summary = json.loads((tmp_path / "out" / "scored-summary.json").read_text())
    assert summary["rows"] == 21 and summary["dead_letters"] == 7
    assert summary["dead_letter_kinds"]["empty text"] == 1

    first = {p.name: p.read_bytes() for p in prefix.parent.iterdir()}
    # DirectRunner, as Beam's examples write it, would try Prism first (a binary download): it runs on FnApiRunner
    out = toxic_beam(beam_python, *args, "--runner", "DirectRunner", env={"TOXIC_MAX_TEXT_CHARS": "20000"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "with FnApiRunner" in out.stderr and "prism" not in out.stderr.lower()
    again = {p.name: p.read_bytes() for p in prefix.parent.iterdir()}
    assert (
        set(again)
        == set(first)
        == {
            "scored-00000-of-00001.csv",
            "scored-deadletter-00000-of-00001.jsonl",
            "scored-summary.json",
        }
    )
    assert len(read_scored(prefix)) == 21  # written over, not added to
    for name in first:  # the same rows (their order within a shard is the runner's)
        assert sorted(again[name].splitlines()) == sorted(first[name].splitlines()), name


def test_json_lines_and_parquet(beam_python, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = [
        {"id": 1, "body": "you are wonderful", "meta": {"likes": 3}},
        {"id": 2, "body": "what an idiot"},
        {"id": 3, "other": "no body field"},
        {"id": 4, "body": 12345},
    ]
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text("\n".join(json.dumps(x) for x in lines) + "\n{not json\n", encoding="utf-8")
    out = toxic_beam(
        beam_python, "--input", str(jsonl), "--output", str(tmp_path / "j"), "--field", "body", *ONE_WORKER
    )
    assert out.returncode == 0, out.stderr[-3000:]
    scored = read_scored(tmp_path / "j").set_index("id")
    assert sorted(scored.index) == ["1", "2"]  # JSON values other than strings are written as JSON
    assert json.loads(scored.loc["1", "meta"]) == {"likes": 3}
    assert scored.loc["2", "toxic_label"] == 1 and scored.loc["1", "toxic_label"] == 0
    kinds = {d["source_row"]: d["kind"] for d in dead_letters(tmp_path / "j")}
    assert kinds == {3: "missing text", 4: "not text", 5: "invalid JSON"}

    table = pa.table(
        {"comment_id": pa.array([10, 11], pa.int64()), "text": ["have a nice day", "you stupid moron"]}
    )
    pq.write_table(table, tmp_path / "c.parquet")
    out = toxic_beam(
        beam_python, "--input", str(tmp_path / "c.parquet"), "--output", str(tmp_path / "p"), *ONE_WORKER
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = pq.read_table(tmp_path / "p-00000-of-00001.parquet")
    assert result.schema.field("comment_id").type == pa.int64()  # the input's types are kept
    assert result.schema.names[:2] == ["comment_id", "text"]
    frame = result.to_pandas().set_index("comment_id")
    assert frame.loc[11, "toxic_label"] == 1 and frame.loc[10, "toxic_label"] == 0


def test_without_beam_installed_says_how_to_get_it(tmp_path):
    from tests.conftest import toxic_cli

    out = toxic_cli("beam", "--input", "x.csv", "--output", str(tmp_path / "o"))
    assert out.returncode == 2
    assert "setup-beam" in out.stderr and "Traceback" not in out.stderr


def test_dataflow_needs_an_image_and_gs_paths(beam_python, tmp_path):
    src = tmp_path / "c.csv"
    src.write_text("text\nhello\n")
    dataflow = ("--runner", "DataflowRunner", "--project", "p", "--region", "europe-west1")
    out = toxic_beam(
        beam_python, "--input", str(src), "--output", "gs://b/o", *dataflow, "--temp_location=gs://b/t"
    )
    assert out.returncode == 2 and "--sdk_container_image" in out.stderr, out.stderr[-2000:]
    out = toxic_beam(
        beam_python, "--input", str(src), "--output", "gs://b/o", *dataflow, "--sdk_container_image=img:1"
    )
    assert out.returncode == 2 and "gs:// paths only" in out.stderr, out.stderr[-2000:]
    out = toxic_beam(beam_python, "--input", str(src), "--output", str(tmp_path / "o"), "--dry_run", "j.json")
    assert out.returncode == 2 and "DataflowRunner" in out.stderr


@pytest.mark.slow
def test_gs_paths_on_the_storage_emulator_and_a_dataflow_dry_run(
    beam_python, gcs, user_credentials, tmp_path
):
    """Beam's GCS I/O follows STORAGE_EMULATOR_HOST, with a user's application-default credentials (an unexpired
    token, so nothing asks Google for one). NO_GCE_CHECK keeps google-auth from probing the metadata server."""
    bucket = gcs.bucket("comments")
    bucket.blob("in/part-0.csv").upload_from_string("id,text\n1,have a lovely day\n2,you absolute idiot\n")
    bucket.blob("in/part-1.csv").upload_from_string("id,text\n3,thanks for the help\n")
    env = {"STORAGE_EMULATOR_HOST": gcs.host, "NO_GCE_CHECK": "True", "GOOGLE_CLOUD_PROJECT": "test"}
    env["GOOGLE_APPLICATION_CREDENTIALS"] = str(user_credentials)
    out = toxic_beam(
        beam_python,
        "--input",
        "gs://comments/in/*.csv",
        "--output",
        "gs://comments/out/scored",
        *ONE_WORKER,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    names = sorted(b.name for b in gcs.client().list_blobs("comments", prefix="out/"))
    assert names == [
        "out/scored-00000-of-00001.csv",
        "out/scored-deadletter-00000-of-00001.jsonl",
        "out/scored-summary.json",
    ]
    rows = list(csv.DictReader(bucket.blob("out/scored-00000-of-00001.csv").download_as_text().splitlines()))
    assert {r["id"]: r["toxic_label"] for r in rows} == {"1": "0", "2": "1", "3": "0"}
    assert {r["source_file"] for r in rows} == {"gs://comments/in/part-0.csv", "gs://comments/in/part-1.csv"}

    job = tmp_path / "job.json"
    out = toxic_beam(
        beam_python,
        *("--input", "gs://comments/in/*.csv", "--output", "gs://comments/out/scored"),
        *("--runner", "DataflowRunner", "--project", "my-project", "--region", "europe-west1"),
        *(
            "--temp_location",
            "gs://comments/tmp",
            "--sdk_container_image",
            "europe-docker.pkg.dev/p/r/toxic-beam:1",
        ),
        *("--dry_run", str(job)),
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "nothing was submitted" in out.stderr
    description = json.loads(job.read_text())
    assert description["type"] == "JOB_TYPE_BATCH"
    environment = description["environment"]
    options = environment["sdkPipelineOptions"]["options"]
    assert options["project"] == "my-project" and options["region"] == "europe-west1"
    assert options["sdk_location"] == "container" and options["save_main_session"] is False
    assert environment["tempStoragePrefix"].startswith("storage.googleapis.com/comments/tmp/")
    (pool,) = environment["workerPools"]
    assert [i["containerImage"] for i in pool["sdkHarnessContainerImages"]] == [
        "europe-docker.pkg.dev/p/r/toxic-beam:1"
    ]
    assert not gcs.client().bucket("comments").blob("tmp/staging/pipeline.pb").exists()  # nothing staged
