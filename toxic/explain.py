"""Which words drove a score: leave-one-word-out occlusion, computed as one batch through the classifier.

For a text of n words we score n + 1 texts (the original and each one with a word left out); a word's weight is
how much the score's log-odds, log(p / (1 - p)), drop without it. Positive weights pushed the score up, negative
ones pulled it down. Log-odds, not probability: near 0 or 1 a sigmoid flattens every change, so in "you are a
stupid worthless idiot" (0.92) leaving out "stupid" moves the probability by less than 0.01 while it still moves
the log-odds by a third of what "idiot" does.

Long texts explain their first ``max_words`` words (and at most :data:`MAX_HEAD_CHARS` characters) only, as a text of those words (the rest keep weight 0): the
cost is ``max_words + 1`` texts of at most ``max_words`` words, whatever the text's length. Leaving one word out
of the whole text instead would cost ``max_words + 1`` whole texts: 58 s for a 30 KB text.
"""

from __future__ import annotations

import re

import numpy as np

_WORD = re.compile(r"\S+")
EPS = 1e-6  # probabilities are clipped to [EPS, 1 - EPS] before taking log-odds
# log-odds; smaller weights are not coloured (at p = 0.5, a change of ~0.0125 in probability)
MIN_SHOWN = 0.05
# characters of the explained words together: 64 words of pasted junk (no spaces for 300 characters each) would
# otherwise cost 65 texts of ~20,000 characters (~25 s); ordinary words average ~6 characters, far below it
MAX_HEAD_CHARS = 1000


def word_weights(clf, text: str, label: str = "toxic", max_words: int = 128) -> list[tuple[str, float]]:
    """``[(word, weight), ...]`` covering the whole text (whitespace kept in the words' order)."""
    words = _WORD.findall(text or "")
    if not words:
        return []
    j = clf.labels.index(label)
    n = _explained(words, max_words)
    head = [w[:MAX_HEAD_CHARS] for w in words[:n]]
    variants = [" ".join(head[:i] + head[i + 1 :]) for i in range(n)]
    probs = np.clip(clf.predict_proba([" ".join(head), *variants])[:, j].astype(np.float64), EPS, 1 - EPS)
    log_odds = np.log(probs / (1 - probs))
    weights = log_odds[0] - log_odds[1:]
    return [(w, round(float(weights[i]), 3) if i < n else 0.0) for i, w in enumerate(words)]


def explained_words(text: str, max_words: int) -> tuple[int, int]:
    """(words explained, words in the text)."""
    words = _WORD.findall(text)
    return _explained(words, max_words), len(words)


def _explained(words: list[str], max_words: int) -> int:
    """How many leading words are explained: at most max_words and MAX_HEAD_CHARS characters, at least one."""
    n, chars = 0, 0
    for w in words[:max_words]:
        chars += len(w) + 1
        if n and chars > MAX_HEAD_CHARS:
            break
        n += 1
    return n
