"""Which words drove a score: leave-one-word-out occlusion, computed as one batch through the classifier.

For a text of n words we score n + 1 texts (the original and each one with a word left out); a word's weight is
how much the score's log-odds, log(p / (1 - p)), drop without it. Positive weights pushed the score up, negative
ones pulled it down. Log-odds, not probability: near 0 or 1 a sigmoid flattens every change, so in "you are a
stupid worthless idiot" (0.92) leaving out "stupid" moves the probability by less than 0.01 while it still moves
the log-odds by a third of what "idiot" does. Long texts explain their first ``max_words`` words (the rest keep
weight 0), which bounds the cost to one batch.
"""

from __future__ import annotations

import re

import numpy as np

_WORD = re.compile(r"\S+")
EPS = 1e-6  # probabilities are clipped to [EPS, 1 - EPS] before taking log-odds
# log-odds; smaller weights are not coloured (at p = 0.5, a change of ~0.0125 in probability)
MIN_SHOWN = 0.05


def word_weights(clf, text: str, label: str = "toxic", max_words: int = 128) -> list[tuple[str, float]]:
    """``[(word, weight), ...]`` covering the whole text (whitespace kept in the words' order)."""
    words = _WORD.findall(text or "")
    if not words:
        return []
    j = clf.labels.index(label)
    n = min(len(words), max_words)
    variants = [" ".join(words[:i] + words[i + 1 :]) for i in range(n)]
    probs = np.clip(clf.predict_proba([" ".join(words), *variants])[:, j].astype(np.float64), EPS, 1 - EPS)
    log_odds = np.log(probs / (1 - probs))
    weights = log_odds[0] - log_odds[1:]
    return [(w, round(float(weights[i]), 3) if i < n else 0.0) for i, w in enumerate(words)]
