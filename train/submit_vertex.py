"""Submit the training image (train/Dockerfile) as a Vertex AI custom job. Runs in .venv-cloud (./tasks.sh setup-cloud).

    .venv-cloud/bin/python -m train.submit_vertex --project P --region us-central1 --bucket gs://B \\
        --image us-central1-docker.pkg.dev/P/toxic/train:v1 --dry-run           # prints the job; sends nothing
    ... --machine-type g2-standard-8 --accelerator L4 -- --epochs 3 --batch-size 64   # after --: train.train args

Before anything is sent: the settings are complete, the machine type can take the accelerator, and the local data
matches data/manifest.json. The data then goes to gs://B/data/<manifest sha256[:16]>/ (once per data version) and
the job reads it from there; the job's output, $AIP_MODEL_DIR, is gs://B/runs/<job name>/model/.
Defaults come from the environment: GOOGLE_CLOUD_PROJECT, VERTEX_REGION, VERTEX_BUCKET, TRAIN_IMAGE,
VERTEX_SERVICE_ACCOUNT.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from toxic.data import manifest_hash, verify_manifest
from toxic.errors import DataError, ToxicError

REPO = Path(__file__).resolve().parents[1]
ACCELERATORS = {  # our names -> Vertex AI's AcceleratorType
    "T4": "NVIDIA_TESLA_T4",
    "L4": "NVIDIA_L4",
    "A100": "NVIDIA_TESLA_A100",
    "A100-80GB": "NVIDIA_A100_80GB",
}
# g2-standard-<vCPUs> -> its fixed number of L4s
G2_L4S = {4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8}
T4_MAX_VCPUS = {1: 48, 2: 48, 4: 96}  # n1: T4s per VM -> the most vCPUs the VM may have


def machine_accelerators(machine_type: str) -> dict[str, tuple[int, ...]]:
    """What a Compute Engine machine type can take: accelerator -> allowed counts (empty dict: CPU only).
    g2 and a2 machines come with their GPUs attached, so their count is fixed by the type."""
    if m := re.fullmatch(r"n1-(?:standard|highmem|highcpu)-(\d+)", machine_type):
        counts = tuple(n for n, most in T4_MAX_VCPUS.items() if int(m[1]) <= most)
        return {"T4": counts} if counts else {}
    if m := re.fullmatch(r"g2-standard-(\d+)", machine_type):
        return {"L4": (G2_L4S[int(m[1])],)} if int(m[1]) in G2_L4S else {}
    if m := re.fullmatch(r"a2-highgpu-(1|2|4|8)g", machine_type):
        return {"A100": (int(m[1]),)}
    if machine_type == "a2-megagpu-16g":
        return {"A100": (16,)}
    if m := re.fullmatch(r"a2-ultragpu-(1|2|4|8)g", machine_type):
        return {"A100-80GB": (int(m[1]),)}
    return {}


@dataclass
class JobConfig:
    project: str  # Google Cloud project id
    region: str  # Vertex AI region, e.g. us-central1
    bucket: str  # staging bucket, gs://NAME: the data versions and the run directories go there
    image: str  # the training image, e.g. us-central1-docker.pkg.dev/P/toxic/train:v1
    machine_type: str = "n1-standard-8"  # Compute Engine machine type
    accelerator: str = "T4"  # T4 (n1-*), L4 (g2-*), A100 (a2-highgpu/megagpu), A100-80GB (a2-ultragpu), none
    accelerator_count: int = 0  # 0 = the machine type's own count (g2, a2), or 1 (n1)
    service_account: str = ""  # the job runs as this account ("" = Vertex AI's default)
    data_dir: str = "data"  # local (verified, uploaded by version), gs://... or hf://datasets/ORG/NAME@REV
    display_name: str = ""  # "" = toxic-train-<time>
    train_args: list[str] = field(default_factory=list)  # appended to `python -m train.train`

    def __post_init__(self) -> None:
        for name, how in [
            ("project", "--project or GOOGLE_CLOUD_PROJECT"),
            ("region", "--region or VERTEX_REGION, e.g. us-central1"),
            ("bucket", "--bucket or VERTEX_BUCKET, e.g. gs://my-bucket"),
            ("image", "--image or TRAIN_IMAGE, the pushed train/Dockerfile image"),
        ]:
            if not getattr(self, name):
                raise ToxicError(f"no {name}: pass {how}")
        if not re.fullmatch(r"gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]/?", self.bucket):
            raise ToxicError(f"--bucket {self.bucket!r}: expected gs://BUCKET_NAME (no path)")
        if not re.fullmatch(r"[a-z]+-[a-z]+\d+", self.region):
            raise ToxicError(f"--region {self.region!r}: expected a region such as us-central1")
        self.bucket = self.bucket.rstrip("/")
        self.accelerator = "none" if self.accelerator.lower() in {"", "none"} else self.accelerator.upper()
        if self.accelerator != "none" and self.accelerator not in ACCELERATORS:
            raise ToxicError(
                f"--accelerator {self.accelerator}: choose one of {', '.join(ACCELERATORS)}, none"
            )
        takes = machine_accelerators(self.machine_type)
        if self.accelerator == "none":
            if takes and self.machine_type.startswith(("g2-", "a2-")):
                raise ToxicError(f"{self.machine_type} comes with {'/'.join(takes)} GPUs: pass --accelerator")
            if self.accelerator_count:
                raise ToxicError("--accelerator-count needs an --accelerator")
            return
        if self.accelerator not in takes:
            raise ToxicError(
                f"{self.machine_type} cannot take {self.accelerator} GPUs"
                + (f" (it takes {', '.join(takes)})" if takes else " (a CPU-only machine type)")
                + ": T4 runs on n1-*, L4 on g2-standard-*, A100 on a2-highgpu-*/a2-megagpu-16g, "
                "A100-80GB on a2-ultragpu-*"
            )
        counts = takes[self.accelerator]
        self.accelerator_count = self.accelerator_count or counts[0]
        if self.accelerator_count not in counts:
            raise ToxicError(
                f"{self.machine_type} takes {' or '.join(map(str, counts))} {self.accelerator} GPU(s), "
                f"not {self.accelerator_count}"
            )


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip()[:12] if out.returncode == 0 else ""
    except OSError:
        return ""


def data_plan(cfg: JobConfig) -> dict:
    """Where the job reads its data and, for a local folder, the files to upload first (after verification)."""
    if cfg.data_dir.startswith(("gs://", "hf://")):
        return {"source": cfg.data_dir, "uri": cfg.data_dir, "version": "", "upload": []}
    root = Path(cfg.data_dir)
    if not root.is_absolute() and not root.exists():
        root = REPO / cfg.data_dir
    problems = verify_manifest(root)  # DataError when there is no manifest at all
    if problems:
        raise DataError(
            f"{root} does not match its manifest; nothing was sent:\n  "
            + "\n  ".join(problems)
            + "\n  (fix the files, or rebuild the manifest if the change is meant: a new data version)"
        )
    version = manifest_hash(root)
    files = ["manifest.json", *json.loads((root / "manifest.json").read_text())["files"]]
    return {
        "source": str(root),
        "uri": f"{cfg.bucket}/data/{version[:16]}",
        "version": version,
        "upload": files,
    }


def job_spec(cfg: JobConfig, data: dict, now: datetime | None = None) -> dict:
    """The CustomJob as Vertex AI's REST API takes it (camelCase), built by google-cloud-aiplatform itself."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    name = cfg.display_name or f"toxic-train-{stamp}"
    machine = {"machine_type": cfg.machine_type}
    args = ["--data-dir", data["uri"]]
    if cfg.accelerator != "none":
        machine |= {
            "accelerator_type": ACCELERATORS[cfg.accelerator],
            "accelerator_count": cfg.accelerator_count,
        }
        args += ["--device", "cuda"]  # fail loudly if the GPU is not visible rather than train on the CPU
    labels = {"app": "toxic", "data": data["version"][:16] or "remote"}
    if commit := _git_commit():
        labels["git"] = commit
    job = aiplatform.CustomJob(
        display_name=name,
        worker_pool_specs=[
            {
                "machine_spec": machine,
                "replica_count": 1,
                "container_spec": {"image_uri": cfg.image, "args": args + cfg.train_args},
                "disk_spec": {"boot_disk_type": "pd-ssd", "boot_disk_size_gb": 100},
            }
        ],
        base_output_dir=f"{cfg.bucket}/runs/{name}",  # Vertex sets AIP_MODEL_DIR to <this>/model/
        project=cfg.project,
        location=cfg.region,
        staging_bucket=cfg.bucket,
        labels=labels,
        credentials=AnonymousCredentials(),  # building the request needs none; submit() uses the real ones
    )
    resource = job._gca_resource  # the proto that CustomJob.submit() sends
    if cfg.service_account:
        resource.job_spec.service_account = cfg.service_account
    text = type(resource).to_json(
        resource, use_integers_for_enums=False, always_print_fields_with_no_presence=False
    )
    return json.loads(text)


