"""The HTTP server: FastAPI with GET /healthz, GET /metrics and POST /api/v1/classify, and the Gradio app
mounted at / (its UI, its queue and its named API endpoints for ``gradio_client``).

POST /api/v1/classify is for low-latency callers: plain JSON, no queue (a `gradio_client` call
costs ~55 ms through Gradio's queue here, README "The app under load").

    curl -s localhost:7860/api/v1/classify -H 'content-type: application/json' -d '{"texts": ["you idiot"]}'
"""

from __future__ import annotations

import threading
import time

import anyio
import gradio as gr
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from toxic.errors import ToxicError
from toxic.serve import telemetry
from toxic.serve.service import Service


class ClassifyRequest(BaseModel):
    text: str | None = Field(None, description="one text")
    texts: list[str] | None = Field(None, description="or several texts (at most 256)")


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

    def score(texts: list[str]) -> list[dict]:
        with telemetry.observe("rest_classify"):
            return service.results(*service.score(texts, source="rest"))

    @api.post("/api/v1/classify")
    async def classify(body: ClassifyRequest) -> dict:
        if (body.text is None) == (body.texts is None):
            raise ToxicError('send either {"text": "..."} or {"texts": ["...", ...]}')
        texts = [body.text] if body.text is not None else body.texts
        if len(texts) > 256:
            raise ToxicError(f"{len(texts)} texts in one request; send at most 256")
        results = await anyio.to_thread.run_sync(score, texts, limiter=scoring)
        return {"model": service.clf.info.model_id, "version": service.clf.info.version, "results": results}

    @api.exception_handler(ToxicError)
    def toxic_error(request: Request, exc: ToxicError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    settings = service.settings
    auth = None  # the dashboard login guards only the Drift tab's data, inside app.py
    return gr.mount_gradio_app(
        api,
        demo,
        path="",
        max_file_size=f"{settings.max_upload_mb}mb",
        mcp_server=settings.mcp,
        auth=auth,
        show_error=True,
        footer_links=["api", "gradio"],
        enable_monitoring=False,  # /monitoring would publish Gradio's traffic summary; /metrics has ours
    )


class BackgroundServer:
    """uvicorn in a thread: for tests, benchmarks and `python app.py`'s own process."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
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
