"""The prediction log: every prediction the app makes, kept where one URI says, read back as a pandas frame.

    >>> log = open_log("logs/predictions.sqlite")            # a file path: SQLite
    >>> log = open_log("gs://my-bucket/toxic/predictions")    # Google Cloud Storage: batched NDJSON objects
    >>> log.record_many(texts, probs, decisions, model_id, version)
    >>> log.read(last=10_000)                                 # columns: COLUMNS, oldest first
    >>> log.close()

**SQLite** (the local default). One transaction per ``record_many``, committed before it returns. The database
runs in WAL mode with ``synchronous=NORMAL``: a committed transaction is in the WAL file (the OS page cache) when
the call returns, so it survives ``kill -9`` of the app; only a power cut of the machine can lose the last ones.

**GCS.** ``record_many`` only appends to an in-memory buffer. A background thread seals a batch when it is full
or old enough and uploads it as one NDJSON object whose name (UTC time, writer id, sequence number) is fixed
before the first try and uploaded with ``if_generation_match=0``: an upload retried after a lost response never
makes a duplicate. When the bucket fails, sealed batches are written under the same names to a local spill
directory and uploaded oldest first when it answers again (also by the next process that opens the same log).
``close()``, also run at exit, flushes the buffer. The buffer is bounded: past ``max_buffer`` records the
caller's thread writes them to the spill directory instead of holding them.

Texts are kept according to ``text_mode``: ``full``; ``hash`` (``"sha256:"`` + hex SHA-256 of salt + text, for
deployments that must not store user text); ``none`` (NULL). ``length`` is always the raw text's length.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from toxic.errors import LogError

COLUMNS = (
    "time",
    "model_id",
    "version",
    "source",
    "toxic",
    "hate",
    "toxic_label",
    "hate_label",
    "length",
    "text",
)
TEXT_MODES = ("full", "hash", "none")
HASH_PREFIX = "sha256:"


def open_log(
    uri: str,
    text_mode: str = "full",
    salt: str | None = None,
    *,
    create: bool = True,
    spill_dir: str | os.PathLike | None = None,
    config: GCSConfig | None = None,
) -> PredictionLog:
    """The log at ``uri``: ``gs://bucket/prefix`` or a file path (SQLite). ``create=False`` refuses to start a
    new local log (for readers such as ``toxic drift``). Raises :class:`LogError` with a fix for a bad URI,
    missing credentials, an unreachable or missing bucket, a file that is not a log, or a corrupted log."""
    uri = str(uri).strip()
    if not uri:
        raise LogError("the prediction log URI is empty: give a file path or gs://bucket/prefix")
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", uri)
    if uri.startswith("gs://"):
        bucket, prefix = parse_gs_uri(uri)
        return GCSLog(uri, bucket, prefix, text_mode, salt, spill_dir=spill_dir, config=config)
    if scheme and scheme.group(1).lower() in {"gs", "gcs", "gcp", "gc", "storage"}:
        raise LogError(f"{uri!r} is not a valid bucket URI: write gs://BUCKET/PREFIX (two slashes after gs:)")
    if scheme and uri[len(scheme.group(0)) :].startswith("//"):
        raise LogError(
            f"unsupported log URI scheme {scheme.group(1)!r} in {uri!r}: use a file path (SQLite) or gs://bucket/prefix"
        )
    return SQLiteLog(Path(uri).expanduser(), text_mode, salt, create=create)


_BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]{1,61}[a-z0-9])?$")


def parse_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/some/prefix`` -> ``("bucket", "some/prefix")``, with the bucket name checked by GCS rules."""
    rest = uri[len("gs://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise LogError(f"{uri!r} names no bucket: write gs://BUCKET/PREFIX")
    if not _BUCKET.match(bucket) or ".." in bucket or bucket.startswith("goog"):
        raise LogError(
            f"{bucket!r} in {uri!r} is not a valid bucket name: 3-63 characters, lower-case letters, digits, '-', "
            "'_' and '.', starting and ending with a letter or digit"
        )
    return bucket, prefix.strip("/")


def _utc_seconds(value: datetime | str | None) -> float | None:
    """A datetime (naive = UTC) or an ISO string as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as e:
            raise LogError(f"not an ISO date/time: {value!r} (e.g. 2026-07-20T08:00:00Z)") from e
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _frame(rows: Sequence[tuple]) -> pd.DataFrame:
    """Rows in COLUMNS order (time as epoch seconds) as the frame every reader returns."""
    frame = pd.DataFrame.from_records(list(rows), columns=list(COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"].astype(float), unit="s", utc=True)
    for c in ("toxic", "hate"):
        frame[c] = frame[c].astype(float)
    for c in ("toxic_label", "hate_label", "length"):
        frame[c] = frame[c].astype("int64")
    for c in ("model_id", "version", "source", "text"):
        frame[c] = frame[c].astype(object)
    return frame


class PredictionLog(ABC):
    """One interface over the sinks. Thread-safe: one instance may be shared by all request handlers."""

    def __init__(self, uri: str, text_mode: str, salt: str | None) -> None:
        if text_mode not in TEXT_MODES:
            raise LogError(f"text_mode must be one of {', '.join(TEXT_MODES)}, got {text_mode!r}")
        if text_mode == "hash" and not salt:
            raise LogError(
                "text_mode 'hash' needs a secret salt (a long random string, kept the same across restarts)"
            )
        self.uri = uri
        self.text_mode = text_mode
        self._salt = (salt or "").encode("utf-8")

    def record_many(
        self,
        texts: Sequence[str],
        probs: np.ndarray,
        decisions: np.ndarray,
        model_id: str,
        version: str,
        source: str = "app",
    ) -> None:
        """Record one prediction per text: ``probs`` and ``decisions`` are ``(n, 2)`` (toxic, hate)."""
        n = len(texts)
        probs = np.asarray(probs)
        decisions = np.asarray(decisions)
        if probs.shape != (n, 2) or decisions.shape != (n, 2):
            raise LogError(
                f"record_many: {n} texts need probs and decisions of shape ({n}, 2), got {probs.shape}"
            )
        if n == 0:
            return
        head = (time.time(), model_id, version, source)
        lengths = [len(t) if isinstance(t, str) else 0 for t in texts]
        p, d = probs.tolist(), decisions.astype(np.int8).tolist()
        kept = self._kept_texts(texts)
        self._write([(*head, *pi, *di, n, k) for pi, di, n, k in zip(p, d, lengths, kept, strict=True)])

    def _kept_texts(self, texts: Sequence[str]) -> list[str | None]:
        if self.text_mode == "full":
            return [t if isinstance(t, str) else None for t in texts]
        if self.text_mode == "none":
            return [None] * len(texts)
        salt = self._salt
        return [
            HASH_PREFIX + hashlib.sha256(salt + t.encode("utf-8", "surrogatepass")).hexdigest()
            if isinstance(t, str)
            else None
            for t in texts
        ]

    @abstractmethod
    def _write(self, rows: list[tuple]) -> None: ...

    @abstractmethod
    def read(
        self,
        last: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> pd.DataFrame:
        """Records with ``since <= time < until`` (UTC; naive datetimes are UTC), the ``last`` N of them when
        given, oldest first, as a frame with columns :data:`COLUMNS` (``time`` tz-aware UTC)."""

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every record so far is durable (written, uploaded or spilled). True when done in time."""
        return True

    def stats(self) -> dict:
        """Counters for a health view (buffered records, spilled batches, errors)."""
        return {}

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r}, text_mode={self.text_mode!r})"


