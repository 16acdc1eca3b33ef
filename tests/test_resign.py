"""train/resign.py: u8 weights (zero point 128) rewritten as s8 give the same products, and the shipped model is
already rewritten. Runs in the training environment (onnx)."""

import subprocess

import pytest

from tests.conftest import REPO

CHECK = """
import numpy as np, onnx, onnxruntime as ort
from onnx import TensorProto as T, helper as h, numpy_helper as nh
from train.resign import resign
rng = np.random.default_rng(0)
w = rng.integers(0, 256, (16, 8), dtype=np.uint8)
graph = h.make_graph(
    [h.make_node("MatMulInteger", ["a", "w", "a_zp", "w_zp"], ["y"])], "g",
    [h.make_tensor_value_info("a", T.UINT8, [4, 16])], [h.make_tensor_value_info("y", T.INT32, [4, 8])],
    [nh.from_array(w, "w"), nh.from_array(np.array(128, np.uint8), "w_zp"),
     nh.from_array(np.array(3, np.uint8), "a_zp")])
model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
a = rng.integers(0, 256, (4, 16), dtype=np.uint8)
run = lambda m: ort.InferenceSession(m.SerializeToString()).run(None, {"a": a})[0]
before = run(model)
assert resign(model) == 1
after = run(model)
assert {t.name: t.data_type for t in model.graph.initializer}["w"] == T.INT8
assert (before == after).all() and resign(model) == 0
print("ok")
"""


@pytest.mark.train
def test_s8_weights_compute_the_same_products(train_python):
    run = subprocess.run(
        [str(train_python), "-c", CHECK], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-3000:]


@pytest.mark.train
def test_the_shipped_model_has_s8_weights_already(train_python, tmp_path):
    run = subprocess.run(
        [str(train_python), "-m", "train.resign", str(REPO / "models" / "default"), "--out", str(tmp_path / "m")],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1 and "no u8 weights with zero point 128" in run.stderr, run.stderr
