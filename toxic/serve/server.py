"""The HTTP server: FastAPI with GET /healthz, GET /metrics and POST /api/v1/classify, and the Gradio app
mounted at / (its UI, its queue and its named API endpoints for ``gradio_client``).

POST /api/v1/classify is for low-latency callers: plain JSON, no queue (a `gradio_client` call
costs ~55 ms through Gradio's queue here, README "The app under load").

    curl -s localhost:7860/api/v1/classify -H 'content-type: application/json' -d '{"texts": ["you idiot"]}'

Every request is checked at the door (:class:`InputGuard`) before any work: a body over the size the limits allow,
a text over its limit (413), or a file that was not uploaded through the app (400) never reaches a handler, and no
error on any route carries a server path or a stack trace (docs/limits.md).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
import time

import anyio
import gradio as gr
import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from toxic.errors import InputError, LimitError, ToxicError, UploadError
from toxic.serve import telemetry
from toxic.serve.perspective import perspective_router
from toxic.serve.service import Service

log = logging.getLogger("toxic.server")
# SIGTERM: requests still running after this are cancelled (Cloud Run and Kubernetes allow ~10 s)
SHUTDOWN_S = 5


class ClassifyRequest(BaseModel):
    text: str | None = Field(None, description="one text")
    texts: list[str] | None = Field(
        None, description="or several texts (TOXIC_MAX_REQUEST_TEXTS, 256 by default)"
    )


def status_of(exc: ToxicError) -> int:
    if isinstance(exc, LimitError):
        return 413
    if isinstance(exc, UploadError):
        return 400
    return 422


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class InputGuard:
    """ASGI middleware: checks a POST's body under /api/ and /gradio_api/ before the app sees it.

    - a body over the bytes the text limits allow (6 bytes a character, a JSON ``\\uXXXX`` escape) is refused
      as it arrives (413), so an oversized request costs neither memory nor scoring;
    - in a Gradio call's ``data``: every file must be in Gradio's upload folder (``Service.check_upload``; Gradio
      itself checks nothing when mounted on FastAPI, and would fetch an http(s) URL), each text within
      TOXIC_MAX_TEXT_CHARS and all of them within TOXIC_MAX_REQUEST_CHARS (a batched call shares its forward pass
      with other callers: an oversized one is refused here, alone), every number finite.
    Uploads (multipart, bounded by Gradio's max_file_size) pass unread."""

    def __init__(self, app, service: Service) -> None:
        self.app = app
        self.service = service
        s = service.settings
        self.max_bytes = 6 * (s.max_request_chars + s.max_text_chars) + (1 << 16)

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not path.startswith(("/api/", "/gradio_api/"))
            or path.startswith("/gradio_api/upload")
        ):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await _error(413, self._too_large())(scope, receive, send)
                return
        # a large body is tokenized to count its tokens: off the event loop, so other requests are not held up
        check = functools.partial(self.check, path, bytes(body))
        problem = check() if len(body) < 1 << 14 else await anyio.to_thread.run_sync(check)
        if problem is not None:
            await _error(*problem)(scope, receive, send)
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        s = self.service.settings
        return (
            f"request too large: at most {s.max_request_chars:,} characters of text a request "
            f"(TOXIC_MAX_REQUEST_CHARS) and {s.max_text_chars:,} a text (TOXIC_MAX_TEXT_CHARS)"
        )

    def check(self, path: str, body: bytes) -> tuple[int, str] | None:
        if not path.startswith("/gradio_api/"):
            return None  # the REST routes check their own typed bodies
        try:
            data = json.loads(body).get("data") if body else None
        except (ValueError, AttributeError):
            return None  # not a JSON object: Gradio answers it
        texts: list[str] = []
        try:
            self._walk(data, texts)
            self.service.check_texts(texts)
        except ToxicError as e:
            return status_of(e), str(e)
        return None

    def _walk(self, value, texts: list[str]) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, float) and not math.isfinite(
            value
        ):  # JSON's NaN and Infinity, which Python reads
            raise InputError("numbers must be finite: NaN and Infinity are not accepted")
        elif isinstance(value, list):
            for v in value:
                self._walk(v, texts)
        elif isinstance(value, dict):
            if "path" in value:  # a Gradio FileData
                self.service.check_upload(value["path"])
                return
            for v in value.values():
                self._walk(v, texts)


def build_app(demo: gr.Blocks, service: Service) -> FastAPI:
    api = FastAPI(title="toxic", docs_url="/api/docs", openapi_url="/api/openapi.json")

    @api.get("/healthz")
    def healthz() -> dict:
        return service.health()

    @api.get("/metrics")
    def metrics() -> Response:
        return Response(telemetry.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    # At most two requests are scored at once, on two worker threads; the rest wait on the event loop. A sync
    # route would take one of anyio's 40 threads per waiting request: with 32 callers, +34 threads and ~30 MB
    # more RSS, for forward passes that run one at a time anyway (Classifier holds a lock around each).
    scoring = anyio.CapacityLimiter(2)

    def score(texts: list) -> list[dict]:
        with telemetry.observe("rest_classify"):
            return service.results(*service.score(texts, source="rest"))

    @api.post("/api/v1/classify")
    async def classify(body: ClassifyRequest) -> dict:
        if (body.text is None) == (body.texts is None):
            raise ToxicError('send either {"text": "..."} or {"texts": ["...", ...]}')
        texts = service.check_texts([body.text] if body.text is not None else body.texts)
        results = await anyio.to_thread.run_sync(score, texts, limiter=scoring)
        return {"model": service.clf.info.model_id, "version": service.clf.info.version, "results": results}

    api.include_router(
        perspective_router(service)
    )  # /v1alpha1/comments:analyze, ... (toxic/serve/perspective.py)

    @api.exception_handler(ToxicError)
    def toxic_error(request: Request, exc: ToxicError) -> JSONResponse:
        return _error(status_of(exc), str(exc))

    @api.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own reply echoes the input, which JSON cannot always carry ({"text": 1e999} made it a 500)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        )
        return _error(
            422, f'invalid request ({problems}); send {{"text": "..."}} or {{"texts": ["...", ...]}}'
        )

    @api.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        # one shape for every error on our routes; FastAPI's "error parsing the body" (invalid UTF-8, a
        # 5,000-digit number, nesting deeper than the parser's stack) becomes a 400 that says what to send
        message = exc.detail if isinstance(exc.detail, str) else "invalid request"
        if exc.status_code == 400:
            message = (
                f'invalid request ({message.lower()}); send {{"text": "..."}} or {{"texts": ["...", ...]}}'
            )
        return _error(exc.status_code, message)

    @api.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)  # the details stay in the server's log
        return _error(500, "internal error: the request could not be completed; it has been logged")

    settings = service.settings
    auth = None  # the dashboard login guards only the Drift tab's data, inside app.py
    api.add_middleware(InputGuard, service=service)
    return gr.mount_gradio_app(
        api,
        demo,
        path="",
        max_file_size=f"{settings.max_upload_mb}mb",
        mcp_server=settings.mcp,
        auth=auth,
        show_error=False,  # gr.Error messages are shown; any other exception's text (paths, internals) is not
        footer_links=["api", "gradio"],
        enable_monitoring=False,  # /monitoring would publish Gradio's traffic summary; /metrics has ours
    )


class BackgroundServer:
    """uvicorn in a thread: for tests, benchmarks and `python app.py`'s own process."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=SHUTDOWN_S,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://{host}:{port}"

    def start(self, timeout: float = 30) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
