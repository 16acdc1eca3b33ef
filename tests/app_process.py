"""The real app as a separate process on a free loopback port (``python app.py`` or any command that serves it),
for the tests and the load test: ready time, memory read from /proc (Linux), a clean stop."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on a free loopback port; `ready_s` is process start to /healthz answering 200."""

    def __init__(
        self, cmd: list[str], env: dict[str, str], workdir: Path, timeout: float = 60, cwd: Path = REPO
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": str(self.port),
            "TOXIC_LOG": str(workdir / f"predictions-{self.port}.sqlite"),
            "TOXIC_FLAG_DIR": str(workdir / "flagged"),
            "GRADIO_EXAMPLES_CACHE": str(workdir / f"examples-{self.port}"),  # cold: caching counts in ready
            "GRADIO_ANALYTICS_ENABLED": "False",
            **env,
        }
        self.log = open(workdir / f"server-{self.port}.log", "w")  # noqa: SIM115 (closed in stop)
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        with httpx.Client(timeout=2) as http:
            while True:
                if self.proc.poll() is not None:
                    raise SystemExit(f"the server exited with {self.proc.returncode}: see {self.log.name}")
                if time.perf_counter() - start > timeout:
                    self.stop()
                    raise SystemExit(f"the server was not ready after {timeout:.0f} s: see {self.log.name}")
                try:
                    if http.get(self.url + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
            self.ready_s = time.perf_counter() - start
            http.post(self.url + "/api/v1/classify", json={"text": "warm up"}, timeout=30).raise_for_status()
            self.first_prediction_s = time.perf_counter() - start

    def memory_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) of the server process, in MB."""
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines()
        )
        return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)

    def phase_peak_mb(self) -> float:
        """Peak RSS (MB) since the last call, or since start; resets the kernel's high-water mark (clear_refs 5),
        so that the next phase is measured alone. Where that is not allowed, peaks accumulate over phases."""
        peak = self.memory_mb()[1]
        with contextlib.suppress(OSError):
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        return peak

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
