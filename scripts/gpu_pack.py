"""Pack one run directory for the trip back from the GPU machine (files come back at most 16 MiB each, 64 MiB in
all: one fp16 checkpoint a call). Writes OUT/<run>.json (config, run, metrics, history) and OUT/<run>.safetensors.N.

    python3 scripts/gpu_pack.py "$OUT" gpu-default        # on the GPU machine; scripts/gpu_unpack.py reverses it
"""

import json
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file


def pack(out: Path, name: str) -> None:
    run = Path("runs") / name
    entry = {
        n: json.loads((run / f"{n}.json").read_text())
        for n in ("config", "run", "metrics", "history")
        if (run / f"{n}.json").exists()
    }
    entry["checkpoint_config"] = json.loads((run / "checkpoint" / "config.json").read_text())
    (out / f"{name}.json").write_text(json.dumps(entry))
    weights = load_file(str(run / "checkpoint" / "model.safetensors"))
    save_file({k: v.half().contiguous() for k, v in weights.items()}, "/tmp/packed.safetensors")
    blob = Path("/tmp/packed.safetensors").read_bytes()
    part = 15 * 2**20
    for i in range(0, len(blob), part):
        (out / f"{name}.safetensors.{i // part}").write_bytes(blob[i : i + part])
    print(f"packed {name}: {len(blob) / 2**20:.1f} MiB in {-(-len(blob) // part)} parts")


if __name__ == "__main__":
    pack(Path(sys.argv[1]), sys.argv[2])
