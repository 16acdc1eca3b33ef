"""A real Google Cloud Storage stand-in for tests: gcp-storage-emulator on 127.0.0.1, in its own process.

Use the ``gcs`` fixture: it starts the emulator (once per session), points ``STORAGE_EMULATOR_HOST`` at it, and
gives an :class:`Emulator` with ``client()``, ``bucket(name)``, ``stop()`` and ``start()`` (the same port, so a
client sees the server go away and come back, as in an outage).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.app_process import free_port


class Emulator:
    def __init__(self, data_dir: str | None = None) -> None:
        self.data_dir = data_dir  # None: in memory, lost on stop(); a folder: kept across stop()/start()
        self.port = free_port()
        self.host = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        code = (
            "import sys, time; from gcp_storage_emulator.server import create_server; "
            f"s = create_server('127.0.0.1', {self.port}, in_memory={self.data_dir is None}, data_dir={self.data_dir!r}); "
            "s.start(); "
            "print('ready', flush=True); sys.stdin.read(); s.stop()"
        )

        def launch() -> subprocess.Popen:
            return subprocess.Popen(
                [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )

        self.proc = launch()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:  # a restart on the same port can lose the race for it: try again
                time.sleep(0.5)
                self.proc = launch()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("gcp-storage-emulator did not start")

    def stop(self) -> None:
        """The server goes away, as in an outage. It is asked to stop first: killed in the middle of a request,
        a disk-backed emulator can leave its metadata file half-written, and then it cannot start again (a fault
        of the stand-in, not of what is tested). Its HTTP server is single-threaded, so a stop waits for the
        request in hand; the kill after a few seconds only meets a server idle on a kept-alive connection."""
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()  # the server script then calls s.stop() and exits
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def client(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": self.host}
        )

    def bucket(self, name: str):
        client = self.client()
        bucket = client.bucket(name)
        if not bucket.exists():
            bucket = client.create_bucket(name)
        return bucket


@pytest.fixture(scope="session")
def gcs_server():
    emulator = Emulator()
    emulator.start()
    yield emulator
    emulator.stop()


def use(emulator: Emulator, env: pytest.MonkeyPatch) -> Emulator:
    """The emulator running (restarted if a test stopped it), with STORAGE_EMULATOR_HOST set through ``env``."""
    if emulator.proc is None or emulator.proc.poll() is not None:
        emulator.start()
    env.setenv("STORAGE_EMULATOR_HOST", emulator.host)
    env.setenv("GOOGLE_CLOUD_PROJECT", "test")
    os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    return emulator


@pytest.fixture
def gcs(gcs_server, monkeypatch):
    """The running emulator, with STORAGE_EMULATOR_HOST set for this test."""
    yield use(gcs_server, monkeypatch)


@pytest.fixture(scope="session")
def user_credentials(tmp_path_factory):
    """A user-credentials file (``gcloud auth application-default login``'s kind) holding an access token that
    has not expired: google-auth finds credentials at once and needs no token endpoint, and the emulator takes any
    token. Without credentials, Beam retries the lookup for ~25 s in each process before it goes on anonymously."""
    path = tmp_path_factory.mktemp("adc") / "application_default_credentials.json"
    info = {
        "type": "authorized_user",
        "client_id": "test.apps.googleusercontent.com",
        "client_secret": "test",
    }
    info |= {"refresh_token": "test", "token": "test-token", "expiry": "2099-01-01T00:00:00Z"}
    path.write_text(json.dumps(info))
    return path
