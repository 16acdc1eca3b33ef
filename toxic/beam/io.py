"""Reading comment files row by row, for the Beam pipeline: CSV/TSV/TXT, JSON Lines and Parquet, local or ``gs://``.

CSV files are read as ``toxic score`` reads them (``toxic.commentfile``: encoding, delimiter and header detected per file,
the text column found by name or content), but a row, not the file, is the unit of failure: a row that cannot be
read (bytes invalid in the file's encoding, a wrong number of fields, no text, a text over the limit, a JSON line
that does not parse) becomes a :class:`DeadLetter` with the reason, and the rest of the file is scored. A file that
cannot be read at all (binary, empty, other columns than the job's) becomes one dead letter, not a failed job.

A row travels as ``(source_file, source_row, values)``: ``values`` in the job's column order, ``source_row`` the
row's position in its file (1 = the first row under the header; a JSON Lines file's line number).
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from toxic.commentfile import SNIFF_BYTES, FileFormat, pick_column, sniff
from toxic.errors import InputError

Row = tuple[str, int, tuple]
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSED = (".gz", ".bz2", ".zst", ".deflate")  # opened through Beam, which decompresses by the name
SAMPLE_ROWS = 200  # rows read at launch to find the text column, as toxic score looks at its first 200
SHOWN_CHARS = 1_000  # longest value a dead letter repeats; longer ones are cut and their length given
_UNDECODABLE = re.compile(
    "[\udc80-\udcff]"
)  # bytes that did not decode, kept as surrogates (surrogateescape)


@dataclass(frozen=True)
class DeadLetter:
    """A row (or a whole file, ``source_row`` None) that was not scored, and why."""

    source_file: str
    source_row: int | None
    kind: str  # a short, fixed name the summary counts by: "empty text", "text too long", ...
    reason: str
    row: dict | None = None  # the row's values as read, each cut to SHOWN_CHARS

    def to_json(self) -> str:
        record = {
            "source_file": self.source_file,
            "source_row": self.source_row,
            "kind": self.kind,
            "reason": self.reason,
        }
        if self.row is not None:
            record["row"] = self.row
        return json.dumps(record, ensure_ascii=False)


@dataclass(frozen=True)
class JobSchema:
    """What every file of a job must look like, decided at launch from its first file."""

    kind: str  # "csv", "jsonl" or "parquet"
    columns: tuple[str, ...]
    text_column: str
    delimiter: str = ","  # the output's, for CSV: the first file's, as toxic score keeps the input's
    given_delimiter: str | None = None  # --delimiter: every CSV file is read with it instead of detecting one
    arrow_schema: object = None  # Parquet input: the first file's pyarrow schema, kept in Parquet output

    @property
    def text_index(self) -> int:
        return self.columns.index(self.text_column)


def file_kind(path: str) -> str:
    name = PurePosixPath(path).name.lower()
    for ext in COMPRESSED:
        name = name.removesuffix(ext)
    suffix = PurePosixPath(name).suffix
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise InputError(
        f"{PurePosixPath(path).name}: unknown file type {suffix or '(none)'!r}; inputs are CSV/TSV/TXT, "
        "JSON Lines (.jsonl) or Parquet (.parquet)"
    )


def _open(path: str):
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.open(path)  # decompresses .gz/.bz2/... by the name


def shown(value) -> object:
    """A value as a dead letter repeats it: bytes that did not decode as \\xNN, long texts cut."""
    if not isinstance(value, str):
        return value
    if _UNDECODABLE.search(value):
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return value if len(value) <= SHOWN_CHARS else f"{value[:SHOWN_CHARS]}… ({len(value):,} characters)"


# --- CSV, through toxic.commentfile's detection ----------------------------------------------------------------------


def sniff_csv(path: str, delimiter: str | None = None) -> FileFormat:
    """toxic.commentfile.sniff on a file anywhere Beam reads: its first 64 KB are copied to a local file of the same name,
    so the detection (and its messages, which name the file) are exactly those of ``toxic score``."""
    name = PurePosixPath(path).name
    for ext in COMPRESSED:
        name = name.removesuffix(ext)
    with _open(path) as f:
        head = f.read(SNIFF_BYTES)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / name
        local.write_bytes(head)
        return sniff(local, delimiter=delimiter)


def _csv_records(path: str, fmt: FileFormat) -> Iterator[tuple[int, list[str]]]:
    """(row number, fields) of each data row; blank lines skipped, as pandas does for toxic score."""
    raw = _open(path)
    # surrogateescape: a byte the encoding cannot decode survives as a surrogate, so that row (and only that row)
    # goes to the dead letters; toxic score, which reads whole files, replaces such bytes with U+FFFD instead
    text = io.TextIOWrapper(raw, encoding=fmt.encoding, errors="surrogateescape", newline="")
    with text:
        if fmt.delimiter is None:  # .txt: one comment a line
            for number, line in enumerate(text, start=1):
                yield number, [line.rstrip("\r\n")]
            return
        csv.field_size_limit(2**31 - 1)  # the default (128 KB) would end a file at its first long comment
        reader = csv.reader(text, delimiter=fmt.delimiter)
        next(reader, None)  # the header
        number = 0
        for fields in reader:
            if fields:
                number += 1
                yield number, fields


def sample_csv(path: str, fmt: FileFormat) -> pd.DataFrame:
    rows = []
    for _, fields in _csv_records(path, fmt):
        if len(fields) == len(fmt.columns):
            rows.append(fields)
        if len(rows) == SAMPLE_ROWS:
            break
    return pd.DataFrame(rows, columns=fmt.columns)


def read_csv(path: str, schema: JobSchema, max_chars: int) -> Iterator[Row | DeadLetter]:
    try:
        fmt = sniff_csv(path, schema.given_delimiter)
    except InputError as e:
        yield DeadLetter(path, None, "unreadable file", str(e))
        return
    if tuple(fmt.columns) != schema.columns:
        yield DeadLetter(path, None, "other columns", _other_columns(fmt.columns, schema))
        return
    width = len(schema.columns)
    number = 0
    try:
        for number, fields in _csv_records(path, fmt):
            if len(fields) < width:
                fields = fields + [None] * (width - len(fields))
            elif len(fields) > width:
                yield DeadLetter(
                    path,
                    number,
                    "wrong field count",
                    f"{len(fields)} fields where the header has {width}: a delimiter or quote is out of place",
                    {str(i): shown(v) for i, v in enumerate(fields)},
                )
                continue
            yield checked(path, number, tuple(fields), schema, max_chars, fmt.encoding)
    except csv.Error as e:  # e.g. a NUL byte or an unterminated quote at the end of the file
        yield DeadLetter(path, None, "malformed CSV", f"not a well-formed CSV after row {number}: {e}")


def _other_columns(columns, schema: JobSchema) -> str:
    return (
        f"its columns ({', '.join(map(repr, columns))}) differ from the job's "
        f"({', '.join(map(repr, schema.columns))}): score it in a job of its own"
    )


def checked(
    path: str, number: int, values: tuple, schema: JobSchema, max_chars: int, encoding: str = "utf-8"
) -> Row | DeadLetter:
    """The row, or why it cannot be scored."""
    text = values[schema.text_index]

    def dead(kind: str, reason: str) -> DeadLetter:
        row = {c: shown(v) for c, v in zip(schema.columns, values, strict=True)}
        return DeadLetter(path, number, kind, reason, row)

    for column, value in zip(schema.columns, values, strict=True):
        if isinstance(value, str) and _UNDECODABLE.search(value):
            codec = "UTF-8" if encoding.startswith("utf") else encoding
            return dead("invalid encoding", f"bytes that are not valid {codec} in column {column!r}")
    if text is None:
        return dead("missing text", f"no {schema.text_column!r} value: the row is missing that column")
    if not isinstance(text, str):
        return dead("not text", f"{schema.text_column!r} holds {type(text).__name__}, not text")
    if not text.strip():
        return dead("empty text", "empty text")
    if len(text) > max_chars:
        return dead(
            "text too long",
            f"text of {len(text):,} characters, over the limit of {max_chars:,} (TOXIC_MAX_TEXT_CHARS or "
            "--max_text_chars)",
        )
    return path, number, values


# --- JSON Lines --------------------------------------------------------------------------------------------------


def _jsonl_records(path: str) -> Iterator[tuple[int, bytes]]:
    with _open(path) as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                yield number, line


def _parse_json(line: bytes) -> dict:
    """Raises ValueError with the reason when the line is not one JSON object in UTF-8."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"bytes that are not valid UTF-8 (at byte {e.start})") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON: {e.msg} at column {e.colno}") from None
    if not isinstance(record, dict):
        raise ValueError(f"a JSON {type(record).__name__}, not an object")
    return record


