"""The scoring pipeline: files -> rows -> RunInference -> sharded CSV or Parquet, dead letters, a summary.

    files ──Reshuffle──> ReadRows ──chunks of rows──> Reshuffle ──> RunInference(ToxicModelHandler) ──> Format ──> Write
                            └──dead letters (with the reason)──────────────┴──failed batches──> WriteDeadLetters
    scored + dead letters ──> Summarize ──> PREFIX-summary.json

Outputs, under ``--output PREFIX`` (Beam's naming): ``PREFIX-00000-of-0000N.csv`` (or ``.parquet``),
``PREFIX-deadletter-00000-of-00001.jsonl`` and ``PREFIX-summary.json``. The shard count is fixed before the job
runs (from the input's size, or ``--num_shards``), so a re-run or a retried job writes the same file names over the
old ones: no duplicates. Rows are not in input order: each carries ``source_file`` and ``source_row``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import RunInference

from toxic.batch import CHUNK_ROWS, escape_formula
from toxic.beam.handler import ToxicModelHandler
from toxic.beam.io import DeadLetter, JobSchema, read_rows
from toxic.errors import InputError

DEAD = "dead"
SHARD_BYTES = 256 * 1024 * 1024  # input bytes per output shard when --num_shards is not given
SOURCE_COLUMNS = ("source_file", "source_row")


@dataclass(frozen=True)
class ScoreJob:
    """One scoring job, decided at launch (``toxic.beam.cli``) and sent to the workers with the pipeline."""

    inputs: tuple[str, ...]  # the matched files
    output: str  # the prefix every output file name starts with
    schema: JobSchema
    labels: tuple[str, ...]
    thresholds: dict[str, float]
    model_version: str
    output_format: str = "csv"  # or "parquet"
    num_shards: int = 1
    max_text_chars: int = 1_000_000  # longer texts are dead letters (Settings.max_text_chars)
    model: str | None = None  # the model directory on the workers; None: the embedded one
    threads: int | None = None  # onnxruntime threads per worker process
    deobfuscate: bool = True
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.output_format not in {"csv", "parquet"}:
            raise InputError(f"--format must be csv or parquet, got {self.output_format!r}")
        if self.num_shards < 1:
            raise InputError(f"--num_shards must be at least 1, got {self.num_shards}")

    @property
    def out_columns(self) -> tuple[str, ...]:
        scores = (*self.labels, *(f"{label}_label" for label in self.labels))
        taken = set(self.schema.columns)
        clash = taken & {*scores, *SOURCE_COLUMNS}
        if clash:
            raise InputError(
                f"the input already has column(s) {', '.join(sorted(clash))}, which the output adds: rename them"
            )
        return (*self.schema.columns, *scores, *SOURCE_COLUMNS)

    def paths(self) -> dict[str, str]:
        suffix = ".csv" if self.output_format == "csv" else ".parquet"
        n = self.num_shards
        return {
            "scored": [f"{self.output}-{i:05d}-of-{n:05d}{suffix}" for i in range(n)],
            "deadletter": f"{self.output}-deadletter-00000-of-00001.jsonl",
            "summary": f"{self.output}-summary.json",
        }


def shards_for(total_bytes: int) -> int:
    return max(1, math.ceil(total_bytes / SHARD_BYTES))


class ReadRows(beam.DoFn):
    """A file's rows in chunks, as toxic score reads them: rows 1-1,000, 1,001-2,000, ... (less the dead letters).
    A chunk is one batch of the model, so each row is scored beside the same rows as by toxic score: the int8
    model's activation ranges are measured per batch, and a row's scores move by up to ~0.1 with its batch-mates
    (with shuffled batches ~1% of decisions on the val tweets flip)."""

    def __init__(self, job: ScoreJob) -> None:
        self.job = job

    def process(self, path: str):
        chunk, at = [], 0
        for item in read_rows(path, self.job.schema, self.job.max_text_chars):
            if isinstance(item, DeadLetter):
                yield beam.pvalue.TaggedOutput(DEAD, item)
                continue
            if chunk and (item[1] - 1) // CHUNK_ROWS != at:
                yield chunk
                chunk = []
            chunk.append(item)
            at = (item[1] - 1) // CHUNK_ROWS
        if chunk:
            yield chunk


def failed_batch(failure) -> list[DeadLetter]:
    """RunInference's dead letters are whole batches: one DeadLetter per row, with the error."""
    batch, error = failure
    reason = f"scoring failed: {type(error).__name__}: {error}"[:500]
    return [DeadLetter(path, number, "scoring failed", reason) for path, number, _ in batch]


def csv_line(values, delimiter: str) -> str:
    """One CSV record, every cell quoted (CR, LF and quotes read back exactly) and formula cells escaped."""
    out = io.StringIO()
    cells = ["" if v is None else escape_formula(v) if isinstance(v, str) else v for v in values]
    csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="").writerow(cells)
    return out.getvalue()


def scored_values(result) -> tuple:
    """The input's values, then the probabilities (rounded to 6 places, as toxic score), labels and the source."""
    (path, number, values), (probs, decisions) = result.example, result.inference
    rounded = [round(float(p), 6) for p in probs]
    return (*values, *rounded, *(int(d) for d in decisions), path, number)


