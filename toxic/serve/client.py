"""A gradio_client ``Client`` for this app, set up as a careful caller sets one up.

    from toxic.serve.client import gradio_client
    client = gradio_client("http://127.0.0.1:7860")
    client.predict("you are an idiot", api_name="/classify")

gradio_client opens a new httpx client for every request (queue join, results stream), and httpx builds a TLS
context with the CA bundle for each one, even for http://: ~18 ms of CPU, twice per call. One prebuilt context,
passed as ``ssl_verify`` (which goes to httpx's ``verify``), makes that ~0.1 ms: 42 -> 3.5 ms of client CPU a call.
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def gradio_client(url: str, timeout: float | None = None):
    """A ``gradio_client.Client`` on ``url`` sharing one TLS context; ``timeout`` (seconds) bounds each HTTP
    request, ``None`` keeps gradio_client's own timeouts (for a long job such as a large CSV)."""
    from gradio_client import Client

    kwargs = {"timeout": timeout} if timeout is not None else {}
    return Client(url, verbose=False, ssl_verify=_tls(), httpx_kwargs=kwargs)