def sample_jsonl(path: str) -> tuple[list[str], pd.DataFrame]:
    """The fields of the first rows, in the order first seen, and those rows."""
    columns: dict[str, None] = {}
    rows = []
    for _, line in _jsonl_records(path):
        try:
            record = _parse_json(line)
        except ValueError:
            continue
        columns.update(dict.fromkeys(record))
        rows.append(record)
        if len(rows) == SAMPLE_ROWS:
            break
    if not columns:
        raise InputError(f"{PurePosixPath(path).name} has no JSON object in its first lines")
    frame = pd.DataFrame([{c: _cell(r.get(c)) for c in columns} for r in rows], columns=list(columns))
    return list(columns), frame


def _cell(value) -> str | None:
    """A JSON value as a cell: strings as they are, other values as JSON (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def read_jsonl(path: str, schema: JobSchema, max_chars: int) -> Iterator[Row | DeadLetter]:
    for number, line in _jsonl_records(path):
        try:
            record = _parse_json(line)
        except ValueError as e:
            yield DeadLetter(
                path, number, "invalid JSON", str(e), {"line": shown(line.decode("utf-8", "surrogateescape"))}
            )
            continue
        text = record.get(schema.text_column)
        if text is not None and not isinstance(text, str):
            reason = f"{schema.text_column!r} holds {type(text).__name__}, not text"
            yield DeadLetter(path, number, "not text", reason, _shown_all(record))
            continue
        values = tuple(text if c == schema.text_column else _cell(record.get(c)) for c in schema.columns)
        yield checked(path, number, values, schema, max_chars)


def _shown_all(record: dict) -> dict:
    return {k: shown(_cell(v)) for k, v in record.items()}


# --- Parquet -----------------------------------------------------------------------------------------------------


def parquet_schema(path: str):
    import pyarrow.parquet as pq

    with _open(path) as f:
        return pq.ParquetFile(f).schema_arrow


def sample_parquet(path: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    with _open(path) as f:
        batch = next(pq.ParquetFile(f).iter_batches(batch_size=SAMPLE_ROWS), None)
    return batch.to_pandas().astype(str) if batch is not None else pd.DataFrame()


def read_parquet(path: str, schema: JobSchema, max_chars: int) -> Iterator[Row | DeadLetter]:
    import pyarrow.parquet as pq

    with _open(path) as f:
        try:
            parquet = pq.ParquetFile(f)
        except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ... for a file that is not Parquet
            yield DeadLetter(path, None, "unreadable file", f"not a Parquet file: {e}")
            return
        if tuple(parquet.schema_arrow.names) != schema.columns:
            yield DeadLetter(path, None, "other columns", _other_columns(parquet.schema_arrow.names, schema))
            return
        number = 0
        for batch in parquet.iter_batches(batch_size=1_000):
            for record in batch.to_pylist():
                number += 1
                yield checked(path, number, tuple(record[c] for c in schema.columns), schema, max_chars)


# --- the launch-time decision ------------------------------------------------------------------------------------


def detect_schema(first: str, column: str | None = None, delimiter: str | None = None) -> JobSchema:
    """The job's columns and text column, from its first file (as toxic score decides them for one file)."""
    kind = file_kind(first)
    if kind == "csv":
        fmt = sniff_csv(first, delimiter)
        text_column = pick_column(fmt, sample_csv(first, fmt), column)
        return JobSchema(
            "csv", tuple(fmt.columns), text_column, fmt.delimiter or ",", given_delimiter=delimiter
        )
    if kind == "jsonl":
        columns, sample = sample_jsonl(first)
        fmt = FileFormat(encoding="utf-8", delimiter=None, columns=columns)
        if column is not None and column not in columns:
            columns.append(column)  # rows without it go to the dead letters; the job still runs
        return JobSchema(
            "jsonl", tuple(columns), pick_column(fmt, sample, column) if column is None else column
        )
    arrow = parquet_schema(first)
    fmt = FileFormat(encoding="utf-8", delimiter=None, columns=list(arrow.names))
    text_column = pick_column(fmt, sample_parquet(first), column)
    return JobSchema("parquet", tuple(arrow.names), text_column, arrow_schema=arrow)


def read_rows(path: str, schema: JobSchema, max_chars: int) -> Iterator[Row | DeadLetter]:
    """Every row of one file, or a dead letter for each that cannot be scored (or one for the whole file)."""
    try:
        kind = file_kind(path)
    except InputError as e:
        yield DeadLetter(path, None, "unreadable file", str(e))
        return
    if kind != schema.kind:
        yield DeadLetter(
            path,
            None,
            "other columns",
            f"a {kind} file in a job of {schema.kind} files: score it in a job of its own",
        )
        return
    reader = {"csv": read_csv, "jsonl": read_jsonl, "parquet": read_parquet}[kind]
    yield from reader(path, schema, max_chars)
