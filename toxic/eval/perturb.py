"""Obfuscations people use to slip past filters, as seeded, deterministic text perturbations.

The evaluation suite scores val texts perturbed by each kind (robustness = the macro-F1 drop against clean val);
training can draw the same functions on training texts (``--augment-obfuscate``). Every function has the form
``f(text, rng) -> text`` with ``rng`` a ``random.Random``: the same seed gives the same text.

    >>> import random
    >>> perturb("you are a stupid idiot", "leet", random.Random(0))
    'you @re a stupid 1di07'

Word-level kinds change a share (:data:`WORD_SHARE`) of the words of three letters or more, at least one when
the text has any; mentions (``@user``) and hashtags are left alone. The emoji, hashtags and neutral sentences are
our own lists.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

WORD_SHARE = 0.4  # share of eligible words a word-level perturbation changes (at least one)

_WORD = re.compile(r"(?<![@#\w])[A-Za-z]{3,}(?!\w)")

LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "l": "1", "g": "9", "b": "8"}
EMOJI = ("😂", "🙄", "😡", "🔥", "💯", "👀", "🤡", "😤", "🙃", "👍", "😭", "🤔", "💀", "✨")
HASHTAGS = (
    "#monday", "#mood", "#facts", "#justsaying", "#nofilter", "#tbt", "#truth", "#rant", "#smh", "#weekend",
    "#news", "#sports", "#politics", "#random", "#life",
)  # fmt: skip
NEUTRAL_SENTENCES = (
    "The bus was ten minutes late this morning.",
    "I finally finished reading that book last night.",
    "It looks like it might rain later today.",
    "We are having pasta for dinner again.",
    "My phone battery died halfway through the day.",
    "The game starts at seven on Saturday.",
    "Just got back from a long walk in the park.",
    "The new update moved all the buttons around.",
    "Coffee first, then emails.",
    "Traffic on the bridge was slow as usual.",
    "The library closes early on Sundays.",
    "I need to remember to water the plants.",
)


def _words(text: str, rng: random.Random, min_len: int = 3) -> list[re.Match]:
    """A seeded choice of the eligible words to change: WORD_SHARE of them, at least one."""
    words = [m for m in _WORD.finditer(text) if len(m.group()) >= min_len]
    if not words:
        return []
    k = max(1, round(WORD_SHARE * len(words)))
    return sorted(rng.sample(words, k), key=lambda m: m.start())


def _per_word(text: str, rng: random.Random, change: Callable[[str, random.Random], str], min_len=3) -> str:
    out, last = [], 0
    for m in _words(text, rng, min_len):
        out += [text[last : m.start()], change(m.group(), rng)]
        last = m.end()
    return "".join(out) + text[last:]


def leet(text: str, rng: random.Random) -> str:
    """Letters become look-alike digits and symbols: ``idiot`` -> ``1d10t`` (at least one letter per word)."""

    def change(word: str, rng: random.Random) -> str:
        spots = [i for i, c in enumerate(word) if c.lower() in LEET]
        if not spots:
            return word
        chosen = {i for i in spots if rng.random() < 0.6} or {rng.choice(spots)}
        return "".join(rng.choice(LEET[c.lower()]) if i in chosen else c for i, c in enumerate(word))

    return _per_word(text, rng, change)


def swap(text: str, rng: random.Random) -> str:
    """Two neighbouring inner letters trade places: ``stupid`` -> ``sutpid``."""

    def change(word: str, rng: random.Random) -> str:
        i = rng.randrange(1, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    return _per_word(text, rng, change, min_len=4)


def drop(text: str, rng: random.Random) -> str:
    """One inner letter goes missing: ``stupid`` -> ``stpid``."""

    def change(word: str, rng: random.Random) -> str:
        i = rng.randrange(1, len(word) - 1)
        return word[:i] + word[i + 1 :]

    return _per_word(text, rng, change, min_len=4)


def duplicate(text: str, rng: random.Random) -> str:
    """A letter is repeated two to four times: ``stupid`` -> ``stuuupid``."""

    def change(word: str, rng: random.Random) -> str:
        i = rng.randrange(len(word))
        return word[: i + 1] + word[i] * rng.randint(1, 3) + word[i + 1 :]

    return _per_word(text, rng, change)


def spaces(text: str, rng: random.Random) -> str:
    """Spaces inside words: every letter apart (``i d i o t``) or one split (``idi ot``), half and half."""

    def change(word: str, rng: random.Random) -> str:
        if rng.random() < 0.5:
            return " ".join(word)
        i = rng.randrange(1, len(word))
        return word[:i] + " " + word[i:]

    return _per_word(text, rng, change)


def upper(text: str, rng: random.Random) -> str:
    """SHOUTING: the whole text upper-cased (an uncased backbone should not notice)."""
    return text.upper()


def _insert_tokens(text: str, rng: random.Random, pool: tuple[str, ...]) -> str:
    tokens = text.split()
    for _ in range(rng.randint(1, 3)):
        tokens.insert(rng.randint(0, len(tokens)), rng.choice(pool))
    return " ".join(tokens)


def emoji(text: str, rng: random.Random) -> str:
    """One to three emoji added between words."""
    return _insert_tokens(text, rng, EMOJI)


def hashtag(text: str, rng: random.Random) -> str:
    """One to three unrelated hashtags added between words."""
    return _insert_tokens(text, rng, HASHTAGS)


def neutral_prefix(text: str, rng: random.Random) -> str:
    """A harmless sentence put in front, diluting the signal."""
    return f"{rng.choice(NEUTRAL_SENTENCES)} {text}"


PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "leet": leet,
    "swap": swap,
    "drop": drop,
    "duplicate": duplicate,
    "spaces": spaces,
    "upper": upper,
    "emoji": emoji,
    "hashtag": hashtag,
    "neutral_prefix": neutral_prefix,
}
KINDS = tuple(PERTURBATIONS)


def perturb(text: str, kind: str, rng: random.Random) -> str:
    """Apply one kind of perturbation (a name in :data:`KINDS`)."""
    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {kind!r}: choose one of {', '.join(KINDS)}")
    return PERTURBATIONS[kind](text, rng)


def perturb_all(texts: list[str], kind: str, seed: int = 0) -> list[str]:
    """Every text perturbed by ``kind``, each with its own generator seeded by (seed, kind, text): a text gets
    the same perturbation whatever else is in the list (a subsample sees the same texts as the full run)."""
    return [perturb(t, kind, random.Random(f"{seed}:{kind}:{t}")) for t in texts]
