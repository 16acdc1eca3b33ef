"""toxic.Classifier on the embedded int8 model: results, edge cases, the lean import path, Hub loading."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import MODEL_LABELS
from tests.hub_cache import fill_hub_cache
from toxic import Classifier, InputError, ModelError
from toxic.classifier import DEFAULT_MODEL


def test_predict_single_and_list(clf):
    one = clf.predict("Have a lovely day, friend.")
    assert set(one) == {*clf.labels, "labels"} and one["labels"] == []
    many = clf.predict(["You are a disgusting worthless idiot.", "Thanks for sharing!"])
    assert many[0]["toxic"] > 0.8 and "toxic" in many[0]["labels"]
    assert many[1]["toxic"] < 0.3


def test_predict_proba_shape_and_order_independence(clf):
    texts = ["short", "a somewhat longer sentence about the weather today", "you idiot", "ok"]
    p = clf.predict_proba(texts)
    assert p.shape == (4, len(MODEL_LABELS)) and p.dtype == np.float32
    rev = clf.predict_proba(texts[::-1])[::-1]
    np.testing.assert_allclose(p, rev, atol=1e-5)  # batching by length does not change results


def test_empty_and_whitespace_have_a_defined_result(clf):
    p = clf.predict_proba(["", "   ", "\n\t", None])
    assert (p == 0).all()
    assert clf.predict("") == {**{label: 0.0 for label in MODEL_LABELS}, "labels": []}
    assert clf.predict_proba([]).shape == (0, len(MODEL_LABELS))


def test_long_text_is_not_truncated(clf):
    filler = "The committee met on Tuesday to discuss the budget for the coming year. " * 60  # ~900 tokens
    insult = "You are a disgusting worthless idiot and everyone hates you."
    p = clf.predict_proba([filler, filler + insult, insult + " " + filler])
    threshold = clf.thresholds["toxic"]
    assert p[0, 0] < threshold / 2
    for row in (1, 2):  # an insult after 900 tokens must still count (windows, not truncation): flagged, and
        # far above the filler alone (its window holds ~240 filler tokens too, so it scores below the insult alone)
        assert p[row, 0] > threshold and p[row, 0] > 5 * p[0, 0], (row, p[:, 0])


def test_unicode_emoji_and_control_characters(clf):
    texts = ["😂😂😂", "naïve café résumé", "你好世界", "\x00\x07 hello \u202e", "ðŸ˜‚ mojibake", "a" * 5000]
    p = clf.predict_proba(texts)
    assert p.shape == (6, len(MODEL_LABELS)) and np.isfinite(p).all()


def test_a_long_text_is_scored_in_windows(clf):
    # 200,000 characters: ~40,000 tokens, ~200 windows of 256 tokens over many batches (a megabyte took ~90 s of
    # the suite for the same code path)
    text = ("word " * 40_000)[:200_000]
    probs = clf.predict_proba([text, "hello"])
    assert np.isfinite(probs).all() and probs.shape == (2, len(clf.labels))


def test_thresholds(clf):
    text = "you are kind of dumb"
    assert clf.predict(text, threshold=0.0)["labels"] == list(clf.labels)
    assert clf.predict(text, threshold=1.01)["labels"] == []
    assert clf.predict(text, threshold={"toxic": 0.0})["labels"][0] == "toxic"


def test_bad_input_types(clf):
    with pytest.raises(InputError):
        clf.predict_proba("not a list")
    with pytest.raises(InputError):
        clf.predict_proba([b"bytes"])


def test_embeddings(clf):
    e = clf.embed(["hello", "you idiot", ""])
    assert e.shape == (3, 384) and np.isfinite(e).all()
    assert np.abs(e[0] - e[1]).sum() > 0


def test_serving_path_never_imports_torch_or_transformers():
    code = (
        "import sys, toxic; c = toxic.Classifier.load(); c.predict(['hi there', 'you idiot']); "
        "from toxic import batch, cli; from toxic.eval import evaluate; "
        "bad = [m for m in ('torch', 'transformers', 'optimum') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_model_errors(tmp_path):
    with pytest.raises(ModelError, match="not a toxic model directory"):
        Classifier.load(tmp_path)
    with pytest.raises(ModelError, match="neither a model directory"):
        Classifier.load("./no/such/dir")
    broken = tmp_path / "broken"
    shutil.copytree(DEFAULT_MODEL, broken)
    (broken / "model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="cannot load"):
        Classifier.load(broken)


def test_loads_a_hub_repo_offline_from_the_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf" / "hub"
    fill_hub_cache(cache, "toxic-org/toxic-minilm", "a" * 40, DEFAULT_MODEL)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = (
        "import json, toxic; c = toxic.Classifier.load('toxic-org/toxic-minilm'); "
        "print(json.dumps([str(c.info.path), c.predict('you idiot')['toxic']]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    path, score = json.loads(out.stdout)
    assert path.endswith("snapshots/" + "a" * 40) and score > 0.5


def test_missing_hub_repo_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = "import toxic\ntry:\n    toxic.Classifier.load('nobody/nothing')\nexcept toxic.ModelError as e:\n    print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "not in the local Hugging Face cache" in out.stdout, out.stdout + out.stderr


def test_big_calls_are_scored_a_slice_at_a_time(clf, monkeypatch):
    """Memory stays bounded for any call size: texts are tokenized and scored in slices, results in order."""
    import toxic.classifier

    texts = ["you stupid idiot", "have a lovely day"] * 5 + [""] * 8 + ["thanks, you idiot"] * 3
    whole_probs, whole_emb = clf.predict_proba(texts), clf.embed(texts)
    monkeypatch.setattr(toxic.classifier, "SLICE_TEXTS", 7)  # slice 3 is all empty texts
    probs, emb = clf.predict_proba(texts), clf.embed(texts)
    assert probs.shape == whole_probs.shape and emb.shape == whole_emb.shape
    np.testing.assert_allclose(
        probs, whole_probs, atol=0.05
    )  # int8 scales follow the batch: close, not equal
    assert (probs[10:18] == 0).all() and (emb[10:18] == 0).all()
    assert (clf.decide(probs)[:, 0] == [True, False] * 5 + [False] * 8 + [True] * 3).all()


def test_batches_are_capped_in_padded_tokens(clf):
    """onnxruntime's memory arena keeps the biggest batch's buffers, so a batch holds at most ``max_batch_tokens``
    padded tokens (a single longer window goes alone): every window once, in length order, same scores."""
    filler = "The committee met on Tuesday to discuss the budget for the coming year. " * 20  # ~300 tokens
    texts = ["you stupid idiot", "have a lovely day", filler, filler + " you idiot", "", "ok"] * 4
    capped = Classifier(clf.info, max_batch_tokens=64)
    lengths = [1, 5, 9, 30, 40, 300, 2, 70, 64, 33]
    order = np.argsort(lengths, kind="stable")
    batches = capped._batches(order, lengths)
    assert np.concatenate(batches).tolist() == order.tolist()
    for batch in batches:
        assert len(batch) <= capped.batch_size
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 64, batch
    assert [len(b) for b in batches] == [4, 1, 1, 1, 1, 1, 1]  # 1,2,5,9 | 30 (2 x 33 > 64) | 33 | ... | 300
    # dynamic int8 scales activations per batch: a text's score moves a little with its batch (up to ~0.1 on val)
    small, default = capped.predict_proba(texts), clf.predict_proba(texts)
    np.testing.assert_allclose(small, default, atol=0.12)
    assert (clf.decide(small) == clf.decide(default)).all()
