#!/usr/bin/env bash
# PHF's PII experiment on this machine: Debian changelogs and copyright files
# from /usr/share/doc (real names, e-mail addresses, URLs), scored per sentence
# by the pii scorer; mle, conditional and filter (add more with --objectives)
# with the same model and token budget. Two scenarios: PHF's PII scenario
# (unconditional: the aligned tag alone, up to 128 tokens context included, no
# EOS before 10) and a prompted one in the manner of PHF's pep8 functions
# scenario (held-out changelog entry headers and copyright "Files:" stanzas, the
# tag after the prompt, the same lengths): the lines after a header name the
# entry's author, the line after "Files:" the copyright holders.
# docs/eval.md.
#
#   experiments/pii.sh [--tiny] [--out DIR] [--max-bytes N] [--steps N] [--model SPEC] [--objectives "mle ..."]
#
# Re-running continues where it stopped. --tiny: a 1-2 minute smoke run.
set -euo pipefail
OUT=runs/pii DOC=/usr/share/doc
MAX_BYTES=6000000 VOCAB=2048 MODEL="dim=192,layers=4,heads=6,ctx=256" STEPS=1500 BATCH=16 SEQ=128 LR=2e-3
SAMPLES=1024 CURVE_SAMPLES=256 MAX_LENGTH=128 SEED=1 VAL=0.1 EVAL_BATCHES=32 OBJECTIVES="mle conditional filter"
args=("$@")
for a in "$@"; do
  if [ "$a" = --tiny ]; then
    OUT=runs/pii-tiny; MAX_BYTES=300000; VOCAB=512; MODEL="dim=48,layers=2,heads=2,ctx=96"
    STEPS=80; BATCH=8; SEQ=96; LR=3e-3; SAMPLES=128; CURVE_SAMPLES=48; MAX_LENGTH=64; EVAL_BATCHES=4; CURVE_POINTS=2
  fi
done
while [ $# -gt 0 ]; do  # explicit flags win over --tiny's sizes
  case $1 in
    --tiny) ;;
    --out) OUT=$2; shift ;;
    --max-bytes) MAX_BYTES=$2; shift ;;
    --steps) STEPS=$2; shift ;;
    --model) MODEL=$2; shift ;;
    --samples) SAMPLES=$2; shift ;;
    --objectives) OBJECTIVES=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
source "$(dirname "$0")/lib.sh"
settings "pii experiment: out=$OUT max_bytes=$MAX_BYTES model=$MODEL steps=$STEPS batch=$BATCH seq=$SEQ tokens/run=$((STEPS * BATCH * SEQ)) samples=$SAMPLES"
echo "objectives: $OBJECTIVES"

# One text file per package document: copyright, and the Debian changelog (decompressed), up to MAX_BYTES.
build_corpus() {
  local dir="$OUT/corpus.staging" total=0 f pkg size
  rm -rf "$dir"; mkdir -p "$dir"
  for f in $(ls "$DOC"/*/copyright "$DOC"/*/changelog.Debian.gz 2>/dev/null | LC_ALL=C sort); do
    pkg=$(basename "$(dirname "$f")")
    case $f in
      *.gz) zcat "$f" > "$dir/$pkg.changelog.txt" 2>/dev/null || continue; size=$(stat -c %s "$dir/$pkg.changelog.txt") ;;
      *) cp "$f" "$dir/$pkg.copyright.txt"; size=$(stat -c %s "$f") ;;
    esac
    total=$((total + size))
    [ "$total" -ge "$MAX_BYTES" ] && break
  done
  rm -rf "$OUT/corpus"; mv "$dir" "$OUT/corpus"
  echo "$(ls "$OUT/corpus" | wc -l) documents, $total bytes" >&2
}
stage corpus build_corpus
stage score "$PREALIGN" score --config pii --skip-bad --quiet --summary "$OUT/score-summary.json" \
  -o "$OUT/corpus.scored.jsonl" "$OUT/corpus"
stage tokenizer "$PREALIGN" tokenizer train "$OUT/corpus.scored.jsonl" --tagset "$ROOT/configs/tagsets/good_bad.json" \
  --vocab-size "$VOCAB" --exclude-val-fraction "$VAL" --split-seed "$SEED" -o "$OUT/tokenizer/tokenizer.model"
stage tokenize "$PREALIGN" tokenize "$OUT/corpus.scored.jsonl" --tokenizer "$OUT/tokenizer" --out "$OUT/data" \
  --val-fraction "$VAL" --seed "$SEED"
for objective in $OBJECTIVES; do stage "train-$objective" train_run "$objective" "$objective"; done
# Changelog entry headers ("package (version) distribution; urgency=...") and copyright stanza
# openings ("Files: ...") of the held-out documents: prompts that hold no PII themselves.
stage prompts "$PREALIGN" eval prompts --data "$OUT/data" \
  --match '^([a-z0-9][a-z0-9.+-]* \(.*\) .*; urgency=|Files: )' --out "$OUT/prompts.txt"
for objective in $OBJECTIVES; do
  MIS_TAG=-unconditional stage "eval-unconditional-$objective" evaluate_run "$objective" pii --scenario unconditional \
    --max-length "$MAX_LENGTH"
  MIS_TAG=-functions stage "eval-functions-$objective" evaluate_run "$objective" pii --scenario functions \
    --prompts "$OUT/prompts.txt" --max-length "$MAX_LENGTH"
done
runs=()
for objective in $OBJECTIVES; do runs+=("$OUT/runs/$objective"); done
for scenario in unconditional functions; do
  "$PREALIGN" eval compare "${runs[@]}" --baseline mle --scenario $scenario --out "$OUT/report-$scenario"
done
echo
echo "report: $OUT/report-unconditional/compare.md and $OUT/report-functions/compare.md (prompted with changelog"
echo "        headers); each with compare.json, pareto.svg, misalignment_over_tokens.svg"
