"""A Perspective-compatible API: code written for Google's Perspective Comment Analyzer API works against this
server by changing its URL (or its discovery URL) and nothing else.

    POST /v1alpha1/comments:analyze        scores for requested attributes (TOXICITY, IDENTITY_ATTACK, ...)
    POST /v1alpha1/comments:suggestscore   a correction, saved with the app's flags (``toxic corrections export``)
    GET  /$discovery/rest?version=v1alpha1 the discovery document (toxic/serve/discovery.py)

    curl -s localhost:7860/v1alpha1/comments:analyze -H 'content-type: application/json' \\
      -d '{"comment": {"text": "you idiot"}, "requestedAttributes": {"TOXICITY": {}}}'

Attributes map to the model's labels through the model's own table (``attributes`` in ``toxic.json``); one the
model does not have is refused, never guessed. Only English is scored. Errors use Google's JSON shape and
Perspective's messages. Keys (``TOXIC_API_KEYS``) and a per-key rate limit (``TOXIC_API_RATE``) are optional.
What differs from Perspective, and why: docs/migrating-from-perspective.md.
"""

from __future__ import annotations

import hmac
import math
import threading
import time

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from toxic import language
from toxic.errors import ToxicError
from toxic.serve import telemetry
from toxic.serve.perspective_request import (
    ANALYZE,
    SUGGEST,
    ApiError,
    analyze_request,
    language_codes,
    parse_body,
    suggest_request,
)
from toxic.serve.perspective_text import utf16_len
from toxic.serve.service import Service

SOURCE = "perspective"  # the prediction log's and the corrections' source for this API
KEY_INVALID = [
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": {"service": "commentanalyzer.googleapis.com"},
    }
]


