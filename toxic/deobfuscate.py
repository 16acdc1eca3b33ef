"""Undo the spellings people use to slip past filters, before the model sees a text.

    >>> d = Deobfuscator.load(vocab={"you", "are", "an", "idiot", "stupid"})
    >>> d("you are an 1d10t, s t u p i d")
    'you are an idiot, stupid'

Four repairs, each made only when it turns a word nobody writes into a word we know (the lexicon: the tokenizer's
whole words plus the words of our training tweets, ``toxic/lexicon.json.gz``):

1. look-alike digits and symbols back to letters: ``1d10t`` -> ``idiot``, ``sh!t`` -> ``shit``, ``@r3`` -> ``are``;
2. repeated letters cut: runs of three or more (``stuuupid`` -> ``stupid``) in any word, a doubled letter
   (``sstupid``) only in a word never seen in training, so that ``rapped`` never becomes ``raped``;
3. words spelled out with spaces joined: ``y o u a r e a n i d i o t`` -> ``you are an idiot`` (a run of single
   letters split into its likeliest known words), ``idi ot`` -> ``idiot`` (two pieces, one of two or more letters
   unknown: ``the N`` stays);
4. a swapped or missing letter in a word never seen in training repaired, only toward the words that mostly occur
   in offensive training tweets (``sutpid`` -> ``stupid``, ``stpid`` -> ``stupid``) and only when one such word
   fits: a general spelling corrector would turn real words we do not know (``caved``) into others (``craved``).

Letters from other alphabets or styled Unicode that render as Latin ones are folded first (``𝐢𝐝𝐢𝐨𝐭``, ``ⓘⓓⓘⓞⓣ``,
``іdіоt`` with Cyrillic letters, a zero-width space inside a word); Cyrillic and Greek only inside words that
also have Latin letters, so Russian and Greek text is untouched. Letters masked with asterisks (``f*ck``, ``sh*t``, ``f**king``) are filled in the same way: each ``*`` one letter,
toward the commonest offensive training word that fits, when one clearly does. Mentions, hashtags, numbers (``1st``, ``100k``, ``50s``) and pieces of fewer than three characters (``b4``,
``A1``) are left alone.
What it measured (docs/experiments.md): on the suite's obfuscated val texts the mean macro-F1 drop fell
from 4.66 to 1.21 points, at the same clean-val F1 within noise. ``Classifier(deobfuscate=False)`` or ``TOXIC_DEOBFUSCATE=0``
turns it off.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

LEXICON = Path(__file__).with_name("lexicon.json.gz")

# look-alike -> the letters it may stand for (``1`` is ``i`` or ``l``)
LEET_BACK = {"4": "a", "@": "a", "3": "e", "1": "il", "!": "i", "0": "o", "5": "s", "$": "s", "7": "t", "9": "g", "8": "b"}  # fmt: skip
KNOWN_COUNT = 3  # a training word seen this often is a known word
JOIN_COUNT = 20  # joining pieces needs a commoner word: ``declassify fisa`` is not ``declassifyfisa``
MAX_CANDIDATES = 16  # spellings tried per word, bounding the cost of words full of look-alikes
MAX_WORD = 40  # longer pieces are not words: left alone, which bounds the work on a 1 MB "word"
MAX_SPELLED = 40  # letters of one spelled-out run segmented into words (the cost is quadratic)

_PIECE = re.compile(r"(?<![#@\w$!])[A-Za-z0-9@$!]+")
_NUMBER = re.compile(
    r"\d*(?:1st|2nd|3rd|\dth)|\d+(?:s|k|m|b|bn|am|pm|x|p|mm|cm|km|kg|lbs?|hrs?|mins?)",
    re.IGNORECASE,
)  # 1st, 100k, 50s, 10pm: numbers, not leetspeak
_RUN3 = re.compile(r"([a-z])\1{2,}")
_RUN2 = re.compile(r"([a-z])\1+")
_WORD_AND_PUNCT = re.compile(r"([A-Za-z]+)(\W*)")
_MASKED = re.compile(r"(?<![\w*])[A-Za-z]+\*+[A-Za-z][A-Za-z*]*(?![\w*])")  # f*ck, sh*t, f**king; not *sigh*


# Letters from other blocks that render as Latin ones. Styled letters (mathematical bold/italic/script, circled,
# fullwidth) are folded everywhere: NFKC maps them to ASCII and no language writes words with them. Cyrillic and
# Greek look-alikes are folded only inside a word that also has Latin letters ("іdіоt" with Cyrillic і and о), so
# Russian or Greek text is left as it is.
_STYLED = {
    cp: ascii_form
    for lo, hi in ((0xFF10, 0xFF5A), (0x1D400, 0x1D7FF), (0x24B6, 0x24E9))
    for cp in range(lo, hi + 1)
    if (ascii_form := unicodedata.normalize("NFKC", chr(cp))).isascii() and ascii_form.isalnum()
}
_CONFUSABLE = str.maketrans(
    "аеорсухіјѕԁһкмтвнАВЕКМНОРСТУХІЈЅαεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhkmtbhABEKMHOPCTYXIJSaeikvoptuxABEHIKMNOPTYX",
)
_MIXED = re.compile(r"\w*[A-Za-z]\w*")
_FOREIGN_LOOKALIKE = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0500-\u052f]")
_ZERO_WIDTH_IN_WORD = re.compile(r"(?<=\w)[\u00ad\u200b-\u200d\u2060\ufeff]+(?=\w)")


def fold_lookalike_letters(text: str) -> str:
    """``𝐢𝐝𝐢𝐨𝐭``, ``ⓘⓓⓘⓞⓣ``, ``іdіоt`` (Cyrillic і, о), ``id\u200biot`` -> ``idiot``. ASCII text costs one check."""
    if text.isascii():
        return text
    text = _ZERO_WIDTH_IN_WORD.sub("", text.translate(_STYLED))
    return _MIXED.sub(
        lambda m: m.group().translate(_CONFUSABLE) if _FOREIGN_LOOKALIKE.search(m.group()) else m.group(),
        text,
    )


class Deobfuscator:
    """``text -> text``, deterministic; 60-110 µs a tweet with a cold word cache, less once words repeat."""

    def __init__(self, counts: dict[str, int], targets: Iterable[str], vocab: Iterable[str] = ()) -> None:
        words = {w for w in vocab if w.isalpha()}
        self.counts = counts
        self.known = words | {w for w, c in counts.items() if c >= KNOWN_COUNT and len(w) >= 3}
        self.joinable = words | {w for w, c in counts.items() if c >= JOIN_COUNT}
        self.targets = frozenset(targets)
        self._missing_one: dict[str, set[str]] = {}  # a target with one inner letter dropped -> the targets
        for t in self.targets:
            for i in range(1, len(t) - 1):
                self._missing_one.setdefault(t[:i] + t[i + 1 :], set()).add(t)
        self._vocab = words
        self._log_total = math.log(sum(counts.values()) + 1)
        self.fix_word = functools.lru_cache(maxsize=16384)(self._fix_word)  # ~4 MB when full

    @classmethod
    def load(cls, vocab: Iterable[str] = (), path: Path = LEXICON) -> Deobfuscator:
        """The packaged lexicon (``train/make_lexicon.py`` writes it from the training data) plus ``vocab``,
        a tokenizer's whole words."""
        with gzip.open(path, "rt", encoding="utf-8") as f:
            lexicon = json.load(f)
        return cls(lexicon["counts"], lexicon["targets"], vocab)

    def __call__(self, text: str) -> str:
        text = fold_lookalike_letters(text)
        if "*" in text:
            text = _MASKED.sub(lambda m: self.unmask(m.group()), text)
        tokens = [_PIECE.sub(lambda m: self.fix_word(m.group()), t) for t in text.split(" ")]
        return " ".join(self._join(tokens))

    # --- words ------------------------------------------------------------------------------------------------

    def _fix_word(self, piece: str) -> str:
        word = piece.lower()
        if word in self.known or word == "@user" or not 3 <= len(word) <= MAX_WORD or _NUMBER.fullmatch(word):
            return piece
        if not any("a" <= c <= "z" for c in word):  # $107, 2020: money and numbers
            return piece
        core = word.rstrip("!")  # a trailing "!" is punctuation, not an "i"
        tail = piece[len(core) :]
        if core in self.known or not core:
            return piece
        leet = any(c in LEET_BACK for c in core)
        unseen = not self._seen(core)
        for spelling in _unleet(core) if leet else [core]:
            for candidate in _shorten_runs(spelling, _RUN2 if unseen else _RUN3):
                if candidate in self.known:
                    return candidate + tail
        if not leet and core.isalpha():
            fixed = self._typo(core)
            if fixed:
                return fixed + tail
        return piece

    def unmask(self, piece: str) -> str:
        """``f*ck`` -> ``fuck``: each ``*`` one letter, toward the commonest target word that fits, if it is clear."""
        if len(piece) > MAX_WORD:
            return piece
        pattern = re.compile(re.escape(piece.lower()).replace(r"\*", "[a-z]"))
        fits = [w for w in self.targets if len(w) == len(piece) and pattern.fullmatch(w)]
        return self._favourite(fits, margin=2) or piece

    def _typo(self, word: str) -> str | None:
        """The one offensive training word one swap or one missing letter away from an unseen ``word``."""
        if len(word) < 4 or self._seen(word):
            return None
        swapped = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(1, len(word) - 2)}
        return self._favourite((swapped & self.targets) | self._missing_one.get(word, set()), margin=3)

    def _favourite(self, words: Iterable[str], margin: float) -> str | None:
        """The commonest of ``words`` in training, if ``margin`` times commoner than the next; else None."""
        ranked = sorted(((self.counts.get(w, 0), w) for w in words), reverse=True)
        if not ranked or (len(ranked) > 1 and ranked[1][0] * margin > ranked[0][0]):
            return None
        return ranked[0][1]

    # --- spaces -----------------------------------------------------------------------------------------------

    def _join(self, tokens: list[str]) -> list[str]:
        out, i = [], 0
        while i < len(tokens):
            j = i
            while j < len(tokens) and len(tokens[j]) == 1 and tokens[j].isalpha():
                j += 1
            if j - i > MAX_SPELLED:  # not a spelled-out word: kept, and skipped whole (linear in the run)
                out += tokens[i:j]
                i = j
                continue
            if j - i >= 3:  # "i d i o t", "y o u a r e"
                words = self._segment("".join(tokens[i:j]).lower())
                if words:
                    out += words
                    i = j
                    continue
            if i + 1 < len(tokens) and tokens[i].isalpha():  # "idi ot", "idi ot!"
                a = tokens[i].lower()
                # two known words, the usual case, need no regex
                both_known = a in self.known and tokens[i + 1].lower() in self.known
                m = None if both_known else _WORD_AND_PUNCT.fullmatch(tokens[i + 1])
                if m:
                    b = m.group(1).lower()
                    unknown = [p for p in (a, b) if len(p) > 1 and p not in self.known]  # "the N" stays
                    if (a + b) in self.joinable and len(a + b) >= 3 and unknown:
                        out.append(a + b + m.group(2))
                        i += 2
                        continue
            out.append(tokens[i])
            i += 1
        return out

    def _seen(self, word: str) -> bool:
        """In the tokenizer's vocabulary or in our training tweets, however rarely."""
        return word in self.counts or word in self._vocab

    def _word(self, piece: str) -> bool:
        return piece in self.known if len(piece) > 1 else piece in "aiu"

    def _segment(self, letters: str) -> list[str] | None:
        """``letters`` as the likeliest sequence of known words by training-word frequency (``youarea`` -> you,
        are, a; not you, area), or None when it is not words. Single letters are words only for a, i and u."""
        best: list[tuple[float, list[str]] | None] = [(0.0, [])] + [None] * len(letters)
        for end in range(1, len(letters) + 1):
            for start in range(max(0, end - 24), end):
                word, prefix = letters[start:end], best[start]
                if prefix is None or not self._word(word):
                    continue
                cost = prefix[0] + self._log_total - math.log(self.counts.get(word, 0) + 0.5)
                if best[end] is None or cost < best[end][0]:
                    best[end] = (cost, [*prefix[1], word])
        found = best[-1]
        return found[1] if found and len(found[1]) < len(letters) else None


