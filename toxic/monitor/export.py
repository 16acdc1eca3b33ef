"""The prediction log for an auditor: a window of it, filtered by source, written as CSV or Parquet.

    toxic log export --log predictions.sqlite -o audit.csv --since 2026-11-01 --until 2026-12-01 --source batch

CSV cells are all quoted and formula-escaped (an auditor opens the file in a spreadsheet, and the texts are
what users typed); times are ISO 8601 UTC. Parquet keeps the log's types (``time`` a UTC timestamp).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from toxic.errors import ToxicError

FORMATS = ("csv", "parquet")


def window(
    log, since: datetime | str | None = None, until: datetime | str | None = None, sources=None
) -> pd.DataFrame:
    """Records with ``since <= time < until`` and a source among ``sources`` (all when empty), oldest first."""
    frame = log.read(since=since, until=until)
    if sources:
        frame = frame[frame["source"].isin(list(sources))].reset_index(drop=True)
    return frame


def format_of(path: Path, fmt: str | None) -> str:
    fmt = (fmt or path.suffix.lstrip(".") or "csv").lower()
    if fmt not in FORMATS:
        raise ToxicError(
            f"cannot export as {fmt!r}: use --format csv or parquet (or an .csv / .parquet name)"
        )
    return fmt


def write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    """``frame`` (a log window) to ``path``; an unwritable destination is one ToxicError."""
    try:
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
            return
        from toxic.batch import csv_writer, escape_formula

        out = frame.copy()
        out["time"] = out["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv_writer(f)
            writer.writerow(out.columns)
            for row in out.itertuples(index=False, name=None):
                writer.writerow(
                    "" if _missing(v) else escape_formula(v) if isinstance(v, str) else v for v in row
                )
    except OSError as e:
        raise ToxicError(f"cannot write {path}: {e.strerror or e}") from None


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)
