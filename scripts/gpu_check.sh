#!/usr/bin/env bash
# The one prepared GPU check, run on a lent GPU machine through the session's device tool (never by tests).
# Measures training samples/s on CUDA (bf16 autocast) vs the CPU, and trains the default config plus a few
# variants on the full training data, bringing back the default run's checkpoint as fp16 parts (gpu_unpack.py).
# Per run on an H200 ~25-80 s an epoch: keep the list short, a call has 10 minutes and a session 15.
# Needs beside the repo (ignored by git): .gpu/minilm (the packaged backbone, fp16) and .gpu/whl (ftfy wheels).
#   TINY=1 DEVICE=cpu OUT=/tmp/o bash scripts/gpu_check.sh     # a dry run of the same flow on this CPU
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}; DEVICE=${DEVICE:-cuda}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
if ! python3 -c "import ftfy" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
fi
tiny=(); [ "${TINY:-0}" = 1 ] && tiny=(--limit 64 --max-steps 2 --limit-val 10 --epochs 1)
(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no GPU") | tee "$OUT/log.txt"
run() {
  local name=$1; shift
  echo "== $name: $*" | tee -a "$OUT/log.txt"
  timeout "${RUN_TIMEOUT:-200}" python3 -m train.train --backbone .gpu/minilm --no-export --run-dir "runs/gpu-$name" "$@" "${tiny[@]}" 2>&1 \
    | tr '\r' '\n' | grep -vE 'it/s|s/it|^\s*$' | tee -a "$OUT/log.txt"
}
# CPU reference: the same steps on this machine's CPU, 2 threads (like the dev box) and all cores.
run cpu2 --device cpu --threads 2 --max-steps 20 --epochs 1 --limit-val 20
run cpu16 --device cpu --max-steps 20 --epochs 1 --limit-val 20
run default --device "$DEVICE" --batch-size 64 --lr 1e-4
run bs32 --device "$DEVICE" --label-smoothing 0
run nosmooth64 --device "$DEVICE" --batch-size 64 --lr 1e-4 --epochs 4 --label-smoothing 0
# Bring back the default run's checkpoint (one fits in a call's 64 MiB); the others' metrics are in the log.
python3 scripts/gpu_pack.py "$OUT" gpu-default