# --- local: SQLite ------------------------------------------------------------------------------------------------

LOG_FORMAT = "toxic-prediction-log"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    model_id TEXT NOT NULL,
    version TEXT NOT NULL,
    source TEXT NOT NULL,
    toxic REAL NOT NULL,
    hate REAL NOT NULL,
    toxic_label INTEGER NOT NULL,
    hate_label INTEGER NOT NULL,
    length INTEGER NOT NULL,
    text TEXT
);
CREATE INDEX IF NOT EXISTS predictions_time ON predictions (time);
"""
_INSERT = (
    "INSERT INTO predictions (time, model_id, version, source, toxic, hate, toxic_label, hate_label, length, text) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class SQLiteLog(PredictionLog):
    def __init__(
        self, path: Path, text_mode: str = "full", salt: str | None = None, create: bool = True
    ) -> None:
        super().__init__(str(path), text_mode, salt)
        self.path = path
        self._lock = threading.Lock()
        self._conn = self._open(create)

    def _problem(self, e: sqlite3.Error) -> LogError:
        text = str(e)
        if "not a database" in text:
            return LogError(
                f"{self.path} is not a prediction log: it is not a SQLite database (is the path right?)"
            )
        if "malformed" in text or "corrupt" in text:
            return LogError(
                f"the prediction log {self.path} is corrupted ({text}): move it aside to start a new one "
                f"(`sqlite3 {self.path} .recover` may save its records)"
            )
        return LogError(f"prediction log {self.path}: {text}")

    def _open(self, create: bool) -> sqlite3.Connection:
        path = self.path
        if path.is_dir():
            raise LogError(
                f"{path} is a directory: give the log a file path, e.g. {path / 'predictions.sqlite'}"
            )
        if not path.exists():
            if not create:
                raise LogError(
                    f"no prediction log at {path}: check the path (the app creates it on first use)"
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise LogError(f"cannot create the folder of the prediction log {path}: {e}") from e
        try:
            conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        except sqlite3.Error as e:
            raise LogError(f"cannot open the prediction log {path}: {e}") from e
        try:
            self._check_or_create(conn)
            # Set only once the file is known to be ours: WAL changes the file format of a database.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            status = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
            if status != "ok":
                raise LogError(
                    f"the prediction log {path} is corrupted ({status}): move it aside to start a new one"
                )
        except sqlite3.Error as e:
            conn.close()
            raise self._problem(e) from e
        except LogError:
            conn.close()
            raise
        return conn

    def _check_or_create(self, conn: sqlite3.Connection) -> None:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            with conn:
                conn.executescript(_SCHEMA)
                conn.executemany(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                    [("format", LOG_FORMAT), ("schema", str(SCHEMA_VERSION))],
                )
            return
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
        if meta.get("format") != LOG_FORMAT or "predictions" not in tables:
            raise LogError(
                f"{self.path} is a SQLite database but not a prediction log (its tables: {', '.join(sorted(tables))}): "
                "give the log its own file"
            )
        if int(meta.get("schema", 0)) > SCHEMA_VERSION:
            raise LogError(
                f"{self.path} was written by a newer version of toxic (schema {meta['schema']}): upgrade"
            )

    def _write(self, rows: list[tuple]) -> None:
        with self._lock:
            if self._conn is None:
                raise LogError(f"the prediction log {self.path} is closed")
            try:
                with self._conn:
                    self._conn.executemany(_INSERT, rows)
            except sqlite3.Error as e:
                raise self._problem(e) from e

    def read(self, last=None, since=None, until=None) -> pd.DataFrame:
        where, params = [], []
        if (t := _utc_seconds(since)) is not None:
            where.append("time >= ?")
            params.append(t)
        if (t := _utc_seconds(until)) is not None:
            where.append("time < ?")
            params.append(t)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        columns = ", ".join(COLUMNS)
        if last is not None:
            sql = f"SELECT * FROM (SELECT id, {columns} FROM predictions {clause} ORDER BY id DESC LIMIT ?) ORDER BY id"
            params.append(int(last))
        else:
            sql = f"SELECT id, {columns} FROM predictions {clause} ORDER BY id"
        try:
            # A connection per read: WAL readers do not block the writer, and a long read holds no lock of ours.
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                rows = conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise self._problem(e) from e
        return _frame([r[1:] for r in rows])

    def stats(self) -> dict:
        return {"sink": "sqlite", "path": str(self.path)}

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


# --- Google Cloud Storage -----------------------------------------------------------------------------------------


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
            self._failed(e)
            return False
        if self._backoff:
            self._backoff = 0.0
        self._uploaded += 1
        return True

    def _failed(self, e: Exception) -> None:
        self._errors += 1
        self._last_error = _reason(e)
        self._backoff = min(self.config.max_backoff, max(self.config.first_backoff, self._backoff * 2))
        self._retry_at = time.monotonic() + self._backoff

    def _backlog(self) -> list[Path]:
        return sorted(self.spill_dir.glob("*.ndjson"))  # names start with a UTC stamp: sorted = oldest first

    def _ship(self, name: str, data: bytes) -> None:
        # While older batches wait on disk, newer ones queue behind them so the bucket gets them in order.
        if self._spilled or not self._upload(name, data):
            self._spill(name, data)

    def _spill(self, name: str, data: bytes) -> None:
        tmp = self.spill_dir / f".{name}.tmp"
        try:
            with tmp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.spill_dir / name)
            self._spilled = True
        except OSError as e:  # nowhere left to keep them: say so loudly, this is the one way to lose records
            self._errors += 1
            self._last_error = f"cannot spill {name} to {self.spill_dir}: {e}"
            raise LogError(self._last_error) from e

    def _drain(self, force: bool = False) -> None:
        """Upload spilled batches, oldest first, while the bucket answers."""
        if not self._spilled or (not force and time.monotonic() < self._retry_at):
            return
        self._spilled = False  # cleared first: a batch the caller's thread spills meanwhile sets it again
        for path in self._backlog():
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue  # another process sharing the spill folder uploaded it
            if not self._upload(path.name, data):
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
                "uploaded_objects": self._uploaded,
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
        lo, hi = _utc_seconds(since), _utc_seconds(until)
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
        return _frame(rows)

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
                rows.append((_utc_seconds(r["time"]), *(r[c] for c in COLUMNS[1:])))
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
        record = dict(
            zip(COLUMNS, (stamp, r[1], r[2], r[3], round(r[4], 6), round(r[5], 6), *r[6:]), strict=True)
        )
        out.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(out) + "\n").encode("utf-8")
