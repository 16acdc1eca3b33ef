"""Batch scoring of comment files (CSV, TSV, or .txt with one comment a line), streamed in chunks.

Used by ``toxic score`` and the app's Batch CSV tab. Reading is forgiving where a user would expect it (encoding
and delimiter are detected, the text column is found by name or content) and strict where guessing would be wrong
(binary files, archives, no plausible text column): those raise :class:`InputError` with a message that says what
to do. Output cells that a spreadsheet would run as a formula (``= + - @``) are escaped with a leading ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from toxic.errors import InputError

TEXT_NAMES = (
    "text",
    "comment",
    "comment_text",
    "comment_body",
    "tweet",
    "body",
    "content",
    "message",
    "post",
    "review",
    "sentence",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SNIFF_BYTES = 64 * 1024
CHUNK_ROWS = 1_000  # rows read, scored and written at a time: bounded memory, a progress step every ~5 s
LEGACY_PREFERRED = ("cp1252", "latin_1", "iso8859_15")


@dataclass
class FileFormat:
    """How a file is read, as detected by :func:`sniff` (or set by the user)."""

    encoding: str
    delimiter: str | None  # None: one comment a line (.txt)
    columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was detected, for the user to see


def _decode_sample(raw: bytes, path: Path) -> tuple[str, str, list[str]]:
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\x1f\x8b") or raw.startswith(b"7z\xbc\xaf"):
        raise InputError(
            f"{path.name} is an archive (zip/gzip/7z), not a CSV: extract it and upload the CSV inside"
        )
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path.name} looks like a binary file, not text: upload a CSV, TSV or .txt file")
    try:
        return raw.decode("utf-8-sig"), "utf-8-sig", []
    except UnicodeDecodeError as e:
        if e.start > len(raw) - 4:  # a multi-byte character cut by the sample's end
            return raw[: e.start].decode("utf-8-sig"), "utf-8-sig", []
    from charset_normalizer import from_bytes

    results = list(from_bytes(raw))
    if not results:
        raise InputError(
            f"{path.name} is not UTF-8 and its encoding cannot be detected: save it as UTF-8 and retry"
        )
    # Short samples fit several code pages equally well; among the near-best, prefer Windows-1252, the usual
    # encoding of spreadsheet exports that are not UTF-8.
    near = [r for r in results if r.chaos <= results[0].chaos + 0.1]
    encoding = next((r.encoding for r in near if r.encoding in LEGACY_PREFERRED), results[0].encoding)
    return raw.decode(encoding, errors="replace"), encoding, [f"not UTF-8: read as {encoding}"]


def sniff(path: Path | str, delimiter: str | None = None, encoding: str | None = None) -> FileFormat:
    """Detect encoding, delimiter and header of a comment file. Raises InputError for what cannot be read."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty (0 bytes)")
    with path.open("rb") as f:
        raw = f.read(SNIFF_BYTES)
    text, detected, notes = _decode_sample(raw, path)
    encoding = encoding or detected
    if not text.strip():
        raise InputError(f"{path.name} contains only whitespace")
    if path.suffix.lower() == ".txt" and delimiter is None:
        return FileFormat(encoding=encoding, delimiter=None, columns=["text"], notes=notes)
    if delimiter is None:
        lines = text.splitlines()[:50]
        if len(text) >= SNIFF_BYTES:
            lines = lines[:-1]  # the last line may be cut
        sample = "\n".join(lines)
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        if delimiter != ",":
            notes.append(f"delimiter detected: {'TAB' if delimiter == chr(9) else delimiter!r}")
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    if not header or all(not h.strip() for h in header):
        raise InputError(f"{path.name} has no header row: the first line must name the columns")
    columns = list(pd.io.common.dedup_names(header, is_potential_multiindex=False))
    if len(set(header)) != len(header):
        notes.append("duplicate column names were renamed: " + ", ".join(columns))
    return FileFormat(encoding=encoding, delimiter=delimiter, columns=columns, notes=notes)


def pick_column(fmt: FileFormat, sample: pd.DataFrame | None = None, column: str | None = None) -> str:
    """The text column: the one asked for, else one with a usual name, else the one column that holds prose."""
    if fmt.delimiter is not None and len(fmt.columns) == 1:
        other = next((d for d in ",;\t|" if d != fmt.delimiter and d in fmt.columns[0]), None)
        if other:
            shown = "TAB" if other == "\t" else repr(other)
            raise InputError(
                f"the header {fmt.columns[0]!r} reads as one column: the file seems to use another delimiter "
                f"({shown}); pass it (--delimiter in the CLI)"
            )
    if column is not None:
        if column not in fmt.columns:
            raise InputError(f"no column {column!r}; the columns are: {', '.join(map(repr, fmt.columns))}")
        return column
    by_name = [c for name in TEXT_NAMES for c in fmt.columns if c.strip().lower() == name]
    if by_name:
        return by_name[0]
    if len(fmt.columns) == 1:
        return fmt.columns[0]
    if sample is not None and len(sample):
        prose = {}
        for c in fmt.columns:
            values = sample[c].astype(str)
            words = values.str.split().str.len().mean()
            numeric = pd.to_numeric(values, errors="coerce").notna().mean()
            if words >= 3 and numeric < 0.5:
                prose[c] = words
        if len(prose) == 1 or (
            len(prose) > 1 and sorted(prose.values())[-1] > 2 * sorted(prose.values())[-2]
        ):
            return max(prose, key=prose.get)
    hint = " The file may use another delimiter: pass it explicitly." if len(fmt.columns) == 1 else ""
    raise InputError(
        f"cannot tell which column holds the text; columns are: {', '.join(map(repr, fmt.columns))}. "
        f"Choose one (--column NAME in the CLI).{hint}"
    )


