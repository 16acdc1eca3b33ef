"""Requests of the Perspective-compatible API, read and checked as Google's ``commentanalyzer`` v1alpha1 discovery
document defines them, and Google's JSON error shape for everything that can go wrong.

Field names are accepted in lowerCamelCase (what clients send) and snake_case (what proto JSON parsers also
take), as Google's servers do; an unknown field is an error, as it is there, so a typo is not silently ignored.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from toxic.serve.perspective_text import Comment

TEXT_TYPES = ("TEXT_TYPE_UNSPECIFIED", "PLAIN_TEXT", "HTML")
SCORE_TYPES = ("SCORE_TYPE_UNSPECIFIED", "PROBABILITY", "STD_DEV_SCORE", "PERCENTILE", "RAW")
ANSWERED_SCORE_TYPES = ("SCORE_TYPE_UNSPECIFIED", "PROBABILITY")

_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "status"[, "details"]}}``."""

    def __init__(self, code: int, message: str, details: list[dict] | None = None, status: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _STATUS[code]
        self.details = details

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid(message: str) -> ApiError:
    return ApiError(400, message)


# --- the message schemas (discovery document: AnalyzeCommentRequest, SuggestCommentScoreRequest, ...) ----------

_TEXT_ENTRY = {"text": str, "type": str}
_CONTEXT = {
    "entries": [_TEXT_ENTRY],
    "articleAndParentComment": {"article": _TEXT_ENTRY, "parentComment": _TEXT_ENTRY},
}
_SCORE = {"value": float, "type": str}
_SPAN = {"begin": int, "end": int, "score": _SCORE}
ANALYZE = {
    "comment": _TEXT_ENTRY,
    "context": _CONTEXT,
    "requestedAttributes": ({"scoreThreshold": float, "scoreType": str},),  # a 1-tuple: a map of that message
    "languages": [str],
    "doNotStore": bool,
    "clientToken": str,
    "sessionId": str,
    "communityId": str,
    "spanAnnotations": bool,
}
SUGGEST = {
    "comment": _TEXT_ENTRY,
    "context": _CONTEXT,
    "attributeScores": ({"summaryScore": _SCORE, "spanScores": [_SPAN]},),
    "languages": [str],
    "clientToken": str,
    "sessionId": str,
    "communityId": str,
}
_TYPE_NAMES = {str: "TYPE_STRING", float: "TYPE_FLOAT", int: "TYPE_INT32", bool: "TYPE_BOOL"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _shown(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def check(value, schema, where: str):
    """``value`` checked against ``schema``, with snake_case keys renamed; raises ApiError naming the field."""
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise invalid(
                f"Invalid JSON payload received. Invalid value at '{where or 'body'}': expected an object"
            )
        out = {}
        for key, item in value.items():
            name = _camel(key)
            if name not in schema:
                place = f" at '{where}'" if where else ""
                raise invalid(
                    f'Invalid JSON payload received. Unknown name "{key}"{place}: Cannot find field.'
                )
            if item is not None:
                out[name] = check(item, schema[name], f"{where}.{name}" if where else name)
        return out
    if isinstance(schema, tuple):  # map<string, message>
        if not isinstance(value, dict):
            raise invalid(f"Invalid JSON payload received. Invalid value at '{where}': expected an object")
        return {
            str(k): check(v if v is not None else {}, schema[0], f"{where}[{k}]") for k, v in value.items()
        }
    if isinstance(schema, list):
        if not isinstance(value, list):
            raise invalid(f"Invalid JSON payload received. Invalid value at '{where}': expected a list")
        return [check(v, schema[0], f"{where}[{i}]") for i, v in enumerate(value)]
    ok = {
        str: isinstance(value, str),
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
    }[schema]
    if schema is float and isinstance(value, str):  # proto JSON writes floats as strings too: "0.5", "NaN"
        try:
            value, ok = float(value), True
        except ValueError:
            ok = False
    if not ok or (schema is float and not math.isfinite(value)):
        raise invalid(f"Invalid value at '{where}' ({_TYPE_NAMES[schema]}), {_shown(value)}")
    return float(value) if schema is float else value


def parse_body(raw: bytes, schema: dict) -> dict:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise invalid(f"Invalid JSON payload received. {e}") from None
    return check(body, schema, "")


# --- what a request asks -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    key: str  # as requested, echoed in the response (e.g. "TOXICITY" or "TOXICITY@6")
    name: str  # without a version suffix, upper case
    label: str  # the model's label that answers it
    threshold: float | None = None
    score_type: str = "PROBABILITY"


@dataclass(frozen=True)
class Request:
    comment: Comment
    languages: list[str]
    client_token: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    span_annotations: bool = False
    do_not_store: bool = False
    session_id: str | None = None
    community_id: str | None = None
    suggested: dict[str, float] = field(default_factory=dict)  # suggestscore: label -> value


def attribute_label(key: str, table: dict[str, str]) -> tuple[str, str]:
    name = key.split("@", 1)[0].strip().upper()
    if name not in table:
        supported = ", ".join(table) or "none"
        raise invalid(f"Unknown requested attribute: {key}. This server's model answers: {supported}.")
    return name, table[name]


def language_codes(values: list[str]) -> list[str]:
    """ISO 639 or BCP-47 codes -> their primary language subtag, lower case (``en-US`` -> ``en``)."""
    codes = []
    for v in values:
        code = re.split(r"[-_]", v.strip(), maxsplit=1)[0].lower()
        if not re.fullmatch(r"[a-z]{2,3}", code):
            raise invalid(f'Invalid language code: {_shown(v)}. Send ISO 639-1 codes such as "en".')
        codes.append(code)
    return codes


def read_comment(body: dict, max_bytes: int) -> Comment:
    entry = body.get("comment") or {}
    text = entry.get("text", "")
    if not text.strip():
        raise invalid("Comment must be non-empty.")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise invalid(
            f"Comment text too long. It is {size:,} bytes of UTF-8; this server takes at most {max_bytes:,}"
            " (TOXIC_PERSPECTIVE_MAX_BYTES)."
        )
    text_type = entry.get("type", "TEXT_TYPE_UNSPECIFIED")
    if text_type not in TEXT_TYPES:
        raise invalid(f"Unknown text type {_shown(text_type)}: use PLAIN_TEXT or HTML.")
    comment = Comment.from_html(text) if text_type == "HTML" else Comment.plain(text)
    if not comment.text.strip():
        raise invalid("Comment must be non-empty.")  # markup with no text in it
    return comment


def check_context(body: dict) -> None:
    context = body.get("context") or {}
    if "entries" in context and "articleAndParentComment" in context:
        raise invalid("Context can have either entries or article_and_parent_comment, but not both.")


def analyze_request(body: dict, table: dict[str, str], max_bytes: int) -> Request:
    check_context(body)
    comment = read_comment(body, max_bytes)
    requested = body.get("requestedAttributes") or {}
    if not requested:
        raise invalid(f"Missing requested_attributes: ask for at least one of {', '.join(table)}.")
    attributes = []
    for key, params in requested.items():
        name, label = attribute_label(key, table)
        score_type = params.get("scoreType", "SCORE_TYPE_UNSPECIFIED")
        if score_type not in SCORE_TYPES:
            raise invalid(f"Invalid value at 'requested_attributes[{key}].score_type', {_shown(score_type)}")
        if score_type not in ANSWERED_SCORE_TYPES:
            raise invalid(
                f"Requested score type {score_type} is not supported by attribute {key}: this server gives "
                "PROBABILITY scores only."
            )
        threshold = params.get("scoreThreshold")
        if threshold is not None and not 0 <= threshold <= 1:
            raise invalid(f"score_threshold for {key} must be from 0 to 1, got {threshold}")
        attributes.append(Attribute(key, name, label, threshold))
    return Request(
        comment=comment,
        languages=language_codes(body.get("languages", [])),
        client_token=body.get("clientToken"),
        attributes=attributes,
        span_annotations=body.get("spanAnnotations", False),
        do_not_store=body.get("doNotStore", False),
        session_id=body.get("sessionId"),
        community_id=body.get("communityId"),
    )


def suggest_request(body: dict, table: dict[str, str], max_bytes: int) -> Request:
    check_context(body)
    comment = read_comment(body, max_bytes)
    scores = body.get("attributeScores") or {}
    if not scores:
        raise invalid(
            f"Missing attribute_scores: give a summaryScore for at least one of {', '.join(table)}."
        )
    suggested = {}
    for key, given in scores.items():
        _, label = attribute_label(key, table)
        value = (given.get("summaryScore") or {}).get("value")
        if value is None:
            raise invalid(f"attribute_scores[{key}] needs summaryScore.value, from 0 to 1")
        if not 0 <= value <= 1:
            raise invalid(f"attribute_scores[{key}].summary_score.value must be from 0 to 1, got {value}")
        suggested[label] = value
    return Request(
        comment=comment,
        languages=language_codes(body.get("languages", [])),
        client_token=body.get("clientToken"),
        session_id=body.get("sessionId"),
        community_id=body.get("communityId"),
        suggested=suggested,
    )
