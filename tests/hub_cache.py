"""A real Hugging Face Hub cache, filled by hand: what ``snapshot_download`` leaves behind, for offline tests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def fill_hub_cache(
    cache: Path,
    repo_id: str,
    commit: str,
    source: Path,
    files: list[str] | None = None,
    ref: str = "main",
    repo_type: str = "model",
) -> Path:
    """Lay ``files`` of ``source`` (default: all) into ``cache`` as huggingface_hub does: content under blobs/<hash>,
    snapshots/<commit>/<path> as relative links to the blobs, refs/<ref> naming the commit. Returns the snapshot."""
    root = cache / f"{repo_type}s--{repo_id.replace('/', '--')}"
    snapshot = root / "snapshots" / commit
    names = (
        files
        if files is not None
        else [p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()]
    )
    for name in names:
        data = (source / name).read_bytes()
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / ref).write_text(commit)
    return snapshot
