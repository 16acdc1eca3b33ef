"""The evaluation suite: the bias metric on hand-made cases, and train/evaluate.py end to end on the shipped
model (--quick) side by side with a calibrated copy of it."""

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from toxic.classifier import DEFAULT_MODEL, read_info
from toxic.data import DEFAULT_RUDDIT, LABELS
from toxic.eval.evaluate import bias_metrics
from toxic.eval.perturb import KINDS
from toxic.eval.suite import SECTIONS

REPO = DEFAULT_MODEL.parents[1]
OWN = read_info(
    DEFAULT_MODEL
).labels  # the shipped model's labels; the suite scores LABELS, by stand-in if need be


def _madlibs() -> pd.DataFrame:
    """Four identities, ten sentences each: five toxic, five not."""
    rows = [
        {"identity": identity, "label": label, "text": f"{identity} {i} {label}"}
        for identity in ("alpha", "beta", "gamma", "delta")
        for label in (0, 1)
        for i in range(5)
    ]
    return pd.DataFrame(rows)


def test_bpsn_is_low_when_naming_a_group_is_itself_scored_toxic():
    frame = _madlibs()
    y, ids = frame["label"].to_numpy(), frame["identity"].to_numpy()
    # A perfect ranking within every group, but every "gamma" sentence scores above every other toxic sentence.
    probs = np.where(ids == "gamma", np.where(y == 1, 0.9, 0.6), np.where(y == 1, 0.5, 0.1))
    probs = probs + np.arange(len(y)) * 1e-4  # no ties
    table, summary = bias_metrics(frame, probs)
    gamma = table.set_index("identity").loc["gamma"]
    assert gamma["subgroup_auc"] == 1.0  # within the group the ranking is right
    assert gamma["bpsn_auc"] < 0.1  # its harmless sentences outrank the background's toxic ones
    assert gamma["bnsp_auc"] == 1.0
    assert summary["worst_bpsn_identity"] == "gamma" and summary["worst_identities"][0] == "gamma"
    assert summary["min_bpsn_auc"] == gamma["bpsn_auc"]
    assert summary["final_bias_score"] < 0.9
    assert gamma["mean_score_non_toxic"] == pytest.approx(0.6, abs=0.01)


def test_a_fair_perfect_model_scores_one():
    frame = _madlibs()
    probs = frame["label"].to_numpy() * 0.8 + 0.1
    table, summary = bias_metrics(frame, probs)
    assert (table[["subgroup_auc", "bpsn_auc", "bnsp_auc"]] == 1.0).all().all()
    assert summary["final_bias_score"] == pytest.approx(1.0)


def _run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "train.evaluate", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )


