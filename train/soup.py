"""A weight soup: the uniform average of several runs' weights, written as a run that ``train.export`` takes.

Runs fine-tuned from the same backbone with the same seed start from the same classifier head, so their weights
can be averaged into one model that costs what one costs to serve (Wortsman et al., ICML 2022, "Model soups").
Runs of different seeds start from different heads; their average lost 1.5-2 val points (docs/experiments.md),
so ingredients must share the seed unless ``--any-seed`` says otherwise.

    python -m train.soup runs/soup runs/a runs/b runs/c

The soup is scored on val like a run at the end of training (``metrics.json``, thresholds tuned on val) and its
run directory names its ingredients (``run.json`` ``"soup"``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from toxic.data import LABELS
from train.train import predict, write_results


class SoupError(ValueError):
    """Runs that cannot be averaged into one model."""


def read_run(run_dir: Path) -> dict:
    """What a soup needs from one run: its config, its record, its architecture and the val set it was scored on."""
    for name in ("config.json", "run.json", "metrics.json", "val.csv", "checkpoint/model.safetensors"):
        if not (run_dir / name).exists():
            raise SoupError(f"{run_dir} is not a finished training run: {name} is missing")
    return {
        "dir": run_dir,
        "config": json.loads((run_dir / "config.json").read_text()),
        "run": json.loads((run_dir / "run.json").read_text()),
        "architecture": json.loads((run_dir / "checkpoint" / "config.json").read_text()),
        "val": pd.read_csv(run_dir / "val.csv", keep_default_na=False),
    }


def check_compatible(runs: list[dict], any_seed: bool) -> None:
    """Refuses runs whose weights do not line up, or were scored on different val sets."""
    first = runs[0]
    for r in runs[1:]:
        for what, key in (("backbone", "backbone"), ("max_length", "max_length")):
            if r["config"][key] != first["config"][key]:
                raise SoupError(f"{r['dir']} and {first['dir']} differ in {what}: they cannot be averaged")
        if r["architecture"] != first["architecture"]:
            raise SoupError(f"{r['dir']} and {first['dir']} have different model architectures")
        if r["run"]["data_manifest_sha256"] != first["run"]["data_manifest_sha256"]:
            raise SoupError(f"{r['dir']} and {first['dir']} were trained on different data versions")
        if not any_seed and r["config"]["seed"] != first["config"]["seed"]:
            raise SoupError(
                f"{r['dir']} (seed {r['config']['seed']}) and {first['dir']} (seed {first['config']['seed']}) start "
                "from different classifier heads; pass --any-seed to average them anyway"
            )
    if any(not r["val"].equals(first["val"]) for r in runs[1:]):
        raise SoupError("the runs were scored on different val sets")


def average_weights(run_dirs: list[Path]) -> dict[str, torch.Tensor]:
    """The element-wise mean of every floating-point tensor; integer buffers (position ids) are taken as they are."""
    states = [load_file(d / "checkpoint" / "model.safetensors") for d in run_dirs]
    if any(s.keys() != states[0].keys() for s in states[1:]):
        raise SoupError("the checkpoints hold different tensors")
    return {
        key: torch.stack([s[key].float() for s in states]).mean(0).to(t.dtype) if t.is_floating_point() else t
        for key, t in states[0].items()
    }


def make_soup(
    out_dir: Path | str, run_dirs: list[Path | str], any_seed: bool = False, threads: int = 0
) -> dict:
    """Averages the runs' weights into ``out_dir`` (a run directory) and returns its val metrics."""
    out_dir, run_dirs = Path(out_dir), [Path(d) for d in run_dirs]
    if len(run_dirs) < 2:
        raise SoupError("a soup needs at least two runs")
    if out_dir.resolve() in {d.resolve() for d in run_dirs}:
        raise SoupError(f"{out_dir} is one of the ingredients: write the soup somewhere else")
    runs = [read_run(d) for d in run_dirs]
    check_compatible(runs, any_seed)
    if threads:
        torch.set_num_threads(threads)

    model = AutoModelForSequenceClassification.from_pretrained(run_dirs[0] / "checkpoint")
    model.load_state_dict(average_weights(run_dirs))
    tokenizer = AutoTokenizer.from_pretrained(run_dirs[0] / "checkpoint")
    val = runs[0]["val"]
    ids = tokenizer(val["text"].tolist(), truncation=True, max_length=runs[0]["config"]["max_length"])[
        "input_ids"
    ]
    probs = predict(model, ids, tokenizer.pad_token_id, torch.device("cpu"), amp=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir / "checkpoint")
    tokenizer.save_pretrained(out_dir / "checkpoint")
    np.save(out_dir / "val_probs.npy", probs)
    metrics = write_results(out_dir, val, probs, best_epoch=None, weights="soup")
    seeds = sorted({r["config"]["seed"] for r in runs})  # one, unless --any-seed
    config = {**runs[0]["config"], "run_dir": str(out_dir), "seed": seeds[0] if len(seeds) == 1 else seeds}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2))
    ingredients = [
        {
            "run": str(r["dir"]),
            "command": r["run"].get("command", ""),
            "git_commit": r["run"].get("git_commit", ""),
        }
        for r in runs
    ]
    record = {**runs[0]["run"], "command": "python -m train.soup", "soup": ingredients}
    (out_dir / "run.json").write_text(json.dumps(record, indent=2))
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Average several runs' weights into one model (a uniform soup)."
    )
    parser.add_argument("out_dir", help="the soup's run directory (export it with python -m train.export)")
    parser.add_argument("runs", nargs="+", help="finished training runs of the same backbone and seed")
    parser.add_argument("--any-seed", action="store_true", help="average runs of different seeds too")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args(argv)
    try:
        metrics = make_soup(args.out_dir, args.runs, any_seed=args.any_seed, threads=args.threads)
    except SoupError as e:
        raise SystemExit(f"train.soup: {e}") from None
    print(
        f"soup of {len(args.runs)} runs, val macro-F1 at tuned thresholds: "
        + json.dumps({label: round(metrics[label]["macro_f1"], 4) for label in LABELS})
        + f" ({args.out_dir})"
    )


if __name__ == "__main__":
    main()