def upload_data(data: dict) -> int:
    """Copy a verified data version to its gs:// prefix unless that version is already there; files sent."""
    from google.cloud import storage

    bucket_name, _, prefix = data["uri"][5:].partition("/")
    bucket = storage.Client().bucket(bucket_name)
    if bucket.blob(f"{prefix}/manifest.json").exists():  # content-addressed: same version, same files
        return 0
    for name in data["upload"][1:] + data["upload"][:1]:  # the manifest last: its presence means complete
        bucket.blob(f"{prefix}/{name}").upload_from_filename(str(Path(data["source"]) / name))
    return len(data["upload"])


def submit(cfg: JobConfig, spec: dict, data: dict, api_endpoint: str = "") -> str:
    from google.cloud import aiplatform
    from google.cloud.aiplatform.compat.types import custom_job as gca_custom_job

    sent = upload_data(data) if data["upload"] else 0
    print(
        f"data {data['version'][:16] or data['uri']}: {sent} files uploaded to {data['uri']}", file=sys.stderr
    )
    init = {"project": cfg.project, "location": cfg.region, "staging_bucket": cfg.bucket}
    if api_endpoint:  # a private or local endpoint; plain http never carries Google credentials
        init |= {"api_endpoint": api_endpoint, "api_transport": "rest"}
        if api_endpoint.startswith("http://"):
            from google.auth.credentials import AnonymousCredentials

            init["credentials"] = AnonymousCredentials()
    aiplatform.init(**init)
    job = aiplatform.CustomJob(
        display_name=spec["displayName"],
        worker_pool_specs=[{"machine_spec": {"machine_type": "n1-standard-4"}}],
    )
    job._gca_resource = gca_custom_job.CustomJob.from_json(json.dumps(spec))  # exactly what --dry-run printed
    job.submit(service_account=cfg.service_account or None)
    return job.resource_name


