"""Shared fixtures. Real parts only: the embedded ONNX model, real files, real subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app_process import free_port

pytest_plugins = ["tests.storage_emulator"]

REPO = Path(__file__).resolve().parents[1]
# The shipped model's labels, in its order: toxic and hate, and whatever labels it has gained (toxic.json)
_MODEL = json.loads((REPO / "models" / "default" / "toxic.json").read_text())
MODEL_LABELS = tuple(_MODEL["labels"])
MODEL_THRESHOLDS = dict(_MODEL["thresholds"])  # the shipped model's own thresholds, per label
SCORE_COLUMNS = [*MODEL_LABELS, *(f"{label}_label" for label in MODEL_LABELS)]  # what a scored file adds
TRAIN_PYTHON = REPO / ".venv-train" / "bin" / "python"
CLOUD_PYTHON = REPO / ".venv-cloud" / "bin" / "python"
# For tests that read a process's memory map or peak RSS from /proc (the CI matrix also runs macOS).
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux only)")

# Under xdist every worker is a process of its own: one onnxruntime thread each (for the processes they start too),
# or n workers with n threads each oversubscribe n cores, and onnxruntime's spinning threads burn the difference.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("TOXIC_THREADS", "1")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Each test writes its state (HF cache, logs, flags) under its own tmp_path."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TOXIC_LOG", str(tmp_path / "predictions.sqlite"))
    monkeypatch.setenv("TOXIC_FLAG_DIR", str(tmp_path / "flagged"))
    monkeypatch.delenv("TOXIC_MODEL", raising=False)


@pytest.fixture(scope="session")
def clf():
    from toxic import Classifier

    return Classifier.load()


@pytest.fixture(scope="session")
def train_python() -> Path:
    """The training environment's interpreter; its absence fails in CI and skips elsewhere."""
    if TRAIN_PYTHON.exists():
        return TRAIN_PYTHON
    if os.environ.get("CI"):
        pytest.fail("CI must install the training environment (.venv-train): ./tasks.sh setup-train")
    pytest.skip("no training environment here: ./tasks.sh setup-train")


def train_json(train_python: Path, code: str) -> dict:
    """Runs ``code`` in the training environment from the repository root; returns the JSON object it prints last."""
    run = subprocess.run(
        [str(train_python), "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def cloud_python() -> Path:
    """The job-submission environment's interpreter (google-cloud-aiplatform): fails in CI, skips elsewhere."""
    if CLOUD_PYTHON.exists():
        return CLOUD_PYTHON
    if os.environ.get("CI"):
        pytest.fail("CI must install the cloud environment (.venv-cloud): ./tasks.sh setup-cloud")
    pytest.skip("no cloud environment here: ./tasks.sh setup-cloud")


def toxic_cli(*args: str, cwd: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    exe = shutil.which("toxic", path=str(Path(sys.executable).parent)) or "toxic"
    return subprocess.run([exe, *args], capture_output=True, text=True, cwd=cwd, input=input, timeout=300)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The real app (Gradio UI + API + FastAPI routes) over real HTTP on a free loopback port, with small limits
    (1 MB uploads, 5,000 rows) so the limit cases are cheap to hit."""
    import dataclasses

    from toxic.serve.launch import build_for_process
    from toxic.serve.server import BackgroundServer, build_app
    from toxic.serve.service import Service, open_log_or_warn
    from toxic.settings import Settings

    state = tmp_path_factory.mktemp("app")
    settings = dataclasses.replace(
        Settings.from_env(),
        max_upload_mb=1,
        max_rows=5000,
        flag_dir=state / "flagged",
        log=str(state / "predictions.sqlite"),
    )
    service = Service(settings, log=open_log_or_warn(settings))
    cache = state / "cached_examples"  # a fresh examples cache: the test proves the app fills it at first use
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(cache)
    demo = build_for_process(service)
    server = BackgroundServer(build_app(demo, service), "127.0.0.1", free_port()).start(timeout=120)
    server.service = service
    server.examples_cache = cache
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(app_server):
    """gradio_client as the README sets it up: one TLS context for all its requests (~40 ms of CPU less a call)."""
    from toxic.serve.client import gradio_client

    return gradio_client(app_server.url, timeout=None)


def pytest_collection_modifyitems(session, config, items):
    """Files with a slow test first, each file's tests in their order: workers take whole files (--dist loadfile),
    and a long file handed out last would leave the other workers idle while it runs."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: the order within each group stays
