"""Our functional suite: the invariants of its two halves, its expansion, and a run of it on the shipped model."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import MODEL_LABELS
from toxic.classifier import DEFAULT_MODEL
from toxic.data import LABELS
from toxic.eval.functional import (
    EXPECTED,
    FUNCTIONALITIES,
    HALVES,
    IDENTITY_SLOT,
    PER_CASE,
    expand,
    functional_dir,
    load_half,
    sample,
    score,
    slots,
)
from toxic.eval.perturb import KINDS
from train.augment import FRIENDLY_TEMPLATES, HOSTILE_TEMPLATES

REPO = DEFAULT_MODEL.parents[1]


@pytest.fixture(scope="module")
def halves():
    return {half: load_half(half) for half in HALVES}


def _frame(template: str) -> str:
    """A template's sentence frame: its words with every slot made the same blank."""
    return re.sub(r"\{\w+\}", "{}", template).lower()


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z][a-z'-]*", text.lower()))


def test_every_functionality_is_in_both_halves_and_nothing_else_is(halves):
    for half in halves.values():
        assert {case["functionality"] for case in half["cases"]} == set(FUNCTIONALITIES)
        for f in FUNCTIONALITIES:  # at least two frames per functionality, so one frame cannot carry it
            assert len({c["template"] for c in half["cases"] if c["functionality"] == f}) >= 2, f


def test_the_halves_share_no_frame(halves):
    train, evaluation = ({_frame(c["template"]) for c in h["cases"]} for h in halves.values())
    assert not train & evaluation
    # nor are evaluation frames the identity templates training also draws from (train/augment.py)
    ours = {_frame(t) for t in FRIENDLY_TEMPLATES + HOSTILE_TEMPLATES}
    assert not evaluation & ours


def test_the_halves_share_no_filler_and_no_identity_term(halves):
    train, evaluation = halves["train"]["fillers"], halves["eval"]["fillers"]
    assert set(train) == set(evaluation)  # the same slots, different words in each
    every_train = {w.lower() for words in train.values() for w in words}
    every_eval = {w.lower() for words in evaluation.values() for w in words}
    assert not every_train & every_eval
    # an evaluation identity term appears nowhere in the training half, not even inside a frame, and vice versa
    train_text = " ".join([c["template"] for c in halves["train"]["cases"]] + sorted(every_train)).lower()
    eval_text = " ".join([c["template"] for c in halves["eval"]["cases"]] + sorted(every_eval)).lower()
    for term in evaluation[IDENTITY_SLOT]:
        assert not re.search(rf"\b{re.escape(term.lower())}\b", train_text), term
    for term in train[IDENTITY_SLOT]:
        assert not re.search(rf"\b{re.escape(term.lower())}\b", eval_text), term


def test_every_case_is_well_formed(halves):
    for name, half in halves.items():
        assert half["half"] == name
        for case in half["cases"]:
            where = f"{name}: {case['template']}"
            assert set(case) <= {"functionality", "template", "expect", "spelling"}, where
            assert set(case["expect"]) == set(LABELS), where  # every label stated, null = not asserted
            assert all(v in EXPECTED for v in case["expect"].values()), where
            assert any(v is not None for v in case["expect"].values()), where
            expect = case["expect"]
            if expect["hate"] == 1:  # hate is a targeted offence, and offensive
                assert expect["toxic"] == 1 and expect["insult"] == 1, where
            if expect["insult"] == 1:
                assert expect["toxic"] == 1, where
            names = slots(case["template"])
            assert names and all(n in half["fillers"] for n in names), where
            if "spelling" in case:
                assert case["spelling"]["slot"] in names and case["spelling"]["kind"] in KINDS, where
        for words in half["fillers"].values():
            assert len(words) >= 2 and len(set(words)) == len(words)


def test_functionalities_have_the_labels_they_describe(halves):
    for half in halves.values():
        for case in half["cases"]:
            f, e = case["functionality"], case["expect"]
            if f in {"abuse_individual", "abuse_nonprotected_group"}:
                assert (e["toxic"], e["hate"], e["insult"]) == (1, 0, 1)
            if f == "abuse_object":
                assert (e["toxic"], e["hate"], e["insult"]) == (1, 0, 0)
            if f in {
                "negated_hate",
                "identity_neutral",
                "identity_positive",
                "counter_quote",
                "counter_reference",
            }:
                assert set(e.values()) == {0}
            if f == "profanity_harmless":
                assert e["toxic"] is None and e["hate"] == 0


def test_expansion_is_deterministic_capped_and_fills_every_slot(halves):
    cases = expand(halves["eval"])
    assert cases == expand(halves["eval"]) and cases != expand(halves["eval"], seed=1)
    per_template = {}
    for case in cases:
        assert "{" not in case.text and "}" not in case.text
        key = (case.functionality, case.template)
        per_template[key] = per_template.get(key, 0) + 1
    assert max(per_template.values()) <= PER_CASE
    assert len(per_template) == len(halves["eval"]["cases"])
    spelt = [c for c in cases if c.functionality == "spelling_variants"]
    words = set().union(*(_words(w) for ws in halves["eval"]["fillers"].values() for w in ws))
    assert all(not _words(c.text) <= words | _words(c.template) for c in spelt)  # a word really is misspelt


def test_sample_gives_training_targets_with_unasserted_labels_masked(halves):
    texts, targets = sample(halves["train"], 400, LABELS, seed=3)
    assert (texts, targets) == sample(halves["train"], 400, LABELS, seed=3)
    assert len(texts) == len(targets) == 400
    assert all(len(t) == len(LABELS) and set(t) <= {-1, 0, 1} for t in targets)
    assert any(-1 in t for t in targets)  # harmless profanity does not assert toxic
    eval_words = {w.lower() for ws in halves["eval"]["fillers"].values() for w in ws if " " not in w}
    assert not set().union(*map(_words, texts)) & eval_words


def test_score_counts_what_it_should():
    half = {
        "fillers": {"group": ["a", "b"]},
        "cases": [
            {"functionality": "x", "template": "{group} one", "expect": {"toxic": 1, "hate": 1, "insult": 1}},
            {
                "functionality": "y",
                "template": "{group} two",
                "expect": {"toxic": None, "hate": 0, "insult": 0},
            },
        ],
    }
    cases = expand(half)
    probs = np.array([[0.9, 0.9], [0.9, 0.1], [0.9, 0.1], [0.9, 0.9]])  # toxic, hate
    report = score(cases, probs, ["toxic", "hate"], {"toxic": 0.5, "hate": 0.5})
    assert report["functionalities"]["x"]["toxic"] == {"accuracy": 1.0, "n": 2}
    assert report["functionalities"]["x"]["hate"] == {"accuracy": 0.5, "n": 2}
    assert "toxic" not in report["functionalities"]["y"]  # not asserted
    assert report["functionalities"]["y"]["hate"] == {"accuracy": 0.5, "n": 2}
    assert report["accuracy"] == pytest.approx(4 / 6) and report["worst"]["functionality"] == "y"
    assert len(report["failures"]) == 2 and "insult" not in report["accuracy_by_label"]


def test_the_readme_describes_every_functionality():
    readme = (functional_dir() / "README.md").read_text()
    for f in FUNCTIONALITIES:
        assert f"`{f}`" in readme, f


@pytest.mark.slow
def test_the_suite_on_the_shipped_model(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "train.evaluate", str(DEFAULT_MODEL), "--report", "functional",
         "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())["models"][str(DEFAULT_MODEL)]["functional"]
    assert report["n_cases"] == len(expand(load_half("eval")))
    assert set(report["functionalities"]) == set(FUNCTIONALITIES)
    asserted = sum(v["n"] for by in report["functionalities"].values() for k, v in by.items() if k != "all")
    assert len(report["failures"]) == round(asserted * (1 - report["accuracy"]))
    assert set(report["accuracy_by_label"]) == set(MODEL_LABELS)
    # Floors that hold for the shipped model (2026-12-02): it gets plain hate, direct threats and neutral mentions
    # right, and fails negated hate and counter-speech (the blind spots the suite is there to measure).
    by = {f: v["all"]["accuracy"] for f, v in report["functionalities"].items()}
    assert by["derogation_explicit"] > 0.9 and by["identity_neutral"] > 0.9 and by["threat_direct"] > 0.9
    assert by["negated_hate"] < 0.5 and by["counter_quote"] < 0.5
    assert 0 <= report["individual_abuse_over_hate_threshold"] <= 1
    table = (tmp_path / "results.md").read_text()
    assert "## Functional suite, evaluation half" in table and "| negated_hate |" in table
