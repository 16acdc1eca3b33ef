"""Publishing to the Hub (toxic.hub, `toxic push`): the dry run, the checks before sending, the offline round trip."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from huggingface_hub import ModelCard, metadata_load

from tests.conftest import MODEL_LABELS, toxic_cli
from tests.hub_cache import fill_hub_cache
from toxic.classifier import DEFAULT_MODEL
from toxic.errors import ModelError
from toxic.hub import check_card, push

SHIPPED = [
    "README.md",
    "config.json",
    "metrics.json",
    "model.onnx",
    "parity.json",
    "report.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "toxic.json",
    "vocab.txt",
]


@pytest.fixture
def model_dir(tmp_path):
    """The embedded model as an export leaves it, plus plots and a reference profile, and files that must stay."""
    d = tmp_path / "onnx"
    shutil.copytree(DEFAULT_MODEL, d)
    (d / "plots").mkdir(exist_ok=True)
    (d / "plots" / "roc.png").write_bytes(b"\x89PNG fake")
    (d / "reference.parquet").write_bytes(b"PAR1")
    (d / "hub.json").write_text("{}")  # the record of an earlier push: never uploaded
    (d / "scratch.npy").write_bytes(b"\0")  # not a model file
    (d / ".DS_Store").write_bytes(b"\0")
    return d


def test_dry_run_lists_exactly_the_files_and_the_card(model_dir):
    out = toxic_cli("push", str(model_dir), "toxic-org/toxic-minilm", "--dry-run")
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    shipped = set(SHIPPED) & {p.name for p in model_dir.iterdir()}
    plots = {f"plots/{p.name}" for p in (model_dir / "plots").glob("*.png")}
    assert "plots/roc.png" in plots
    assert plan["files"] == sorted(shipped | plots | {"reference.parquet"})
    assert plan["repo_id"] == "toxic-org/toxic-minilm" and plan["revision"] == "main"
    assert plan["card"] == metadata_load(model_dir / "README.md")
    assert not (model_dir / "hub.json").read_text().strip("{}")  # a dry run records nothing


def test_embedded_card_is_valid_hub_metadata_with_the_model_metrics():
    metadata = check_card(DEFAULT_MODEL)
    card = ModelCard.load(DEFAULT_MODEL / "README.md")
    # the int8 model's own val figures from the evaluation suite (report.json), which the card prefers
    metrics = json.loads((DEFAULT_MODEL / "report.json").read_text())["val"]
    f1 = {r.metric_name: r.metric_value for r in card.data.eval_results if r.metric_type == "f1"}
    assert f1 == {f"macro-F1 ({label})": round(metrics[label]["macro_f1"], 4) for label in MODEL_LABELS}
    assert metadata["pipeline_tag"] == "text-classification" and metadata["license"] == "apache-2.0"


def _no_card(d):
    (d / "README.md").unlink()


def _no_hate_metrics(d):
    m = json.loads((d / "metrics.json").read_text())
    del m["val"]["hate"]
    (d / "metrics.json").write_text(json.dumps(m))


def _card_without_model_index(d):
    (d / "README.md").write_text("---\nlicense: apache-2.0\n---\n# a card\n")


def _broken_card(d):
    (d / "README.md").write_text("---\nlicense: [apache-2.0\n---\n# a card\n")


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_no_card, "has no model card"),
        (_no_hate_metrics, "lacks validation metrics (hate.macro_f1, hate.roc_auc, hate.threshold)"),
        (_card_without_model_index, "no model-index metrics"),
        (_broken_card, "not valid Hub metadata"),
    ],
)
def test_a_model_dir_that_cannot_be_published_is_refused_before_sending(model_dir, spoil, message):
    spoil(model_dir)
    with pytest.raises(ModelError, match=re.escape(message)):
        push(model_dir, "toxic-org/x", dry_run=True)
    out = toxic_cli("push", str(model_dir), "toxic-org/x")
    assert out.returncode == 2 and message in out.stderr and out.stdout == "", out.stderr


def test_no_token_is_a_clear_message(model_dir, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)  # and HF_HOME is this test's own: no saved token either
    out = toxic_cli("push", str(model_dir), "toxic-org/x")
    assert out.returncode == 2, out.stderr
    assert "no Hugging Face token: set HF_TOKEN" in out.stderr
    out = toxic_cli("push", str(model_dir), "not-a-repo-id", "--dry-run")
    assert out.returncode == 2 and "expected ORG/NAME" in out.stderr


def test_pushed_folder_round_trips_through_the_hub_cache_offline(model_dir, tmp_path, monkeypatch):
    plan = push(model_dir, "toxic-org/toxic-minilm", revision="v2", dry_run=True)
    cache = tmp_path / "hf" / "hub"
    commit = "b" * 40
    snapshot = fill_hub_cache(cache, "toxic-org/toxic-minilm", commit, model_dir, plan["files"], ref="v2")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = (
        "import json, toxic; c = toxic.Classifier.load('toxic-org/toxic-minilm', revision='v2'); "
        "print(json.dumps([str(c.info.path), c.predict(['you idiot', 'have a nice day'])]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    path, results = json.loads(out.stdout)
    assert path.endswith(f"snapshots/{commit}") and (snapshot / "plots" / "roc.png").is_symlink()
    from toxic import Classifier

    assert results == Classifier.load(model_dir).predict(["you idiot", "have a nice day"])
    assert "toxic" in results[0]["labels"] and results[1]["labels"] == []
