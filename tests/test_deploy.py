"""The Space and the image as deployed. The Space uses the Docker SDK with the root Dockerfile, so the README's front
matter, deploy-space.yml and the Dockerfile must say the same; every third-party module the app and ``toxic``
import must be installed by requirements.lock (what the image installs); and the app must run from only the paths
the Dockerfile copies (data/, tests/, train/, ... are not in the image)."""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import re
import shutil
import sys
from pathlib import Path

import yaml

from tests.app_process import Server
from tests.conftest import REPO
from toxic.serve.client import gradio_client

DOCKERFILE = (REPO / "Dockerfile").read_text()
# Imported by toxic/ only in code that the training environment runs (toxic.data's Dataset conversion).
TRAINING_ONLY = {"datasets"}


def front_matter() -> dict:
    return yaml.safe_load((REPO / "README.md").read_text().split("---\n")[1])


def copied_paths(dockerfile: str = DOCKERFILE) -> list[str]:
    """The sources of a Dockerfile's COPY lines."""
    return [
        src.rstrip("/") for line in re.findall(r"^COPY (.+)$", dockerfile, re.M) for src in line.split()[:-1]
    ]


def ignored(path: str, ignore_file: Path) -> bool:
    """Whether a .dockerignore leaves ``path`` (or a folder above it) out of the build context."""
    patterns = [
        p.strip() for p in ignore_file.read_text().splitlines() if p.strip() and not p.startswith("#")
    ]
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes for pattern in patterns)


def test_the_space_front_matter_the_workflow_and_the_dockerfile_agree():
    meta = front_matter()
    assert meta["sdk"] == "docker" and f"EXPOSE {meta['app_port']}" in DOCKERFILE
    assert f"GRADIO_SERVER_PORT={meta['app_port']}" in DOCKERFILE and "requirements.lock" in copied_paths()
    workflow = (REPO / ".github" / "workflows" / "deploy-space.yml").read_text()
    assert "Docker SDK" in workflow and "--repo-type space" in workflow
    excluded = re.findall(r'--exclude "([^"]+)"', workflow)
    for path in copied_paths():  # what the image build needs reaches the Space
        assert not any(fnmatch.fnmatch(path + "/x", pattern) for pattern in excluded), (path, excluded)


def test_each_image_build_context_holds_what_its_dockerfile_copies():
    """docker build reads <Dockerfile>.dockerignore beside a Dockerfile instead of the root .dockerignore."""
    for dockerfile in (REPO / "Dockerfile", REPO / "train" / "Dockerfile"):
        own = dockerfile.with_name(dockerfile.name + ".dockerignore")
        ignore_file = own if own.exists() else REPO / ".dockerignore"
        for path in copied_paths(dockerfile.read_text()):
            assert not ignored(path, ignore_file), (
                f"{dockerfile.name} copies {path}, which {ignore_file.name} leaves out"
            )


def third_party_imports() -> set[str]:
    """Top-level names of every module imported anywhere in app.py and toxic/ (lazy imports included), but
    toxic/beam/: batch scoring on Apache Beam has its own lock and image (beam/Dockerfile)."""
    names = set()
    modules = [
        p for p in sorted((REPO / "toxic").rglob("*.py")) if "beam" not in p.relative_to(REPO).parts[1:2]
    ]
    for path in [REPO / "app.py", *modules]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"toxic", "app"}


def test_every_module_the_app_imports_is_in_the_lock_the_image_installs():
    locked = {
        re.split(r"[=<>\[ ]", line)[0].lower().replace("_", "-")
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if line and not line.startswith((" ", "#"))
    }
    providers = importlib.metadata.packages_distributions()
    missing = {}
    for name in sorted(third_party_imports() - TRAINING_ONLY):
        dists = {d.lower().replace("_", "-") for d in providers.get(name, [])}
        if not dists & locked:
            missing[name] = sorted(dists) or "not installed here"
    assert not missing, f"imported but not installed by requirements.lock: {missing}"


def test_the_app_runs_from_the_files_the_image_copies(tmp_path):
    """python app.py in a folder holding only what the Dockerfile copies: ready, a REST call, a Gradio batch and
    a drift report over it (the reference profile, the examples and the model all come from the copy)."""
    image = tmp_path / "image"
    for source in copied_paths():
        (image / source).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (REPO / source).is_dir() else shutil.copy)(REPO / source, image / source)
    env = {"PYTHONPATH": str(image), "TOXIC_MODEL": str(image / "models" / "default")}
    server = Server([sys.executable, "app.py"], env, tmp_path, timeout=120, cwd=image)
    try:
        client = gradio_client(server.url)
        texts = [
            line.split(",", 1)[1] for line in (image / "examples" / "comments.csv").read_text().splitlines()
        ]
        client.predict((texts[1:] * 2)[:60], api_name="/classify_batch")
        summary, *_ = client.predict(50, "", "", api_name="/drift")
    finally:
        server.stop()
    assert "dataset drift" in summary
    assert not Path(image / "data").exists() and not Path(image / "tests").exists()
