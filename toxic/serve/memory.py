"""Keeping a long-running process's memory from ratcheting up: glibc's malloc keeps what the process freed, in one
heap ("arena") per thread that ever allocated, and returns little of it to the OS on its own. A batch job's
tokenizer encodings and onnxruntime buffers, freed at its end, would stay in the app's RSS for good.

- ``limit_malloc_arenas()``, at start-up before threads exist: at most two heaps, not eight per core
  (``MALLOC_ARENA_MAX=2``), so freed memory is shared between threads instead of stranded in one thread's heap;
- ``release_memory()``, after a batch job: hands the freed pages back (``malloc_trim(0)``).

Both do nothing where the C library is not glibc (musl, macOS, Windows). Measured in ``docs/experiments.md``
("Memory")."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


@functools.cache
def _glibc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 (glibc only: AttributeError elsewhere)
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError, TypeError):
        return None
    return libc


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's per-thread heaps; True when it took effect. Call before the process starts threads."""
    libc = _glibc()
    return bool(libc and libc.mallopt(M_ARENA_MAX, arenas))


def release_memory() -> bool:
    """Return freed heap pages to the OS; True when some were."""
    libc = _glibc()
    return bool(libc and libc.malloc_trim(0))
