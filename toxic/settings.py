"""Deployment settings, read once from the environment. Every variable is optional; secrets have no default.

| variable | default | meaning |
|---|---|---|
| TOXIC_MODEL | the embedded `models/default` | a model directory or a Hub repo id (ORG/NAME) |
| TOXIC_MODEL_REVISION | main | Hub revision, when TOXIC_MODEL is a repo id |
| TOXIC_THREADS | all cores | onnxruntime intra-op threads |
| TOXIC_DEOBFUSCATE | 1 | 0 scores texts as written, without undoing look-alike spellings (toxic.deobfuscate) |
| TOXIC_MAX_UPLOAD_MB | 200 | largest file the app accepts |
| TOXIC_MAX_ROWS | 1000000 | most rows the Batch CSV tab scores in one file |
| TOXIC_MAX_TEXT_CHARS | 1000000 | longest text the app and REST API accept |
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
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from toxic.errors import ToxicError


def env_flag(name: str, default: str = "0") -> bool:
    """1, true, yes or on (any case) -> True; anything else -> False."""
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ToxicError(f"{name} must be a whole number, got {raw!r}") from None


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

    @classmethod
    def from_env(cls) -> Settings:
        auth = os.environ.get("TOXIC_DASHBOARD_AUTH")
        if auth is not None and ":" not in auth:
            raise ToxicError("TOXIC_DASHBOARD_AUTH must be user:password")
        log_text = os.environ.get("TOXIC_LOG_TEXT", "full")
        if log_text not in {"full", "hash", "none"}:
            raise ToxicError(f"TOXIC_LOG_TEXT must be full, hash or none, got {log_text!r}")
        salt = os.environ.get("TOXIC_LOG_SALT")
        if log_text == "hash" and not salt:
            raise ToxicError(
                "TOXIC_LOG_TEXT=hash needs TOXIC_LOG_SALT (a secret string) so hashes cannot be reversed"
            )
        return cls(
            model=os.environ.get("TOXIC_MODEL") or None,
            model_revision=os.environ.get("TOXIC_MODEL_REVISION") or None,
            threads=_int("TOXIC_THREADS", 0),
            deobfuscate=env_flag("TOXIC_DEOBFUSCATE", "1"),
            max_upload_mb=_int("TOXIC_MAX_UPLOAD_MB", 200),
            max_rows=_int("TOXIC_MAX_ROWS", 1_000_000),
            max_text_chars=_int("TOXIC_MAX_TEXT_CHARS", 1_000_000),
            log=os.environ.get("TOXIC_LOG", "predictions.sqlite"),
            log_text=log_text,
            log_salt=salt,
            dashboard_auth=tuple(auth.split(":", 1)) if auth else None,  # type: ignore[arg-type]
            flag_dir=Path(os.environ.get("TOXIC_FLAG_DIR", "flagged")),
            mcp=env_flag("TOXIC_MCP"),
            share=env_flag("TOXIC_SHARE"),
            queue_size=_int("TOXIC_QUEUE_SIZE", 256),
            batching=env_flag("TOXIC_BATCHING", "1"),
            server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
            server_port=_int("GRADIO_SERVER_PORT", 7860),
            perspective_max_bytes=_positive("TOXIC_PERSPECTIVE_MAX_BYTES", 20_000),
            api_keys=_api_keys(),
            api_rate=_rate("TOXIC_API_RATE"),
            log_batch=env_flag("TOXIC_LOG_BATCH", "1"),
            file_ttl_s=_ttl(),
        )


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        raise ToxicError(f"{name} must be a whole number from 1 up, got {value}")
    return value


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


def _ttl() -> int:
    ttl = _int("TOXIC_FILE_TTL_S", 3600)
    if ttl < 1:
        raise ToxicError(f"TOXIC_FILE_TTL_S must be at least 1 (seconds), got {ttl}")
    return ttl
