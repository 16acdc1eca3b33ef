"""The model card of a three-label model: valid Hub metadata, each label's source and attribute, the functional
table. Built from the shipped model's files with an insult label added, and a real functional-suite report."""

import json
import shutil

import numpy as np
from huggingface_hub import ModelCard

from toxic.classifier import DEFAULT_MODEL
from toxic.data import LABEL_SOURCES, PERSPECTIVE
from toxic.eval.functional import FUNCTIONALITIES, expand, load_half, score
from train.card import write_card


def _three_label_model(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    for name in ("toxic.json", "metrics.json", "parity.json"):
        shutil.copy(DEFAULT_MODEL / name, model / name)
    meta = json.loads((model / "toxic.json").read_text())
    labels = ["toxic", "hate", "insult"]
    meta |= {"labels": labels, "thresholds": {**meta["thresholds"], "insult": 0.5}}
    meta |= {"attributes": {PERSPECTIVE[label]: label for label in labels}, "label_sources": LABEL_SOURCES}
    (model / "toxic.json").write_text(json.dumps(meta))
    metrics = json.loads((model / "metrics.json").read_text())
    metrics["val"]["insult"] = {**metrics["val"]["toxic"], "macro_f1": 0.7512, "roc_auc": 0.8345}
    (model / "metrics.json").write_text(json.dumps(metrics))
    parity = json.loads((model / "parity.json").read_text())
    parity["insult"] = parity["toxic"]
    (model / "parity.json").write_text(json.dumps(parity))
    cases = expand(load_half("eval"))
    probs = np.random.default_rng(0).random((len(cases), 3))
    functional = score(cases, probs, labels, meta["thresholds"])
    (model / "report.json").write_text(json.dumps({"quick": False, "functional": functional}))
    return model, functional


def test_a_three_label_card(tmp_path):
    model, functional = _three_label_model(tmp_path)
    card = ModelCard.load(write_card(model))
    f1 = {r.metric_name: r.metric_value for r in card.data.eval_results if r.metric_type == "f1"}
    assert f1["macro-F1 (insult)"] == 0.7512 and set(f1) == {
        f"macro-F1 ({x})" for x in ("toxic", "hate", "insult")
    }
    text = (model / "README.md").read_text()
    assert "3 labels (`toxic`, `hate`, `insult`)" in text
    assert "| `insult` | INSULT | OLID level B" in text and "| `hate` | IDENTITY_ATTACK |" in text
    assert "TweetEval offensive (val) with OLID level B: macro-F1 0.751" in text
    assert f"accuracy over {functional['n_cases']} sentences" in text
    for name in FUNCTIONALITIES:
        row = f"| {name} | " + " | ".join(
            f"{functional['functionalities'][name][label]['accuracy']:.2f}"
            if label in functional["functionalities"][name]
            else "–"
            for label in ("toxic", "hate", "insult")
        )
        assert row in text, name


def test_an_older_card_says_what_it_does_not_know(tmp_path):
    """A two-label export from before label sources were recorded: the shipped model's files with those cut."""
    model = tmp_path / "model"
    model.mkdir()
    for name in ("toxic.json", "metrics.json", "parity.json"):
        shutil.copy(DEFAULT_MODEL / name, model / name)
    meta = json.loads((model / "toxic.json").read_text())
    meta["labels"] = ["toxic", "hate"]
    meta["attributes"] = {"TOXICITY": "toxic", "IDENTITY_ATTACK": "hate"}
    del meta["label_sources"]
    (model / "toxic.json").write_text(json.dumps(meta))
    text = write_card(model).read_text()
    assert "2 labels (`toxic`, `hate`)" in text and "`insult`" not in text
    assert "not recorded with this model" in text  # an older export has no label sources