def read_chunks(path: Path | str, fmt: FileFormat, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The file as frames of strings (empty cells are ""), ``chunk_rows`` rows at a time."""
    path = Path(path)
    try:
        if fmt.delimiter is None:
            with path.open(encoding=fmt.encoding, errors="replace", newline="") as f:
                lines: list[str] = []
                for line in f:
                    lines.append(line.rstrip("\r\n"))
                    if len(lines) == chunk_rows:
                        yield pd.DataFrame({"text": lines})
                        lines = []
                if lines:
                    yield pd.DataFrame({"text": lines})
            return
        reader = pd.read_csv(
            path,
            sep=fmt.delimiter,
            encoding=fmt.encoding,
            encoding_errors="replace",
            dtype=str,
            keep_default_na=False,
            chunksize=chunk_rows,
            names=fmt.columns,
            header=0,
            on_bad_lines="error",
        )
        yield from reader
    except pd.errors.ParserError as e:
        raise InputError(f"{path.name} is not a well-formed CSV: {str(e).strip()}") from e
    except UnicodeDecodeError as e:
        raise InputError(f"{path.name}: cannot decode as {fmt.encoding}: save it as UTF-8 and retry") from e


def escape_formula(value: str) -> str:
    """Neutralise a cell a spreadsheet would evaluate (CSV injection): prefix it with a quote."""
    return "'" + value if value.startswith(FORMULA_START) else value


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: escape_formula(v) if isinstance(v, str) else v)
    return out


@dataclass
class ScoreSummary:
    rows: int = 0
    flagged: dict[str, int] = field(default_factory=dict)
    histogram: dict[str, np.ndarray] = field(default_factory=dict)  # per label, counts in 10 bins over [0, 1]
    top: pd.DataFrame | None = None  # the most toxic rows seen
    column: str = ""
    notes: list[str] = field(default_factory=list)


def score_file(
    classifier,
    path: Path | str,
    out: Path | str,
    column: str | None = None,
    delimiter: str | None = None,
    max_rows: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    top_k: int = 20,
) -> ScoreSummary:
    """Score every row of ``path`` into ``out`` (input columns + probabilities + labels), chunk by chunk.
    ``progress`` is called with the number of rows done after each chunk."""
    fmt = sniff(path, delimiter=delimiter)
    chunks = read_chunks(path, fmt, chunk_rows)
    labels = classifier.labels
    summary = ScoreSummary(
        flagged=dict.fromkeys(labels, 0),
        histogram={k: np.zeros(10, int) for k in labels},
        notes=list(fmt.notes),
    )
    out = Path(out)
    out_delimiter = fmt.delimiter or ","
    first = True
    tops = []
    with out.open("w", encoding="utf-8", newline="") as f:
        for chunk in chunks:
            if first:
                summary.column = pick_column(fmt, chunk.head(200), column)
            if max_rows is not None and summary.rows + len(chunk) > max_rows:
                raise InputError(
                    f"the file has more than {max_rows:,} rows, the limit here: score it with `toxic beam` (docs/scale.md)"
                )
            probs = classifier.predict_proba(chunk[summary.column].tolist())
            decisions = classifier.decide(probs)
            scored = escape_frame(chunk)
            for j, label in enumerate(labels):
                scored[label] = np.round(probs[:, j], 6)
            for j, label in enumerate(labels):
                scored[f"{label}_label"] = decisions[:, j].astype(int)
                summary.flagged[label] += int(decisions[:, j].sum())
                summary.histogram[label] += np.histogram(probs[:, j], bins=10, range=(0, 1))[0]
            scored.to_csv(f, index=False, header=first, sep=out_delimiter)
            tops.append(scored.nlargest(top_k, labels[0]))
            summary.top = pd.concat(tops).nlargest(top_k, labels[0])
            tops = [summary.top]
            summary.rows += len(chunk)
            first = False
            if progress:
                progress(summary.rows)
    if first or summary.rows == 0:
        out.unlink(missing_ok=True)
        raise InputError(f"{Path(path).name} has a header but no rows to score")
    return summary
