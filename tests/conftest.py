"""Shared fixtures. Real parts only: the embedded ONNX model, real files, real subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TRAIN_PYTHON = REPO / ".venv-train" / "bin" / "python"


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


def toxic_cli(*args: str, cwd: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    exe = shutil.which("toxic", path=str(Path(sys.executable).parent)) or "toxic"
    return subprocess.run([exe, *args], capture_output=True, text=True, cwd=cwd, input=input, timeout=300)
