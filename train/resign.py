"""Rewrite an exported int8 model's u8 weights as s8: the same integers, onnxruntime's faster u8s8 kernels.

A u8 weight ``w`` with zero point 128 is the s8 weight ``w - 128`` with zero point 0: every product the graph
computes is unchanged. Only the kernel changes: u8 activations x s8 weights run on AVX-512 VNNI (and AMX) as one
instruction per 4 products, where u8 x u8 does not. On AVX2 without VNNI the u8s8 kernel sums pairs of products
in 16 bits, which can saturate: there scores move a little (mean |dp| ~0.008 on val, docs/experiments.md).

    python -m train.resign models/default            # in place: model.onnx, and toxic.json's "quantization"
    python -m train.resign runs/x/onnx --out /tmp/m  # into another folder (the other files copied)

Weights of MatMulInteger, QAttention and DequantizeLinear (the quantized embeddings) are rewritten when their
zero point is a u8 constant of 128; anything else is left as it is.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

# op type -> (index of the weight input, index of its zero point)
WEIGHT_INPUTS = {"MatMulInteger": (1, 3), "QAttention": (1, 7), "DequantizeLinear": (0, 2)}


def resign(model: onnx.ModelProto) -> int:
    """Rewrite ``model`` in place; returns how many weight tensors were rewritten."""
    init = {t.name: t for t in model.graph.initializer}
    done: set[str] = set()
    for node in model.graph.node:
        if node.op_type not in WEIGHT_INPUTS:
            continue
        w_at, zp_at = WEIGHT_INPUTS[node.op_type]
        if len(node.input) <= zp_at:
            continue
        w_name, zp_name = node.input[w_at], node.input[zp_at]
        if w_name not in init or zp_name not in init or w_name in done:
            continue
        zp = numpy_helper.to_array(init[zp_name])
        if zp.dtype != np.uint8 or not (zp == 128).all():
            continue
        w = numpy_helper.to_array(init[w_name])
        init[w_name].CopyFrom(numpy_helper.from_array((w.astype(np.int16) - 128).astype(np.int8), w_name))
        init[zp_name].CopyFrom(numpy_helper.from_array(np.zeros_like(zp, dtype=np.int8), zp_name))
        done.add(w_name)
    return len(done)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="another folder (default: in place)")
    args = parser.parse_args(argv)
    out = args.out or args.model_dir
    if out != args.model_dir:
        shutil.copytree(args.model_dir, out, dirs_exist_ok=True)
    model = onnx.load(out / "model.onnx")
    n = resign(model)
    if n == 0:
        print(f"error: {args.model_dir} has no u8 weights with zero point 128 to rewrite", file=sys.stderr)
        return 1
    onnx.save(model, out / "model.onnx")
    meta_path = out / "toxic.json"
    meta = json.loads(meta_path.read_text())
    meta["quantization"] = meta.get("quantization", "int8").replace("avx2", "u8 activations x s8 weights")
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"rewrote {n} weight tensors as s8 in {out / 'model.onnx'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
