"""toxic.serve.memory on this machine's glibc: freed heap memory really goes back to the OS."""

import sys
from pathlib import Path

import numpy as np
import pytest

from toxic.serve.memory import limit_malloc_arenas, release_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")


def rss_mb() -> float:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024


def test_release_memory_hands_freed_heap_pages_back():
    # 64 KB blocks come from malloc's heap (not mmap); keeping every 8th alive leaves holes that free() alone
    # cannot give back, as a batch job's freed buffers between long-lived objects do
    blocks = [np.ones(64 * 1024 // 8) for _ in range(1600)]  # ~100 MB, pages touched
    kept = blocks[::8]
    del blocks
    before = rss_mb()
    assert release_memory()
    assert rss_mb() < before - 50, (before, rss_mb())
    assert all(b[0] == 1 for b in kept)  # what is alive is untouched


def test_limit_malloc_arenas_takes_effect():
    assert limit_malloc_arenas(2)
    assert limit_malloc_arenas(8)  # pytest's own process: a looser cap again for the tests after this one
