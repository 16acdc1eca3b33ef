"""Comment text for the Perspective-compatible API: HTML to plain text, sentences, UTF-16 offsets.

Perspective reports spans as ``begin``/``end`` in UTF-16 code units of the text the client sent (what
JavaScript's ``String.prototype.slice`` takes), not Python code points: an emoji outside the Basic Multilingual
Plane counts 2, a combining accent 1. Offsets always refer to the original text, also for HTML comments, whose
tags are stripped before scoring. Spans tile the text: each ends where the next sentence's text begins (with
HTML, the markup before a sentence's first word belongs to the span before).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TAG = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)
_BLOCK = re.compile(r"<\s*/?\s*(br|p|div|li|ul|ol|h[1-6]|tr|td|th|blockquote|pre|hr|section|article)\b", re.I)
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?")
# A sentence ends at ., ! or ? (and their CJK and ellipsis forms), with any closing quotes or brackets, before
# whitespace; a line break ends one too. Splitting only at whitespace keeps combining marks and emoji sequences
# (ZWJ, skin tones) inside their sentence.
_BOUNDARY = re.compile(r"[.!?\u2026\u3002\uff01\uff1f]+[\"'\u2019\u201d)\]]*\s+|\s*\n\s*")


@dataclass(frozen=True)
class Comment:
    original: str  # as the client sent it
    text: str  # what the model reads: the original, or its text without tags for HTML
    origin: list[int] | None = (
        None  # origin[i]: the index in ``original`` of text[i]; None when text is original
    )

    @classmethod
    def plain(cls, text: str) -> Comment:
        return cls(text, text)

    @classmethod
    def from_html(cls, markup: str) -> Comment:
        text, origin = strip_html(markup)
        return cls(markup, text, origin)

    def sentences(self) -> list[tuple[int, int, str]]:
        """``(begin, end, sentence)`` with begin/end in UTF-16 units of the original; the spans tile it."""
        bounds = sentence_bounds(self.text)
        if not bounds:
            return []
        starts = [self._to_original(b) for b, _ in bounds]
        starts[0] = 0  # the first span covers any leading markup or space too, the last any trailing
        ends = [*starts[1:], len(self.original)]
        units = utf16_prefix(self.original)
        return [
            (units[s], units[e], self.text[b:end])
            for (b, end), s, e in zip(bounds, starts, ends, strict=True)
        ]

    def _to_original(self, i: int) -> int:
        return i if self.origin is None else self.origin[i]


def strip_html(markup: str) -> tuple[str, list[int]]:
    """The text of an HTML fragment (tags, comments, scripts and styles gone; entities decoded; block tags become
    line breaks) and, per character, its index in ``markup``."""
    out: list[str] = []
    origin: list[int] = []
    pos = 0
    for m in _TAG.finditer(markup):
        _decode(markup, pos, m.start(), out, origin)
        if _BLOCK.match(m.group()):
            out.append("\n")
            origin.append(m.start())
        pos = m.end()
    _decode(markup, pos, len(markup), out, origin)
    return "".join(out), origin


def _decode(markup: str, start: int, end: int, out: list[str], origin: list[int]) -> None:
    pos = start
    for m in _ENTITY.finditer(markup, start, end):
        out.extend(markup[pos : m.start()])
        origin.extend(range(pos, m.start()))
        decoded = html.unescape(m.group())
        out.extend(decoded)
        origin.extend([m.start()] * len(decoded))
        pos = m.end()
    out.extend(markup[pos:end])
    origin.extend(range(pos, end))


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """Code-point ranges of the sentences of ``text``, tiling it: each takes the space after it. Ranges holding
    nothing but space are merged into the one before."""
    cuts = [0, *(m.end() for m in _BOUNDARY.finditer(text) if 0 < m.end() < len(text)), len(text)]
    bounds: list[tuple[int, int]] = []
    for b, e in zip(cuts, cuts[1:], strict=False):
        if b == e:
            continue
        if bounds and not text[b:e].strip():
            bounds[-1] = (bounds[-1][0], e)
        elif bounds and not text[bounds[-1][0] : bounds[-1][1]].strip():
            bounds[-1] = (bounds[-1][0], e)  # leading space: part of the first sentence
        else:
            bounds.append((b, e))
    return bounds


def utf16_prefix(text: str) -> list[int]:
    """``units[i]``: UTF-16 code units before code point ``i`` (``len(text) + 1`` entries)."""
    units = [0] * (len(text) + 1)
    n = 0
    for i, ch in enumerate(text):
        units[i] = n
        n += 2 if ord(ch) > 0xFFFF else 1
    units[len(text)] = n
    return units


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
