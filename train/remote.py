"""The remote ends of a training run: where its data comes from and where its run directory goes.

    --data-dir data/                                  a local folder, used in place
    --data-dir gs://BUCKET/data/<version>             every object under the prefix, downloaded to a temp folder
    --data-dir hf://datasets/ORG/NAME@REVISION        a Hub dataset snapshot; the revision must be given (pinned)
    AIP_MODEL_DIR=gs://BUCKET/.../model/              set by Vertex AI: the run trains in runs/<time>, then uploads

Whatever the source, train.py checks the files against the ``manifest.json`` that came with them before training,
so a remote copy is held to the same data version as a local one. Only google-cloud-storage and huggingface_hub
are imported, lazily: this module also runs in the serving environment's tests.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from toxic.errors import DataError


def split_gs(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b/`` -> ``("bucket", "a/b")``."""
    if not uri.startswith("gs://") or not uri[5:].split("/", 1)[0]:
        raise DataError(f"not a gs:// URI: {uri!r} (expected gs://BUCKET/PREFIX)")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


def _storage_client():
    from google.cloud import storage

    # STORAGE_EMULATOR_HOST (tests) or the job's service account (Vertex): both found by the client itself.
    return storage.Client()


def fetch_data(source: str, dest: Path | None = None) -> Path:
    """The local folder holding the data named by ``source`` (a path, ``gs://`` prefix or ``hf://datasets/``)."""
    if source.startswith("gs://"):
        return download_gs(source, dest or Path(tempfile.mkdtemp(prefix="toxic-data-")))
    if source.startswith("hf://"):
        return download_hub_dataset(source)
    path = Path(source)
    if not path.is_dir():
        raise DataError(f"data folder not found: {source}")
    return path


def download_gs(uri: str, dest: Path) -> Path:
    bucket_name, prefix = split_gs(uri)
    client = _storage_client()
    blobs = [b for b in client.list_blobs(bucket_name, prefix=prefix + "/" if prefix else None)]
    if not any(b.name.endswith("manifest.json") for b in blobs):
        raise DataError(
            f"no manifest.json under {uri}: upload a data folder with its manifest (toxic data verify)"
        )
    for blob in blobs:
        if blob.name.endswith("/"):
            continue
        target = dest / blob.name[len(prefix) :].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(target))
    print(f"downloaded {len(blobs)} data files from {uri} to {dest}", flush=True)
    return dest


def download_hub_dataset(uri: str) -> Path:
    """``hf://datasets/ORG/NAME@REVISION`` -> the snapshot folder (from the HF cache when HF_HUB_OFFLINE=1)."""
    repo, _, revision = uri.removeprefix("hf://datasets/").partition("@")
    if not uri.startswith("hf://datasets/") or repo.count("/") != 1:
        raise DataError(f"not a Hub dataset URI: {uri!r} (expected hf://datasets/ORG/NAME@REVISION)")
    if not revision:
        raise DataError(
            f"{uri}: pin the data version with @REVISION (a commit id or tag), e.g. {uri}@v1; a branch moves"
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo, repo_type="dataset", revision=revision))
    except LocalEntryNotFoundError as e:
        raise DataError(f"{uri} is not in the Hugging Face cache and the Hub cannot be reached") from e


def upload_dir(local: Path, uri: str) -> list[str]:
    """Copy every file under ``local`` to the ``gs://`` prefix ``uri``; returns the object names written."""
    bucket_name, prefix = split_gs(uri)
    bucket = _storage_client().bucket(bucket_name)
    names = []
    for path in sorted(p for p in Path(local).rglob("*") if p.is_file()):
        name = "/".join(x for x in (prefix, path.relative_to(local).as_posix()) if x)
        bucket.blob(name).upload_from_filename(str(path))
        names.append(name)
    return names
