"""Training augmentations: identity swaps stay within category and form, obfuscation draws on toxic.eval.perturb,
and our lists are not the evaluation set's. A tiny real training run with every augmentation on is in
test_container.py (the training image's entry point, run once)."""

import random

from toxic.data import load_bias_madlibs
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
