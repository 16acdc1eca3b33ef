"""Deployment settings, read once from the environment, in this module only. Every variable is optional; secrets
have no default. A wrong value stops start-up with one line that names the variable and the values it takes.

The core (classifier, data, CLI) reads its three variables through :func:`env_threads`, :func:`env_deobfuscate` and
:func:`env_data_dir`; the app reads everything through :meth:`Settings.from_env`. Why each limit has its value:
``docs/limits.md``.

| variable | default | meaning |
|---|---|---|
| TOXIC_MODEL | the embedded `models/default` | a model directory or a Hub repo id (ORG/NAME) |
| TOXIC_MODEL_REVISION | main | Hub revision, when TOXIC_MODEL is a repo id |
| TOXIC_THREADS | all cores | onnxruntime intra-op threads |
| TOXIC_DEOBFUSCATE | 1 | 0 scores texts as written, without undoing look-alike spellings (toxic.deobfuscate) |
| TOXIC_DATA_DIR | the checkout's `data/` | labelled data for training and evaluation |
| TOXIC_MAX_UPLOAD_MB | 200 | largest file the app accepts |
| TOXIC_MAX_ROWS | 1000000 | most rows the Batch CSV tab scores in one file |
| TOXIC_MAX_TEXT_CHARS | 20000 | longest text the app and the APIs accept |
| TOXIC_MAX_REQUEST_CHARS | 100000 | most characters in one request, all its texts together |
| TOXIC_MAX_REQUEST_TOKENS | 16384 | most model tokens in one request (the work is per token: ~2 s) |
| TOXIC_MAX_REQUEST_TEXTS | 256 | most texts in one request |
| TOXIC_MAX_CELL_CHARS | 20000 | longest text cell a scored CSV file may hold |
| TOXIC_MAX_EXPLAIN_WORDS | 64 | words an explanation covers; longer texts explain their first N |
| TOXIC_MAX_DRIFT_WINDOW | 5000 | most logged predictions one drift report reads |
| TOXIC_LOG | predictions.sqlite | prediction log: a file path (SQLite) or gs://bucket/prefix; "off" disables |
| TOXIC_LOG_TEXT | full | text kept in the log: full, hash (salted SHA-256) or none |
| TOXIC_LOG_SALT | (none) | salt for TOXIC_LOG_TEXT=hash; required then |
| TOXIC_LOG_BATCH | 1 | 0 keeps batch file scoring (Batch CSV tab, /score_csv) out of the prediction log |
| TOXIC_FILE_TTL_S | 3600 | seconds an uploaded or scored file is kept before it is deleted |
| TOXIC_DASHBOARD_AUTH | (none) | user:password that guards the Drift tab (the log can hold user text) |
| TOXIC_FLAG_DIR | flagged | where corrections flagged in the app are saved |
| TOXIC_MCP | 0 | 1 serves the classify tool to LLM agents over MCP |
| TOXIC_SHARE | 0 | 1 asks Gradio for a temporary public link |
| TOXIC_BATCHING | 1 | 0 gives /classify one forward pass per call instead of sharing batches (load-test baseline) |
| TOXIC_QUEUE_SIZE | 256 | requests that may wait in the queue before new ones are refused |
| TOXIC_PERSPECTIVE_MAX_BYTES | 20000 | longest comment (UTF-8 bytes) the Perspective-compatible API accepts |
| TOXIC_API_KEYS | (none) | comma-separated keys the Perspective-compatible API requires (`?key=` or `x-goog-api-key`) |
| TOXIC_API_KEYS_FILE | (none) | or a file of keys, one a line (`#` starts a comment); both may be set |
| TOXIC_API_RATE | 0 | requests per second per key (per client address without keys) on that API; 0 = no limit |
| GRADIO_SERVER_NAME / GRADIO_SERVER_PORT | 127.0.0.1 / 7860 | where the app listens |
| GRADIO_TEMP_DIR | (temp dir)/gradio | Gradio's upload folder: the only place files are read from |
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from toxic.errors import ToxicError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
REPO_ROOT = Path(__file__).resolve().parents[1]


def env_flag(name: str, default: str = "0") -> bool:
    """1, true, yes or on (any case) -> True; 0, false, no or off -> False; anything else is an error."""
    raw = os.environ.get(name, "").strip().lower() or default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ToxicError(f"{name} must be 1 or 0 (also true/false, yes/no, on/off), got {_shown(raw)}")


def env_int(name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number in [minimum, maximum]; unset or empty gives the default."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    bounds = f"from {minimum:,}" + (f" to {maximum:,}" if maximum is not None else " up")
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ToxicError(f"{name} must be a whole number {bounds}, got {_shown(raw)}") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise ToxicError(f"{name} must be a whole number {bounds}, got {value:,}")
    return value


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")


def env_threads() -> int:
    """TOXIC_THREADS: onnxruntime intra-op threads; 0 = all cores."""
    return env_int("TOXIC_THREADS", 0, 0, 1024)


def env_deobfuscate() -> bool:
    """TOXIC_DEOBFUSCATE: undo look-alike spellings before scoring (default on)."""
    return env_flag("TOXIC_DEOBFUSCATE", "1")


def env_data_dir() -> Path:
    """TOXIC_DATA_DIR: where the labelled data lives (default: the checkout's ``data/``)."""
    return Path(os.environ.get("TOXIC_DATA_DIR") or REPO_ROOT / "data")


def upload_dir() -> Path:
    """Gradio's upload folder (GRADIO_TEMP_DIR, as Gradio itself reads it): the only folder the app reads files
    from."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


@dataclass(frozen=True)
class Settings:
    model: str | None
    model_revision: str | None
    threads: int
    deobfuscate: bool
    max_upload_mb: int
    max_rows: int
    max_text_chars: int
    log: str
    log_text: str
    log_salt: str | None
    dashboard_auth: tuple[str, str] | None
    flag_dir: Path
    mcp: bool
    share: bool
    queue_size: int
    batching: bool
    server_name: str
    server_port: int
    perspective_max_bytes: int = 20_000
    api_keys: frozenset[str] = frozenset()
    api_rate: float = 0.0
    log_batch: bool = True
    file_ttl_s: int = 3600
    max_request_chars: int = 100_000
    max_request_texts: int = 256
    max_request_tokens: int = 16_384
    max_cell_chars: int = 20_000
    max_explain_words: int = 64
    max_drift_window: int = 5_000
    upload_dir: Path = Path(tempfile.gettempdir()) / "gradio"
    data_dir: Path = REPO_ROOT / "data"

    @classmethod
    def from_env(cls) -> Settings:
        auth = os.environ.get("TOXIC_DASHBOARD_AUTH")
        if auth is not None and ":" not in auth:
            raise ToxicError("TOXIC_DASHBOARD_AUTH must be user:password")
        log_text = os.environ.get("TOXIC_LOG_TEXT", "full")
        if log_text not in {"full", "hash", "none"}:
            raise ToxicError(f"TOXIC_LOG_TEXT must be full, hash or none, got {_shown(log_text)}")
        salt = os.environ.get("TOXIC_LOG_SALT")
        if log_text == "hash" and not salt:
            raise ToxicError(
                "TOXIC_LOG_TEXT=hash needs TOXIC_LOG_SALT (a secret string) so hashes cannot be reversed"
            )
        return cls(
            model=os.environ.get("TOXIC_MODEL") or None,
            model_revision=os.environ.get("TOXIC_MODEL_REVISION") or None,
            threads=env_threads(),
            deobfuscate=env_deobfuscate(),
            max_upload_mb=env_int("TOXIC_MAX_UPLOAD_MB", 200, 1, 10_000),
            max_rows=env_int("TOXIC_MAX_ROWS", 1_000_000, 1),
            max_text_chars=env_int("TOXIC_MAX_TEXT_CHARS", 20_000, 1),
            max_request_chars=env_int("TOXIC_MAX_REQUEST_CHARS", 100_000, 1),
            max_request_texts=env_int("TOXIC_MAX_REQUEST_TEXTS", 256, 1),
            max_request_tokens=env_int("TOXIC_MAX_REQUEST_TOKENS", 16_384, 1),
            max_cell_chars=env_int("TOXIC_MAX_CELL_CHARS", 20_000, 1),
            max_explain_words=env_int("TOXIC_MAX_EXPLAIN_WORDS", 64, 1, 1024),
            max_drift_window=env_int("TOXIC_MAX_DRIFT_WINDOW", 5_000, 10),
            log=os.environ.get("TOXIC_LOG") or "predictions.sqlite",
            log_text=log_text,
            log_salt=salt,
            dashboard_auth=tuple(auth.split(":", 1)) if auth else None,  # type: ignore[arg-type]
            flag_dir=Path(os.environ.get("TOXIC_FLAG_DIR") or "flagged"),
            mcp=env_flag("TOXIC_MCP"),
            share=env_flag("TOXIC_SHARE"),
            queue_size=env_int("TOXIC_QUEUE_SIZE", 256, 1),
            batching=env_flag("TOXIC_BATCHING", "1"),
            server_name=os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1",
            server_port=env_int("GRADIO_SERVER_PORT", 7860, 0, 65535),
            perspective_max_bytes=env_int("TOXIC_PERSPECTIVE_MAX_BYTES", 20_000, 1),
            api_keys=_api_keys(),
            api_rate=_rate("TOXIC_API_RATE"),
            log_batch=env_flag("TOXIC_LOG_BATCH", "1"),
            file_ttl_s=env_int("TOXIC_FILE_TTL_S", 3600, 1),
            upload_dir=upload_dir(),
            data_dir=env_data_dir(),
        )


def _api_keys() -> frozenset[str]:
    keys = [k.strip() for k in os.environ.get("TOXIC_API_KEYS", "").split(",")]
    path = os.environ.get("TOXIC_API_KEYS_FILE")
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ToxicError(f"TOXIC_API_KEYS_FILE: cannot read {path}: {e.strerror}") from None
        keys += [line.split("#", 1)[0].strip() for line in lines]
        if not any(keys):
            raise ToxicError(f"TOXIC_API_KEYS_FILE: {path} holds no key (one a line)")
    return frozenset(k for k in keys if k)


def _rate(name: str) -> float:
    raw = os.environ.get(name, "").strip() or "0"
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ToxicError(f"{name} must be requests per second (a number, 0 for no limit), got {raw!r}")
    return value