def parse(argv: list[str]) -> tuple[JobConfig, argparse.Namespace]:
    own, train_args = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--project", default=env("GOOGLE_CLOUD_PROJECT", ""))
    p.add_argument("--region", default=env("VERTEX_REGION", ""))
    p.add_argument("--bucket", default=env("VERTEX_BUCKET", ""), help="staging bucket, gs://NAME")
    p.add_argument("--image", default=env("TRAIN_IMAGE", ""), help="training image URI")
    p.add_argument("--machine-type", default=JobConfig.machine_type)
    p.add_argument("--accelerator", default=JobConfig.accelerator, help="T4, L4, A100, A100-80GB or none")
    p.add_argument("--accelerator-count", type=int, default=0)
    p.add_argument("--service-account", default=env("VERTEX_SERVICE_ACCOUNT", ""))
    p.add_argument("--data-dir", default=JobConfig.data_dir, help="local folder, gs:// or hf://datasets/ URI")
    p.add_argument("--display-name", default="")
    p.add_argument("--dry-run", action="store_true", help="print the job and the data plan; send nothing")
    p.add_argument("--api-endpoint", default="", help="another Vertex AI endpoint (REST), e.g. for tests")
    a = p.parse_args(own)
    cfg = JobConfig(
        project=a.project,
        region=a.region,
        bucket=a.bucket,
        image=a.image,
        machine_type=a.machine_type,
        accelerator=a.accelerator,
        accelerator_count=a.accelerator_count,
        service_account=a.service_account,
        data_dir=a.data_dir,
        display_name=a.display_name,
        train_args=train_args,
    )
    return cfg, a


def main(argv: list[str] | None = None) -> int:
    try:
        cfg, a = parse(sys.argv[1:] if argv is None else argv)
        data = data_plan(cfg)
        spec = job_spec(cfg, data)
        if a.dry_run:
            parent = f"projects/{cfg.project}/locations/{cfg.region}"
            print(json.dumps({"parent": parent, "customJob": spec, "data": data}, indent=2))
            print("dry run: nothing was uploaded or submitted", file=sys.stderr)
            return 0
        name = submit(cfg, spec, data, a.api_endpoint)
    except ToxicError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"job": name, "output": spec["jobSpec"]["baseOutputDirectory"]["outputUriPrefix"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
