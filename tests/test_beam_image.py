"""beam/Dockerfile, the Dataflow worker image: lint, its base matches the locked Beam, and its scoring packages are
the serving lock's (the same model runs on the same onnxruntime and tokenizers as the app)."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO

DOCKERFILE = REPO / "beam" / "Dockerfile"


def locked(path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), re.M)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_hadolint_passes():
    out = subprocess.run(
        [str(REPO / ".venv" / "bin" / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_base_is_the_locked_beam_sdk_and_its_entrypoint_stays():
    text = DOCKERFILE.read_text()
    (base,) = re.findall(r"^FROM (\S+)", text, re.M)
    assert base == f"apache/beam_python3.11_sdk:{locked(REPO / 'requirements-beam.lock')['apache-beam']}"
    assert not re.search(r"^(ENTRYPOINT|CMD)\b", text, re.M)  # the SDK image's boot starts the worker harness
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        *sources, _ = line.split()
        assert all((REPO / s).exists() for s in sources), line
    assert "-r requirements-beam.lock" in text and "COPY models/default" in text


def test_scoring_packages_are_the_serving_locks():
    beam, serving = locked(REPO / "requirements-beam.lock"), locked(REPO / "requirements.lock")
    for name in ("onnxruntime", "tokenizers", "numpy", "pandas", "ftfy", "charset-normalizer"):
        assert beam[name] == serving[name], f"{name}: {beam[name]} in the beam lock, {serving[name]} served"
