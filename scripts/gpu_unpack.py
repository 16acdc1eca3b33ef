"""Rebuild run directories from what scripts/gpu_pack.py brought back from the GPU machine.

    PYTHONPATH=. .venv-train/bin/python scripts/gpu_unpack.py /work/.device/2   # -> runs/gpu-*/, ready to export

Each run gets config.json, run.json, metrics.json, history.json, val.csv (rebuilt: the split is deterministic) and
checkpoint/ (weights back to fp32, the packaged backbone's tokenizer files). The ``delta-int8`` format adds its
int8 deltas to .gpu/minilm, the fp16 backbone the GPU runs started from.
"""

import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load, load_file, save_file

from scripts.gpu_pack import unpack_weights
from toxic.data import build_splits
from train.config import PACKAGED_BACKBONE
from train.train import resolve_backbone


def unpack(src: Path) -> None:
    val = build_splits()["validation"]
    for meta in sorted(src.glob("*.json")):
        name = meta.stem
        parts = sorted(src.glob(f"{name}.safetensors.*"), key=lambda p: int(p.suffix[1:]))
        entry = json.loads(meta.read_text())
        if not parts or "metrics" not in entry or "checkpoint_config" not in entry:
            print(f"{name}: incomplete, skipped")
            continue
        run = Path("runs") / name
        ckpt = run / "checkpoint"
        ckpt.mkdir(parents=True, exist_ok=True)
        packed = load(b"".join(p.read_bytes() for p in parts))
        base = load_file(".gpu/minilm/model.safetensors") if entry.get("format") == "delta-int8" else None
        weights = unpack_weights(packed, base)
        save_file(
            {k: v.to(torch.float32).contiguous() for k, v in weights.items()}, str(ckpt / "model.safetensors")
        )
        (ckpt / "config.json").write_text(json.dumps(entry["checkpoint_config"], indent=2))
        backbone = Path(resolve_backbone(PACKAGED_BACKBONE))  # the GPU ran the same weights from .gpu/minilm
        for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
            shutil.copy(backbone / f, ckpt / f)
        entry["config"]["backbone"] = PACKAGED_BACKBONE  # the GPU read the same weights, carried in fp16
        if entry["run"].get("git_commit", "unknown") == "unknown":  # the GPU machine has no .git
            entry["run"]["version"] = f"{name}-{meta.stat().st_mtime_ns // 10**9}"
        for key in ("config", "run", "metrics", "history"):
            (run / f"{key}.json").write_text(json.dumps(entry[key], indent=2))
        shutil.copy("data/manifest.json", run / "data_manifest.json")
        val.to_csv(run / "val.csv", index=False)
        print(f"{run}: val score {entry['metrics']['val']['score']:.4f}")


if __name__ == "__main__":
    unpack(Path(sys.argv[1]))