class Gate:
    """API keys and a per-key token bucket. Without keys configured any key (or none) is let in, and the rate limit,
    when set, applies per client address."""

    def __init__(self, keys: frozenset[str], rate: float) -> None:
        self.keys = [k.encode("utf-8") for k in keys]
        self.rate = rate
        self.burst = max(1.0, rate)  # a second's worth of requests may come at once
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, when)
        self._lock = threading.Lock()

    def admit(self, request: Request) -> None:
        key = request.query_params.get("key") or request.headers.get("x-goog-api-key")
        if self.keys:
            if not key:
                raise ApiError(403, "The request is missing a valid API key.")
            given = key.encode("utf-8")
            if not any(hmac.compare_digest(given, k) for k in self.keys):
                raise ApiError(400, "API key not valid. Please pass a valid API key.", KEY_INVALID)
            caller = "key:" + key
        else:
            caller = "ip:" + (request.client.host if request.client else "?")
        if self.rate > 0:
            self._take(caller)

    def _take(self, caller: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1:
                wait = (1 - tokens) / self.rate
                raise ApiError(
                    429,
                    f"Quota exceeded: this server allows {self.rate:g} requests per second per API key "
                    f"(TOXIC_API_RATE); retry in {wait:.2f} s.",
                    [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{wait:.3f}s"}],
                )
            if len(self._buckets) > 10_000:  # forget callers whose bucket has refilled: the map stays bounded
                self._buckets = {
                    c: b for c, b in self._buckets.items() if now - b[1] < self.burst / self.rate
                }
            self._buckets[caller] = (tokens - 1, now)


def language_error(attribute: str, languages: list[str], detected: bool) -> ApiError:
    field = "detectedLanguages" if detected else "requestedLanguages"
    return ApiError(
        400,
        f"Attribute {attribute} does not support request languages: {', '.join(languages)}. This server "
        "scores English (en) only.",
        [
            {
                "@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
                "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                "languageNotSupportedByAttributeError": {field: languages, "attribute": attribute},
            }
        ],
    )


def _score(value: float) -> dict:
    return {"value": round(float(value), 7), "type": "PROBABILITY"}


class Perspective:
    """The two methods, on plain dicts: what the routes call in a worker thread."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.table = service.clf.info.attributes
        self.max_bytes = service.settings.perspective_max_bytes

    def languages(self, req, attribute: str) -> list[str] | None:
        """The detected languages when none were requested; an error when the comment is not English."""
        if req.languages:
            if "en" not in req.languages:
                raise language_error(attribute, req.languages, detected=False)
            return None
        detection = language.detect(req.comment.text)
        if detection.clearly_not_english:
            raise language_error(attribute, list(detection.languages), detected=True)
        return list(detection.languages)

    def analyze(self, body: dict) -> dict:
        req = analyze_request(body, self.table, self.max_bytes)
        detected = self.languages(req, req.attributes[0].key)
        text = self.service.check_text(req.comment.text)
        probs, _ = self.service.score([text], SOURCE, store=not req.do_not_store)
        spans = req.comment.sentences() if req.span_annotations else []
        if len(spans) > 1:
            # The sentences in one forward pass of their own, never in the comment's: int8 activations are
            # quantized per batch, so batch-mates move a score (by up to 0.015 here) and the summary would
            # change with spanAnnotations. Sentences are not logged: the comment is the prediction.
            span_probs = self.service.clf.predict_proba([s for _, _, s in spans])
        else:
            spans, span_probs = [(0, utf16_len(req.comment.original), text)], probs
        labels = self.service.labels
        scores = {}
        for a in req.attributes:
            j = labels.index(a.label)
            value = float(probs[0, j])
            if a.threshold is not None and value < a.threshold:
                continue  # Perspective leaves out scores under the requested threshold
            scores[a.key] = {
                "spanScores": [
                    {"begin": b, "end": e, "score": _score(v)}
                    for (b, e, _), v in zip(spans, span_probs[:, j], strict=True)
                    if a.threshold is None or v >= a.threshold
                ],
                "summaryScore": _score(value),
            }
        out = {"attributeScores": scores, "languages": body.get("languages") or detected[:1]}
        if detected is not None:
            out["detectedLanguages"] = detected
        if "clientToken" in body:
            out["clientToken"] = body["clientToken"]
        return out

    def suggest(self, body: dict) -> dict:
        req = suggest_request(body, self.table, self.max_bytes)
        languages = body.get("languages") or []
        text = self.service.check_text(req.comment.text)
        model = self.service.clf.predict_proba([text])[
            0
        ]  # what the model says now, kept beside the correction
        attributes = {key: s["summaryScore"]["value"] for key, s in body["attributeScores"].items()}
        extra = {
            "attributes": attributes,
            **{k: body[k] for k in ("sessionId", "communityId", "clientToken") if k in body},
        }
        if languages:
            extra["languages"] = language_codes(languages)
        self.service.flag(
            text,
            {label: float(p) for label, p in zip(self.service.labels, model, strict=True)},
            req.suggested,
            source=SOURCE,
            extra=extra,
        )
        out: dict = {"requestedLanguages": languages}
        if not languages:
            out["detectedLanguages"] = list(language.detect(text).languages)
        if "clientToken" in body:
            out["clientToken"] = body["clientToken"]
        return out


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused once it passes ``limit`` bytes (before reading it all)."""
    declared = request.headers.get("content-length", "")
    too_big = ApiError(400, f"Request payload size exceeds the limit: {limit} bytes.")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def error_response(e: ApiError) -> JSONResponse:
    headers = {}
    if e.code == 429:
        delay = e.details[0]["retryDelay"].rstrip("s") if e.details else "1"
        headers["retry-after"] = str(max(1, math.ceil(float(delay))))
    return JSONResponse(e.body(), status_code=e.code, headers=headers)


def root_url(request: Request) -> str:
    """The server's URL as the client reached it: behind a TLS-terminating proxy (Cloud Run, a Space) the
    forwarded scheme and host, so that clients built from the discovery document call back through the proxy."""
    url = request.base_url
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
    if proto in ("http", "https"):
        url = url.replace(scheme=proto)
    if host:
        url = url.replace(netloc=host)
    return str(url)


def perspective_router(service: Service) -> APIRouter:
    """The routes, to mount on the app's FastAPI: ``api.include_router(perspective_router(service))``."""
    from toxic.serve.discovery import discovery_document

    api = Perspective(service)
    gate = Gate(service.settings.api_keys, service.settings.api_rate)
    body_limit = max(2**20, 8 * api.max_bytes)  # room for JSON escapes and a context beside the comment
    scoring = anyio.CapacityLimiter(2)  # as /api/v1/classify: forward passes run one at a time anyway
    router = APIRouter()

    async def answer(request: Request, method, schema: dict, endpoint: str) -> JSONResponse:
        try:
            with telemetry.observe(endpoint):
                gate.admit(request)
                body = parse_body(await read_body(request, body_limit), schema)
                result = await anyio.to_thread.run_sync(method, body, limiter=scoring)
        except ApiError as e:
            return error_response(e)
        except ToxicError as e:  # the service's own checks (text length, labels): the caller's to fix
            return error_response(ApiError(400, str(e)))
        except Exception as e:  # never a traceback to the caller; the server's log has it
            import traceback

            traceback.print_exc()
            return error_response(
                ApiError(500, f"Internal error ({type(e).__name__}); the server log has details.")
            )
        return JSONResponse(result)

    @router.post("/v1alpha1/comments:analyze", include_in_schema=False)
    async def analyze(request: Request) -> JSONResponse:
        return await answer(request, api.analyze, ANALYZE, "perspective_analyze")

    @router.post("/v1alpha1/comments:suggestscore", include_in_schema=False)
    async def suggestscore(request: Request) -> JSONResponse:
        return await answer(request, api.suggest, SUGGEST, "perspective_suggestscore")

    @router.get("/$discovery/rest", include_in_schema=False)
    def discovery(request: Request, version: str = "v1alpha1") -> JSONResponse:
        if version != "v1alpha1":
            return error_response(
                ApiError(404, f"Discovery document not found for API service: version {version}")
            )
        return JSONResponse(discovery_document(root_url(request), service.clf.info.attributes))

    @router.api_route(
        "/v1alpha1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def not_found(request: Request, rest: str) -> JSONResponse:
        return error_response(
            ApiError(
                404,
                f"Method not found: {request.method} /v1alpha1/{rest}. This API has POST "
                "/v1alpha1/comments:analyze and POST /v1alpha1/comments:suggestscore.",
            )
        )

    return router
