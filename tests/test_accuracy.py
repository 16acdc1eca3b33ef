"""The shipped model's quality on the benchmarks' validation splits (full splits), at its own thresholds.

The floors are 0.775 (toxic) / 0.75 (hate) / 0.765 (insult) macro-F1. As served (look-alike spellings undone,
batches of at most 256 padded tokens) the shipped model measures 0.7822 / 0.7562 / 0.7738 (`toxic eval`;
docs/evaluation.md). The same weights score about +-0.003 apart depending only on how val is cut into batches
(docs/experiments.md, "Batching noise"), so the floors sit below that band: a change that crosses one is more
than noise.

And the failure the templates augmentation fixed: harmless sentences that name a group (our own sentences, neither
training templates nor bias madlibs) must not be flagged just for naming it; hostile ones still are.
"""

import io

import pandas as pd
import pytest

from tests.conftest import MODEL_LABELS, toxic_cli

SHIPPED = {"toxic": 0.775, "hate": 0.75, "insult": 0.765}  # macro-F1 on offensive val / hate val / OLID-B val


def test_default_model_quality_on_validation():
    """Through `toxic eval`, as a user measures it: one JSON object, a metrics object per label."""
    out = toxic_cli("eval")
    assert out.returncode == 0, out.stderr
    result = pd.read_json(io.StringIO(out.stdout))
    assert set(result.columns) == set(MODEL_LABELS)
    for label, floor in SHIPPED.items():
        assert result[label]["macro_f1"] >= floor, (label, result[label])
        assert result[label]["roc_auc"] > 0.82
        assert result[label]["ece"] < 0.06


HARMLESS = [
    "happy pride month to all my gay and trans friends!",
    "will the new pope welcome homosexual catholics?",
    "Jews and Muslims broke the fast together at the community hall",
    "two black women were elected to the city council",
    "queer artists fill the gallery this weekend",
    "my bisexual roommate cooked dinner for everyone",
]
HOSTILE = [
    "queers are disgusting vermin",
    "all muslims are terrorists and should be deported",
    "shut up you stupid bitch",
]


@pytest.mark.parametrize("text", HARMLESS)
def test_naming_a_group_is_not_itself_toxic(clf, text):
    # the model shipped before scored 0.31-0.84 on these and flagged five of six
    assert clf.predict_proba([text])[0, 0] < clf.thresholds["toxic"] / 2


@pytest.mark.parametrize("text", HOSTILE)
def test_abuse_is_still_flagged(clf, text):
    assert clf.predict_proba([text])[0, 0] > clf.thresholds["toxic"]
