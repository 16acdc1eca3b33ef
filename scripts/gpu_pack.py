"""Pack run directories for the trip back from the GPU machine (files come back at most 16 MiB each, 8 files and
64 MiB in all). Writes OUT/<run>.json (config, run, metrics, history) and OUT/<run>.safetensors.N.

Two formats:
- ``fp16`` (default): every weight in fp16, ~44 MiB: one run a call;
- ``--delta BASE``: every matrix as its change from the starting backbone BASE (the same fp16 weights the GPU run
  started from), int8 with one fp32 scale per row; vectors and new layers in fp16. ~22 MiB, so two runs fit a
  call. A fine-tuning delta is small (|d| <= ~0.02), so the int8 step per row is ~1e-4: finer than fp16's own
  rounding of the weights. The script re-reads the packed file and prints the largest reconstruction error.

    python3 scripts/gpu_pack.py "$OUT" gpu-a gpu-b --delta .gpu/minilm   # scripts/gpu_unpack.py reverses it
"""

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import load, load_file, save

PART = 15 * 2**20


def pack_weights(weights: dict[str, torch.Tensor], base: dict[str, torch.Tensor] | None) -> dict:
    out = {}
    for name, w in weights.items():
        ref = None if base is None else base.get(name.split(".", 1)[1] if name.startswith("bert.") else name)
        if ref is None or ref.shape != w.shape or w.ndim != 2:
            out[name] = w.half().contiguous()
            continue
        delta = w.float() - ref.float()
        scale = (delta.abs().amax(dim=1) / 127).clamp(min=1e-12)
        out[f"{name}.q"] = torch.round(delta / scale[:, None]).to(torch.int8).contiguous()
        out[f"{name}.s"] = scale.float().contiguous()
    return out


def unpack_weights(packed: dict[str, torch.Tensor], base: dict[str, torch.Tensor] | None) -> dict:
    weights = {}
    for name, t in packed.items():
        if name.endswith(".s"):
            continue
        if name.endswith(".q"):
            name = name[:-2]
            ref = base[name.split(".", 1)[1] if name.startswith("bert.") else name].float()
            weights[name] = ref + t.float() * packed[f"{name}.s"][:, None]
        else:
            weights[name] = t.float()
    return weights


def pack(out: Path, name: str, base_dir: Path | None) -> None:
    run = Path(name) if Path(name).is_dir() else Path("runs") / name  # a path, or a name under runs/
    name = run.name
    entry = {
        n: json.loads((run / f"{n}.json").read_text())
        for n in ("config", "run", "metrics", "history")
        if (run / f"{n}.json").exists()
    }
    entry["checkpoint_config"] = json.loads((run / "checkpoint" / "config.json").read_text())
    entry["format"] = "delta-int8" if base_dir else "fp16"
    weights = load_file(str(run / "checkpoint" / "model.safetensors"))
    base = load_file(str(base_dir / "model.safetensors")) if base_dir else None
    blob = save(pack_weights(weights, base))
    back = unpack_weights(load(blob), base)
    err = max(float((back[k] - weights[k].float()).abs().max()) for k in weights)
    entry["max_abs_error"] = err
    (out / f"{name}.json").write_text(json.dumps(entry))
    for i in range(0, len(blob), PART):
        (out / f"{name}.safetensors.{i // PART}").write_bytes(blob[i : i + PART])
    print(f"packed {name} ({entry['format']}): {len(blob) / 2**20:.1f} MiB, max |error| {err:.2e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("runs", nargs="+", help="run names under runs/, or run directories")
    parser.add_argument("--delta", type=Path, default=None, help="the starting backbone's folder")
    args = parser.parse_args()
    for run_name in args.runs:
        pack(args.out, run_name, args.delta)
