"""Calibration: the fit recovers known parameters, the Classifier applies a fitted one (and nothing without it),
the shipped model keeps a Platt fit only where it lowers held-out ECE, and train/calibrate.py writes toxic.json."""

import dataclasses
import json
import shutil
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

from toxic import Classifier
from toxic.classifier import DEFAULT_MODEL, read_info
from toxic.eval import calibration
from toxic.eval.metrics import expected_calibration_error

LABELS = read_info(DEFAULT_MODEL).labels  # the shipped model's labels

REPO = DEFAULT_MODEL.parents[1]


@pytest.fixture(scope="module")
def raw():
    """The shipped model with any calibration in its toxic.json ignored."""
    return Classifier(dataclasses.replace(read_info(DEFAULT_MODEL), calibration={}))


def test_fit_recovers_a_known_calibration():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, 20_000)
    y = (rng.random(len(z)) < calibration.sigmoid(0.5 * z - 1.0)).astype(int)
    a, b = calibration.fit(z, y, "platt")
    assert a == pytest.approx(0.5, abs=0.03) and b == pytest.approx(-1.0, abs=0.06)
    a, b = calibration.fit(z, y, "temperature")
    assert b == 0.0 and 0.3 < a < 0.7
    assert expected_calibration_error(y, calibration.apply(z, *calibration.fit(z, y))) < 0.02
    with pytest.raises(ValueError, match="both classes"):
        calibration.fit(z, np.ones_like(y))


def test_without_calibration_probabilities_are_the_raw_sigmoid(raw):
    """What the Classifier returned before calibration existed: sigmoid of the ONNX logits, unchanged."""
    clf = raw
    session = ort.InferenceSession(str(DEFAULT_MODEL / "model.onnx"), providers=["CPUExecutionProvider"])
    for text in ["you are a complete idiot", "see you at the match on sunday"]:
        ids = [clf._cls, *clf.tokenizer.encode(text, add_special_tokens=False).ids, clf._sep]
        feeds = {"input_ids": np.array([ids]), "attention_mask": np.ones((1, len(ids)), dtype=np.int64)}
        if "token_type_ids" in clf._inputs:
            feeds["token_type_ids"] = np.zeros((1, len(ids)), dtype=np.int64)
        (logits,) = session.run(["logits"], feeds)
        np.testing.assert_allclose(
            clf.predict_proba([text])[0], 1 / (1 + np.exp(-logits[0])), rtol=0, atol=1e-6
        )


def test_a_fitted_calibration_is_applied(raw, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, model)
    meta = json.loads((model / "toxic.json").read_text())
    meta["calibration"] = {"toxic": {"scale": 0.5, "bias": -1.0}}  # hate left uncalibrated
    (model / "toxic.json").write_text(json.dumps(meta))
    calibrated = Classifier.load(model)
    assert calibrated.info.calibration == {"toxic": (0.5, -1.0)}
    texts = ["you are a complete idiot", "see you at the match on sunday", "what a lovely morning"]
    p, cal = raw.predict_proba(texts), calibrated.predict_proba(texts)
    np.testing.assert_allclose(cal[:, 0], calibration.apply(calibration.logit(p[:, 0]), 0.5, -1.0), atol=1e-5)
    np.testing.assert_array_equal(cal[:, 1], p[:, 1])


def test_held_out_ece_fits_on_one_half_and_measures_on_the_other():
    """Fit on one half, measure on the other (both ways, 10 random halvings): fair to the uncalibrated."""
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, 3000)
    y = (rng.random(len(z)) < calibration.sigmoid(0.6 * z - 0.5)).astype(int)
    rng = np.random.default_rng(0)
    before, after = [], []
    for _ in range(10):
        half = rng.permutation(len(y)) < len(y) // 2
        for fit_on in (half, ~half):
            a, b = calibration.fit(z[fit_on], y[fit_on], "platt")
            before.append(expected_calibration_error(y[~fit_on], calibration.sigmoid(z[~fit_on])))
            after.append(expected_calibration_error(y[~fit_on], calibration.apply(z[~fit_on], a, b)))
    assert calibration.held_out_ece(z, y) == pytest.approx((np.mean(before), np.mean(after)))
    # these logits are miscalibrated, and a fit on half of them carries to the other half
    assert np.mean(after) < np.mean(before)


