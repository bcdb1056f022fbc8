#!/usr/bin/env bash
# Ensemble of mode models (docs/modes.md): after experiments/modes.sh, trains two
# more models on the same shards with other seeds, then runs the jailbreak suite
# through `prealign eval ensemble`. Resumable like modes.sh.
#   experiments/modes_ensemble.sh [--tiny] [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
P="${PREALIGN:-$here/build/prealign}"
tiny=0
if [[ "${1:-}" == "--tiny" ]]; then tiny=1; shift; fi
if (( tiny )); then out="${1:-runs/modes-tiny}"; steps=150; jb=8; max_new=64
else out="${1:-runs/modes}"; steps=300; jb=40; max_new=96; fi
[[ -f "$out/model/done" ]] || { echo "run experiments/modes.sh first" >&2; exit 1; }
policy="$here/configs/policies/ai_mode.json"
model=$(python3 -c "import json;print(json.load(open('$out/model/run.json'))['model'])" 2>/dev/null || echo tiny)
for seed in 2 3; do
  if [[ ! -f "$out/model-s$seed/done" ]]; then
    echo "[ensemble] training model seed $seed ($model, $steps steps)"
    "$P" train --data "$out/data" --out "$out/model-s$seed" --model "$model" --steps "$steps" --batch-size 16 \
      --seq-len 256 --lr 2e-3 --eval-every 0 --seed "$seed" --policy "$policy" | tail -1
    touch "$out/model-s$seed/done"
  fi
done
if [[ ! -f "$out/ensemble.json" ]]; then
  "$P" eval ensemble --models "$out/model/checkpoint,$out/model-s2/checkpoint,$out/model-s3/checkpoint" \
    --samples-per-family "$jb" --max-new-tokens "$max_new" --seed 1 --out "$out/ensemble.json"
fi
