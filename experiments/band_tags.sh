#!/usr/bin/env bash
# Band tags steer a model (seed 004's metadata bands, trained): Debian changelog entries, each with
# its year as a numeric field (experiments/changelog_entries.py; every 10th package held out whole),
# labeled with the year's band tag from configs/tagsets/year_bands.json (five bands, after BOS) and
# nothing else, so the text carries no inline tag. One conditional model is trained on that. Then
# every held-out entry, cut right before its trailer's year (" -- Name <mail>  Day, DD Mon "), is
# given to the model after each band's tag (generate --context-tags, policy none), and the year it
# writes is read back. The table (<out>/bands.md, bands.json): for each requested band, where the
# written years fall, the share inside the requested band [95% Wilson CI], against the share of
# entries whose own year is in that band (what the entry's text says) and the share of answers that
# follow the entry's own year instead of the tag. experiments/check_report.py bands recounts it.
#
#   experiments/band_tags.sh [--tiny] [--out DIR] [--steps N] [--model SPEC] [--samples N] [--max-bytes N]
# Re-running continues where it stopped.
set -euo pipefail
OUT=runs/band-tags MAX_BYTES=4000000 VOCAB=2048 MODEL="dim=128,layers=4,heads=4,ctx=256" STEPS=600 BATCH=16
SEQ=256 LR=2e-3 SAMPLES=1000 SEED=1 VAL=0.1 EVAL_BATCHES=16
for a in "$@"; do
  if [ "$a" = --tiny ]; then
    OUT=runs/band-tags-tiny MAX_BYTES=300000 VOCAB=512 MODEL="dim=48,layers=2,heads=2,ctx=160" STEPS=80 BATCH=8
    SEQ=160 LR=3e-3 SAMPLES=16 EVAL_BATCHES=4
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
settings "band tags experiment: out=$OUT max_bytes=$MAX_BYTES model=$MODEL steps=$STEPS batch=$BATCH seq=$SEQ samples=$SAMPLES"
BANDS="$ROOT/configs/tagsets/year_bands.json"

corpus() {
  /usr/bin/python3 "$HERE/changelog_entries.py" --max-bytes "$MAX_BYTES" --heldout "$OUT/heldout.jsonl" \
    > "$OUT/corpus.jsonl.tmp"
  mv "$OUT/corpus.jsonl.tmp" "$OUT/corpus.jsonl"
}
labeling() {  # the year band of every entry after BOS, and no rule: no tag inside the text
  printf '{"rules": [],\n "bands": [{"field": "year", "tagset": "%s", "category": "year"}]}\n' \
    "$BANDS" > "$OUT/labeling.json"
}
stage corpus corpus
# the conditional objective lays out a scored corpus; pii is the cheapest scorer, and with no rule its scores go unused
stage score "$PREALIGN" score --config pii --quiet -o "$OUT/corpus.scored.jsonl" "$OUT/corpus.jsonl"
stage labeling labeling
stage label "$PREALIGN" label "$OUT/corpus.scored.jsonl" --config "$OUT/labeling.json" --report "$OUT/label-report.json"
stage tokenizer "$PREALIGN" tokenizer train "$OUT/corpus.scored.jsonl" --tagset "$ROOT/configs/tagsets/good_bad.json" \
  --tagset "$BANDS" --vocab-size "$VOCAB" --exclude-val-fraction "$VAL" --split-seed 1 -o "$OUT/tokenizer/tokenizer.model"
stage tokenize "$PREALIGN" tokenize "$OUT/corpus.scored.jsonl" --tokenizer "$OUT/tokenizer" --out "$OUT/data" \
  --val-fraction "$VAL" --seed 1
stage train-conditional train_run conditional conditional --labeling "$OUT/labeling.json"

prompts() {  # the first SAMPLES held-out entries whose prompt surely fits the context with BOS, the band tag and
  # 10 new tokens (the year and the time after it): a token holds at least one byte (byte fallback: exactly one), so bytes + 1 bound the tokens
  local ctx=${MODEL##*ctx=}
  /usr/bin/python3 -c '
import json, sys
budget, samples = int(sys.argv[1]) - 13, int(sys.argv[2])
kept = skipped = 0
for line in sys.stdin:
    if kept == samples:
        break
    if len(json.loads(line)["prompt"].encode()) > budget:
        skipped += 1
        continue
    sys.stdout.write(line)
    kept += 1
print(f"prompts: {kept} held-out entries ({skipped} longer than {budget} bytes)", file=sys.stderr)
' "${ctx%%,*}" "$SAMPLES" < "$OUT/heldout.jsonl" > "$OUT/prompts.jsonl.tmp"
  mv "$OUT/prompts.jsonl.tmp" "$OUT/prompts.jsonl"
}
stage prompts prompts
sample_band() {  # BAND: every prompt, asked for its year after BAND's tag
  "$PREALIGN" generate --model "$OUT/runs/conditional/checkpoint" --context-tags "$1" --policy none --json \
    --prompts "$OUT/prompts.jsonl" --max-new-tokens 10 --temperature 1 --seed "$SEED" > "$OUT/samples/$1.jsonl.tmp"
  mv "$OUT/samples/$1.jsonl.tmp" "$OUT/samples/$1.jsonl"
}
mkdir -p "$OUT/samples"
for band in $(/usr/bin/python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(open(sys.argv[1]))["tags"]))' "$BANDS"); do
  stage "sample-$band" sample_band "$band"
done
/usr/bin/python3 "$HERE/band_tags_report.py" "$OUT" --tagset "$BANDS"
