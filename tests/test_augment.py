"""Training augmentations: identity swaps stay within category and form, obfuscation draws on toxic.eval.perturb,
our lists are not the evaluation set's, and a tiny real training run uses both."""

import json
import random
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from toxic.data import LABELS, load_bias_madlibs
from toxic.eval.evaluate import IDENTITIES
from train.augment import (
    _SLOT,
    FRIENDLY_SHARE,
    IDENTITY_TERMS,
    augment_texts,
    identity_terms,
    swap_identities,
    template_texts,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_swaps_stay_within_the_slot_and_keep_case():
    text = "Muslims and WOMEN said: black people and the Jewish man were right, the refugee too."
    for seed in range(20):
        out = swap_identities(text, random.Random(seed))
        assert out != text
        terms, new_terms = identity_terms(text), identity_terms(out)
        assert len(new_terms) == len(terms)
        for old, new in zip(terms, new_terms, strict=True):
            assert new != old and new in _SLOT[old]
        assert out.split()[0][0].isupper() and out.split()[2] == "MEN"  # Muslims -> Title case, WOMEN -> MEN
        assert out.endswith(" too.") and " said: " in out


def test_one_term_maps_to_one_replacement_within_a_text():
    out = swap_identities("women support women", random.Random(1))
    assert out == "men support men"


def test_words_inside_handles_tags_and_longer_words_are_left_alone():
    text = "@women #muslims women2 womenswear trans-exclusionary"
    assert identity_terms(text) == [] and swap_identities(text, random.Random(0)) == text
    assert (
        identity_terms("Black  people") == []
    )  # a phrase needs its single space; "black" alone is not a term
    assert identity_terms("old people and the elderly") == ["old people", "elderly"]


def test_our_lists_are_broader_than_and_not_copied_from_the_evaluation_terms():
    ours = set(_SLOT)
    assert len(ours) > 3 * len(IDENTITIES)
    assert len(IDENTITY_TERMS) >= 8  # categories
    # Not a copy of the evaluation list: words too ambiguous to swap alone are only matched inside phrases.
    ambiguous = {"old", "young", "white", "black", "straight"}
    assert ambiguous <= set(IDENTITIES) and not ambiguous & ours
    for slots in IDENTITY_TERMS.values():
        for slot in slots:
            assert len(slot) >= 2 and len(set(slot)) == len(slot)


def test_templates_put_every_group_on_both_sides_and_are_not_the_evaluation_sentences():
    texts, labels = template_texts(2000, seed=5)
    assert (texts, labels) == template_texts(2000, seed=5) and texts != template_texts(2000, seed=6)[0]
    assert set(labels) == {(0, 0, 0), (1, 1, 1)}  # (toxic, hate, insult)
    friendly = sum(label == (0, 0, 0) for label in labels) / len(labels)
    assert abs(friendly - FRIENDLY_SHARE) < 0.05
    named = [identity_terms(t) for t in texts]
    assert sum(bool(n) for n in named) / len(texts) > 0.85  # the rest name "black", "old"... alone
    for side in ((0, 0, 0), (1, 1, 1)):  # a group term appears in friendly and hostile rows alike
        terms = {t for n, label in zip(named, labels, strict=True) if label == side for t in n}
        assert {"queer", "gay", "muslims", "women", "immigrants"} & terms
    madlibs = {t.lower() for t in load_bias_madlibs()["text"]}
    assert not {t.lower() for t in texts} & madlibs  # our own sentences, never the evaluation set's
    assert template_texts(0) == ([], [])


def test_augment_texts_rates_and_determinism():
    texts = [
        "the women were there",
        "immigrants built this city",
        "what a lovely day",
        "you stupid idiot",
    ] * 250
    out, info = augment_texts(texts, identity=0.5, obfuscate=0.2, seed=3)
    assert (out, info) == augment_texts(texts, identity=0.5, obfuscate=0.2, seed=3)
    assert out != augment_texts(texts, identity=0.5, obfuscate=0.2, seed=4)[0]
    assert 200 < info["identity_swapped"] < 300  # half of the 500 texts that name a group
    assert 150 < info["obfuscated"] < 250  # a fifth of all 1000
    assert info["rows"] == 1000 and info["examples"]
    assert augment_texts(texts)[0] == texts  # off by default


def export_ops(train_python: Path, run_dir: Path, out: Path, options: str) -> str:
    """``train.export.export(run_dir, out, strict=False, <options>)`` in the training environment; the sorted
    op types of the int8 graph it wrote, as printed."""
    code = (
        f"import onnx; from train.export import export; export({str(run_dir)!r}, {str(out)!r}, strict=False, "
        f"{options}); print(sorted({{n.op_type for n in onnx.load({str(out / 'model.onnx')!r}).graph.node}}))"
    )
    run = subprocess.run(
        [str(train_python), "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=900
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.train
def test_a_tiny_training_run_with_augmentations_then_unfused_s8_and_static_exports(train_python, tmp_path):
    run_dir = tmp_path / "run"
    cmd = [str(train_python), "-m", "train.train", "--limit", "48", "--limit-val", "10", "--max-steps", "2"]
    cmd += ["--epochs", "1", "--no-export", "--run-dir", str(run_dir), "--threads", "1"]
    cmd += ["--augment-identity", "1.0", "--augment-obfuscate", "0.5", "--augment-templates", "16"]
    cmd += ["--augment-functional", "8"]
    cmd += ["--deobfuscate"]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["augment_identity"] == 1.0 and config["deobfuscate"] is True
    undone = re.search(r"deobfuscated (\d+) of 72 epoch 1 train texts", run.stdout)  # 48 + 16 + 8 functional
    assert undone and int(undone.group(1)) > 0  # half the rows were obfuscated, and some of that is undone
    record = json.loads((run_dir / "history.json").read_text())[0]
    assert record["augmented"]["rows"] == 48
    assert record["augmented"]["identity_swapped"] > 0 and record["augmented"]["obfuscated"] > 10
    assert record["augmented"]["templates"] == 16 and record["augmented"]["functional"] == 8
    examples = json.loads((run_dir / "augmented_epoch1.json").read_text())["examples"]
    assert examples and all(before != after for before, after in examples)
    assert any(after.startswith("template: toxic=") for _, after in examples)
    assert any(after.startswith("functional: toxic=") and "insult=" in after for _, after in examples)
    assert "epoch 1 augmentation:" in run.stdout

    # the same tiny run through the export without fusions (--no-fuse; the default export is fused, and
    # test_container exports that way) and with s8 weights (--signed-weights; the default is u8): the graph as
    # Optimum wrote it, then int8, then serving
    out = tmp_path / "unfused"
    ops = export_ops(train_python, run_dir, out, "fused=False, signed_weights=True")
    assert "Attention" not in ops and "SkipLayerNormalization" not in ops and "MatMulInteger" in ops, ops
    meta = json.loads((out / "toxic.json").read_text())
    assert meta["graph"] == "as exported" and "s8 weights" in meta["quantization"]
    code = (
        "import onnx; from onnx import TensorProto as T; m = onnx.load('model.onnx'); "
        "w = {t.name: t.data_type for t in m.graph.initializer}; "
        "print(sorted({T.DataType.Name(w[n.input[1]]) for n in m.graph.node if n.op_type == 'MatMulInteger' "
        "and n.input[1] in w}))"  # the weights; attention's own products quantize both inputs on the fly
    )
    dtypes = subprocess.run(
        [str(train_python), "-c", code], capture_output=True, text=True, cwd=out, check=True
    )
    assert dtypes.stdout.strip() == "['INT8']", dtypes.stdout
    from toxic import Classifier

    clf = Classifier.load(out)
    assert clf.labels == LABELS and clf.predict_proba(["you stupid idiot", "hello"]).shape == (2, len(LABELS))
    assert set(json.loads((out / "toxic.json").read_text())["attributes"].values()) == set(LABELS)

    # and static int8 (--static): activation ranges calibrated on training tweets, so a text scores the same
    # alone or in any batch (dynamic int8 moves scores by up to ~0.1 with the batch)
    out = tmp_path / "static"
    ops = export_ops(train_python, run_dir, out, "static=True")
    assert "QLinearMatMul" in ops and "DynamicQuantizeLinear" not in ops, ops
    assert json.loads((out / "toxic.json").read_text())["quantization"].startswith("int8 static")
    texts = ["you stupid idiot", "hello there, how was the weekend?", "ok", "thanks " * 40]
    clf = Classifier.load(out)
    batched = clf.predict_proba(texts)
    alone = np.array([clf.predict_proba([t])[0] for t in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-6)