@pytest.mark.slow
def test_suite_quick_side_by_side_with_a_calibrated_copy(tmp_path):
    """Two copies of the shipped model: one without calibration, one with a (deliberately poor) one."""
    plain, calibrated = tmp_path / "plain", tmp_path / "calibrated"
    for d in (plain, calibrated):
        shutil.copytree(DEFAULT_MODEL, d)
    meta = json.loads((plain / "toxic.json").read_text())
    meta["thresholds"] = meta.pop("thresholds_uncalibrated", meta["thresholds"])
    meta.pop("calibration", None)
    (plain / "toxic.json").write_text(json.dumps(meta))
    meta["calibration"] = {label: {"scale": 0.6, "bias": -0.4} for label in LABELS}
    (calibrated / "toxic.json").write_text(json.dumps(meta))
    out = tmp_path / "eval"

    run = _run(str(plain), str(calibrated), "--out", str(out), "--quick", "--write-card")
    assert run.returncode == 0, run.stderr[-3000:]

    for name in ("results.json", "results.md", "reliability.png", "bias.png", "ruddit.png", "robustness.png"):
        if name == "ruddit.png" and not DEFAULT_RUDDIT.exists():
            continue
        assert (out / name).stat().st_size > 1000, name
    results = json.loads((out / "results.json").read_text())["models"]
    a, b = results[str(plain)], results[str(calibrated)]
    for r in (a, b):
        for label in LABELS:
            v = r["val"][label]
            assert 0.6 < v["macro_f1"] <= v["tuned_macro_f1"] + 0.02 and v["tuned_macro_f1"] < 1
            assert 0.75 < v["roc_auc"] < 1 and 0.5 < v["pr_auc"] < 1
            assert v["scored_by"] == (label if label in OWN else "toxic")
        for label in OWN:
            assert 0 <= r["calibration"][label]["ece"] < 0.3 and 0 < r["calibration"][label]["brier"] < 0.3
            assert r["robustness"]["kinds"]["upper"][label]["drop"] == 0  # an uncased model cannot see case
        bias = r["bias"]
        assert len(bias["identities"]) >= 40 and bias["min_bpsn_auc"] <= bias["mean_subgroup_auc"]
        assert 0.5 < bias["final_bias_score"] < 1 and bias["worst_identities"]
        assert set(r["robustness"]["kinds"]) == set(KINDS)
        assert r["speed"]["texts_per_s"] > 1
        if DEFAULT_RUDDIT.exists():
            assert r["ruddit"]["roc_auc"] > 0.7 and r["ruddit"]["spearman"] > 0.3
        else:
            assert "skipped" in r["ruddit"]
    # Calibration is monotone: rankings (AUCs) stay, probabilities move.
    for label in OWN:
        assert b["val"][label]["roc_auc"] == pytest.approx(a["val"][label]["roc_auc"], abs=2e-3)
        assert b["calibration"][label]["ece"] != a["calibration"][label]["ece"]
        assert b["calibration"][label]["calibrated"] and not a["calibration"][label]["calibrated"]

    table = (out / "results.md").read_text()
    assert f"`{plain}`" in table and f"`{calibrated}`" in table and "BPSN" in table
    assert "| `toxic` ECE (15 bins) | <= 0.04 |" in run.stdout
    for d in (plain, calibrated):
        report = json.loads((d / "report.json").read_text())
        assert (
            report["quick"] is True
            and report["bias"]["final_bias_score"] == results[str(d)]["bias"]["final_bias_score"]
        )
        card = (d / "README.md").read_text()
        assert "minimum BPSN AUC" in card and "ECE (15 bins)" in card and "Obfuscation" in card
        # the val table is the int8 model's own, as rows (a bug once printed the suite's rows there as a list)
        assert "for\nthe int8 model" in card and "['|" not in card
        toxic_f1 = results[str(d)]["val"]["toxic"]["macro_f1"]
        assert f"| `toxic` | TweetEval offensive (val) | {toxic_f1:.3f} |" in card
    assert "(calibrated on val)" in (calibrated / "README.md").read_text()


def test_one_report_alone(tmp_path):
    run = _run(str(DEFAULT_MODEL), "--report", "bias", "--quick", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["meta"]["sections"] == ["bias"]
    assert set(results["models"][str(DEFAULT_MODEL)]) == {"bias"}
    assert (tmp_path / "bias.png").exists() and not (tmp_path / "reliability.png").exists()
    assert "min BPSN AUC" in (tmp_path / "results.md").read_text()


def test_a_missing_ruddit_file_is_one_clear_line(tmp_path):
    run = _run(str(DEFAULT_MODEL), "--report", "ruddit", "--ruddit", str(tmp_path / "nope.csv"))
    assert run.returncode == 2
    assert run.stderr.strip().startswith("error: Ruddit not found") and "Traceback" not in run.stderr


def test_the_readme_results_table_is_the_suite_output(tmp_path):
    """README.md's results table is generated (--readme), not typed: regenerated from the results.json it names,
    the README comes out byte for byte the same."""
    readme = tmp_path / "README.md"
    shutil.copy(REPO / "README.md", readme)
    found = re.search(r"<!-- suite-table: (\S+) -->", readme.read_text())
    assert found, "README.md has no generated results table"
    results = REPO / found.group(1)
    run = _run("--readme-from", str(results), "--readme", str(readme), timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert readme.read_text() == (REPO / "README.md").read_text()
    meta = json.loads(results.read_text())["meta"]
    assert not meta["quick"] and meta["sections"] == list(SECTIONS)
    assert "models/default" in meta["models"]

    (tmp_path / "other.md").write_text("# no table here\n")
    run = _run("--readme-from", str(results), "--readme", str(tmp_path / "other.md"), timeout=120)
    assert run.returncode == 2 and run.stderr.startswith("error:") and "suite-table" in run.stderr
    assert (tmp_path / "other.md").read_text() == "# no table here\n"
