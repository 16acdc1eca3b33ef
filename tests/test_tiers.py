"""Each extra in pyproject.toml installs one tier, so each tier's modules must import with the other tiers'
packages missing: the core (toxic/) with no extra, toxic/serve with the app's only, toxic/monitor and toxic/eval
with their own. An import finder that refuses the other tiers' packages stands for an environment without them."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from tests.conftest import REPO

APP = ["gradio", "gradio_client", "fastapi", "uvicorn", "prometheus_client"]
MONITOR = ["evidently", "pyarrow", "google.cloud", "plotly"]
EVAL = ["sklearn", "scipy", "matplotlib"]
TRAIN = ["torch", "transformers", "optimum", "datasets"]
CORE_MODULES = [
    "toxic",
    "toxic.cli",
    "toxic.classifier",
    "toxic.batch",
    "toxic.explain",
    "toxic.data",
    "toxic.hub",
]

TIERS = {
    "core": (CORE_MODULES, APP + MONITOR + EVAL + TRAIN),
    "app": (
        ["toxic.serve.launch", "toxic.serve.server", "toxic.serve.ui", "toxic.serve.client"],
        MONITOR + EVAL + TRAIN,  # the Drift tab imports the monitor tier's packages at its first use
    ),
    "monitor": (
        ["toxic.monitor.predlog", "toxic.monitor.profile", "toxic.monitor.alert"],
        APP + EVAL + TRAIN,
    ),
    "eval": (["toxic.eval.metrics", "toxic.eval.suite", "toxic.eval.evaluate"], APP + MONITOR + TRAIN),
}


@pytest.mark.parametrize("tier", TIERS)
def test_each_tier_imports_without_the_others(tier):
    modules, hidden = TIERS[tier]
    code = (
        "import importlib, sys\n"
        "class Missing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {hidden!r} or name in {hidden!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Missing())\n"
        f"for module in {modules!r}: importlib.import_module(module)\n"
    )
    if tier == "core":  # the core works (the embedded model scores a text); toxic serve says what to install
        code += "from toxic import Classifier; assert Classifier.load().predict('you idiot')['toxic'] > 0.5\n"
        code += "import contextlib, io; from toxic.cli import main; err = io.StringIO()\n"
        code += "with contextlib.redirect_stderr(err): assert main(['serve']) == 2\n"
        code += "assert \"pip install 'toxic[app,monitor]'\" in err.getvalue(), err.getvalue()\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]


def test_each_extra_names_its_tier():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {"app", "monitor", "eval"} <= set(extras)
    names = {tier: {req.split(">")[0].split("=")[0].split("<")[0] for req in extras[tier]} for tier in extras}
    assert "gradio" in names["app"] and "evidently" in names["monitor"] and "scikit-learn" in names["eval"]
    assert not names["app"] & (names["monitor"] | names["eval"]) and not names["monitor"] & names["eval"]