@pytest.fixture(scope="module")
def recalibrated(tmp_path_factory):
    """``python -m train.calibrate`` run once on a copy of the shipped model whose drift profile is stale: it scores
    val on this CPU with the shipped calibration ignored, refits, and rewrites toxic.json and the profile."""
    model = tmp_path_factory.mktemp("calibrate") / "model"
    shutil.copytree(DEFAULT_MODEL, model)
    before = json.loads((model / "toxic.json").read_text())
    stale = pd.read_parquet(model / "reference.parquet").head(300)  # the rewrite keeps the profile's size
    stale["toxic_label"] = ~stale["toxic_label"].astype(bool)  # a profile that no longer matches the model
    stale.to_parquet(model / "reference.parquet")
    run = subprocess.run(
        [sys.executable, "-m", "train.calibrate", str(model)], capture_output=True, text=True, cwd=REPO
    )
    assert run.returncode == 0, run.stderr
    return model, before, run


# The standard error of the mean held-out ECE difference over the 20 halvings: 0.0027 (toxic) and 0.0030 (hate).
# A difference smaller than that is a tie, and a tie flips with the CPU's int8 kernels (hate's is -0.0018 with
# AVX2 and +0.0005 with AVX-512 VNNI): within it, either choice follows the rule.
TIE = 0.003


@pytest.mark.slow
@pytest.mark.parametrize("label", LABELS)
def test_the_shipped_calibration_follows_the_held_out_rule(recalibrated, label):
    """A label ships a Platt fit only if that lowers the held-out ECE (within TIE) on this CPU's val logits;
    otherwise it ships no calibration. A shipped fit is the fit on the whole val split."""
    model, _, _ = recalibrated
    refit = json.loads((model / "toxic.json").read_text())["calibration"][label]
    held_out = refit["ece_held_out"]
    assert refit["n"] > 900 and 0 < held_out["before"] < 0.2 and 0 < held_out["after"] < 0.2, refit
    shipped = json.loads((DEFAULT_MODEL / "toxic.json").read_text()).get("calibration", {}).get(label, {})
    if shipped.get("method") == "platt":
        assert held_out["after"] < held_out["before"] + TIE, held_out
        # the fit on all of val, on this CPU: the shipped one, up to the CPU's int8 kernels
        assert shipped["scale"] == pytest.approx(refit["fit"]["scale"], abs=0.02)
        assert shipped["bias"] == pytest.approx(refit["fit"]["bias"], abs=0.02)
    else:
        assert held_out["before"] < held_out["after"] + TIE, held_out
        assert shipped.get("scale", 1.0) == 1.0 and shipped.get("bias", 0.0) == 0.0, shipped


@pytest.mark.slow
def test_calibrate_script_writes_toxic_json(recalibrated):
    model, before, run = recalibrated
    meta = json.loads((model / "toxic.json").read_text())
    assert meta["thresholds_uncalibrated"] == before.get("thresholds_uncalibrated", before["thresholds"])
    for label in LABELS:
        c = meta["calibration"][label]
        assert c["n"] > 900 and 0.05 <= meta["thresholds"][label] <= 0.95
        if c["ece_held_out"]["after"] < c["ece_held_out"]["before"]:  # the fit carries to unseen texts: kept
            assert c["method"] == "platt" and c["scale"] > 0
            assert (c["scale"], c["bias"]) == (c["fit"]["scale"], c["fit"]["bias"])
            assert (
                c["ece_after"] < c["ece_before"]
            )  # in-sample: the fit minimises log loss on these very texts
        else:  # it does not: the model's own probabilities stay
            assert c["method"].startswith("none") and (c["scale"], c["bias"]) == (1.0, 0.0)
            assert c["ece_after"] == c["ece_before"]
        assert f"{label}: {c['method']}, scale" in run.stdout
    clf = Classifier.load(model)
    assert clf.info.calibration.keys() == set(LABELS)
    # the drift reference profile was rewritten with the calibrated scores and thresholds
    assert "with the calibrated scores and thresholds" in run.stdout
    ref = pd.read_parquet(model / "reference.parquet")
    assert len(ref) == 300
    for label in LABELS:
        assert ((ref[label] >= clf.thresholds[label]) == ref[f"{label}_label"].astype(bool)).all()
