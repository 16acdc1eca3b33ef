"""Export a run's best checkpoint to ONNX with Optimum, quantize it to int8 and check it against PyTorch.

    python -m train.export runs/2026...          # writes runs/.../onnx/, the folder models/default is a copy of

Steps: Optimum export (task text-classification) -> a second graph output ``embedding`` (the pooled hidden state
the classifier head reads, for drift monitoring at no extra cost) -> int8 dynamic quantization with Optimum's
``ORTQuantizer`` (AVX2 config: this CPU has AVX2, not AVX-512) -> parity on the whole val set against the PyTorch
probabilities saved by training -> tokenizer, config, thresholds, model card.

``--static`` quantizes activations with fixed ranges calibrated on training tweets instead of per call
(onnxruntime's ``quantize_static``): a text's score then no longer depends on the texts batched with it, and
throughput is 10-20% higher here; not yet the default (docs/experiments.md).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
from optimum.exporters.onnx import main_export
from optimum.onnxruntime import ORTQuantizer
from optimum.onnxruntime.configuration import AutoQuantizationConfig

from toxic.classifier import Classifier, read_info
from toxic.data import BENCHMARKS, LABEL_SOURCES, LABELS, PERSPECTIVE


def add_embedding_output(path: Path) -> None:
    """Expose the input of the classification head (BERT's pooled [CLS] state) as a graph output ``embedding``."""
    model = onnx.load(str(path))
    graph = model.graph
    producers = {out: node for node in graph.node for out in node.output}
    node = producers["logits"]
    if node.op_type == "Add":  # MatMul + Add(bias)
        node = next(producers[i] for i in node.input if i in producers)
    if node.op_type not in {"MatMul", "Gemm"}:
        raise RuntimeError(f"unexpected classifier head {node.op_type}; cannot find the pooled output")
    pooled = node.input[0]
    graph.node.append(onnx.helper.make_node("Identity", [pooled], ["embedding"], name="embedding_output"))
    graph.output.append(
        onnx.helper.make_tensor_value_info("embedding", onnx.TensorProto.FLOAT, ["batch_size", "hidden"])
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def fuse(fp32_dir: Path) -> None:
    """onnxruntime's transformer fusions (Attention, SkipLayerNormalization, BiasGelu) through Optimum's
    ``ORTOptimizer``, in place. The fused ops come from onnxruntime's own domain, which ONNX shape inference does
    not know: symbolic shape inference gives their outputs the types the quantizer needs."""
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference
    from optimum.onnxruntime import ORTOptimizer
    from optimum.onnxruntime.configuration import OptimizationConfig

    with tempfile.TemporaryDirectory() as tmp:
        optimizer = ORTOptimizer.from_pretrained(fp32_dir, file_names=["model.onnx"])
        optimizer.optimize(OptimizationConfig(optimization_level=2), save_dir=tmp, file_suffix=None)
        model = SymbolicShapeInference.infer_shapes(onnx.load(str(Path(tmp) / "model.onnx")), auto_merge=True)
    onnx.save(model, str(fp32_dir / "model.onnx"))


CALIBRATION_TEXTS = 400  # training tweets whose activations set the static ranges
PROFILE_TEXTS = 5000  # training tweets in the drift reference profile
# calibration batches are padded or cut to this many tokens (the percentile method needs one shape)
CALIBRATION_TOKENS = 64


def calibration_feeds(
    tokenizer_file: Path, n: int = CALIBRATION_TEXTS, seed: int = 0
) -> list[dict[str, np.ndarray]]:
    """Batches of 8 training tweets (never val) as the graph's inputs, for static calibration."""
    import random

    from tokenizers import Tokenizer

    from toxic.data import build_splits

    train = build_splits()["train"]["text"].tolist()  # already cleaned (toxic.text.clean_text)
    texts = random.Random(seed).sample(train, min(n, len(train)))
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    feeds = []
    for i in range(0, len(texts), 8):
        batch = texts[i : i + 8]
        ids = np.zeros((len(batch), CALIBRATION_TOKENS), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(tokenizer.encode_batch(batch)):
            tokens = enc.ids[:CALIBRATION_TOKENS]
            ids[row, : len(tokens)], mask[row, : len(tokens)] = tokens, 1
        feeds.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    return feeds


def quantize_static(fp32_dir: Path, out_dir: Path, n: int = CALIBRATION_TEXTS) -> Path:
    """Static int8: weights per channel, activations with ranges from the 99.99th percentile on training tweets.
    The two attention MatMuls that multiply activations by activations stay in float."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self, feeds: list[dict]) -> None:
            self.feeds = iter(feeds)

        def get_next(self) -> dict | None:
            return next(self.feeds, None)

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32_dir / "model.onnx"), str(pre), skip_symbolic_shape=True)
        model = onnx.load(str(pre))
        weights = {init.name for init in model.graph.initializer}
        names = {i.name for i in model.graph.input}
        feeds = [
            {k: v for k, v in feed.items() if k in names}
            for feed in calibration_feeds(fp32_dir / "tokenizer.json", n)
        ]
        quantize_static(
            str(pre),
            str(out_dir / "model.onnx"),
            Reader(feeds),
            quant_format=QuantFormat.QOperator,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gather"],
            nodes_to_exclude=[
                n.name for n in model.graph.node if n.op_type == "MatMul" and not set(n.input) & weights
            ],
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": 99.99},
        )
    return out_dir / "model.onnx"


def quantize(fp32_dir: Path, out_dir: Path, signed_weights: bool = False) -> Path:
    quantizer = ORTQuantizer.from_pretrained(fp32_dir, file_name="model.onnx")
    # Per-channel weights: per-tensor int8 moved decisions on ~3-5% of val texts, per-channel on < 1%.
    # avx2: u8 activations x u8 weights. Signed weights (u8 x s8, Optimum's avx512 config) run onnxruntime's
    # faster u8s8 kernels, 15-20% more texts/s in batches on this AVX2 CPU, at the risk of saturating
    # VPMADDUBSW (no VNNI here); the parity check below measures what that costs (docs/experiments.md).
    make = AutoQuantizationConfig.avx512 if signed_weights else AutoQuantizationConfig.avx2
    qconfig = make(is_static=False, per_channel=True)
    with tempfile.TemporaryDirectory() as tmp:
        quantizer.quantize(save_dir=tmp, quantization_config=qconfig)
        shutil.move(str(Path(tmp) / "model_quantized.onnx"), out_dir / "model.onnx")
    return out_dir / "model.onnx"


def torch_probs(checkpoint: Path, texts: list[str], max_length: int) -> np.ndarray:
    """Probabilities of the PyTorch checkpoint in fp32 on this machine: the reference the int8 model must match."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint).eval()
    order = np.argsort([len(t) for t in texts])
    out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    with torch.no_grad():
        for i in range(0, len(order), 64):
            idx = order[i : i + 64]
            batch = tokenizer(
                [texts[j] for j in idx],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            out[idx] = torch.sigmoid(model(**batch).logits).numpy()
    return out


def parity(out_dir: Path, run_dir: Path) -> dict:
    """int8 ONNX vs the PyTorch checkpoint on every val text: decision agreement per label, max |Δp|."""
    import pandas as pd

    val = pd.read_csv(run_dir / "val.csv", keep_default_na=False)
    clf = Classifier(read_info(out_dir), deobfuscate=False)  # the graph against PyTorch, on the same texts
    reference = torch_probs(run_dir / "checkpoint", val["text"].tolist(), clf.info.max_length)
    onnx_probs = clf.predict_proba(val["text"].tolist())
    report = {}
    for j, label in enumerate(LABELS):
        t = clf.thresholds[label]
        agree = float(((onnx_probs[:, j] >= t) == (reference[:, j] >= t)).mean())
        diff = np.abs(onnx_probs[:, j] - reference[:, j])
        report[label] = {
            "decision_agreement": agree,
            "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()),
        }
    report["n"] = len(val)
    report["passed"] = all(report[label]["decision_agreement"] >= 0.99 for label in LABELS)
    return report


def export(
    run_dir: Path | str,
    out_dir: Path | str | None = None,
    max_length: int = 256,
    strict: bool = True,
    fused: bool = True,
    static: bool = False,
    signed_weights: bool = False,
    calibration_texts: int = CALIBRATION_TEXTS,
    profile_texts: int = PROFILE_TEXTS,
) -> Path:
    """Export, fuse, quantize and check. ``strict`` fails on < 99% decision agreement (off for untrained smoke
    runs, whose scores all sit at the threshold); ``fused`` applies onnxruntime's transformer fusions first: the
    same throughput on this CPU, but one text scores ~1 ms (10-15%) faster (docs/experiments.md);
    ``static`` calibrates activation ranges on training tweets (no fusions then: the fused attention op has no
    static int8 kernel); ``signed_weights`` quantizes weights to s8 instead of u8 (dynamic only): faster
    batches on AVX2 through onnxruntime's u8s8 kernels, decisions within the same parity bound here.
    ``calibration_texts`` (static only) and ``profile_texts`` (the drift reference profile) are numbers of training
    tweets; smoke runs pass small ones."""
    fused = fused and not static
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir else run_dir / "onnx"
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = run_dir / "checkpoint"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    run = json.loads((run_dir / "run.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp)
        main_export(str(checkpoint), output=fp32, task="text-classification", do_validation=False)
        add_embedding_output(fp32 / "model.onnx")
        if fused:
            fuse(fp32)
        if static:
            quantize_static(fp32, out_dir, calibration_texts)
        else:
            quantize(fp32, out_dir, signed_weights)
        for name in (
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "vocab.txt",
        ):
            if (fp32 / name).exists():
                shutil.copy(fp32 / name, out_dir / name)

    # The exported tokenizer pads and truncates to a fixed length; serving pads per batch and windows long texts.
    tok = json.loads((out_dir / "tokenizer.json").read_text())
    tok["padding"], tok["truncation"] = None, None
    (out_dir / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False))

    meta = {
        "model_id": "toxic-minilm-l6-int8",
        "version": run.get("version") or run["git_commit"][:12],
        "labels": list(LABELS),
        "thresholds": metrics["thresholds"],
        "attributes": {PERSPECTIVE[label]: label for label in LABELS},  # Perspective attribute -> our label
        "label_sources": {label: LABEL_SOURCES[label] for label in LABELS},
        "max_length": max_length,
        "backbone": config["backbone"],
        "data_manifest_sha256": run["data_manifest_sha256"],
        "quantization": (
            f"int8 static (onnxruntime quantize_static, per-channel weights, activations at the 99.99th percentile "
            f"of {calibration_texts} training tweets)"
            if static
            else f"int8 dynamic (Optimum ORTQuantizer, {'u8 activations x s8 weights' if signed_weights else 'avx2'}, per-channel weights)"
        ),
        "graph": "onnxruntime transformer fusions (ORTOptimizer level 2)" if fused else "as exported",
    }
    (out_dir / "toxic.json").write_text(json.dumps(meta, indent=2))
    report = parity(out_dir, run_dir)
    (out_dir / "parity.json").write_text(json.dumps(report, indent=2))
    shutil.copy(run_dir / "metrics.json", out_dir / "metrics.json")
    if (run_dir / "plots").exists():
        shutil.copytree(run_dir / "plots", out_dir / "plots", dirs_exist_ok=True)
    else:  # a run trained elsewhere (e.g. on Vertex AI) brings no plots: draw them from the int8 model on val
        import pandas as pd

        from train.plots import write_plots

        val = pd.read_csv(run_dir / "val.csv", keep_default_na=False)
        probs = Classifier(read_info(out_dir)).predict_proba(val["text"].tolist())
        write_plots(val, probs, metrics["thresholds"], out_dir / "plots", benchmark=BENCHMARKS)
    from train.card import write_card

    write_card(out_dir, run_dir)
    print("parity int8 vs PyTorch on val: " + json.dumps(report))
    if strict and not report["passed"]:
        raise SystemExit(
            f"parity check failed: decisions agree on < 99% of val texts ({out_dir / 'parity.json'})"
        )
    from toxic.monitor.profile import write_profile

    print(f"reference profile for drift monitoring: {write_profile(out_dir, n=profile_texts)}")
    return out_dir


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Export a run's best checkpoint to int8 ONNX.")
    parser.add_argument("run_dir")
    parser.add_argument("out_dir", nargs="?", default=None, help="default: RUN_DIR/onnx")
    parser.add_argument(
        "--no-fuse",
        action="store_true",
        help="skip onnxruntime's transformer fusions (the graph as exported)",
    )
    parser.add_argument(
        "--static", action="store_true", help="static int8: activation ranges calibrated on training tweets"
    )
    parser.add_argument(
        "--signed-weights",
        action="store_true",
        help="s8 weights (u8 x s8 GEMMs): 15-20%% more texts/s in batches on AVX2; the default, u8, is what "
        "models/default was exported with",
    )
    args = parser.parse_args(argv)
    export(
        args.run_dir,
        args.out_dir,
        fused=not args.no_fuse,
        static=args.static,
        signed_weights=args.signed_weights,
    )


if __name__ == "__main__":
    main()
