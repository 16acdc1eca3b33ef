#!/usr/bin/env bash
# Regenerate the five lock files from their .in files (uv pip compile; never edit a .lock by hand).
# torch is pinned to the local CPU build (torch==2.13.0+cpu); --find-links /opt/wheels is where it lies here.
set -euo pipefail
cd "$(dirname "$0")/.."
links=(); [ -d /opt/wheels ] && links=(--find-links /opt/wheels)
uv pip compile requirements.in --python-version 3.11 -o requirements.lock
uv pip compile requirements-dev.in --python-version 3.11 -o requirements-dev.lock
uv pip compile requirements-cloud.in --python-version 3.11 -o requirements-cloud.lock
uv pip compile train/requirements.in --python-version 3.11 "${links[@]}" -o train/requirements.lock
uv pip compile requirements-beam.in --python-version 3.11 -o requirements-beam.lock
