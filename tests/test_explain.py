"""Word weights (leave-one-word-out occlusion in log-odds) on the embedded model, and what the UI colours."""

import math

import pytest

from toxic.explain import MIN_SHOWN, word_weights
from toxic.serve.views import colour


def shown(weights):
    """The words the UI colours."""
    return [word for word, w in weights if colour(w) != "transparent"]


@pytest.mark.xfail(
    strict=True,
    reason="the model shipped 2026-12-02 spreads this score over the sentence: 'you' weighs 0.24, 'stupid' 0.19, "
    "'idiot' 0.04 (under the colour cut); leave-one-word-out cannot see words that each carry the score alone",
)
def test_every_insult_counts_even_when_the_score_is_saturated(clf):
    # 0.92: leaving out "stupid" or "worthless" moves the probability by < 0.01 ("idiot" still carries it); in
    # probability they fell under the colour cut and the UI showed "idiot" alone
    weights = dict(word_weights(clf, "you are a stupid worthless idiot", "toxic"))
    assert clf.predict("you are a stupid worthless idiot")["toxic"] > 0.85
    assert shown(list(weights.items())) == ["stupid", "worthless", "idiot"]
    assert min(weights["stupid"], weights["worthless"], weights["idiot"]) > 2 * max(
        weights["you"], weights["are"], weights["a"]
    )


def test_signs_and_a_neutral_text(clf):
    weights = dict(word_weights(clf, "I love this song, it is fucking amazing", "toxic"))
    assert max(weights, key=weights.get) == "fucking" and weights["fucking"] > 0.5
    assert weights["amazing"] < 0 and weights["love"] < 0  # they pull the score down
    neutral = word_weights(clf, "lovely day for a walk in the park with my kids", "toxic")
    # nothing pushes a neutral text up; the model shipped 2026-12-02 has two words pulling it down, just over the
    # colour cut (-0.057, -0.054)
    assert all(w < MIN_SHOWN for _, w in neutral) and all(abs(w) < 2 * MIN_SHOWN for _, w in neutral)


def test_weights_are_plain_rounded_floats_over_every_word(clf):
    text = "go back to your country you illegal  \t and stay there"
    weights = word_weights(clf, text, "hate")
    assert [w for w, _ in weights] == text.split()
    assert all(type(w) is float and math.isfinite(w) and w == round(w, 3) for _, w in weights)
    assert max(weights, key=lambda x: x[1])[0] == "illegal"
    assert word_weights(clf, "   ", "toxic") == []


def test_long_texts_explain_their_first_words_only(clf):
    words = ["idiot"] + ["word"] * 150
    weights = word_weights(clf, " ".join(words), "toxic", max_words=128)
    assert len(weights) == 151 and all(w == 0.0 for _, w in weights[128:])


def test_an_explanation_costs_at_most_max_words_short_texts(clf):
    """64 words of 300 characters each would be 65 texts of ~20,000 characters: the explained words are cut to
    MAX_HEAD_CHARS, and explained_words says how many were explained."""
    from toxic.explain import MAX_HEAD_CHARS, explained_words

    words = ["x" * 300] * 64
    n, total = explained_words(" ".join(words), 64)
    assert total == 64 and n * 301 <= MAX_HEAD_CHARS + 301 and n < 64
    weights = word_weights(clf, " ".join(words), "toxic", max_words=64)
    assert len(weights) == 64 and all(w == 0.0 for _, w in weights[n:])
    assert explained_words("one two three", 64) == (3, 3)
