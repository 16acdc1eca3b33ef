"""Text normalisation shared by training and serving, so the model sees the same text in both.

The rules, in order:
1. HTML entities are unescaped (``&amp;`` -> ``&``, ``&#128514;`` -> the emoji), repeatedly for double escapes.
2. ``ftfy`` repairs mojibake, e.g. UTF-8 emoji double-encoded as cp1252 (``ðŸ‡ºðŸ‡¸`` -> the flag).
3. URLs are removed (TweetEval-offensive already had them removed; the other sources are brought in line).
4. Every ``@handle`` becomes ``@user`` (TweetEval's anonymisation), and a retweet marker ``RT @user:`` is dropped.
   A handle starts a word: the ``@`` inside ``f@g`` or ``r3t@rd`` is a look-alike letter, left for
   ``toxic.deobfuscate``.
5. Whitespace (including newlines and control characters) collapses to single spaces.
"""

from __future__ import annotations

import html
import re

import ftfy

_URL = re.compile(r"(?:https?://|www\.)\S+|\bhttps?\b:?", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_RETWEET = re.compile(r"(?:^|\s)RT\s*(?:@user)?\s*:?(?=\s|$)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Normalise one raw comment. Returns "" for texts with nothing left (callers decide what that means)."""
    if not text:
        return ""
    for _ in range(3):  # "&amp;amp;" is common in scraped tweets
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    text = ftfy.fix_text(text, unescape_html=False)
    text = _URL.sub(" ", text)
    text = _MENTION.sub("@user", text)
    text = _RETWEET.sub(" ", text)
    text = _CONTROL.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def safe_text(text: str) -> str:
    """The text with every code point that cannot be written as UTF-8 (a lone surrogate such as ``"\\ud800"``, as
    JSON's ``\\ud800`` escapes produce) replaced by U+FFFD, and a split surrogate pair joined into its character.
    Done once where text enters the app, so that scoring, the prediction log and the reply all see valid text."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
