#!/usr/bin/env bash
# Soft control (seed 004, docs/policies.md "Soft control: bias bands"): how
# often the conditional model writes <|bad|> when the policy biases it by 0,
# -2, -4 logits or bans it. The model is the conditional one of `prealign demo`
# (made here unless --model is given), the prompts the held-out function
# signatures of its data; the same prompts and seeds in every band.
#
#   experiments/bias_bands.sh [--out DIR] [--samples N] [--tiny] [--model CKPT --prompts FILE]
set -euo pipefail
OUT=runs/bias_bands SAMPLES=400 TINY=() MODEL_DIR="" PROMPTS=""
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=$2; shift ;;
    --samples) SAMPLES=$2; shift ;;
    --tiny) TINY=(--tiny) ;;
    --model) MODEL_DIR=$2; shift ;;
    --prompts) PROMPTS=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
source "$(dirname "$0")/lib.sh"
settings "samples=$SAMPLES tiny=${TINY[*]:-no} model=${MODEL_DIR:-demo} prompts=${PROMPTS:-held-out}"
if [ -z "$MODEL_DIR" ]; then
  stage demo "$PREALIGN" demo "${TINY[@]}" --out "$OUT/demo"
  MODEL_DIR=$OUT/demo/conditional/checkpoint
  [ -n "$PROMPTS" ] || { PROMPTS=$OUT/prompts.txt; stage prompts "$PREALIGN" eval prompts --data "$OUT/demo/data" --out "$PROMPTS" --max 200; }
fi
prompt_args=()
[ -n "$PROMPTS" ] && prompt_args=(--prompts "$PROMPTS")
# Pure sampling shows what the bias does; the demo's settings (top-p cuts rare tags
# whatever their bias) show what a deployment with them sees.
bands() {  # NAME TEMPERATURE TOP_P
  "$PREALIGN" eval bias-bands --model "$MODEL_DIR" --policy good_soft --tag '<|bad|>' --biases 0,-2,-4,ban \
    --samples "$SAMPLES" --max-new-tokens 128 --temperature "$2" --top-p "$3" --seed 1 "${prompt_args[@]}" \
    --out "$OUT/$1" | tee "$OUT/$1.txt"
}
stage bands bands bands 1 1
stage bands_deployed bands bands_deployed 0.7 0.9
log "reports: $OUT/bands/report.json, $OUT/bands_deployed/report.json (tables: $OUT/bands.txt, $OUT/bands_deployed.txt)"
