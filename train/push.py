"""``--push-to-hub ORG/NAME``: publish a run's exported model with :func:`toxic.hub.push` and record the commit.

The run directory gets ``hub.json`` (repo, revision, commit id, files), beside config.json and run.json, so a run
says where its model went. ``check`` runs before training, so a missing token fails in seconds, not after the run.
"""

from __future__ import annotations

import json
from pathlib import Path

from toxic import hub
from toxic.errors import ToxicError


def check(repo_id: str) -> None:
    """Fail before training when the upload at the end could not happen."""
    if repo_id.count("/") != 1:
        raise SystemExit(f"--push-to-hub {repo_id!r}: expected ORG/NAME")
    try:
        hub.hub_token()
    except ToxicError as e:
        raise SystemExit(f"--push-to-hub {repo_id}: {e}") from e


def push(model_dir: Path | str, repo_id: str, revision: str | None = None) -> dict:
    model_dir = Path(model_dir)
    try:
        record = hub.push(model_dir, repo_id, revision=revision)
    except ToxicError as e:
        raise SystemExit(f"push to {repo_id} failed: {e}") from e
    record.pop("card", None)
    (model_dir.parent / "hub.json").write_text(json.dumps(record, indent=2))
    print(f"pushed {len(record['files'])} files to {record['url']}", flush=True)
    return record
