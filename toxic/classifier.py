"""The serving path: onnxruntime + tokenizers + numpy. Nothing here imports torch or transformers.

    >>> from toxic import Classifier
    >>> clf = Classifier.load()                  # models/default; or a directory; or a Hub repo id
    >>> clf.predict("you are a wonderful person")
    {'toxic': 0.03, 'hate': 0.01, 'labels': []}

Texts are cleaned (``toxic.text``) and look-alike spellings undone (``toxic.deobfuscate``: ``1d10t`` -> ``idiot``)
before tokenizing. Speed comes from three things: texts are tokenized in one Rust call, sorted by length and
batched so padding is minimal, and the int8 graph runs with onnxruntime's fusions. Long texts are never
truncated: they are cut into overlapping windows and a text's score is the maximum over its windows.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from toxic.deobfuscate import Deobfuscator
from toxic.errors import InputError, ModelError
from toxic.settings import env_deobfuscate, env_threads
from toxic.text import clean_text

# The embedded model: inside the installed package (toxic/model/, package data), or models/default in a checkout.
_PACKAGED_MODEL = Path(__file__).resolve().parent / "model"
DEFAULT_MODEL = (
    _PACKAGED_MODEL
    if _PACKAGED_MODEL.is_dir()
    else Path(__file__).resolve().parents[1] / "models" / "default"
)
MODEL_FILES = ("model.onnx", "tokenizer.json", "config.json", "toxic.json")


@dataclass(frozen=True)
class ModelInfo:
    """What a model directory says about itself (``toxic.json`` and ``config.json``)."""

    path: Path
    labels: tuple[str, ...]
    thresholds: dict[str, float]
    max_length: int
    model_id: str
    version: str
    # label -> (scale, bias) fitted on val by train/calibrate.py; probabilities are sigmoid(scale*logit + bias)
    calibration: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Perspective attribute -> label, for the Perspective-compatible API: toxic.json's "attributes", else
    # DEFAULT_ATTRIBUTES for the labels the model has. Only attributes listed here are ever answered.
    attributes: dict[str, str] = field(default_factory=dict)


# The Perspective attribute a label answers for when toxic.json has no "attributes" table. A label missing here
# is simply not offered through that API until the model's table names it.
DEFAULT_ATTRIBUTES = {
    "toxic": "TOXICITY",
    "severe_toxic": "SEVERE_TOXICITY",
    "hate": "IDENTITY_ATTACK",
    "insult": "INSULT",
    "profanity": "PROFANITY",
    "threat": "THREAT",
    "sexually_explicit": "SEXUALLY_EXPLICIT",
}


def read_attributes(meta: dict, labels: tuple[str, ...], path: Path) -> dict[str, str]:
    table = meta.get("attributes")
    if table is None:
        return {DEFAULT_ATTRIBUTES[label]: label for label in labels if label in DEFAULT_ATTRIBUTES}
    unknown = sorted(label for label in table.values() if label not in labels)
    if unknown:
        raise ModelError(
            f'{path / "toxic.json"}: "attributes" maps to {", ".join(unknown)}, which the model does not have '
            f"(its labels: {', '.join(labels)})"
        )
    return {str(attribute).upper(): label for attribute, label in table.items()}


def resolve_model_dir(source: str | os.PathLike | None = None, revision: str | None = None) -> Path:
    """None -> the embedded default; an existing directory -> itself; otherwise a Hub repo id, from the cache
    when ``HF_HUB_OFFLINE=1`` (or when the network is down), else downloaded."""
    if source is None:
        return DEFAULT_MODEL
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    text = str(source)
    if path.exists() or text.startswith((".", "/", "~")) or text.count("/") != 1:
        raise ModelError(
            f"model not found: {text!r} is neither a model directory nor a Hub repo id (ORG/NAME)"
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(
            snapshot_download(
                text, revision=revision, allow_patterns=["*.json", "*.onnx", "*.md", "*.parquet", "plots/*"]
            )
        )
    except LocalEntryNotFoundError as e:
        raise ModelError(
            f"{text} is not in the local Hugging Face cache and the Hub cannot be reached (HF_HUB_OFFLINE is "
            f"{os.environ.get('HF_HUB_OFFLINE', 'unset')}): download it once with network, or pass a directory"
        ) from e
    except (HfHubHTTPError, OSError) as e:
        raise ModelError(f"cannot load {text} from the Hub: {e}") from e


def read_info(path: Path) -> ModelInfo:
    missing = [name for name in MODEL_FILES if not (path / name).exists()]
    if missing:
        raise ModelError(f"{path} is not a toxic model directory: missing {', '.join(missing)}")
    config = json.loads((path / "config.json").read_text())
    meta = json.loads((path / "toxic.json").read_text())
    labels = tuple(config["id2label"][str(i)] for i in range(len(config["id2label"])))
    return ModelInfo(
        path=path,
        labels=labels,
        thresholds={label: float(meta["thresholds"][label]) for label in labels},
        max_length=int(meta.get("max_length", 256)),
        model_id=meta.get("model_id", path.name),
        version=meta.get("version", "unknown"),
        calibration={
            label: (float(c["scale"]), float(c["bias"]))
            for label, c in meta.get("calibration", {}).items()
            if label in labels
        },
        attributes=read_attributes(meta, labels, path),
    )


SLICE_TEXTS = 4096  # most texts scored at once: their windows, ids and scores stay bounded for any call size
ENCODE_TEXTS = 256  # most texts in one tokenizer call (it runs on all cores either way)


class Classifier:
    """Scores comments with an int8 ONNX model. Thread-safe: threads share one session, and its forward passes run
    one at a time (each already uses every core; concurrent ones only add their buffers to the peak RSS)."""

    def __init__(
        self,
        info: ModelInfo,
        threads: int | None = None,
        batch_size: int = 32,
        max_batch_tokens: int = 256,
        deobfuscate: bool | None = None,
    ) -> None:
        self.info = info
        self.labels = info.labels
        self.thresholds = dict(info.thresholds)
        self.batch_size = batch_size
        # A batch's buffers take ~20 KB a padded token. Capping a batch's padded tokens caps them (256: ~12 MB
        # less at the peak than 512, at the same texts/s), and so does not caching a memory plan per input shape.
        # No arena: the buffers go back to malloc, which toxic.serve.memory.release_memory() hands back to the OS after
        # a batch job (docs/experiments.md).
        self.max_batch_tokens = max_batch_tokens
        options = ort.SessionOptions()
        options.enable_mem_pattern = False
        options.enable_cpu_mem_arena = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or env_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self.session = ort.InferenceSession(
                str(info.path / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own untyped errors for corrupt files
            raise ModelError(f"cannot load {info.path / 'model.onnx'}: {e}") from e
        self._run_lock = threading.Lock()
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._outputs = [o.name for o in self.session.get_outputs()]
        self.tokenizer = Tokenizer.from_file(str(info.path / "tokenizer.json"))
        self.tokenizer.no_padding()  # the packaged tokenizer.json pads to 128: we pad per batch instead
        self.tokenizer.no_truncation()  # long texts are windowed, never cut
        self._cls = self.tokenizer.token_to_id("[CLS]")
        self._sep = self.tokenizer.token_to_id("[SEP]")
        self._pad = self.tokenizer.token_to_id("[PAD]") or 0
        if deobfuscate is None:
            deobfuscate = env_deobfuscate()
        # 1d10t -> idiot, stuuupid -> stupid, i d i o t -> idiot: see toxic/deobfuscate.py
        self.deobfuscator = Deobfuscator.load(self.tokenizer.get_vocab()) if deobfuscate else None
        self.window = info.max_length - 2  # tokens of text per window, between [CLS] and [SEP]
        self.stride = self.window * 3 // 4  # windows overlap by a quarter

    @classmethod
    def load(
        cls,
        source: str | os.PathLike | None = None,
        revision: str | None = None,
        threads: int | None = None,
        deobfuscate: bool | None = None,
    ) -> Classifier:
        """``deobfuscate`` (default on; ``TOXIC_DEOBFUSCATE=0`` turns it off) undoes look-alike spellings first."""
        return cls(read_info(resolve_model_dir(source, revision)), threads=threads, deobfuscate=deobfuscate)

    # --- the public surface --------------------------------------------------------------------------------------

    def predict(self, texts: str | list[str], threshold: dict[str, float] | float | None = None):
        """Per text: ``{"toxic": p, "hate": p, "labels": [names at or over their threshold]}``.
        A single string gives a single dict; a list gives a list."""
        single = isinstance(texts, str)
        batch = [texts] if single else texts
        probs = self.predict_proba(batch)
        results = [self._result(row, threshold) for row in probs]
        return results[0] if single else results

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """An ``(n, len(labels))`` float32 array of independent probabilities."""
        return self.run(texts)[0]

    def embed(self, texts: list[str]) -> np.ndarray:
        """The model's pooled representation of each text (used for drift), ``(n, hidden)``."""
        return self.run(texts, embeddings=True)[1]

    def normalize(self, text: str) -> str:
        """The text as the model reads it: cleaned, and with look-alike spellings undone when that is on."""
        cleaned = clean_text(text) if isinstance(text, str) else ""
        return self.deobfuscator(cleaned) if self.deobfuscator is not None and cleaned else cleaned

    def decide(self, probs: np.ndarray, threshold: dict[str, float] | float | None = None) -> np.ndarray:
        """Boolean decisions ``(n, len(labels))`` at the model's thresholds, or the given ones."""
        t = self._thresholds(threshold)
        return probs >= np.array([t[label] for label in self.labels], dtype=np.float32)

    # --- the work --------------------------------------------------------------------------------------------------

    def run(self, texts: list[str], embeddings: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        if isinstance(texts, str):
            raise InputError("predict_proba takes a list of texts; use predict() for a single string")
        n = len(texts)
        if n > SLICE_TEXTS:  # tokenized and scored a slice at a time: memory stays bounded for any call size
            parts = [self.run(texts[i : i + SLICE_TEXTS], embeddings) for i in range(0, n, SLICE_TEXTS)]
            hiddens = [h for _, h in parts if h is not None and h.size]
            if not embeddings or not hiddens:
                return np.concatenate([p for p, _ in parts]), None
            dim = hiddens[0].shape[1]
            return np.concatenate([p for p, _ in parts]), np.concatenate(
                [h if h is not None and h.size else np.zeros((len(p), dim), np.float32) for p, h in parts]
            )
        probs = np.zeros((n, len(self.labels)), dtype=np.float32)
        hidden = None
        if n == 0:
            return probs, np.zeros((0, 0), dtype=np.float32) if embeddings else None
        cleaned = [self.normalize(t) if isinstance(t, str) else self._not_text(t) for t in texts]
        owners, windows = self._windows(cleaned)
        if not windows:  # every text empty: defined result, all zeros
            return probs, None
        logits, pooled = self._forward(windows, embeddings)
        if self.info.calibration:  # fitted on val by train/calibrate.py: sigmoid(scale * logit + bias)
            scale, bias = np.array(
                [self.info.calibration.get(label, (1.0, 0.0)) for label in self.labels], dtype=np.float32
            ).T
            logits = logits * scale + bias
        window_probs = 1.0 / (1.0 + np.exp(-logits))
        np.maximum.at(probs, owners, window_probs)  # a text scores its worst window
        if embeddings and pooled is not None:
            hidden = np.zeros((n, pooled.shape[1]), dtype=np.float32)
            counts = np.bincount(owners, minlength=n)[:, None]
            np.add.at(hidden, owners, pooled)
            hidden /= np.maximum(counts, 1)
        return probs, hidden

    def _not_text(self, value) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        raise InputError(f"expected text, got {type(value).__name__}: {value!r}"[:200])

    def _windows(self, cleaned: list[str]) -> tuple[np.ndarray, list[list[int]]]:
        """Token ids per window (with [CLS]/[SEP]) and, for each window, the index of its text.
        Empty texts have no window and keep probability 0."""
        keep = [i for i, t in enumerate(cleaned) if t]
        owners, windows = [], []
        for i, ids in zip(keep, self._token_ids([cleaned[i] for i in keep]), strict=True):
            start = 0
            while True:
                windows.append([self._cls, *ids[start : start + self.window], self._sep])
                owners.append(i)
                if start + self.window >= len(ids):
                    break
                start += self.stride
        return np.array(owners, dtype=np.int64), windows

    def _token_ids(self, texts: list[str]) -> Iterator[list[int]]:
        """Each text's token ids, without special tokens. Encoded ``ENCODE_TEXTS`` at a time: an Encoding carries
        tokens, offsets and masks besides the ids (~5 KB a tweet), and only the ids are kept."""
        for at in range(0, len(texts), ENCODE_TEXTS):
            for enc in self.tokenizer.encode_batch(texts[at : at + ENCODE_TEXTS], add_special_tokens=False):
                yield enc.ids

    def _forward(self, windows: list[list[int]], embeddings: bool) -> tuple[np.ndarray, np.ndarray | None]:
        lengths = [len(w) for w in windows]
        order = np.argsort(lengths, kind="stable")
        logits = np.zeros((len(windows), len(self.labels)), dtype=np.float32)
        pooled = None
        outputs = ["logits", "embedding"] if embeddings and "embedding" in self._outputs else ["logits"]
        for idx in self._batches(order, lengths):
            width = len(windows[idx[-1]])  # sorted: the last is the longest
            ids = np.full((len(idx), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, j in enumerate(idx):
                w = windows[j]
                ids[row, : len(w)] = w
                mask[row, : len(w)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            with self._run_lock:
                result = self.session.run(outputs, feeds)
            logits[idx] = result[0]
            if len(result) > 1:
                if pooled is None:
                    pooled = np.zeros((len(windows), result[1].shape[1]), dtype=np.float32)
                pooled[idx] = result[1]
        return logits, pooled

    def _batches(self, order: np.ndarray, lengths: list[int]) -> list[np.ndarray]:
        """Consecutive runs of the length-sorted windows: at most ``batch_size`` rows and, once a batch is wider,
        at most ``max_batch_tokens`` padded tokens, so long windows go in smaller batches."""
        batches, start = [], 0
        while start < len(order):
            end = start + 1
            while end < len(order) and end - start < self.batch_size:
                if (end - start + 1) * lengths[order[end]] > self.max_batch_tokens:
                    break
                end += 1
            batches.append(order[start:end])
            start = end
        return batches

    def _thresholds(self, threshold: dict[str, float] | float | None) -> dict[str, float]:
        if threshold is None:
            return self.thresholds
        if isinstance(threshold, int | float):
            return dict.fromkeys(self.labels, float(threshold))
        return {**self.thresholds, **threshold}

    def _result(self, row: np.ndarray, threshold) -> dict:
        t = self._thresholds(threshold)
        scores = {label: round(float(p), 6) for label, p in zip(self.labels, row, strict=True)}
        return {**scores, "labels": [label for label in self.labels if scores[label] >= t[label]]}
