"""Which language a comment is in: offline, with the model that ships inside the ``py3langid`` wheel (a 4.5 MB
naive Bayes over byte n-grams, 97 languages; nothing is downloaded).

The model is loaded at the first detection, not at start: it takes ~1 s and ~75 MB of RSS (its feature table
is a 27 MB float16 matrix, the rest its byte automaton), which a server whose clients always name their
``languages`` never needs.

    >>> from toxic.language import detect
    >>> detect("Das ist ein schöner Tag heute").language
    'de'

The model we serve is trained on English only, so the one question that matters is "clearly not English?".
Short comments, slang and emoji carry little signal (``lol`` ranks Sesotho first, at 3%), so a comment counts as
clearly not English only when another language leads and English is far behind; anything less certain is read as
English (listed first in ``languages``), which is what the model does with it anyway.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

MIN_LETTERS = 12  # fewer letters than this: too little to tell languages apart reliably
# Clearly not English: the top language has at least CONFIDENT (probabilities are normalised over 97 languages,
# and close relatives share the mass: fr/oc/ca, ru/bg/mk) and English is under ENGLISH_FLOOR. On the 4,796 val
# tweets this flags 5, all Dutch or Arabic, and no English one; "Du bist ein Idiot, hau ab" (de 0.58, en 0.003)
# and "Sei un idiota, vattene via" (it 0.28, en 0.001) are flagged.
CONFIDENT = 0.25
ENGLISH_FLOOR = 0.005
REPORTED = 0.1  # languages at least this probable are reported, most probable first

# Mentions, links and hashtags are names, not language: ``@user`` alone ranks Breton first.
_NOISE = re.compile(r"@\w+|#\w+|https?://\S+|www\.\S+")
_LETTER = re.compile(r"[^\W\d_]")

_identifier = None
_lock = threading.Lock()


@dataclass(frozen=True)
class Detection:
    language: str  # ISO 639-1 code of the most likely language; "en" when the text is too short to tell
    languages: tuple[str, ...]  # the probable ones, most probable first (Perspective's detectedLanguages)
    clearly_not_english: bool


def _get():
    global _identifier
    with _lock:  # loading takes ~1 s (an xz-compressed matrix): once per process, never twice at once
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def detect(text: str) -> Detection:
    signal = _NOISE.sub(" ", text)
    if len(_LETTER.findall(signal)) < MIN_LETTERS:
        return Detection("en", ("en",), False)
    # "zxx" is "no linguistic content" (codes, hashes, keyboard mashing): not a language a comment is in
    ranked = [(lang, p) for lang, p in _get().rank(signal) if lang != "zxx"]
    probable = tuple(lang for lang, p in ranked[:3] if p >= REPORTED) or ("en",)
    top, p_top = ranked[0]
    p_en = next((p for lang, p in ranked if lang == "en"), 0.0)
    clearly_not = top != "en" and p_top >= CONFIDENT and p_en < ENGLISH_FLOOR
    if not clearly_not and probable[0] != "en":
        probable = ("en", *[lang for lang in probable if lang != "en"])  # we read it as English: say so first
    return Detection(probable[0], probable, clearly_not)