def _unleet(word: str) -> list[str]:
    options = [LEET_BACK.get(c, c) for c in word]
    if math.prod(len(o) for o in options) > MAX_CANDIDATES:
        return [word]
    return ["".join(p) for p in itertools.product(*options)]


def _shorten_runs(word: str, pattern: re.Pattern = _RUN3) -> list[str]:
    """``word`` itself, then its runs of repeated letters (those ``pattern`` finds) cut to two or one."""
    runs = [m.span() for m in pattern.finditer(word)][:4]
    out = [word]
    for keep in itertools.product((2, 1), repeat=len(runs)) if runs else ():
        parts, last = [], 0
        for (a, b), k in zip(runs, keep, strict=True):
            parts += [word[last:a], word[a] * k]
            last = b
        out.append("".join(parts) + word[last:])
    return out


def build_lexicon(texts: Iterable[str], toxic: Iterable[int], min_texts: int = 15, rate: float = 0.8) -> dict:
    """Word counts of training ``texts`` (lower-cased) and the target words: words of 4+ letters in at least
    ``min_texts`` texts with a known ``toxic`` label, ``rate`` or more of them offensive."""
    counts, in_texts, in_toxic = Counter(), Counter(), Counter()
    for text, y in zip(texts, toxic, strict=True):
        words = re.findall(r"[a-z]+", text.lower())
        counts.update(words)
        if y >= 0:
            in_texts.update(set(words))
            if y == 1:
                in_toxic.update(set(words))
    targets = sorted(
        w for w, n in in_texts.items() if n >= min_texts and len(w) >= 4 and in_toxic[w] / n >= rate
    )
    return {"counts": dict(sorted(counts.items())), "targets": targets}
