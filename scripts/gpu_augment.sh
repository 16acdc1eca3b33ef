#!/usr/bin/env bash
# Issue 6's prepared GPU script (one call on a lent GPU machine through the session's device tool; never run by
# tests; ROUND=1 or 2 picks the list): six augmented training runs side by side on one GPU, each screened where it ran (val F1, bias madlibs,
# obfuscation: scripts/gpu_screen.py), then the two picked runs packed as int8 deltas (scripts/gpu_pack.py) to
# come back for export, calibration and the full suite here (scripts/gpu_unpack.py).
# Needs beside the repo (ignored by git): .gpu/minilm (the packaged backbone, fp16) and .gpu/whl (ftfy wheels).
#   TINY=1 DEVICE=cpu OUT=/tmp/o bash scripts/gpu_augment.sh     # a dry run of the same flow on this CPU
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}; DEVICE=${DEVICE:-cuda}; LIMIT=${RUN_TIMEOUT:-400}; mkdir -p "$OUT" /tmp/logs
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
if ! python3 -c "import ftfy" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONPATH=${PYTHONPATH:-$PWD}
tiny=(); quick=(); [ "${TINY:-0}" = 1 ] && tiny=(--limit 64 --max-steps 2 --limit-val 10) && quick=(--quick)
(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no GPU") | tee "$OUT/log.txt"
common=(--backbone .gpu/minilm --no-export --device "$DEVICE" --threads 2 --batch-size 32 --lr 8e-5)
run() {  # train, then screen, in the background; logs in /tmp/logs
  local name=$1; shift
  ( echo "== $name: $*"; started=$SECONDS
    timeout "$LIMIT" python3 -m train.train "${common[@]}" --run-dir "runs/gpu-$name" "$@" "${tiny[@]}" 2>&1 \
      | tr '\r' '\n' | grep -vE 'it/s|s/it|^\s*$'
    echo "$name trained in $((SECONDS - started)) s"
    python3 scripts/gpu_screen.py "runs/gpu-$name" --json "/tmp/logs/screen-$name.json" "${quick[@]}" 2>&1 | grep -v Warning
  ) >"/tmp/logs/$name.txt" 2>&1 &
}
if [ "${ROUND:-1}" = 1 ]; then  # identity swaps, obfuscation and templates, alone and together
  run aug-a --epochs 2 --augment-identity 0.5 --augment-obfuscate 0.2
  run aug-b --epochs 2 --augment-identity 0.5 --augment-obfuscate 0.2 --augment-templates 3000
  run aug-c --epochs 3 --augment-identity 0.5 --augment-obfuscate 0.2 --augment-templates 3000
  run aug-d --epochs 3 --augment-identity 1.0 --augment-obfuscate 0.3 --augment-templates 6000
  run aug-e --epochs 2 --augment-identity 0.5 --augment-obfuscate 0.2 --augment-templates 3000 --seed 7
  run aug-f --epochs 2 --augment-templates 3000
else  # round 2, after round 1 showed templates do the work and swaps do not help: templates, seeds, schedule
  run aug-g --epochs 2 --augment-templates 6000
  run aug-h --epochs 2 --augment-templates 3000 --augment-obfuscate 0.2
  run aug-i --epochs 3 --augment-templates 3000
  run aug-j --epochs 2 --augment-templates 3000 --seed 7
  run aug-k --epochs 2 --augment-templates 3000 --seed 13
  run aug-l --epochs 3 --augment-templates 6000 --augment-obfuscate 0.2
fi
wait
cat /tmp/logs/*.txt >>"$OUT/log.txt"
python3 - "$OUT/screen.json" /tmp/logs/screen-*.json <<'PY'
import json, sys
merged = {}
for p in sys.argv[2:]:
    merged.update(json.load(open(p)))
json.dump(merged, open(sys.argv[1], "w"), indent=2)
PY
picked=$(python3 -c "
import json, sys; sys.path.insert(0, 'scripts')
from gpu_screen import pick
print(' '.join(pick(json.load(open('$OUT/screen.json')), 2)))")
echo "picked: $picked" | tee -a "$OUT/log.txt"
# shellcheck disable=SC2086
[ -n "$picked" ] && python3 scripts/gpu_pack.py "$OUT" $picked --delta .gpu/minilm 2>&1 | tee -a "$OUT/log.txt"
ls -la "$OUT"
