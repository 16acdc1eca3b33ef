"""Publish an exported model folder to the Hugging Face Hub: the one place this package writes to the Hub.

    toxic push runs/2026.../onnx ORG/NAME --dry-run     # lists the files and the card metadata; sends nothing
    toxic push runs/2026.../onnx ORG/NAME               # needs HF_TOKEN (or a token saved by `hf auth login`)
    python -m train.train --push-to-hub ORG/NAME         # the same, at the end of a training run

What goes up: the int8 ONNX graph, the tokenizer, config.json, toxic.json (labels, thresholds, data version),
metrics.json, the model card (README.md with model-index metrics), and when present the evaluation suite's
report.json, the reference profile and the plots.
The commit id comes back in ``hub.json`` beside the model. The app then serves it with ``TOXIC_MODEL=ORG/NAME``
(and ``TOXIC_MODEL_REVISION``), from the Hub cache, offline. Everything is checked before anything is sent.
"""

from __future__ import annotations

import json
from pathlib import Path

from toxic.errors import ModelError, ToxicError

REQUIRED = ("model.onnx", "tokenizer.json", "config.json", "toxic.json", "metrics.json")  # + the card
# Everything else an export writes that a user of the model needs; nothing else in the folder is sent.
ALLOW = ["*.onnx", "*.json", "*.txt", "*.md", "*.parquet", "plots/*.png"]
IGNORE = ["hub.json", ".*", "*/.*"]
LABEL_METRICS = ("macro_f1", "roc_auc", "threshold")


def files_to_push(model_dir: Path) -> list[str]:
    """The exact relative paths an upload of ``model_dir`` sends, sorted."""
    from huggingface_hub.utils import filter_repo_objects

    names = sorted(p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file())
    return list(filter_repo_objects(names, allow_patterns=ALLOW, ignore_patterns=IGNORE))


def check_card(model_dir: Path) -> dict:
    """The card's metadata, once it is known to be valid Hub metadata with model-index metrics; else ModelError."""
    from huggingface_hub import ModelCard, metadata_load

    card_path = model_dir / "README.md"
    if not card_path.exists():
        raise ModelError(
            f"{model_dir} has no model card (README.md): re-export it, python -m train.export RUN_DIR"
        )
    try:
        card = ModelCard.load(card_path)
        metadata = metadata_load(card_path)
    except Exception as e:  # the Hub's parser raises ValueError, yaml errors and others for a broken header
        raise ModelError(f"{card_path}: not valid Hub metadata: {e}") from e
    if not metadata or not card.data.eval_results:
        raise ModelError(f"{card_path}: the card has no model-index metrics (metadata block `model-index:`)")
    return metadata


def check_model_dir(model_dir: Path) -> dict:
    """Everything a push needs, checked; returns the card metadata."""
    if not model_dir.is_dir():
        raise ModelError(f"model directory not found: {model_dir}")
    missing = [name for name in REQUIRED if not (model_dir / name).exists()]
    if missing:
        raise ModelError(f"{model_dir} cannot be published: missing {', '.join(missing)}")
    metrics = json.loads((model_dir / "metrics.json").read_text()).get("val", {})
    labels = json.loads((model_dir / "toxic.json").read_text()).get("labels", [])
    gaps = [f"{label}.{m}" for label in labels for m in LABEL_METRICS if m not in metrics.get(label, {})]
    if not labels or gaps:
        raise ModelError(
            f"{model_dir / 'metrics.json'} lacks validation metrics ({', '.join(gaps) or 'no labels'}): "
            "publish the onnx/ folder of a finished training run"
        )
    return check_card(model_dir)


def hub_token(token: str | None = None) -> str:
    from huggingface_hub import get_token

    token = token or get_token()  # HF_TOKEN, else the token `hf auth login` saved under HF_HOME
    if not token:
        raise ToxicError("no Hugging Face token: set HF_TOKEN (a write token) or run `hf auth login`")
    return token


def push(
    model_dir: Path | str,
    repo_id: str,
    token: str | None = None,
    revision: str | None = None,
    dry_run: bool = False,
) -> dict:
    """Upload ``model_dir`` to the model repo ``repo_id`` (created if needed; ``revision`` is a branch).

    Returns ``{"repo_id", "revision", "files", "card"}`` plus, after a real upload, ``"commit"`` and ``"url"``,
    which are also written to ``model_dir/hub.json``."""
    model_dir = Path(model_dir)
    if repo_id.count("/") != 1 or repo_id.startswith("/") or repo_id.endswith("/"):
        raise ToxicError(f"not a Hub repo id: {repo_id!r} (expected ORG/NAME)")
    card = check_model_dir(model_dir)
    plan = {
        "repo_id": repo_id,
        "revision": revision or "main",
        "files": files_to_push(model_dir),
        "card": card,
    }
    if dry_run:
        return plan
    from huggingface_hub import HfApi

    api = HfApi(token=hub_token(token))
    api.create_repo(repo_id, repo_type="model", exist_ok=True)
    if revision:
        api.create_branch(repo_id, branch=revision, exist_ok=True)
    meta = json.loads((model_dir / "toxic.json").read_text())
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=model_dir,
        allow_patterns=plan["files"],  # the exact list checked above, not the globs again
        revision=revision,
        commit_message=f"{meta.get('model_id', 'model')} {meta.get('version', '')}: data "
        f"{meta.get('data_manifest_sha256', 'unknown')[:12]}",
    )
    record = {k: v for k, v in plan.items() if k != "card"} | {"commit": info.oid, "url": info.commit_url}
    (model_dir / "hub.json").write_text(json.dumps(record, indent=2))
    return record | {"card": card}
