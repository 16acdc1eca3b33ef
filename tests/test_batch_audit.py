"""The audit trail of scoring: what reaches the prediction log (source, request id, thresholds, model), what the
operator and the caller can keep out of it, how long scored files live, and ``toxic log export``."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import pytest

from toxic.cli import main
from toxic.errors import InputError, LogError
from toxic.monitor.predlog import open_log
from toxic.serve.service import Service
from toxic.settings import Settings


@pytest.fixture
def service(clf, tmp_path):
    log = open_log(tmp_path / "audit.sqlite")
    yield Service(
        dataclasses.replace(Settings.from_env(), file_ttl_s=1, upload_dir=tmp_path), classifier=clf, log=log
    )
    log.close()


def comments_file(tmp_path, n: int = 5):
    path = tmp_path / "comments.csv"
    path.write_text("id,text\n" + "".join(f"{i},comment number {i}\n" for i in range(n)), encoding="utf-8")
    return path


def test_a_scored_file_is_logged_as_batch_with_one_request_id(service, tmp_path):
    out, summary = service.score_csv(comments_file(tmp_path), thresholds={"toxic": 0.2})
    logged = service.log.read()
    assert len(logged) == summary.rows == 5
    assert set(logged["source"]) == {"batch"} and logged["request_id"].nunique() == 1
    assert (logged["toxic_threshold"] == 0.2).all()
    assert (logged["hate_threshold"] == service.clf.thresholds["hate"]).all()
    assert logged["text"].tolist() == [f"comment number {i}" for i in range(5)]
    assert set(logged["version"]) == {service.clf.info.version}
    scored = pd.read_csv(out)
    assert scored["toxic_label"].tolist() == (scored["toxic"] >= 0.2).astype(int).tolist()


def test_batch_logging_can_be_turned_off_by_the_operator_or_the_caller(service, tmp_path, monkeypatch):
    service.score_csv(comments_file(tmp_path), store=False)
    assert len(service.log.read()) == 0
    monkeypatch.setenv("TOXIC_LOG_BATCH", "0")
    quiet = Service(
        dataclasses.replace(Settings.from_env(), upload_dir=tmp_path), classifier=service.clf, log=service.log
    )
    quiet.score_csv(comments_file(tmp_path))
    assert len(service.log.read()) == 0
    quiet.score(["a single text"], source="api")  # the operator's switch is for batches only
    assert len(service.log.read()) == 1


def test_score_logs_the_thresholds_and_request_id_it_decided_at(service):
    probs, decisions = service.score(
        ["you are an idiot", "hello"], source="ui", thresholds={"toxic": 0.99, "hate": 0.0}, request_id="abc"
    )
    assert not decisions[:, 0].any() and decisions[:, 1].all()
    service.score(["unstored"], source="api", store=False)
    service.score(["generated id"], source="api")
    logged = service.log.read()
    assert logged["text"].tolist() == ["you are an idiot", "hello", "generated id"]
    assert logged["request_id"].tolist()[:2] == ["abc", "abc"] and len(logged["request_id"][2]) == 32
    assert logged["toxic_threshold"].tolist()[:2] == [0.99, 0.99] and logged["hate_label"].tolist()[:2] == [
        1,
        1,
    ]
    for bad in ({"toxic": 1.5}, {"toxic": float("nan")}, {"spam": 0.5}, {"toxic": "0.5"}):
        with pytest.raises(InputError, match="threshold|no label"):
            service.score(["x"], source="api", thresholds=bad)
    assert len(service.log.read()) == 3  # a refused call logs nothing


def test_texts_of_several_callers_keep_their_own_request_ids(service):
    """Gradio merges concurrent /classify callers into one call: each text is logged under its caller's id."""
    service.classify(["first caller", "second caller"], request_id=["id-1", "id-2"])
    assert service.log.read()["request_id"].tolist() == ["id-1", "id-2"]
    with pytest.raises(LogError, match="one request id or 2"):
        service.classify(["a", "b"], request_id=["only one"])


def test_scored_files_are_deleted_after_their_ttl(service, tmp_path):
    out, _ = service.score_csv(comments_file(tmp_path))
    assert out.exists()
    deadline = time.monotonic() + 10
    while out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not out.exists() and not out.parent.exists()
    assert service._output_folder().root.exists()  # the folder itself stays for the next job


