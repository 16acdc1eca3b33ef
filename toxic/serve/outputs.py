"""Where the app's scored files wait for their download: one folder per job, deleted ``ttl_s`` seconds after it
was made, by a sweep at each new job and by a background thread, so files do not pile up between jobs either.
Gradio copies a returned file into its own cache (cleared by ``gr.Blocks(delete_cache=...)``); this folder holds
the originals."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path


class OutputFolder:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.root = Path(tempfile.mkdtemp(prefix="toxic-scored-"))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sweeper, name="toxic-outputs", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def new_job(self) -> Path:
        """A fresh, empty folder for one job's output."""
        self.sweep()
        job = self.root / uuid.uuid4().hex
        job.mkdir(parents=True)
        return job

    def sweep(self) -> int:
        """Delete job folders whose last write is older than the TTL (a job still writing is kept); returns how
        many."""
        cutoff = time.time() - self.ttl_s
        gone = 0
        for job in self.root.glob("*"):
            try:
                last = max(p.stat().st_mtime for p in [job, *job.iterdir()])
            except (FileNotFoundError, NotADirectoryError):
                continue
            if last < cutoff:
                shutil.rmtree(job, ignore_errors=True)
                gone += 1
        return gone

    def _sweeper(self) -> None:
        # A quarter of the TTL between sweeps: a file lives at most 1.25 TTL, at little cost.
        while not self._stop.wait(max(0.2, min(self.ttl_s / 4, 300))):
            self.sweep()

    def close(self) -> None:
        """Stop sweeping and delete every file (the process is ending)."""
        self._stop.set()
        shutil.rmtree(self.root, ignore_errors=True)
        atexit.unregister(self.close)
