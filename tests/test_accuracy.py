"""The shipped model reaches the spine's quality floor on the benchmarks' validation splits (full splits)."""

from toxic.evaluate import evaluate_model

FLOOR = {"toxic": 0.78, "hate": 0.75}  # macro-F1 on TweetEval offensive val / TweetEval hate val


def test_default_model_meets_the_validation_floor(clf):
    result = evaluate_model(clf)
    for label, floor in FLOOR.items():
        assert result[label]["macro_f1"] >= floor, (label, result[label])
        assert result[label]["roc_auc"] > 0.8
