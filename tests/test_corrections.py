"""The corrections store (toxic/monitor/corrections.py): what it keeps under each TOXIC_LOG_TEXT mode, the app's
flags through Service.flag, and `toxic corrections export` as labelled data in toxic.data's format."""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import MODEL_LABELS, toxic_cli
from toxic.data import read_extra
from toxic.errors import DataError, InputError
from toxic.monitor.corrections import CorrectionStore, export_csv, labels_from_choice
from toxic.monitor.predlog import SQLiteLog

LABELS = ("toxic", "hate")


def add(store, text, labels, source="perspective", **kw):
    return store.add(text, labels, source=source, model_id="m", version="v", **kw)


def test_full_text_is_kept_with_labels_scores_and_prediction_id(tmp_path):
    store = CorrectionStore(tmp_path)
    add(store, "you idiot", {"toxic": 1.0}, scores={"toxic": 0.2, "hate": None}, prediction_id="abc")
    (record,) = [json.loads(line) for line in store.path.read_text().splitlines()]
    assert record["text"] == "you idiot" and record["labels"] == {"toxic": 1.0}
    assert record["scores"] == {"toxic": 0.2} and record["prediction_id"] == "abc"
    assert record["source"] == "perspective" and record["model_id"] == "m"


def test_hash_mode_keeps_the_logs_hash_and_none_keeps_nothing(tmp_path):
    text = "some comment ünïcode"
    hashed = CorrectionStore(tmp_path / "h", "hash", "pepper")
    add(hashed, text, {"toxic": 0.0})
    with SQLiteLog(tmp_path / "log.sqlite", "hash", "pepper") as log:
        log.record_many([text], np.array([[0.1, 0.2]]), np.array([[0, 0]]), "m", "v")
        logged = log.read()["text"].iloc[0]
    assert hashed.read()[0]["text"] == logged and logged.startswith("sha256:")
    blind = CorrectionStore(tmp_path / "n", "none")
    add(blind, text, {"toxic": 0.0})
    assert blind.read()[0]["text"] is None
    assert text.encode() not in (tmp_path / "h" / "corrections.jsonl").read_bytes()
    with pytest.raises(InputError, match="salt"):
        CorrectionStore(tmp_path, "hash")


@pytest.mark.parametrize(
    ("labels", "problem"),
    [({}, "at least one"), ({"toxic": 1.5}, "from 0 to 1"), ({"toxic": -0.1}, "from 0 to 1")],
)
def test_bad_corrections_are_refused(tmp_path, labels, problem):
    with pytest.raises(InputError, match=problem):
        add(CorrectionStore(tmp_path), "text", labels)
    with pytest.raises(InputError, match="empty"):
        add(CorrectionStore(tmp_path), "  ", {"toxic": 1})


def test_ui_choices():
    assert labels_from_choice("toxic, not hate", LABELS) == {"toxic": 1.0, "hate": 0.0}
    assert labels_from_choice("not toxic", ("toxic",)) == {"toxic": 0.0}
    with pytest.raises(InputError, match="choose one of"):
        labels_from_choice("maybe", LABELS)


def test_export_is_labelled_data_in_the_training_format(tmp_path):
    store = CorrectionStore(tmp_path)
    add(store, "first, later corrected", {"toxic": 1.0}, source="ui")
    add(store, 'quoted, "comma" text\nwith a line break', {"toxic": 0.2, "hate": 0.9})
    add(store, "first, later corrected", {"toxic": 0.0, "hate": 0.0})
    # a correction the app saved before this store, in its older CSV file
    with (tmp_path / "corrections.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["time", "text", "correction", "toxic", "hate", "model_id", "version"])
        writer.writerow(["2026-01-01T00:00:00", "an old flag", "toxic and hate", 0.1, 0.1, "m", "v"])
    summary = export_csv(store.read(), LABELS, tmp_path / "out.csv")
    assert (summary.rows, summary.corrections, summary.without_text) == (3, 4, 0)
    frame = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert list(frame.columns) == ["text", "toxic", "hate", "source"]
    assert frame.to_dict("records") == [
        {"text": "an old flag", "toxic": 1, "hate": 1, "source": "corrections:ui"},
        {
            "text": 'quoted, "comma" text\nwith a line break',
            "toxic": 0,
            "hate": 1,
            "source": "corrections:perspective",
        },
        {"text": "first, later corrected", "toxic": 0, "hate": 0, "source": "corrections:perspective"},
    ]
    add(store, "says nothing of hate", {"toxic": 1.0})
    export_csv(store.read(), LABELS, tmp_path / "out.csv")
    row = pd.read_csv(tmp_path / "out.csv").iloc[-1]
    assert (row["toxic"], row["hate"]) == (1, -1)  # unknown, masked out of the loss as in toxic.data
    # read back as the training script's --extra-data, which has a label the corrections never mention
    frame = read_extra(tmp_path / "out.csv")
    assert list(frame.columns) == ["text", "toxic", "hate", "insult", "source"]
    assert frame["insult"].eq(-1).all() and len(frame) == 4
    assert set(frame["source"]) == {"corrections:ui", "corrections:perspective"}
    (tmp_path / "bad.csv").write_text("text,toxic\nhi,0.7\n")
    with pytest.raises(DataError, match="must hold 1, 0, or -1"):
        read_extra(tmp_path / "bad.csv")


def test_service_flag_keeps_working_for_the_app(tmp_path, clf):
    from toxic.serve.service import Service
    from toxic.settings import Settings

    settings = dataclasses.replace(Settings.from_env(), flag_dir=tmp_path / "flags")
    service = Service(settings, classifier=clf)
    path = service.flag("you idiot", {"toxic": 0.3, "hate": 0.1}, "toxic, not hate")
    service.flag("fine text", {}, {"toxic": 0.0}, prediction_id="p-1", source="perspective")
    first, second = service.corrections.read()
    assert path == service.corrections.path
    assert first["source"] == "ui" and first["labels"] == {"toxic": 1.0, "hate": 0.0}
    assert second["prediction_id"] == "p-1" and second["scores"] == {}
    with pytest.raises(InputError, match="unknown label profanity"):
        service.flag("x", {}, {"profanity": 1.0})
    with pytest.raises(InputError, match="classify a text first"):
        service.flag("", {}, "not toxic")


def test_cli_export(tmp_path):
    store = CorrectionStore(tmp_path / "flags")
    add(store, "you absolute idiot", {"toxic": 1.0, "hate": 0.0}, source="ui")
    hashed = CorrectionStore(tmp_path / "flags", "hash", "salt")
    add(hashed, "kept as a hash", {"toxic": 0.0})
    out = tmp_path / "labelled.csv"
    result = toxic_cli("corrections", "export", "--dir", str(tmp_path / "flags"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "1 labelled texts from 2 corrections" in result.stderr and "1 left out" in result.stderr
    unknown = {label: -1 for label in MODEL_LABELS}  # labels the correction did not give: masked in training
    assert pd.read_csv(out).to_dict("records") == [
        {"text": "you absolute idiot", **unknown, "toxic": 1, "hate": 0, "source": "corrections:ui"}
    ]
    empty = toxic_cli("corrections", "export", "--dir", str(tmp_path / "none"), "-o", str(out))
    assert empty.returncode == 2 and empty.stderr.startswith("error: no corrections in")
