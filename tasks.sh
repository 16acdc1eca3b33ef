#!/usr/bin/env bash
# The project's few recipes; the README, .ci/run and the GitHub workflows all call these.
#   ./tasks.sh app      set up the serving environment and run the main job on the embedded model
#   ./tasks.sh test     set up both environments (serving + training) and run the whole test suite
#   ./tasks.sh setup | setup-train | lint | bench
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}; command -v "$PY" >/dev/null || PY=python3
links=(); [ -d /opt/wheels ] && links=(--find-links /opt/wheels)   # where this machine keeps torch's CPU build

venv() {  # venv DIR LOCK...: a virtual environment with exactly the locked packages, plus this repo (editable)
  local dir=$1; shift
  [ -x "$dir/bin/python" ] || "$PY" -m venv "$dir"
  [ -x "$dir/bin/uv" ] || "$dir/bin/python" -m pip install -q uv
  local req=(); for lock in "$@"; do req+=(-r "$lock"); done
  "$dir/bin/uv" pip install -q --python "$dir/bin/python" "${links[@]}" "${req[@]}"
  "$dir/bin/uv" pip install -q --python "$dir/bin/python" --no-deps -e .
}

setup() { venv .venv requirements.lock requirements-dev.lock; }
setup_train() { venv .venv-train train/requirements.lock; }
setup_browser() {
  if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq chromium >/dev/null
  fi
}

case "${1:-}" in
  setup) setup ;;
  setup-train) setup_train ;;
  app)
    setup
    if [ -f app.py ]; then exec .venv/bin/python app.py; fi
    .venv/bin/toxic score examples/comments.csv -o examples/comments.scored.csv
    head -5 examples/comments.scored.csv ;;
  test)
    setup; setup_train; setup_browser
    shift; exec .venv/bin/python -m pytest "$@" ;;
  lint) setup; .venv/bin/ruff check . && .venv/bin/ruff format --check . ;;
  bench) setup; setup_train; .venv/bin/python scripts/benchmark.py ;;
  *) sed -n '2,6p' "$0"; exit 2 ;;
esac
