"""The shipped model's quality on the benchmarks' validation splits (full splits), at its own thresholds.

The spine issue's floor is 0.78 (toxic) / 0.75 (hate) macro-F1. The shipped model measures 0.770 / 0.749 (see the
README): short of that floor, so this test guards what we ship against regressions, not the target.
"""

from toxic.evaluate import evaluate_model

SHIPPED = {"toxic": 0.765, "hate": 0.745}  # macro-F1 on TweetEval offensive val / TweetEval hate val


def test_default_model_quality_on_validation(clf):
    result = evaluate_model(clf)
    for label, floor in SHIPPED.items():
        assert result[label]["macro_f1"] >= floor, (label, result[label])
        assert result[label]["roc_auc"] > 0.82
        assert result[label]["ece"] < 0.06
