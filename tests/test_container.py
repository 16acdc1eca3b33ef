"""The training image (train/Dockerfile): it lints, it copies what exists, and its entry point, run as the container
runs it (only the copied files, data from gs://, $AIP_MODEL_DIR a bucket), trains, exports, quantizes and uploads
a model that toxic.Classifier loads. No Docker daemon is needed: the image's Python is the training venv's. The
one tiny run has every augmentation on, and is exported twice more: unfused with s8 weights, and static int8."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO, train_json
from tests.storage_emulator import use
from toxic.data import LABELS, data_dir, manifest_hash
from train.remote import upload_dir

DOCKERFILE = REPO / "train" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [
        tuple(line.split(None, 1)) for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]


def entrypoint() -> list[str]:
    (command,) = [json.loads(arg) for op, arg in instructions() if op == "ENTRYPOINT"]
    return command


def copies() -> list[tuple[str, str]]:
    return [tuple(arg.split()) for op, arg in instructions() if op == "COPY"]


def test_dockerfile_lints_pins_its_base_and_copies_paths_that_exist():
    out = subprocess.run([str(REPO / ".venv/bin/hadolint"), str(DOCKERFILE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    (base,) = [arg for op, arg in instructions() if op == "FROM"]
    assert re.fullmatch(r"pytorch/pytorch:\d+\.\d+\.\d+-cuda\d+\.\d+-cudnn\d+-runtime", base), base
    assert copies() and all((REPO / src).exists() for src, _ in copies()), copies()
    assert entrypoint() == ["python", "-m", "train.train"]


# every training augmentation on, so this one smoke run also shows them at work (the rows are 48 + 16 + 8)
AUGMENT = ["--augment-identity", "1.0", "--augment-obfuscate", "0.5", "--augment-templates", "16"]
AUGMENT += ["--augment-functional", "8", "--deobfuscate"]


@pytest.fixture(scope="module")
def container_run(train_python, gcs_server, tmp_path_factory):
    """The entry point run once as the container runs it: only the copied files, data from gs://, $AIP_MODEL_DIR a
    bucket. Returns the process and the run directory it trained in (uploaded to the bucket at the end)."""
    app = tmp_path_factory.mktemp("container") / "app"  # the image's WORKDIR: only what the Dockerfile copies
    for src, dest in copies():
        target = app / dest
        if (REPO / src).is_dir():
            shutil.copytree(
                REPO / src, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True
            )
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / src, target)
    with pytest.MonkeyPatch.context() as env:
        use(gcs_server, env).bucket("toxic-vertex")
        version = manifest_hash(data_dir())[:16]
        upload_dir(data_dir(), f"gs://toxic-vertex/data/{version}")  # what submit_vertex.py uploads
        env.setenv("AIP_MODEL_DIR", "gs://toxic-vertex/runs/job-1/model/")  # what Vertex AI sets
        env.setenv("GIT_COMMIT", "0123456789abcdef")  # what the image build sets
        env.delenv("TOXIC_DATA_DIR", raising=False)
        python, *rest = entrypoint()
        tiny = ["--limit", "48", "--limit-val", "10", "--max-steps", "2", "--epochs", "1", "--device", "cpu"]
        tiny += ["--threads", "1", "--ema", "0.9"]
        command = [
            str(train_python),
            *rest,
            "--data-dir",
            f"gs://toxic-vertex/data/{version}",
            *tiny,
            *AUGMENT,
        ]
        out = subprocess.run(command, cwd=app, capture_output=True, text=True, timeout=1500)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (run_dir,) = (app / "runs").iterdir()  # a gs:// target trains in runs/<time>, then uploads it
    return out, run_dir


@pytest.mark.train
@pytest.mark.slow
def test_entry_point_runs_as_in_the_container(container_run, gcs, tmp_path):
    out, _ = container_run
    assert "uploaded" in out.stdout and "to gs://toxic-vertex/runs/job-1/model/" in out.stdout
    bucket = gcs.bucket("toxic-vertex")
    prefix = "runs/job-1/model/"
    names = {b.name.removeprefix(prefix) for b in bucket.list_blobs(prefix=prefix)}
    assert {"run.json", "config.json", "data_manifest.json", "metrics.json", "onnx/model.onnx"} <= names
    model = tmp_path / "model"
    for name in (n for n in names if n.startswith("onnx/")):
        target = model / name.removeprefix("onnx/")
        target.parent.mkdir(parents=True, exist_ok=True)
        bucket.blob(prefix + name).download_to_filename(str(target))
    run = json.loads(bucket.blob(prefix + "run.json").download_as_text())
    assert run["git_commit"] == "0123456789abcdef" and run["data_manifest_sha256"] == manifest_hash(
        data_dir()
    )

    meta = json.loads((model / "toxic.json").read_text())
    assert meta["quantization"].startswith("int8") and meta["version"] == "0123456789ab"
    assert "fusions" in meta["graph"]  # the default export fuses attention before int8
    assert (model / "model.onnx").stat().st_size < 40e6  # int8: ~23 MB; the fp32 graph is ~90 MB
    assert len(pd.read_parquet(model / "reference.parquet")) == 200  # a smoke run's small drift profile
    from toxic import Classifier
    from toxic.hub import push

    result = Classifier.load(model).predict(["you are an idiot", "see you tomorrow"])
    assert all(0 <= r["toxic"] <= 1 and 0 <= r["hate"] <= 1 for r in result)
    plan = push(model, "toxic-org/toxic-minilm", dry_run=True)  # the fresh card is valid Hub metadata
    assert plan["card"]["model-index"] and "plots/roc.png" in plan["files"]


@pytest.mark.train
@pytest.mark.slow
def test_every_augmentation_at_work_in_the_run(container_run):
    out, run_dir = container_run
    config = json.loads((run_dir / "config.json").read_text())
    assert config["augment_identity"] == 1.0 and config["deobfuscate"] is True
    undone = re.search(r"deobfuscated (\d+) of 72 epoch 1 train texts", out.stdout)  # 48 + 16 + 8 functional
    assert undone and int(undone.group(1)) > 0  # half the rows were obfuscated, and some of that is undone
    record = json.loads((run_dir / "history.json").read_text())[0]
    assert record["augmented"]["rows"] == 48
    assert record["augmented"]["identity_swapped"] > 0 and record["augmented"]["obfuscated"] > 10
    assert record["augmented"]["templates"] == 16 and record["augmented"]["functional"] == 8
    examples = json.loads((run_dir / "augmented_epoch1.json").read_text())["examples"]
    assert examples and all(before != after for before, after in examples)
    assert any(after.startswith("template: toxic=") for _, after in examples)
    assert any(after.startswith("functional: toxic=") and "insult=" in after for _, after in examples)
    assert "epoch 1 augmentation:" in out.stdout


@pytest.mark.train
@pytest.mark.slow
def test_the_run_keeps_the_better_of_its_live_and_averaged_weights(container_run):
    _, run_dir = container_run
    (record,) = json.loads((run_dir / "history.json").read_text())
    kept, other = (("live", "average"), ("average", "live"))[record["weights"] == "average"]
    assert record["val"] == record[f"val_{kept}"]
    assert record[f"val_{kept}"]["score"] >= record[f"val_{other}"]["score"]
    assert json.loads((run_dir / "metrics.json").read_text())["weights"] == kept


REEXPORTS = {  # the run exported twice more, as train.export.export options
    "unfused": "fused=False, signed_weights=True, profile_texts=100",
    "static": "static=True, calibration_texts=32, profile_texts=100",
}


@pytest.fixture(scope="module")
def reexports(container_run, train_python, tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """The run exported again, once per entry of REEXPORTS, in one training-environment process (torch is
    imported once): per name, the output folder and the sorted op types of the int8 graph it wrote."""
    _, run_dir = container_run
    root = tmp_path_factory.mktemp("reexports")
    code = "import onnx; from train.export import export\n" + "".join(
        f"export({str(run_dir)!r}, {str(root / name)!r}, strict=False, {options})\n"
        f"print({name!r}, sorted({{n.op_type for n in onnx.load({str(root / name / 'model.onnx')!r}).graph.node}}))\n"
        for name, options in REEXPORTS.items()
    )
    run = subprocess.run(
        [str(train_python), "-c", code], capture_output=True, text=True, cwd=REPO, timeout=900
    )
    assert run.returncode == 0, run.stderr[-3000:]
    printed = dict(
        line.split(" ", 1) for line in run.stdout.splitlines() if line.split(" ", 1)[0] in REEXPORTS
    )
    return {name: (root / name, printed[name]) for name in REEXPORTS}


@pytest.mark.train
@pytest.mark.slow
def test_the_run_exports_unfused_with_s8_weights(reexports, train_python):
    """The export without fusions (the default export, above, is fused) and with s8 weights (the default is u8):
    the graph as Optimum wrote it, then int8, then serving."""
    out, ops = reexports["unfused"]
    assert "Attention" not in ops and "SkipLayerNormalization" not in ops and "MatMulInteger" in ops, ops
    meta = json.loads((out / "toxic.json").read_text())
    assert meta["graph"] == "as exported" and "s8 weights" in meta["quantization"]
    code = (
        "import onnx; from onnx import TensorProto as T; m = onnx.load('model.onnx'); "
        "w = {t.name: t.data_type for t in m.graph.initializer}; "
        "print(sorted({T.DataType.Name(w[n.input[1]]) for n in m.graph.node if n.op_type == 'MatMulInteger' "
        "and n.input[1] in w}))"  # the weights; attention's own products quantize both inputs on the fly
    )
    dtypes = subprocess.run(
        [str(train_python), "-c", code], capture_output=True, text=True, cwd=out, check=True
    )
    assert dtypes.stdout.strip() == "['INT8']", dtypes.stdout
    from toxic import Classifier

    clf = Classifier.load(out)
    assert clf.labels == LABELS and clf.predict_proba(["you stupid idiot", "hello"]).shape == (2, len(LABELS))
    assert set(meta["attributes"].values()) == set(LABELS)
    assert len(pd.read_parquet(out / "reference.parquet")) == 100


@pytest.mark.train
@pytest.mark.slow
def test_the_run_exports_static_int8(reexports):
    """Static int8: activation ranges calibrated on training tweets, so a text scores the same alone or in any
    batch (dynamic int8 moves scores by up to ~0.1 with the batch)."""
    out, ops = reexports["static"]
    assert "QLinearMatMul" in ops and "DynamicQuantizeLinear" not in ops, ops
    quantization = json.loads((out / "toxic.json").read_text())["quantization"]
    assert quantization.startswith("int8 static") and "of 32 training tweets" in quantization
    texts = ["you stupid idiot", "hello there, how was the weekend?", "ok", "thanks " * 40]
    from toxic import Classifier

    clf = Classifier.load(out)
    batched = clf.predict_proba(texts)
    alone = np.array([clf.predict_proba([t])[0] for t in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-6)


@pytest.mark.train
def test_push_to_hub_without_a_token_fails_before_training(train_python, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)  # and HF_HOME is this test's own: no saved token
    command = [
        str(train_python),
        "-m",
        "train.train",
        "--push-to-hub",
        "toxic-org/x",
        "--run-dir",
        str(tmp_path),
    ]
    out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode != 0 and "--push-to-hub toxic-org/x: no Hugging Face token" in out.stderr, (
        out.stderr
    )
    assert not (tmp_path / "config.json").exists()  # nothing trained, nothing written


def soup_cli(train_python: Path, *args) -> subprocess.CompletedProcess:
    command = [str(train_python), "-m", "train.soup", *map(str, args), "--threads", "1"]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)


@pytest.mark.train
@pytest.mark.slow
def test_two_runs_of_one_seed_average_into_a_soup_that_exports(container_run, train_python, tmp_path):
    """The run and a copy with moved weights: the soup holds their mean, scores it on val, and exports."""
    _, run_dir = container_run
    a, b, soup = tmp_path / "a", tmp_path / "b", tmp_path / "soup"
    for d in (a, b):
        shutil.copytree(run_dir, d, ignore=shutil.ignore_patterns("onnx"))
    code = f"""
