"""train/submit_vertex.py in its own environment (.venv-cloud): the CustomJob it builds for several machines, the
checks that stop it before anything is sent, and a real submission to a local stand-in of Vertex AI's REST API
with the data uploaded to the storage emulator."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest

from tests.conftest import REPO
from toxic.data import data_dir, manifest_hash

pytestmark = pytest.mark.cloud
BASE = ["--project", "toxic-proj", "--region", "us-central1", "--bucket", "gs://toxic-stage"]
BASE += ["--image", "us-central1-docker.pkg.dev/toxic-proj/toxic/train:abc123"]
VERSION = manifest_hash(data_dir())


def submit(python, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(python), "-m", "train.submit_vertex", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )


@pytest.mark.slow  # each run imports google-cloud-aiplatform: ~10 s, more on a busy machine
@pytest.mark.parametrize(
    ("machine", "accelerator", "count", "want_type", "want_count"),
    [
        ("n1-standard-8", "T4", None, "NVIDIA_TESLA_T4", 1),
        ("n1-highmem-16", "t4", "2", "NVIDIA_TESLA_T4", 2),
        ("g2-standard-24", "L4", None, "NVIDIA_L4", 2),
        ("a2-highgpu-4g", "A100", None, "NVIDIA_TESLA_A100", 4),
        ("n2-standard-8", "none", None, None, None),
    ],
)
def test_dry_run_prints_the_job(cloud_python, machine, accelerator, count, want_type, want_count):
    args = [*BASE, "--machine-type", machine, "--accelerator", accelerator, "--dry-run"]
    args += ["--accelerator-count", count] if count else []
    args += ["--service-account", "trainer@toxic-proj.iam.gserviceaccount.com", "--display-name", "nightly"]
    out = submit(cloud_python, *args, "--", "--epochs", "3", "--push-to-hub", "toxic-org/toxic-minilm")
    assert out.returncode == 0, out.stderr
    assert "nothing was uploaded or submitted" in out.stderr
    plan = json.loads(out.stdout)
    job = plan["customJob"]
    assert plan["parent"] == "projects/toxic-proj/locations/us-central1"
    assert job["displayName"] == "nightly" and job["labels"]["data"] == VERSION[:16]
    spec = job["jobSpec"]
    assert spec["serviceAccount"] == "trainer@toxic-proj.iam.gserviceaccount.com"
    assert spec["baseOutputDirectory"]["outputUriPrefix"] == "gs://toxic-stage/runs/nightly"
    (pool,) = spec["workerPoolSpecs"]
    assert pool["machineSpec"].get("acceleratorType") == want_type
    assert pool["machineSpec"].get("acceleratorCount") == want_count
    assert pool["machineSpec"]["machineType"] == machine and pool["replicaCount"] == "1"
    data_uri = f"gs://toxic-stage/data/{VERSION[:16]}"
    device = ["--device", "cuda"] if want_type else []
    assert pool["containerSpec"] == {
        "imageUri": "us-central1-docker.pkg.dev/toxic-proj/toxic/train:abc123",
        "args": ["--data-dir", data_uri, *device, "--epochs", "3", "--push-to-hub", "toxic-org/toxic-minilm"],
    }
    manifest = json.loads((data_dir() / "manifest.json").read_text())["files"]
    assert plan["data"]["uri"] == data_uri and plan["data"]["upload"] == ["manifest.json", *manifest]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", ""], "no project: pass --project or GOOGLE_CLOUD_PROJECT"),
        (["--region", ""], "no region: pass --region or VERTEX_REGION"),
        (["--bucket", ""], "no bucket: pass --bucket or VERTEX_BUCKET"),
        (["--bucket", "gs://toxic-stage/some/path"], "expected gs://BUCKET_NAME (no path)"),
        (["--machine-type", "n1-standard-8", "--accelerator", "L4"], "n1-standard-8 cannot take L4 GPUs"),
        (["--machine-type", "g2-standard-8", "--accelerator", "A100"], "g2-standard-8 cannot take A100 GPUs"),
        (["--machine-type", "e2-standard-8", "--accelerator", "T4"], "(a CPU-only machine type)"),
        (["--machine-type", "a2-highgpu-2g", "--accelerator", "none"], "comes with A100 GPUs"),
        (
            ["--machine-type", "n1-standard-8", "--accelerator-count", "3"],
            "takes 1 or 2 or 4 T4 GPU(s), not 3",
        ),
        (["--machine-type", "n1-standard-64", "--accelerator-count", "1"], "takes 4 T4 GPU(s), not 1"),
        (
            ["--machine-type", "g2-standard-8", "--accelerator", "L4", "--accelerator-count", "2"],
            "takes 1 L4",
        ),
        (["--accelerator", "H100"], "choose one of T4, L4, A100, A100-80GB, none"),
    ],
)
def test_bad_settings_stop_before_anything_is_sent(cloud_python, monkeypatch, args, message):
    for name in ("GOOGLE_CLOUD_PROJECT", "VERTEX_REGION", "VERTEX_BUCKET", "TRAIN_IMAGE"):
        monkeypatch.delenv(name, raising=False)
    out = submit(cloud_python, *BASE, *args)  # not a dry run: it would send if the checks let it
    assert out.returncode == 2 and out.stderr.startswith("error: "), out.stderr
    assert message in out.stderr and out.stdout == ""


class FakeVertex:
    """A stand-in for Vertex AI's REST endpoint on 127.0.0.1: records each request, answers like the service."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                path = urlparse(self.path).path
                fake.requests.append({"path": path, "body": body, "auth": self.headers.get("Authorization")})
                reply = json.dumps(
                    body | {"name": path.removeprefix("/v1/") + "/4242", "state": "JOB_STATE_QUEUED"}
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def vertex():
    fake = FakeVertex()
    yield fake
    fake.server.shutdown()


def test_changed_data_file_stops_the_submission(cloud_python, gcs, vertex, tmp_path):
    bucket = gcs.bucket("toxic-untouched")  # this test's own: the emulator lives for the whole session
    data = tmp_path / "data"
    shutil.copytree(data_dir(), data)
    with (data / "tweeteval_hate" / "val_labels.txt").open("a") as f:
        f.write("1\n")
    args = [*BASE, "--bucket", "gs://toxic-untouched", "--data-dir", str(data), "--api-endpoint", vertex.url]
    out = submit(cloud_python, *args)
    assert out.returncode == 2, out.stderr
    assert "does not match its manifest; nothing was sent" in out.stderr
    assert "tweeteval_hate/val_labels.txt: sha256" in out.stderr
    assert vertex.requests == [] and list(bucket.list_blobs()) == []


@pytest.mark.slow
def test_submission_uploads_the_data_version_once_and_sends_the_printed_job(cloud_python, gcs, vertex):
    bucket = gcs.bucket("toxic-submit")  # this test's own: the emulator lives for the whole session
    args = [*BASE, "--bucket", "gs://toxic-submit", "--display-name", "nightly"]
    args += ["--machine-type", "g2-standard-8", "--accelerator", "L4"]
    dry = submit(cloud_python, *args, "--dry-run", "--", "--epochs", "1")
    assert dry.returncode == 0, dry.stderr
    out = submit(cloud_python, *args, "--api-endpoint", vertex.url, "--", "--epochs", "1")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {
        "job": "projects/toxic-proj/locations/us-central1/customJobs/4242",
        "output": "gs://toxic-submit/runs/nightly",
    }
    (request,) = vertex.requests
    assert request["path"] == "/v1/projects/toxic-proj/locations/us-central1/customJobs"
    assert request["auth"] is None  # plain http to a local endpoint: no credentials on the wire
    printed = json.loads(dry.stdout)["customJob"]
    sent = request["body"]
    assert sent["displayName"] == printed["displayName"] and sent["labels"] == printed["labels"]
    (pool,) = sent["jobSpec"]["workerPoolSpecs"]
    assert pool["containerSpec"] == printed["jobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    assert (
        pool["machineSpec"]["machineType"] == "g2-standard-8" and pool["machineSpec"]["acceleratorCount"] == 1
    )
    prefix = f"data/{VERSION[:16]}/"
    uploaded = {b.name.removeprefix(prefix): b for b in bucket.list_blobs(prefix=prefix)}
    manifest = json.loads((data_dir() / "manifest.json").read_text())["files"]
    assert set(uploaded) == {"manifest.json", *manifest}
    name = "tweeteval_hate/val_labels.txt"
    assert uploaded[name].download_as_bytes() == (data_dir() / name).read_bytes()
    again = submit(cloud_python, *args, "--api-endpoint", vertex.url)
    assert again.returncode == 0, again.stderr
    assert "0 files uploaded" in again.stderr and len(vertex.requests) == 2  # same data version: not re-sent
