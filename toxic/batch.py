"""Batch scoring of comment files (CSV, TSV, or .txt with one comment a line), streamed in chunks.

Used by ``toxic score`` and the app's Batch CSV tab. How a file is read (binaries refused, encoding, delimiter and
header detected, rows that do not parse counted) is :mod:`toxic.commentfile`. The output: every cell is quoted, so
CR, LF, delimiters and quotes inside a cell read back exactly with ``csv`` or pandas; cells a spreadsheet would run
as a formula (``= + - @ TAB CR``), header cells included, are escaped with a leading ``'``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from toxic.commentfile import CHUNK_ROWS, FileFormat, ReadStats, pick_column, read_chunks, sniff
from toxic.errors import InputError

__all__ = [
    "FileFormat",
    "ScoreSummary",
    "escape_formula",
    "pick_column",
    "read_chunks",
    "score_file",
    "sniff",
]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- writing ---------------------------------------------------------------------------------------------------


def escape_formula(value: str) -> str:
    """Neutralise a cell a spreadsheet would evaluate (CSV injection): prefix it with a quote."""
    return "'" + value if value.startswith(FORMULA_START) else value


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: escape_formula(v) if isinstance(v, str) else v)
    return out


def csv_writer(f, delimiter: str = ","):
    """A writer that quotes every cell: CR, LF, quotes and delimiters inside cells read back exactly."""
    return csv.writer(f, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n")


# --- scoring ---------------------------------------------------------------------------------------------------


@dataclass
class ScoreSummary:
    rows: int = 0
    flagged: dict[str, int] = field(default_factory=dict)
    histogram: dict[str, np.ndarray] = field(default_factory=dict)  # per label, counts in 10 bins over [0, 1]
    top: pd.DataFrame | None = None  # the most toxic rows seen
    column: str = ""
    notes: list[str] = field(default_factory=list)
    encoding: str = ""
    header: bool = True
    skipped: int = 0  # rows not scored because they did not parse
    skipped_lines: list[int] = field(default_factory=list)


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
    *,
    header: bool | None = None,
    thresholds: dict[str, float] | None = None,
    on_scored: Callable[[list[str], np.ndarray, np.ndarray], None] | None = None,
    max_cell_chars: int | None = None,
) -> ScoreSummary:
    """Score every row of ``path`` into ``out`` (input columns + probabilities + labels decided at
    ``thresholds``, the model's by default), chunk by chunk. ``progress`` is called with the number of rows
    done after each chunk; ``on_scored(texts, probs, decisions)`` with each chunk's results (for the log). Rows
    whose text is longer than ``max_cell_chars`` are left out unscored and counted in the summary's notes."""
    fmt = sniff(path, delimiter=delimiter, header=header)
    stats = ReadStats()
    labels = classifier.labels
    summary = ScoreSummary(
        flagged=dict.fromkeys(labels, 0),
        histogram={k: np.zeros(10, int) for k in labels},
        encoding=fmt.encoding,
        header=fmt.header,
    )
    out = Path(out)
    tops = []
    undecodable = empty = too_long = 0
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv_writer(f, fmt.delimiter or ",")
        for chunk in read_chunks(path, fmt, chunk_rows, stats):
            if not summary.column:
                summary.column = pick_column(fmt, chunk.head(200), column)
                extra = [*labels, *(f"{label}_label" for label in labels)]
                writer.writerow([escape_formula(c) for c in [*fmt.columns, *extra]])
            if max_rows is not None and summary.rows + len(chunk) > max_rows:
                raise InputError(
                    f"the file has more than {max_rows:,} rows, the limit here: score it with `toxic beam` (docs/scale.md)"
                )
            if max_cell_chars is not None:
                fits = chunk[summary.column].str.len() <= max_cell_chars
                too_long += int((~fits).sum())
                chunk = chunk[fits]
                if chunk.empty:
                    continue
            texts = chunk[summary.column].tolist()
            undecodable += sum(t.count("\ufffd") for t in texts)
            empty += sum(not t.strip() for t in texts)
            probs = classifier.predict_proba(texts)
            decisions = classifier.decide(probs, thresholds)
            if on_scored is not None:
                on_scored(texts, probs, decisions)
            scored = escape_frame(chunk)
            rounded = np.round(probs.astype(np.float64), 6)
            for j, label in enumerate(labels):
                scored[label] = rounded[:, j]
            for j, label in enumerate(labels):
                scored[f"{label}_label"] = decisions[:, j].astype(int)
                summary.flagged[label] += int(decisions[:, j].sum())
                summary.histogram[label] += np.histogram(probs[:, j], bins=10, range=(0, 1))[0]
            writer.writerows(scored.itertuples(index=False, name=None))
            tops.append(scored.nlargest(top_k, labels[0]))
            summary.top = pd.concat(tops).nlargest(top_k, labels[0])
            tops = [summary.top]
            summary.rows += len(chunk)
            if progress:
                progress(summary.rows)
    summary.skipped, summary.skipped_lines = stats.malformed, list(stats.malformed_lines)
    summary.notes = [*fmt.notes, *stats.notes()]
    if too_long:
        summary.notes.append(
            f"{too_long:,} row(s) with a text over {max_cell_chars:,} characters left out, unscored "
            "(TOXIC_MAX_CELL_CHARS)"
        )
    if empty:
        summary.notes.append(f"{empty:,} row(s) with an empty text (scored as such)")
    if undecodable:
        summary.notes.append(f"{undecodable:,} undecodable character(s) in the text column, shown as \ufffd")
    if summary.rows == 0:
        out.unlink(missing_ok=True)
        skipped = f" ({stats.notes()[0]})" if stats.malformed else ""
        raise InputError(f"{Path(path).name} has no rows to score{skipped}")
    return summary
