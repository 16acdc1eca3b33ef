"""The Google Cloud Storage sink of the prediction log (see :mod:`toxic.monitor.predlog` for the interface).

``record_many`` only appends to an in-memory buffer. A background thread seals a batch when it is full or old
enough and uploads it as one NDJSON object whose name (UTC time, writer id, sequence number) is fixed before the
first try and uploaded with ``if_generation_match=0``: an upload retried after a lost response never makes a
duplicate. When the bucket fails, sealed batches are written under the same names to a local spill directory and
uploaded oldest first when it answers again (also by the next process that opens the same log). ``close()``, also
run at exit, flushes the buffer. The buffer is bounded: past ``max_buffer`` records the caller's thread writes
them to the spill directory instead of holding them.

Every piece of state shared between the callers' threads and the uploader (the buffer, the counters, the backoff,
whether a backlog waits on disk) is read and changed under ``self._cond`` only; the slow parts (uploads, disk
writes) run outside it.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from toxic.errors import LogError
from toxic.monitor.predlog import (
    COLUMNS,
    OPTIONAL_LABELS,
    REQUIRED_LABELS,
    PredictionLog,
    frame_of,
    utc_seconds,
)


@dataclass(frozen=True)
class GCSConfig:
    batch_records: int = 1000  # seal a batch at this many records...
    flush_seconds: float = 5.0  # ...or when its oldest record is this old
    max_buffer: int = 50_000  # records in memory at most; past it the caller's thread spills them to disk
    timeout: float = 10.0  # seconds per request to the bucket
    first_backoff: float = 0.5  # first wait before retrying a failing bucket; doubles up to max_backoff
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        if self.batch_records < 1 or self.max_buffer < self.batch_records:
            raise LogError("GCSConfig: need 1 <= batch_records <= max_buffer")
        if self.flush_seconds <= 0 or self.timeout <= 0 or not 0 < self.first_backoff <= self.max_backoff:
            raise LogError("GCSConfig: flush_seconds, timeout and backoffs must be positive")


_REQUIRED = COLUMNS.index("request_id")  # the columns from here on came later: older objects lack them
_AUDIT = COLUMNS[_REQUIRED:]
_SCORES = (*REQUIRED_LABELS, *OPTIONAL_LABELS)
_STAMP = "%Y%m%dT%H%M%S.%fZ"
_OBJECT = re.compile(r"(\d{8}T\d{6}\.\d{6}Z)-[0-9a-f]+-\d+\.ndjson$")


def _stamp_seconds(name: str) -> float | None:
    m = _OBJECT.search(name)
    return datetime.strptime(m.group(1), _STAMP).replace(tzinfo=UTC).timestamp() if m else None


def default_spill_dir(bucket: str, prefix: str) -> Path:
    """Where batches wait while a bucket is unreachable: ``~/.cache/toxic/spill/BUCKET/PREFIX``."""
    return Path.home() / ".cache" / "toxic" / "spill" / bucket / (prefix.replace("/", "__") or "_")


class GCSLog(PredictionLog):
    def __init__(
        self,
        uri: str,
        bucket: str,
        prefix: str,
        text_mode: str = "full",
        salt: str | None = None,
        spill_dir: str | os.PathLike | None = None,
        config: GCSConfig | None = None,
    ) -> None:
        super().__init__(uri, text_mode, salt)
        self.config = config or GCSConfig()
        self.prefix = prefix
        self.spill_dir = Path(spill_dir) if spill_dir else default_spill_dir(bucket, prefix)
        self._client, self._bucket = self._connect(bucket)
        try:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LogError(f"cannot create the spill folder {self.spill_dir}: {e}") from e
        self._writer = uuid.uuid4().hex[:12]
        self._seq = 0
        self._cond = threading.Condition()
        self._buffer: list[tuple] = []
        self._oldest = 0.0  # monotonic time of the oldest buffered record
        self._accepted = 0  # records given to record_many
        self._handled = 0  # records uploaded or spilled
        self._uploaded = 0  # objects uploaded
        self._spills = 0  # batches written to the spill folder (each is uploaded later)
        self._errors = 0
        self._last_error = ""
        self._backoff = 0.0  # 0 while the bucket answers
        self._retry_at = 0.0  # monotonic time of the next try to upload the spilled backlog
        self._spilled = bool(self._backlog())  # batches left by an earlier run are uploaded first
        self._flush_wanted = False
        self._closing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"predlog-{bucket}", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # --- connecting -----------------------------------------------------------------------------------------------

    def _retry(self):
        from google.cloud.storage.retry import DEFAULT_RETRY

        return DEFAULT_RETRY.with_timeout(self.config.timeout)  # the library's default waits up to 120 s

    def _connect(self, bucket: str):
        from google.api_core import exceptions as api
        from google.auth import exceptions as auth
        from google.cloud import storage

        where = f"gs://{bucket}"
        try:
            client = storage.Client()
        except auth.DefaultCredentialsError as e:
            raise LogError(
                f"no Google Cloud credentials to write {where}: set GOOGLE_APPLICATION_CREDENTIALS to a service "
                f"account key file or run `gcloud auth application-default login` ({str(e).splitlines()[0]})"
            ) from e
        except (auth.GoogleAuthError, OSError, ValueError) as e:
            raise LogError(f"cannot create a Google Cloud Storage client for {where}: {e}") from e
        try:  # objects.list is what the log needs (not buckets.get), and it tells a missing bucket apart
            pages = client.list_blobs(
                bucket, prefix=self.prefix, max_results=1, timeout=self.config.timeout, retry=self._retry()
            )
            list(pages)
        except api.NotFound as e:
            raise LogError(
                f"bucket {where} does not exist: check the spelling of the log URI {self.uri!r}"
            ) from e
        except api.Forbidden as e:
            raise LogError(
                f"no permission to list objects in {where} with these credentials: grant roles/storage.objectAdmin"
            ) from e
        except auth.GoogleAuthError as e:
            raise LogError(f"the Google Cloud credentials were refused for {where}: {e}") from e
        except Exception as e:  # connection errors, timeouts, 5xx after retries
            raise LogError(f"cannot reach {where}: {_reason(e)}; check the log URI and the network") from e
        return client, client.bucket(bucket)

    # --- the hot path ---------------------------------------------------------------------------------------------

    def _write(self, rows: list[tuple]) -> None:
        overflow = None
        with self._cond:
            if self._closed or self._closing:
                raise LogError(f"the prediction log {self.uri} is closed")
            if not self._buffer:
                self._oldest = time.monotonic()
            self._buffer.extend(rows)
            self._accepted += len(rows)
            if len(self._buffer) >= self.config.max_buffer:
                overflow, self._buffer = self._buffer, []
            elif len(self._buffer) >= self.config.batch_records:
                self._cond.notify_all()
        if overflow is not None:  # the uploader is behind (a slow or failing bucket): keep memory bounded
            try:
                self._spill(self._next_name(), _ndjson(overflow))
            finally:
                with self._cond:
                    self._handled += len(overflow)
                    self._cond.notify_all()

    # --- the background thread ------------------------------------------------------------------------------------

    def _next_name(self) -> str:
        with self._cond:
            self._seq += 1
            seq = self._seq
        return f"{datetime.now(UTC).strftime(_STAMP)}-{self._writer}-{seq:06d}.ndjson"

    def _object(self, name: str) -> str:
        day = f"{name[0:4]}-{name[4:6]}-{name[6:8]}"
        return f"{self.prefix}/{day}/{name}" if self.prefix else f"{day}/{name}"

    def _due(self, now: float) -> bool:
        if self._closing or self._flush_wanted or len(self._buffer) >= self.config.batch_records:
            return True
        if self._buffer and now - self._oldest >= self.config.flush_seconds:
            return True
        return self._spilled and now >= self._retry_at

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due(time.monotonic()):
                    waits = [self.config.flush_seconds]
                    if self._buffer:
                        waits.append(self._oldest + self.config.flush_seconds - time.monotonic())
                    if self._spilled:
                        waits.append(self._retry_at - time.monotonic())
                    self._cond.wait(max(0.01, min(waits)))
                batch, self._buffer = self._buffer, []
                closing, self._flush_wanted = self._closing, False
            if batch:
                try:
                    self._ship(self._next_name(), _ndjson(batch))
                except LogError:
                    pass  # the spill folder failed too: counted in stats() and last_error
                finally:
                    with self._cond:
                        self._handled += len(batch)
                        self._cond.notify_all()
            self._drain(force=closing)
            if closing:
                with self._cond:
                    if not self._buffer:
                        return

    def _upload(self, name: str, data: bytes) -> bool:
        from google.api_core import exceptions as api

        blob = self._bucket.blob(self._object(name))
        try:
            blob.upload_from_string(
                data,
                content_type="application/x-ndjson",
                if_generation_match=0,  # create only: a retry of an upload that did land is refused, not doubled
                timeout=self.config.timeout,
                retry=None,  # retries are ours: spill, back off, try again with the same name
            )
        except api.PreconditionFailed:
            pass  # the object exists: an earlier try succeeded but its response was lost
        except Exception as e:  # network errors, 5xx, auth: all mean "not now"
            self._failed(_reason(e))
            return False
        with self._cond:
            self._backoff = 0.0
            self._uploaded += 1
        return True

    def _failed(self, reason: str) -> None:
        with self._cond:
            self._errors += 1
            self._last_error = reason
            self._backoff = min(self.config.max_backoff, max(self.config.first_backoff, self._backoff * 2))
            self._retry_at = time.monotonic() + self._backoff

    def _backlog(self) -> list[Path]:
        return sorted(self.spill_dir.glob("*.ndjson"))  # names start with a UTC stamp: sorted = oldest first

    def _ship(self, name: str, data: bytes) -> None:
        # While older batches wait on disk, newer ones queue behind them so the bucket gets them in order.
        with self._cond:
            behind = self._spilled
        if behind or not self._upload(name, data):
            self._spill(name, data)

    def _spill(self, name: str, data: bytes) -> None:
        """Write a sealed batch to the spill folder; called by the uploader and by callers' threads."""
        tmp = self.spill_dir / f".{name}.tmp"
        try:
            with tmp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.spill_dir / name)
        except OSError as e:  # nowhere left to keep them: say so loudly, this is the one way to lose records
            reason = f"cannot spill {name} to {self.spill_dir}: {e}"
            with self._cond:
                self._errors += 1
                self._last_error = reason
            raise LogError(reason) from e
        with self._cond:
            self._spilled = True
            self._spills += 1

    def _drain(self, force: bool = False) -> None:
        """Upload spilled batches, oldest first, while the bucket answers."""
        with self._cond:
            if not self._spilled or (not force and time.monotonic() < self._retry_at):
                return
            self._spilled = False  # cleared first: a batch the caller's thread spills meanwhile sets it again
        for path in self._backlog():
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue  # another process sharing the spill folder uploaded it
            if not self._upload(path.name, data):
                with self._cond:
                    self._spilled = True
                return
            path.unlink(missing_ok=True)

    # --- control --------------------------------------------------------------------------------------------------

    def flush(self, timeout: float | None = 30.0) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._accepted
            self._flush_wanted = True
            self._cond.notify_all()
            while self._handled < target:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stats(self) -> dict:
        with self._cond:
            return {
                "sink": "gcs",
                "uri": self.uri,
                "buffered": len(self._buffer),
                "spilled_batches": len(self._backlog()),
                "accepted_records": self._accepted,
                "handled_records": self._handled,
                "uploaded_objects": self._uploaded,
                "spills": self._spills,
                "errors": self._errors,
                "last_error": self._last_error,
                "bucket_ok": self._backoff == 0,
            }

    def close(self, timeout: float = 60.0) -> None:
        """Flush the buffer (to the bucket, or to the spill folder when it fails) and stop the thread."""
        with self._cond:
            if self._closed:
                return
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            self._closed = True
        atexit.unregister(self.close)

    # --- reading --------------------------------------------------------------------------------------------------

    def read(self, last=None, since=None, until=None) -> pd.DataFrame:
        lo, hi = utc_seconds(since), utc_seconds(until)
        try:
            blobs = self._client.list_blobs(
                self._bucket.name,
                prefix=f"{self.prefix}/" if self.prefix else None,
                timeout=self.config.timeout,
                retry=self._retry(),
            )
            named = [(s, b.name) for b in blobs if (s := _stamp_seconds(b.name)) is not None]
        except Exception as e:
            raise LogError(f"cannot list {self.uri}: {_reason(e)}") from e
        # An object's stamp is when its batch was sealed: no record in it is newer. So objects stamped before
        # `since` can be skipped, and newest-first reading can stop once older objects cannot reach the last N.
        named = sorted((x for x in named if lo is None or x[0] >= lo), reverse=True)
        rows: list[tuple] = []
        with ThreadPoolExecutor(8) as pool:
            for start in range(0, len(named), 16):
                chunk = named[start : start + 16]
                for records in pool.map(self._download, [name for _, name in chunk]):
                    rows.extend(
                        r for r in records if (lo is None or r[0] >= lo) and (hi is None or r[0] < hi)
                    )
                if last is not None and len(rows) >= last:
                    nth = sorted(r[0] for r in rows)[-last]
                    if start + 16 >= len(named) or named[start + 16][0] < nth:
                        break
        rows.sort(key=lambda r: r[0])
        if last is not None:
            rows = rows[-last:] if last else []
        return frame_of(rows)

    def _download(self, name: str) -> list[tuple]:
        try:
            data = self._bucket.blob(name).download_as_bytes(timeout=self.config.timeout, retry=self._retry())
        except Exception as e:
            raise LogError(f"cannot read gs://{self._bucket.name}/{name}: {_reason(e)}") from e
        rows = []
        for line in data.decode("utf-8").splitlines():
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                rows.append(
                    (utc_seconds(r["time"]), *(r[c] for c in COLUMNS[1:_REQUIRED]), *map(r.get, _AUDIT))
                )
            except (ValueError, KeyError, TypeError) as e:
                raise LogError(f"gs://{self._bucket.name}/{name} is not a prediction log object: {e}") from e
        return rows


def _reason(e: BaseException) -> str:
    """A short cause: the last error behind a retry, without the library's request dump."""
    cause = getattr(e, "cause", None) or e  # google.api_core RetryError keeps the last one in .cause
    text = str(cause)
    for hint in ("Connection refused", "Name or service not known", "timed out", "Read timed out"):
        if hint in text:
            return f"{type(cause).__name__} ({hint.lower()})"
    return f"{type(cause).__name__}: {text[:200]}"


def _ndjson(rows: list[tuple]) -> bytes:
    out = []
    for r in rows:
        stamp = datetime.fromtimestamp(r[0], UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        record = dict(zip(COLUMNS, (stamp, *r[1:]), strict=True))
        for c in _SCORES:  # float32 noise off the probabilities (an empty optional label stays None)
            if record[c] is not None:
                record[c] = round(record[c], 6)
        out.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(out) + "\n").encode("utf-8")
