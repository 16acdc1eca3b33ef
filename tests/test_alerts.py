"""The Prometheus alert rules are valid (promtool check rules) and fire when they should (promtool test rules,
on synthetic series in monitoring/alerts_test.yml). ``./tasks.sh test`` installs promtool (Debian: prometheus)."""

import shutil
import subprocess

import pytest

from tests.conftest import REPO

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed: ./tasks.sh test installs it (Debian package prometheus)"
)


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, cwd=REPO / "monitoring", timeout=120
    )


def test_alert_rules_are_valid_and_use_the_app_metrics():
    out = promtool("check", "rules", "alerts.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    rules = (REPO / "monitoring" / "alerts.yml").read_text()
    for metric in (
        "toxic_requests_total",
        "toxic_request_latency_seconds_bucket",
        'toxic_predictions_total{label="toxic"}',
        "toxic_texts_total",
    ):
        assert metric in rules
    for alert in ("ToxicHighErrorRate", "ToxicSlowRequests", "ToxicRateShift"):
        assert f"alert: {alert}" in rules


def test_alerts_fire_on_errors_latency_and_a_toxic_rate_shift_and_not_before():
    out = promtool("test", "rules", "alerts_test.yml")
    assert out.returncode == 0, out.stdout + out.stderr
