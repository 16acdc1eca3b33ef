"""train/remote.py and TrainConfig's output: data from gs:// (the storage emulator) or a Hub dataset cache, the run
directory to gs://. Only google-cloud-storage and huggingface_hub are involved, so this runs in the serving env."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.hub_cache import fill_hub_cache
from toxic.data import data_dir, manifest_hash, verify_manifest
from toxic.errors import DataError
from train.config import TrainConfig
from train.remote import fetch_data, upload_dir

DATA = data_dir()


def _small_data(tmp_path: Path) -> Path:
    """A data folder with its manifest: the real manifest and the two small TweetEval hate label files."""
    d = tmp_path / "data"
    (d / "tweeteval_hate").mkdir(parents=True)
    for name in ("manifest.json", "tweeteval_hate/val_labels.txt", "tweeteval_hate/mapping.txt"):
        shutil.copy(DATA / name, d / name)
    return d


def test_gs_data_comes_down_with_its_layout_and_manifest(gcs, tmp_path):
    bucket = gcs.bucket("toxic-data")  # created in the emulator
    upload_dir(_small_data(tmp_path), "gs://toxic-data/data/v1")
    bucket.blob("data/v10/manifest.json").upload_from_string("{}")  # a sibling prefix: not ours
    got = fetch_data("gs://toxic-data/data/v1/", tmp_path / "down")
    files = sorted(p.relative_to(got).as_posix() for p in got.rglob("*") if p.is_file())
    assert files == ["manifest.json", "tweeteval_hate/mapping.txt", "tweeteval_hate/val_labels.txt"]
    assert (got / "tweeteval_hate/val_labels.txt").read_bytes() == (
        DATA / "tweeteval_hate/val_labels.txt"
    ).read_bytes()
    assert manifest_hash(got) == manifest_hash(DATA)
    problems = verify_manifest(got)  # what train.py checks next: the files this copy lacks are reported
    assert "tweeteval_hate/train_text.txt: missing" in problems and not any(
        p.startswith("tweeteval_hate/val_labels") for p in problems
    )


def test_gs_prefix_without_a_manifest_is_refused(gcs, tmp_path):
    gcs.bucket("toxic-data").blob("loose/a.txt").upload_from_string("x")
    with pytest.raises(DataError, match="no manifest.json under gs://toxic-data/loose"):
        fetch_data("gs://toxic-data/loose", tmp_path / "down")
    with pytest.raises(DataError, match="not a gs:// URI"):
        upload_dir(tmp_path, "gs:///nobucket")


def test_hub_dataset_needs_a_pinned_revision_and_comes_from_the_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf" / "hub"
    commit = "c" * 40
    data = _small_data(tmp_path)
    fill_hub_cache(cache, "toxic-org/toxic-data", commit, data, ref="v1", repo_type="dataset")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))  # read when huggingface_hub is imported: a fresh process
    code = (
        "import sys; from train.remote import fetch_data; from toxic.errors import DataError\n"
        "for uri in sys.argv[1:]:\n"
        "    try: print(fetch_data(uri))\n"
        "    except DataError as e: print('DataError:', e)\n"
    )
    uris = [f"hf://datasets/toxic-org/toxic-data@{rev}" for rev in ("v1", commit)]
    uris += [
        "hf://datasets/toxic-org/toxic-data",
        "hf://datasets/toxic-org/other@v1",
        str(tmp_path / "nowhere"),
    ]
    out = subprocess.run(
        [sys.executable, "-c", code, *uris], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    by_tag, by_commit, unpinned, unknown, nowhere = out.stdout.splitlines()
    assert by_tag == by_commit and Path(by_tag).name == commit
    assert manifest_hash(Path(by_tag)) == manifest_hash(DATA)
    assert unpinned.startswith(
        "DataError: hf://datasets/toxic-org/toxic-data: pin the data version with @REVISION"
    )
    assert unknown.startswith("DataError: hf://datasets/toxic-org/other@v1 is not in the Hugging Face cache")
    assert nowhere.startswith("DataError: data folder not found")


def test_run_dir_goes_to_aip_model_dir_or_is_uploaded_when_that_is_a_bucket(monkeypatch, tmp_path):
    monkeypatch.delenv("AIP_MODEL_DIR", raising=False)
    assert TrainConfig().output_uri() == "" and TrainConfig().resolved_run_dir().parent == Path("runs")
    monkeypatch.setenv("AIP_MODEL_DIR", str(tmp_path / "model"))
    assert TrainConfig().resolved_run_dir() == tmp_path / "model" and TrainConfig().output_uri() == ""
    monkeypatch.setenv("AIP_MODEL_DIR", "gs://toxic-stage/runs/job-1/model/")
    cfg = TrainConfig()
    assert cfg.output_uri() == "gs://toxic-stage/runs/job-1/model/"
    assert cfg.resolved_run_dir().parent == Path("runs")  # trains locally, uploads at the end
    assert TrainConfig(run_dir=str(tmp_path / "mine")).resolved_run_dir() == tmp_path / "mine"


def test_upload_dir_writes_every_file_under_the_prefix(gcs, tmp_path):
    bucket = gcs.bucket("toxic-stage")
    run = tmp_path / "run"
    (run / "onnx" / "plots").mkdir(parents=True)
    (run / "run.json").write_text("{}")
    (run / "onnx" / "plots" / "roc.png").write_bytes(b"png")
    names = upload_dir(run, "gs://toxic-stage/runs/job-1/model/")
    assert names == ["runs/job-1/model/onnx/plots/roc.png", "runs/job-1/model/run.json"]
    assert bucket.blob("runs/job-1/model/onnx/plots/roc.png").download_as_bytes() == b"png"
