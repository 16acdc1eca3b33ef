"""Corrections: what people say the right labels are, kept for the next training round.

They come from the app's "Flag this prediction" (source ``ui``) and from the Perspective-compatible API's
``comments:suggestscore`` (source ``perspective``), and go to one store: ``FLAG_DIR/corrections.jsonl``, one JSON
object a line, appended under a lock and flushed to disk before the call returns.

A record keeps:
- ``text`` as the prediction log keeps texts (``TOXIC_LOG_TEXT``): ``full``, ``hash`` (``sha256:`` + the salted
  SHA-256, the same value the log holds for the same text and salt) or ``none`` (null);
- ``labels``: label -> the value given, 0..1 (a label the correction says nothing about is absent: unknown);
- ``scores``: label -> what the model said, when known; ``prediction_id``: the prediction corrected, when known;
- ``source``, ``time`` (UTC ISO), ``model_id``, ``version``, and ``extra`` (e.g. the Perspective attributes sent).

``toxic corrections export`` (:func:`export_csv`) writes them as labelled training data: ``text``, one column per
label (1, 0, or -1 for unknown: the convention of ``toxic.data``), ``source``. Only records with their full text
can be exported; when one text was corrected several times, the latest correction wins. The training script reads
such a file with ``--extra-data`` (:func:`toxic.data.read_extra`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from toxic.errors import InputError
from toxic.monitor.predlog import HASH_PREFIX, TEXT_MODES

FILE_NAME = "corrections.jsonl"
LEGACY_FILE = (
    "corrections.csv"  # what the app wrote before this store: time,text,correction,<scores>,model_id,...
)
MISSING = -1  # an unknown label in the exported CSV, as in toxic.data

# The app's choices, as label values. A label not named here stays unknown for a correction made in the app.
UI_CHOICES = {
    "not toxic": {"toxic": 0.0, "hate": 0.0, "insult": 0.0},  # not toxic is not an insult either
    "toxic, not hate": {"toxic": 1.0, "hate": 0.0},
    "toxic and hate": {"toxic": 1.0, "hate": 1.0},
}


def labels_from_choice(choice: str, labels: tuple[str, ...]) -> dict[str, float]:
    if choice not in UI_CHOICES:
        raise InputError(f"unknown correction {choice!r}: choose one of {', '.join(UI_CHOICES)}")
    return {label: v for label, v in UI_CHOICES[choice].items() if label in labels}


class CorrectionStore:
    """Thread-safe: one instance may be shared by every request handler."""

    def __init__(self, folder: Path, text_mode: str = "full", salt: str | None = None) -> None:
        if text_mode not in TEXT_MODES:
            raise InputError(f"text_mode must be one of {', '.join(TEXT_MODES)}, got {text_mode!r}")
        if text_mode == "hash" and not salt:
            raise InputError("text_mode 'hash' needs a secret salt (TOXIC_LOG_SALT)")
        self.folder = Path(folder)
        self.path = self.folder / FILE_NAME
        self.text_mode = text_mode
        self._salt = (salt or "").encode("utf-8")
        self._lock = threading.Lock()

    def kept_text(self, text: str) -> str | None:
        if self.text_mode == "full":
            return text
        if self.text_mode == "none":
            return None
        return HASH_PREFIX + hashlib.sha256(self._salt + text.encode("utf-8", "surrogatepass")).hexdigest()

    def add(
        self,
        text: str,
        labels: dict[str, float],
        *,
        source: str,
        model_id: str,
        version: str,
        scores: dict[str, float] | None = None,
        prediction_id: str | None = None,
        extra: dict | None = None,
    ) -> dict:
        if not isinstance(text, str) or not text.strip():
            raise InputError("nothing to correct: the text is empty")
        if not labels:
            raise InputError("a correction needs at least one label value")
        for label, value in labels.items():
            if not 0 <= value <= 1:
                raise InputError(f"the value for {label} must be from 0 to 1, got {value}")
        record = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "source": source,
            "text": self.kept_text(text),
            "labels": {k: float(v) for k, v in labels.items()},
            "scores": {k: round(float(v), 6) for k, v in (scores or {}).items() if v is not None},
            "prediction_id": prediction_id,
            "model_id": model_id,
            "version": version,
            "extra": extra or {},
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        return record

    def read(self) -> list[dict]:
        """Every correction, oldest first: the store's, after any the app kept in its older CSV file."""
        records = read_legacy(self.folder / LEGACY_FILE)
        if self.path.exists():
            with self._lock, self.path.open(encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError:
                        raise InputError(
                            f"{self.path} line {n} is not JSON: fix or remove that line"
                        ) from None
        return records


def read_legacy(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    records = []
    for row in rows:
        choice = UI_CHOICES.get(row.get("correction", ""))
        if choice is None:
            continue
        records.append({"time": row.get("time"), "source": "ui", "text": row.get("text"), "labels": choice})
    return records


@dataclass(frozen=True)
class ExportSummary:
    rows: int  # texts written
    corrections: int  # corrections read
    without_text: int  # left out: kept as a hash or not at all (TOXIC_LOG_TEXT)


def export_csv(records: list[dict], labels: tuple[str, ...], out: Path) -> ExportSummary:
    """``text, <label>..., source`` with 1/0/-1 (a value >= 0.5 is 1): the frame format of ``toxic.data``."""
    latest: dict[str, dict] = {}
    without_text = 0
    for record in records:
        text = record.get("text")
        if not isinstance(text, str) or not text.strip() or text.startswith(HASH_PREFIX):
            without_text += 1
            continue
        latest.pop(text, None)  # re-inserted: the file keeps the order of the latest corrections
        latest[text] = record
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", *labels, "source"])
        for text, record in latest.items():
            values = record.get("labels") or {}
            cells = [MISSING if label not in values else int(float(values[label]) >= 0.5) for label in labels]
            writer.writerow([text, *cells, f"corrections:{record.get('source', 'ui')}"])
    return ExportSummary(rows=len(latest), corrections=len(records), without_text=without_text)
