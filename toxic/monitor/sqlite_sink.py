"""The local sink of the prediction log: one SQLite file (see :mod:`toxic.monitor.predlog` for the interface).

One transaction per ``record_many``, committed before it returns. The database runs in WAL mode with
``synchronous=NORMAL``: a committed transaction is in the WAL file (the OS page cache) when the call returns, so it
survives ``kill -9`` of the app; only a power cut of the machine can lose the last ones.

Schema 2 added ``request_id``, ``toxic_threshold`` and ``hate_threshold``; schema 3 ``insult``, ``insult_label``
and ``insult_threshold`` (empty for a model without that label). A writer (``create=True``, the app)
migrates an older log in place when it opens it (nullable columns added in one transaction; old rows keep
NULL there), so an app upgraded over an existing log keeps appending to it. A reader (``create=False``: ``toxic
drift``, ``toxic log export``) never changes the file: it reads the missing columns as NULL.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pandas as pd

from toxic.errors import LogError
from toxic.monitor.predlog import COLUMNS, PredictionLog, frame_of, utc_seconds

LOG_FORMAT = "toxic-prediction-log"
SCHEMA_VERSION = 3
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
    text TEXT,
    request_id TEXT,
    toxic_threshold REAL,
    hate_threshold REAL,
    insult REAL,
    insult_label INTEGER,
    insult_threshold REAL
);
CREATE INDEX IF NOT EXISTS predictions_time ON predictions (time);
"""
_INSERT = f"INSERT INTO predictions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
# What each schema version added to the one before: applied in order to an older log when it is opened.
_MIGRATIONS = {
    2: [
        "ALTER TABLE predictions ADD COLUMN request_id TEXT",
        "ALTER TABLE predictions ADD COLUMN toxic_threshold REAL",
        "ALTER TABLE predictions ADD COLUMN hate_threshold REAL",
    ],
    3: [
        "ALTER TABLE predictions ADD COLUMN insult REAL",
        "ALTER TABLE predictions ADD COLUMN insult_label INTEGER",
        "ALTER TABLE predictions ADD COLUMN insult_threshold REAL",
    ],
}


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
            self._check_or_create(conn, migrate=create)
            present = {row[1] for row in conn.execute("PRAGMA table_info(predictions)")}
            # A reader of an older log selects NULL for the columns it lacks rather than changing its file.
            self._select = ", ".join(c if c in present else f"NULL AS {c}" for c in COLUMNS)
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

    def _check_or_create(self, conn: sqlite3.Connection, migrate: bool) -> None:
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
        schema = int(meta.get("schema", 0))
        if schema > SCHEMA_VERSION:
            raise LogError(
                f"{self.path} was written by a newer version of toxic (schema {meta['schema']}): upgrade"
            )
        if schema < SCHEMA_VERSION and migrate:
            self._migrate(conn, schema)

    def _migrate(self, conn: sqlite3.Connection, schema: int) -> None:
        """Bring an older log up to SCHEMA_VERSION in one transaction: all of it or none of it."""
        try:
            conn.execute("BEGIN IMMEDIATE")  # two processes opening the same old log: one migrates, one waits
            now = int(conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0])
            for version in range(now + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version]:
                    conn.execute(statement)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        except sqlite3.Error:
            conn.execute("ROLLBACK")
            raise

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
        if (t := utc_seconds(since)) is not None:
            where.append("time >= ?")
            params.append(t)
        if (t := utc_seconds(until)) is not None:
            where.append("time < ?")
            params.append(t)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        columns = self._select
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
        return frame_of([r[1:] for r in rows])

    def stats(self) -> dict:
        return {"sink": "sqlite", "path": str(self.path)}

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
