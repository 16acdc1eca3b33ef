"""The training image (train/Dockerfile): it lints, it copies what exists, and its entry point, run as the container
runs it (only the copied files, data from gs://, $AIP_MODEL_DIR a bucket), trains, exports, quantizes and uploads
a model that toxic.Classifier loads. No Docker daemon is needed: the image's Python is the training venv's."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO
from toxic.data import data_dir, manifest_hash
from train.remote import upload_dir

DOCKERFILE = REPO / "train" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [
        tuple(line.split(None, 1)) for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]


def entrypoint() -> list[str]:
    (command,) = [json.loads(arg) for op, arg in instructions() if op == "ENTRYPOINT"]
    return command


def copies() -> list[tuple[str, str]]:
    return [tuple(arg.split()) for op, arg in instructions() if op == "COPY"]


def test_dockerfile_lints_pins_its_base_and_copies_paths_that_exist():
    out = subprocess.run([str(REPO / ".venv/bin/hadolint"), str(DOCKERFILE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    (base,) = [arg for op, arg in instructions() if op == "FROM"]
    assert re.fullmatch(r"pytorch/pytorch:\d+\.\d+\.\d+-cuda\d+\.\d+-cudnn\d+-runtime", base), base
    assert copies() and all((REPO / src).exists() for src, _ in copies()), copies()
    assert entrypoint() == ["python", "-m", "train.train"]


@pytest.mark.train
@pytest.mark.slow
def test_entry_point_runs_as_in_the_container(train_python, gcs, tmp_path, monkeypatch):
    app = tmp_path / "app"  # the image's WORKDIR: only what the Dockerfile copies
    for src, dest in copies():
        target = app / dest
        if (REPO / src).is_dir():
            shutil.copytree(
                REPO / src, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True
            )
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / src, target)
    gcs.bucket("toxic-vertex")
    version = manifest_hash(data_dir())[:16]
    upload_dir(data_dir(), f"gs://toxic-vertex/data/{version}")  # what submit_vertex.py uploads
    monkeypatch.setenv("AIP_MODEL_DIR", "gs://toxic-vertex/runs/job-1/model/")  # what Vertex AI sets
    monkeypatch.setenv("GIT_COMMIT", "0123456789abcdef")  # what the image build sets
    monkeypatch.delenv("TOXIC_DATA_DIR", raising=False)
    python, *rest = entrypoint()
    tiny = ["--limit", "48", "--limit-val", "10", "--max-steps", "2", "--epochs", "1", "--device", "cpu"]
    command = [str(train_python), *rest, "--data-dir", f"gs://toxic-vertex/data/{version}", *tiny]
    out = subprocess.run(command, cwd=app, capture_output=True, text=True, timeout=1500)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "uploaded" in out.stdout and "to gs://toxic-vertex/runs/job-1/model/" in out.stdout

    bucket = gcs.bucket("toxic-vertex")
    prefix = "runs/job-1/model/"
    names = {b.name.removeprefix(prefix) for b in bucket.list_blobs(prefix=prefix)}
    assert {"run.json", "config.json", "data_manifest.json", "metrics.json", "onnx/model.onnx"} <= names
    model = tmp_path / "model"
    for name in (n for n in names if n.startswith("onnx/")):
        target = model / name.removeprefix("onnx/")
        target.parent.mkdir(parents=True, exist_ok=True)
        bucket.blob(prefix + name).download_to_filename(str(target))
    run = json.loads(bucket.blob(prefix + "run.json").download_as_text())
    assert run["git_commit"] == "0123456789abcdef" and run["data_manifest_sha256"] == manifest_hash(
        data_dir()
    )

    meta = json.loads((model / "toxic.json").read_text())
    assert meta["quantization"].startswith("int8") and meta["version"] == "0123456789ab"
    assert "fusions" in meta["graph"]  # the default export fuses attention before int8
    assert (model / "model.onnx").stat().st_size < 40e6  # int8: ~23 MB; the fp32 graph is ~90 MB
    from toxic import Classifier
    from toxic.hub import push

    result = Classifier.load(model).predict(["you are an idiot", "see you tomorrow"])
    assert all(0 <= r["toxic"] <= 1 and 0 <= r["hate"] <= 1 for r in result)
    plan = push(model, "toxic-org/toxic-minilm", dry_run=True)  # the fresh card is valid Hub metadata
    assert plan["card"]["model-index"] and "plots/roc.png" in plan["files"]


@pytest.mark.train
def test_push_to_hub_without_a_token_fails_before_training(train_python, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)  # and HF_HOME is this test's own: no saved token
    command = [
        str(train_python),
        "-m",
        "train.train",
        "--push-to-hub",
        "toxic-org/x",
        "--run-dir",
        str(tmp_path),
    ]
    out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode != 0 and "--push-to-hub toxic-org/x: no Hugging Face token" in out.stderr, (
        out.stderr
    )
    assert not (tmp_path / "config.json").exists()  # nothing trained, nothing written
