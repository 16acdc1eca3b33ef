"""The package as a user installs it: the wheel built from this checkout, installed into a fresh virtual environment
in a temporary directory (outside the checkout, nothing of it on the path), gives a ``toxic`` command and
``toxic.Classifier.load()`` with the embedded model, and ``toxic serve`` starts the app."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.app_process import free_port
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _uv() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not uv:
        pytest.skip("uv is not installed here")
    return uv


def _clean_env(home: Path) -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH into this checkout, the state under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TOXIC_", "VIRTUAL_ENV"))}
    return env | {"HOME": str(home), "HF_HUB_OFFLINE": "1", "TOXIC_LOG": "off"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtual environment with the built wheel and its app extras, the versions pinned by requirements.lock.
    The wheel is built from the source distribution, as pip does from a checkout (and nothing is built in it)."""
    uv, tmp = _uv(), tmp_path_factory.mktemp("package")
    run = subprocess.run(
        [uv, "build", "-o", str(tmp / "dist"), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("toxic-*.whl")
    venv = tmp / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, timeout=120)
    install = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    run = subprocess.run(
        [*install, "-c", str(REPO / "requirements.lock"), f"{wheel}[app,monitor]"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return venv


def _run(venv: Path, tool: str, *args: str, home: Path) -> str:
    """A command of the installed environment, run as a user would, outside the checkout; its stdout."""
    out = subprocess.run(
        [str(venv / "bin" / tool), *args],
        cwd=home,
        env=_clean_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_the_installed_command_scores_with_the_embedded_model(installed, tmp_path):
    lines = _run(
        installed, "toxic", "predict", "you are an idiot", "have a nice day", home=tmp_path
    ).splitlines()
    first, second = (json.loads(line) for line in lines)
    assert "toxic" in first["labels"]
    assert second["labels"] == [] and second["toxic"] < 0.5
    code = "import toxic; c = toxic.Classifier.load(); print(c.info.path); print(c.predict('you idiot')['toxic'])"
    path, score = _run(installed, "python", "-c", code, home=tmp_path).split()
    assert Path(path).is_relative_to(installed) and float(score) > 0.5  # the packaged copy, not this checkout


def test_toxic_serve_starts_the_app_from_the_installed_package(installed, tmp_path):
    port = free_port()
    env = _clean_env(tmp_path) | {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(installed / "bin" / "toxic"), "serve"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "not ready in 120 s: " + (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/classify", json={"text": "you idiot"}, timeout=30
        )
        assert answer.status_code == 200 and answer.json()["results"][0]["toxic"] > 0.5, answer.text
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