def test_log_export_as_csv_and_parquet_with_filters(clf, tmp_path, capsys):
    path = tmp_path / "log.sqlite"
    with open_log(path) as log:
        probs = np.array([[0.9, 0.1]], dtype=np.float32)
        log.record_many(
            ['=HYPERLINK("http://x")'], probs, probs > 0.5, "m", "v1", source="ui", request_id="r1"
        )
        log.record_many(
            ["from a file"],
            probs,
            probs > 0.5,
            "m",
            "v1",
            source="batch",
            request_id="r2",
            thresholds={"toxic": 0.4, "hate": 0.41},
        )
    assert main(["log", "export", "--log", str(path), "-o", str(tmp_path / "all.csv")]) == 0
    assert "exported 2 predictions" in capsys.readouterr().err
    frame = pd.read_csv(tmp_path / "all.csv", dtype=str, keep_default_na=False)
    assert frame["text"].tolist() == ['\'=HYPERLINK("http://x")', "from a file"]  # safe in a spreadsheet
    assert frame["request_id"].tolist() == ["r1", "r2"] and frame["toxic_threshold"].tolist() == ["", "0.4"]
    assert frame["time"][0].endswith("Z") and pd.Timestamp(frame["time"][0]).year >= 2026

    assert (
        main(["log", "export", "--log", str(path), "-o", str(tmp_path / "b.parquet"), "--source", "batch"])
        == 0
    )
    batch = pd.read_parquet(tmp_path / "b.parquet")
    assert batch["text"].tolist() == ["from a file"] and str(batch["time"].dt.tz) == "UTC"

    assert (
        main(["log", "export", "--log", str(path), "-o", str(tmp_path / "f.csv"), "--since", "2100-01-01"])
        == 0
    )
    assert len(pd.read_csv(tmp_path / "f.csv")) == 0 and "exported 0" in capsys.readouterr().err
    assert main(["log", "export", "--log", str(path), "-o", str(tmp_path / "x.json")]) == 2
    assert main(["log", "export", "--log", str(path), "-o", str(tmp_path / "no" / "dir.csv")]) == 2
    assert (
        main(["log", "export", "--log", str(tmp_path / "missing.sqlite"), "-o", str(tmp_path / "m.csv")]) == 2
    )
    err = capsys.readouterr().err
    assert "csv or parquet" in err and "cannot write" in err and "no prediction log" in err


def test_cli_score_logs_only_when_asked(clf, tmp_path):
    src = comments_file(tmp_path, 3)
    assert main(["score", str(src), "-o", str(tmp_path / "o.csv"), "-q"]) == 0
    assert not (tmp_path / "cli.sqlite").exists()
    assert (
        main(["score", str(src), "-o", str(tmp_path / "o.csv"), "-q", "--log", str(tmp_path / "cli.sqlite")])
        == 0
    )
    logged = open_log(tmp_path / "cli.sqlite").read()
    assert len(logged) == 3 and set(logged["source"]) == {"cli"} and logged["request_id"].nunique() == 1
    assert (
        main(["score", str(src), "-o", str(tmp_path / "o.csv"), "-q", "--no-header", "--column", "column_2"])
        == 0
    )
    assert len(pd.read_csv(tmp_path / "o.csv")) == 4  # the header line scored as a comment, as asked


def test_the_app_deletes_uploads_and_scored_files_after_their_ttl(clf, tmp_path, monkeypatch):
    """The real app with an 8-second TTL (time enough to upload and score on a busy machine): the upload and
    Gradio's copy of the scored file leave its cache, and the scored rows are in the log with source "batch"."""
    import socket

    from gradio_client import Client, handle_file

    import app
    from toxic.serve.server import BackgroundServer, build_app

    cache = tmp_path / "gradio-cache"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    monkeypatch.setenv("GRADIO_EXAMPLES_CACHE", str(tmp_path / "examples"))
    log = open_log(tmp_path / "app.sqlite")
    service = Service(dataclasses.replace(Settings.from_env(), file_ttl_s=8), classifier=clf, log=log)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = BackgroundServer(build_app(app.build(service), service), "127.0.0.1", port).start(120)
    try:
        scored, *_ = Client(server.url, verbose=False).predict(
            handle_file(str(comments_file(tmp_path, 4))), None, api_name="/score_csv"
        )
        assert len(pd.read_csv(scored)) == 4
        # the upload and the scored file (the Model tab's plots stay: they are part of the page)
        kept = list(cache.rglob("comments*.csv"))
        assert {p.name for p in kept} == {"comments.csv", "comments.scored.csv"}
        deadline = time.monotonic() + 40
        while any(p.exists() for p in kept) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not [p.relative_to(cache) for p in kept if p.exists()]
        logged = log.read()
        assert len(logged) == 4 and set(logged["source"]) == {"batch"}
    finally:
        server.stop()
        log.close()


def test_a_file_that_is_gone_is_a_clear_message_without_its_path(service, tmp_path):
    with pytest.raises(InputError, match="missing.csv is gone: uploads are kept 1 s") as e:
        service.score_csv(tmp_path / "missing.csv")
    assert str(tmp_path) not in str(e.value)
