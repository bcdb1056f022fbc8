#!/usr/bin/env bash
# Band tags steer a model (seed 004's metadata bands, trained): Debian changelog entries, each with
# its year as a numeric field (experiments/changelog_entries.py), labeled with pii's good/bad rule
# plus the year's band tag from configs/tagsets/year_bands.json (five bands, after BOS). One
# conditional model is trained on that; then for every band, N samples start after the band's tag
# (generate --context-tags, policy good_only) and the year the model writes into its entry's
# trailer is read back. The table (<out>/bands.md, bands.json): for each requested band, where the
# written years fall, the share inside the requested band [95% Wilson CI] against that band's share
# of the held-out entries (what an unsteered model would write). A diagonal well above the
# corpus share is steering; experiments/check_report.py bands recounts it from the samples.
#
#   experiments/band_tags.sh [--tiny] [--out DIR] [--steps N] [--model SPEC] [--samples N] [--max-bytes N]
# Re-running continues where it stopped.
set -euo pipefail
OUT=runs/band-tags MAX_BYTES=4000000 VOCAB=2048 MODEL="dim=128,layers=4,heads=4,ctx=256" STEPS=600 BATCH=16
SEQ=256 LR=2e-3 SAMPLES=200 NEW_TOKENS=200 SEED=1 VAL=0.1 EVAL_BATCHES=16
for a in "$@"; do
  if [ "$a" = --tiny ]; then
    OUT=runs/band-tags-tiny MAX_BYTES=300000 VOCAB=512 MODEL="dim=48,layers=2,heads=2,ctx=160" STEPS=80 BATCH=8
    SEQ=160 LR=3e-3 SAMPLES=16 NEW_TOKENS=100 EVAL_BATCHES=4
  fi
done
while [ $# -gt 0 ]; do  # explicit flags win over --tiny's sizes
  case $1 in
    --tiny) ;;
    --out) OUT=$2; shift ;;
    --steps) STEPS=$2; shift ;;
    --model) MODEL=$2; shift ;;
    --samples) SAMPLES=$2; shift ;;
    --max-bytes) MAX_BYTES=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
settings "band tags experiment: out=$OUT max_bytes=$MAX_BYTES model=$MODEL steps=$STEPS batch=$BATCH seq=$SEQ samples=$SAMPLES new_tokens=$NEW_TOKENS"
BANDS="$ROOT/configs/tagsets/year_bands.json"

corpus() {
  /usr/bin/python3 "$HERE/changelog_entries.py" --max-bytes "$MAX_BYTES" > "$OUT/corpus.jsonl.tmp"
  mv "$OUT/corpus.jsonl.tmp" "$OUT/corpus.jsonl"
}
labeling() {  # pii's rule as in experiments/pii.sh, and the year band of every entry after BOS
  printf '{"rules": [{"category": "pii", "threshold": 0}],\n "bands": [{"field": "year", "tagset": "%s", "category": "year"}]}\n' \
    "$BANDS" > "$OUT/labeling.json"
}
stage corpus corpus
stage score "$PREALIGN" score --config pii --quiet -o "$OUT/corpus.scored.jsonl" "$OUT/corpus.jsonl"
stage labeling labeling
stage label "$PREALIGN" label "$OUT/corpus.scored.jsonl" --config "$OUT/labeling.json" --report "$OUT/label-report.json"
stage tokenizer "$PREALIGN" tokenizer train "$OUT/corpus.scored.jsonl" --tagset "$ROOT/configs/tagsets/good_bad.json" \
  --tagset "$BANDS" --vocab-size "$VOCAB" --exclude-val-fraction "$VAL" --split-seed 1 -o "$OUT/tokenizer/tokenizer.model"
stage tokenize "$PREALIGN" tokenize "$OUT/corpus.scored.jsonl" --tokenizer "$OUT/tokenizer" --out "$OUT/data" \
  --val-fraction "$VAL" --seed 1
stage train-conditional train_run conditional conditional --labeling "$OUT/labeling.json"

sample_band() {  # BAND: SAMPLES entries started after BAND's tag
  "$PREALIGN" generate --model "$OUT/runs/conditional/checkpoint" --context-tags "$1" --policy good_only --json \
    --max-new-tokens "$NEW_TOKENS" --temperature 1 --num-samples "$SAMPLES" --seed "$SEED" > "$OUT/samples/$1.jsonl.tmp"
  mv "$OUT/samples/$1.jsonl.tmp" "$OUT/samples/$1.jsonl"
}
mkdir -p "$OUT/samples"
for band in $(/usr/bin/python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(open(sys.argv[1]))["tags"]))' "$BANDS"); do
  stage "sample-$band" sample_band "$band"
done
/usr/bin/python3 "$HERE/band_tags_report.py" "$OUT" --tagset "$BANDS"
