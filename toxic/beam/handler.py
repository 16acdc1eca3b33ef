"""RunInference's model handler for ``toxic.Classifier``.

Beam loads the model through :meth:`ToxicModelHandler.load_model` once per worker process and shares it across the
process's threads (RunInference's ``shared.Shared`` handle; ``Classifier`` is thread-safe). The int8 model is ~25 MB,
so each process keeps its own copy (``share_model_across_processes`` stays False, as Dataflow advises for models
that fit once per core) instead of calling one copy across processes. Rows arrive already batched, in the chunks
``toxic score`` scores (``pipeline.ReadRows``), so RunInference's own batching is skipped; within a chunk the
classifier sorts texts by length and pads each forward pass only to its longest, as it does everywhere.
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Iterable, Sequence

import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from toxic.beam.io import Row
from toxic.classifier import Classifier

NAMESPACE = "toxic"
PEAK_RSS = Metrics.distribution(NAMESPACE, "worker_peak_rss_mb")  # each process reports its own peak


class _QuietMemoryWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Resource module is not available")


class ToxicModelHandler(ModelHandler[Row, tuple[np.ndarray, np.ndarray], Classifier]):
    """Scores rows ``(source_file, source_row, values)`` on ``values[text_index]``. Each result's inference is
    ``(probabilities, decisions)`` at the model's thresholds, as ``toxic score`` writes them."""

    def __init__(
        self,
        text_index: int,
        model: str | None = None,
        threads: int | None = None,
        deobfuscate: bool = True,
    ) -> None:
        super().__init__()
        self.text_index = text_index
        self.model = (
            model  # a directory on the worker; None: the model embedded in the package (and the image)
        )
        self.threads = threads  # onnxruntime threads per process: cores / processes
        self.deobfuscate = deobfuscate

    def load_model(self) -> Classifier:
        # RunInference warns at every batch that it cannot measure memory when its optional model manager, which
        # imports torch, is missing; memory is measured here instead (PEAK_RSS)
        logging.getLogger().addFilter(_QuietMemoryWarning())
        return Classifier.load(self.model, threads=self.threads, deobfuscate=self.deobfuscate)

    def run_inference(
        self, batch: Sequence[Row], model: Classifier, inference_args: dict | None = None
    ) -> Iterable[PredictionResult]:
        probs = model.predict_proba([row[2][self.text_index] for row in batch])
        decisions = model.decide(probs)
        PEAK_RSS.update(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
        version = model.info.version
        return [
            PredictionResult(row, (p, d), version) for row, p, d in zip(batch, probs, decisions, strict=True)
        ]

    def should_skip_batching(self) -> bool:
        return True  # each element is a chunk of rows

    def get_num_bytes(self, batch: Sequence[Row]) -> int:
        return sum(len(row[2][self.text_index]) for row in batch)  # Beam's default pickles the batch to count

    def get_metrics_namespace(self) -> str:
        return NAMESPACE
