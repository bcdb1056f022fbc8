#!/usr/bin/env bash
# Tag-pruned search (seed 004) against sampling, best-of-N and plain beam search,
# on a conditional PEP8 model trained here: the same held-out function
# signatures (methods' too), the same width N for every search, outputs scored by pycodestyle
# as eval misalignment scores them. docs/search.md.
#
#   experiments/search.sh [--tiny] [--out DIR] [--width N] [--prompts N] [--new-tokens N]
#                         [--prune T] [--penalty L] [--max-bytes N] [--steps N] [--model SPEC]
#
# The model comes from experiments/pep8.sh --objectives conditional --train-only
# (in DIR/pep8, resumable); then `prealign eval search` writes DIR/search.json, its
# samples and DIR/search.json.md, the table. --tiny: a smoke run of a few minutes.
set -euo pipefail
OUT=runs/search MAX_BYTES=1500000 MODEL="dim=128,layers=2,heads=4,ctx=128" STEPS=500
WIDTH=4 PROMPTS=200 NEW_TOKENS=48 PRUNE=0.5 PENALTY=1 SEED=1 TINY=()
for a in "$@"; do
  if [ "$a" = --tiny ]; then
    OUT=runs/search-tiny; MAX_BYTES=300000; MODEL="dim=48,layers=2,heads=2,ctx=96"; STEPS=80
    WIDTH=2; PROMPTS=8; NEW_TOKENS=16; TINY=(--tiny)
  fi
done
while [ $# -gt 0 ]; do  # explicit flags win over --tiny's sizes
  case $1 in
    --tiny) ;;
    --out) OUT=$2; shift ;;
    --width) WIDTH=$2; shift ;;
    --prompts) PROMPTS=$2; shift ;;
    --new-tokens) NEW_TOKENS=$2; shift ;;
    --prune) PRUNE=$2; shift ;;
    --penalty) PENALTY=$2; shift ;;
    --max-bytes) MAX_BYTES=$2; shift ;;
    --steps) STEPS=$2; shift ;;
    --model) MODEL=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
source "$(dirname "$0")/lib.sh"
settings "search experiment: out=$OUT max_bytes=$MAX_BYTES model=$MODEL steps=$STEPS width=$WIDTH prompts=$PROMPTS new_tokens=$NEW_TOKENS prune=$PRUNE penalty=$PENALTY"

# The conditional model, its tokenizer and the held-out signatures: pep8.sh's stages.
stage model "$ROOT/experiments/pep8.sh" "${TINY[@]}" --out "$OUT/pep8" --max-bytes "$MAX_BYTES" --model "$MODEL" \
  --steps "$STEPS" --objectives conditional --train-only
# Prompts: every held-out def line, methods included, dedented to top level (the top-level
# signatures alone are a handful at this corpus size), distinct.
prompts() {
  "$PREALIGN" eval prompts --data "$OUT/pep8/data" --match '^\s*def .*\):\s*$' --out "$OUT/prompts-indented.txt"
  sed 's/^[[:space:]]*//' "$OUT/prompts-indented.txt" | awk '!seen[$0]++' > "$OUT/prompts.txt"
  echo "$(wc -l < "$OUT/prompts.txt") prompts" >&2
}
stage prompts prompts
# Every search on the same prompts with the same width; tag-* prune at PRUNE (good_only flags <|bad|> at 0.5)
# and subtract PENALTY x the summed temptation.
stage search "$PREALIGN" eval search --model "$OUT/pep8/runs/conditional/checkpoint" --score-config pep8 \
  --prompts "$OUT/prompts.txt" --max-prompts "$PROMPTS" --width "$WIDTH" --max-new-tokens "$NEW_TOKENS" \
  --prune-temptation "$PRUNE" --temptation-penalty "$PENALTY" --seed "$SEED" --out "$OUT/search.json"
echo
cat "$OUT/search.json.md"
echo
echo "table: $OUT/search.json.md (report $OUT/search.json, outputs $OUT/search.json.samples.jsonl)"
