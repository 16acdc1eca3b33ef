"""Perturbations: deterministic under a seed, each does what its name says, mentions and hashtags survive."""

import random

import pytest

from toxic.eval.perturb import EMOJI, HASHTAGS, KINDS, NEUTRAL_SENTENCES, perturb, perturb_all

TEXT = "@user you are a stupid idiot and everyone knows it #sad"


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_text_and_the_text_changes(kind):
    a = perturb(TEXT, kind, random.Random(7))
    assert a == perturb(TEXT, kind, random.Random(7))
    assert a != TEXT
    assert "#sad" in a.lower() and "@user" in a.lower()


@pytest.mark.parametrize("kind", ["leet", "swap", "drop", "duplicate", "spaces"])
def test_word_level_kinds_change_words_but_not_everything(kind):
    seen = {perturb(TEXT, kind, random.Random(seed)) for seed in range(20)}
    assert len(seen) > 5  # the seed matters
    words = ["you", "are", "stupid", "idiot", "and", "everyone", "knows"]  # eligible: 3+ letters
    for text in seen:
        kept = [w for w in words if w in text.split()]
        assert 3 <= len(kept) < len(words)  # about WORD_SHARE of the words change, never all
        assert {"@user", "a", "it", "#sad"} <= set(text.split())  # short words, mentions, hashtags stay


def test_each_kind_does_what_it_says():
    r = lambda: random.Random(3)  # noqa: E731
    word = "disgusting"
    assert any(c.isdigit() or c in "@!$" for c in perturb(word, "leet", r()))
    swapped = perturb(word, "swap", r())
    assert sorted(swapped) == sorted(word) and swapped[0] == "d" and swapped[-1] == "g"
    assert len(perturb(word, "drop", r())) == len(word) - 1
    assert len(perturb(word, "duplicate", r())) > len(word)
    assert perturb(word, "spaces", r()).replace(" ", "") == word and " " in perturb(word, "spaces", r())
    assert perturb("mixed Case", "upper", r()) == "MIXED CASE"
    added = set(perturb("just some words here", "emoji", r()).split()) - {"just", "some", "words", "here"}
    assert added and added <= set(EMOJI)
    tags = set(perturb("just some words here", "hashtag", r()).split()) - {"just", "some", "words", "here"}
    assert tags and tags <= set(HASHTAGS)
    prefixed = perturb("you idiot", "neutral_prefix", r())
    assert prefixed.endswith(" you idiot") and prefixed[: -len(" you idiot")] in NEUTRAL_SENTENCES


def test_texts_without_words_survive():
    for kind in KINDS:
        assert isinstance(perturb("", kind, random.Random(0)), str)
        assert perturb("ok 👍", kind, random.Random(0)).count("👍") >= 1


def test_perturb_all_depends_on_the_text_not_its_position():
    texts = ["you are a stupid idiot", "what a lovely morning", "get lost you loser"]
    full = perturb_all(texts, "leet", seed=1)
    assert perturb_all(texts[1:], "leet", seed=1) == full[1:]
    assert perturb_all(texts, "leet", seed=2) != full


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(TEXT, "rot13", random.Random(0))
