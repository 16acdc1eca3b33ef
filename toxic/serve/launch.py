"""Start the app: the Gradio UI and the HTTP routes on one uvicorn server (``python app.py``)."""

from __future__ import annotations

import gradio as gr

from toxic.serve.service import Service, open_log_or_warn
from toxic.serve.startup import configure_gradio
from toxic.serve.ui import build, example_texts
from toxic.settings import Settings


def build_for_process(service: Service) -> gr.Blocks:
    """The UI, after the process-wide Gradio settings it relies on (toxic/serve/startup.py)."""
    info = service.clf.info
    configure_gradio(info.path, info.model_id, info.version, list(example_texts()))
    return build(service)


def main() -> None:
    settings = Settings.from_env()
    service = Service(settings, log=open_log_or_warn(settings))
    demo = build_for_process(service)
    if settings.share:  # a temporary public link through Gradio's share servers: the UI and its API only
        demo.launch(
            share=True,
            server_name=settings.server_name,
            server_port=settings.server_port,
            mcp_server=settings.mcp,
            enable_monitoring=False,  # /monitoring would publish Gradio's traffic summary; /metrics has ours
        )
        return
    import uvicorn

    from toxic.serve.server import SHUTDOWN_S, build_app

    print(
        f"toxic: serving {service.clf.info.model_id} on http://{settings.server_name}:{settings.server_port}",
        flush=True,
    )
    uvicorn.run(
        build_app(demo, service),
        host=settings.server_name,
        port=settings.server_port,
        log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_S,
    )