import json, torch
from safetensors.torch import load_file, save_file
path = {str(b / "checkpoint" / "model.safetensors")!r}
torch.manual_seed(0)
state = {{k: t + 0.01 * torch.randn_like(t) if t.is_floating_point() else t for k, t in load_file(path).items()}}
save_file(state, path, metadata={{"format": "pt"}})
print(json.dumps({{"tensors": len(state)}}))
"""
    assert train_json(train_python, code)["tensors"] > 50
    out = soup_cli(train_python, soup, a, b)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "soup of 2 runs, val macro-F1 at tuned thresholds" in out.stdout
    check = f"""
import json, torch
from safetensors.torch import load_file
a, b, s = (load_file(f"{{d}}/checkpoint/model.safetensors") for d in {[str(a), str(b), str(soup)]!r})
floats = [k for k in a if a[k].is_floating_point()]
print(json.dumps({{
    "mean": all(torch.allclose(s[k], (a[k] + b[k]) / 2, atol=1e-6) for k in floats),
    "moved": all(not torch.equal(s[k], a[k]) for k in floats),
    "ints": all(torch.equal(s[k], a[k]) for k in a if k not in floats),
}}))
"""
    assert train_json(train_python, check) == {"mean": True, "moved": True, "ints": True}
    metrics = json.loads((soup / "metrics.json").read_text())
    assert metrics["weights"] == "soup" and set(metrics["thresholds"]) == set(LABELS)
    assert (
        json.loads((soup / "config.json").read_text())["seed"]
        == json.loads((a / "config.json").read_text())["seed"]
    )
    assert [i["run"] for i in json.loads((soup / "run.json").read_text())["soup"]] == [str(a), str(b)]

    code = (
        f"import json; from train.export import export; "
        f"print(json.dumps({{'onnx': str(export({str(soup)!r}, strict=False, profile_texts=100))}}))"
    )
    assert train_json(train_python, code) == {"onnx": str(soup / "onnx")}
    from toxic import Classifier

    clf = Classifier.load(soup / "onnx")
    assert clf.predict_proba(["you stupid idiot", "hello"]).shape == (2, len(LABELS))


@pytest.mark.train
@pytest.mark.slow
def test_a_soup_refuses_runs_it_cannot_average(container_run, train_python, tmp_path):
    _, run_dir = container_run
    other = tmp_path / "other-seed"
    shutil.copytree(run_dir, other, ignore=shutil.ignore_patterns("onnx"))
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "seed": config["seed"] + 1}))
    cases = {
        (tmp_path / "s1", run_dir, other): "start from different classifier heads; pass --any-seed",
        (tmp_path / "s2", run_dir): "a soup needs at least two runs",
        (other, run_dir, other): "is one of the ingredients",
        (tmp_path / "s3", run_dir, tmp_path): "is not a finished training run: config.json is missing",
    }
    for args, message in cases.items():
        out = soup_cli(train_python, *args)
        assert out.returncode != 0 and message in out.stderr, out.stderr[-2000:]
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "s1").exists()
