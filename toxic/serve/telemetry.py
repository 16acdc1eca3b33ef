"""Prometheus metrics of the serving app (exported at GET /metrics; alert rules in monitoring/alerts.yml)."""

from __future__ import annotations

import time
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "toxic_requests", "Requests handled, by endpoint and status", ["endpoint", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "toxic_request_latency_seconds",
    "Time spent handling a request (model work, not queueing), by endpoint",
    ["endpoint"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
    registry=REGISTRY,
)
TEXTS = Counter("toxic_texts", "Texts scored", registry=REGISTRY)
PREDICTIONS = Counter(
    "toxic_predictions", "Texts at or over the threshold, by label", ["label"], registry=REGISTRY
)
MODEL = Gauge(
    "toxic_model_info", "The model being served (value 1)", ["model_id", "version"], registry=REGISTRY
)


@contextmanager
def observe(endpoint: str):
    """Time a request and count it as ok or error."""
    started = time.perf_counter()
    status = "ok"
    try:
        yield
    except Exception:
        status = "error"
        raise
    finally:
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        REQUESTS.labels(endpoint, status).inc()


def count(labels, decisions) -> None:
    """Record scored texts and positive decisions (decisions: (n, len(labels)) booleans)."""
    TEXTS.inc(len(decisions))
    for j, label in enumerate(labels):
        PREDICTIONS.labels(label).inc(int(decisions[:, j].sum()) if len(decisions) else 0)


def exposition() -> bytes:
    return generate_latest(REGISTRY)
