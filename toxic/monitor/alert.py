"""Drift alerts for a scheduler: ``toxic drift --check`` exits 1 and POSTs a Slack-compatible message
(``{"text": ...}``) to a webhook when the share of drifted features reaches the threshold."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from toxic.errors import DriftError


def crossed(summary: dict, threshold: float) -> bool:
    """Whether the drift in a :func:`toxic.monitor.drift.compare` summary reaches ``threshold`` (share of features)."""
    return summary["drift_share"] >= threshold


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def describe(summary: dict, threshold: float, report: str | None = None) -> str:
    """One message a person reads in a chat channel."""
    window = summary.get("window", {})
    toxic = summary["toxic_rate"]
    drifted = ", ".join(summary["drifted_features"]) or "none"
    lines = [
        f"Drift in toxic predictions: {summary['drift_share']:.0%} of features drifted "
        f"(alert threshold {threshold:.0%}): {drifted}.",
        f"Toxic rate {_pct(toxic['reference'])} in training -> {_pct(toxic['current'])} now, over "
        f"{summary['rows']['current']:,} predictions"
        + (f" from {window['start']} to {window['end']}." if window else "."),
    ]
    if summary.get("embedding"):
        e = summary["embedding"]
        lines.append(f"Embedding drift score (ROC AUC) {e['score']:.3f}, threshold {e['threshold']:.3f}.")
    lines += summary.get("notes", [])
    if report:
        lines.append(f"Report: {report}")
    return "\n".join(lines)


def post_webhook(url: str, text: str, timeout: float = 10.0) -> None:
    """POST ``{"text": text}`` as JSON (what Slack, Mattermost and Teams incoming webhooks accept)."""
    if not url.startswith(("http://", "https://")):
        raise DriftError(f"the webhook must be an http(s) URL, got {url!r}")
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except (urllib.error.URLError, OSError) as e:
        raise DriftError(f"could not POST the drift alert to {url}: {e}") from e