class Summary(beam.CombineFn):
    """Rows scored, rows per label at the model's thresholds, a 10-bin histogram per label, dead letters per reason.
    Inputs: ("scored", probs, decisions) or ("dead", reason)."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels

    def create_accumulator(self):
        n = len(self.labels)
        return {"rows": 0, "flagged": [0] * n, "histogram": [[0] * 10 for _ in range(n)], "dead": {}}

    def add_input(self, acc, item):
        if item[0] == "dead":
            kind = item[1]
            acc["dead"][kind] = acc["dead"].get(kind, 0) + 1
            return acc
        _, probs, decisions = item
        acc["rows"] += 1
        for j, (p, d) in enumerate(zip(probs, decisions, strict=True)):
            acc["flagged"][j] += int(d)
            acc["histogram"][j][min(int(p * 10), 9)] += 1
        return acc

    def merge_accumulators(self, accumulators):
        out = self.create_accumulator()
        for acc in accumulators:
            out["rows"] += acc["rows"]
            for j in range(len(self.labels)):
                out["flagged"][j] += acc["flagged"][j]
                out["histogram"][j] = [
                    a + b for a, b in zip(out["histogram"][j], acc["histogram"][j], strict=True)
                ]
            for kind, count in acc["dead"].items():
                out["dead"][kind] = out["dead"].get(kind, 0) + count
        return out

    def extract_output(self, acc):
        rows = acc["rows"]
        return {
            "rows": rows,
            "dead_letters": sum(acc["dead"].values()),
            "dead_letter_kinds": dict(sorted(acc["dead"].items(), key=lambda kv: (-kv[1], kv[0]))),
            "labels": {
                label: {
                    "flagged": acc["flagged"][j],
                    "rate": round(acc["flagged"][j] / rows, 6) if rows else 0.0,
                    "histogram": acc["histogram"][j],  # counts of scores in [0, 0.1), ..., [0.9, 1]
                }
                for j, label in enumerate(self.labels)
            },
        }


def write_summary(summary: dict, job: ScoreJob) -> str:
    paths = job.paths()
    document = {
        **summary,
        "model_version": job.model_version,
        "thresholds": job.thresholds,
        "text_column": job.schema.text_column,
        "inputs": list(job.inputs),
        "outputs": paths["scored"],
        "dead_letter_file": paths["deadletter"],
        "notes": job.notes,
    }
    with FileSystems.create(paths["summary"], mime_type="application/json") as f:
        f.write(json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8"))
    return paths["summary"]


def parquet_schema(job: ScoreJob):
    import pyarrow as pa

    if job.schema.arrow_schema is not None:
        inputs = list(job.schema.arrow_schema)
    else:
        inputs = [pa.field(c, pa.string()) for c in job.schema.columns]
    scores = [pa.field(label, pa.float32()) for label in job.labels]
    flags = [pa.field(f"{label}_label", pa.int8()) for label in job.labels]
    return pa.schema(
        [*inputs, *scores, *flags, pa.field("source_file", pa.string()), ("source_row", pa.int64())]
    )


def build(p: beam.Pipeline, job: ScoreJob) -> None:
    """Add the scoring job's transforms to ``p``."""
    columns = job.out_columns
    files = p | "Files" >> beam.Create(sorted(job.inputs)) | "SpreadFiles" >> beam.Reshuffle()
    read = files | "ReadRows" >> beam.ParDo(ReadRows(job)).with_outputs(DEAD, main="rows")
    handler = ToxicModelHandler(job.schema.text_index, job.model, job.threads, job.deobfuscate)
    # A file is read by one worker; its chunks are spread again so that every worker scores
    rows = read.rows | "SpreadChunks" >> beam.Reshuffle()
    scored, failed = rows | "Score" >> RunInference(handler).with_exception_handling()
    records = scored | "Format" >> beam.Map(scored_values)
    if job.output_format == "csv":
        header = csv_line(columns, job.schema.delimiter)
        _ = (
            records
            | "ToCsv" >> beam.Map(csv_line, job.schema.delimiter)
            | "WriteCsv"
            >> beam.io.WriteToText(
                job.output, file_name_suffix=".csv", num_shards=job.num_shards, header=header
            )
        )
    else:
        _ = (
            records
            | "ToDict" >> beam.Map(lambda values: dict(zip(columns, values, strict=True)))
            | "WriteParquet"
            >> beam.io.WriteToParquet(
                job.output, parquet_schema(job), file_name_suffix=".parquet", num_shards=job.num_shards
            )
        )
    failed_rows = failed.failed_inferences | "FailedBatches" >> beam.FlatMap(failed_batch)
    dead = (read[DEAD], failed_rows) | "DeadLetters" >> beam.Flatten()
    _ = (
        dead
        | "DeadToJson" >> beam.Map(DeadLetter.to_json)
        | "WriteDeadLetters"
        >> beam.io.WriteToText(f"{job.output}-deadletter", file_name_suffix=".jsonl", num_shards=1)
    )
    outcomes = (
        scored | "ScoredOutcome" >> beam.Map(lambda r: ("scored", r.inference[0], r.inference[1])),
        dead | "DeadOutcome" >> beam.Map(lambda d: ("dead", d.kind)),
    ) | "Outcomes" >> beam.Flatten()
    _ = (
        outcomes
        | "Summarize" >> beam.CombineGlobally(Summary(job.labels))
        | "WriteSummary" >> beam.Map(write_summary, job)
    )
