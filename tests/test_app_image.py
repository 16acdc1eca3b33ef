"""The app image (Dockerfile at the root), without a Docker engine: it lints, every path it copies exists, and its
install steps, run in a fresh virtual environment from the same lock, give a working, torch-free serving path."""

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"


def steps(op: str) -> list[str]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith(op + " ")]


def test_hadolint_passes():
    out = subprocess.run(
        [str(REPO / ".venv" / "bin" / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_copied_path_exists_and_the_image_serves_the_embedded_model():
    for args in steps("COPY"):
        *sources, _ = args.split()
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: no such path"
    text = DOCKERFILE.read_text()
    assert "torch" not in "".join(steps("RUN")) and "GRADIO_SERVER_NAME=0.0.0.0" in text
    assert "EXPOSE 7860" in text and "/healthz" in text and re.search(r"^USER \d+", text, re.M)


@pytest.mark.slow
def test_install_steps_work_in_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    uv = REPO / ".venv" / "bin" / "uv"  # the same pip commands, through uv's cache so the test stays fast
    for run in steps("RUN"):
        for command in run.split("&&"):
            words = command.split()
            if words[:2] == ["pip", "install"]:
                subprocess.run(
                    [str(uv), "pip", "install", "--python", str(python), *words[2:]],
                    cwd=REPO,
                    check=True,
                    timeout=600,
                )
    probe = (
        "import sys, toxic; c = toxic.Classifier.load(); assert 'toxic' in c.predict('you stupid idiot')['labels']; "
        "import gradio, app; assert 'torch' not in sys.modules, 'torch on the serving path'; print('ok')"
    )
    out = subprocess.run([str(python), "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.stdout.strip().endswith("ok"), out.stdout + out.stderr
