"""The one typed configuration of a training run. Every field can be overridden from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from toxic.data import SplitConfig

PACKAGED_BACKBONE = "packaged:all-MiniLM-L6-v2"


@dataclass
class TrainConfig:
    backbone: str = (
        PACKAGED_BACKBONE  # the offline packaged MiniLM, a local dir, or any Hub id (vinai/bertweet-base)
    )
    data_dir: str = ""  # labelled data; "" = the repo's data/ (or $TOXIC_DATA_DIR); gs:// is fetched first
    run_dir: str = ""  # where the run writes; "" = $AIP_MODEL_DIR on Vertex, else runs/<time>
    epochs: int = 2  # passes over the training data
    batch_size: int = 32  # texts per step (32 beat 64 on val, docs/experiments.md)
    lr: float = 8e-5  # peak AdamW learning rate, linear warm-up then linear decay
    weight_decay: float = 0.01  # AdamW weight decay
    warmup: float = 0.06  # share of the steps spent warming up
    max_length: int = 128  # tokens per training text (val tweets average ~35)
    label_smoothing: float = 0.1  # targets become y*(1-s) + s/2 (0.1 beat 0 on val, docs/experiments.md)
    group_by_length: bool = (
        True  # batches of similar length: far less padding, same randomness across batches
    )
    augment_identity: float = 0.0  # per row and epoch: swap identity terms within category (augment.py)
    augment_obfuscate: float = 0.1  # per row and epoch: one toxic.eval.perturb obfuscation (augment.py)
    augment_templates: int = (
        3000  # extra rows per epoch from our own identity templates (augment.py; 0 = off)
    )
    augment_functional: int = (
        1500  # extra rows per epoch from the functional suite's training half (data/functional/train.json)
    )
    olid_individual_hate: bool = True  # OLID tweets aimed at one person train hate as 0 (--no-...: unknown)
    davidson_offensive_hate: str = (
        "zero"  # Davidson's offensive-not-hate tweets train hate as: zero | unknown | unknown-at-women
    )
    class_weights: str = "none"  # per-label positive weights in the loss: none | sqrt | balanced (neg/pos)
    extra_data: str = (
        ""  # a CSV of extra labelled rows (text + per label 1, 0 or -1): `toxic corrections export`
    )
    deobfuscate: bool = (
        False  # undo look-alike spellings in train and val texts, as serving does (toxic.deobfuscate)
    )
    ema: float = (
        0.0  # decay of a moving average of the weights (0 = off); the run keeps whichever scores higher
    )
    seed: int = 42  # python, numpy and torch seeds
    limit: int = 0  # use only this many training rows (0 = all): smoke tests
    limit_val: int = 0  # and this many val rows per source (0 = all)
    max_steps: int = 0  # stop after this many optimiser steps (0 = run all epochs)
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    threads: int = 0  # torch CPU threads (0 = torch's default)
    export: bool = True  # export to ONNX, quantize to int8 and check parity after training
    push_to_hub: str = ""  # ORG/NAME to upload the exported model to (needs HF_TOKEN)
    tags: list[str] = field(default_factory=list)  # free-form labels recorded in the run dir

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (0 < self.lr < 1, "lr must be in (0, 1), e.g. 5e-5"),
            (0 <= self.warmup < 1, "warmup is a share of the steps, in [0, 1)"),
            (8 <= self.max_length <= 512, "max_length must be in [8, 512]"),
            (0 <= self.label_smoothing < 0.5, "label_smoothing must be in [0, 0.5)"),
            (0 <= self.augment_identity <= 1, "augment_identity is a probability per row, in [0, 1]"),
            (0 <= self.augment_obfuscate <= 1, "augment_obfuscate is a probability per row, in [0, 1]"),
            (self.augment_templates >= 0, "augment_templates is a number of rows per epoch, >= 0"),
            (self.augment_functional >= 0, "augment_functional is a number of rows per epoch, >= 0"),
            (
                self.class_weights in {"none", "sqrt", "balanced"},
                "class_weights must be none, sqrt or balanced",
            ),
            (0 <= self.ema < 1, "ema is a decay per step, in [0, 1): 0.999 averages ~1,000 steps"),
            (self.device in {"auto", "cpu", "cuda"}, "device must be auto, cpu or cuda"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"TrainConfig: {message}")
        self.split_config()  # its own checks, before any data is fetched

    def split_config(self) -> SplitConfig:
        """How the run's training split reads the published labels (toxic.data.build_splits)."""
        return SplitConfig(
            olid_individual_hate=self.olid_individual_hate,
            davidson_offensive_hate=self.davidson_offensive_hate,
        )

    def output_uri(self) -> str:
        """The gs:// prefix the run directory is uploaded to when training ends ("" when it is written in place)."""
        target = self.run_dir or os.environ.get("AIP_MODEL_DIR", "")  # set by Vertex AI custom jobs
        return target if target.startswith("gs://") else ""

    def resolved_run_dir(self) -> Path:
        """Where the run writes: run_dir, else $AIP_MODEL_DIR, else runs/<time>; a gs:// target trains in
        runs/<time> and is uploaded at the end (output_uri)."""
        target = self.run_dir or os.environ.get("AIP_MODEL_DIR", "")
        if target and not self.output_uri():
            return Path(target)
        from datetime import datetime

        return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")

    @classmethod
    def from_args(cls, argv: list[str] | None = None) -> TrainConfig:
        parser = argparse.ArgumentParser(
            description="Fine-tune a multi-label (toxic, hate, insult) classifier."
        )
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            flag = "--" + f.name.replace("_", "-")
            if isinstance(default, bool):
                parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
            elif isinstance(default, list):
                parser.add_argument(flag, nargs="*", default=default)
            else:
                parser.add_argument(flag, type=type(default), default=default)
        return cls(**vars(parser.parse_args(argv)))
