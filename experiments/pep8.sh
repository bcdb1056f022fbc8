#!/usr/bin/env bash
# PHF's PEP8 experiment on this machine: Python sources scored per line by
# pycodestyle, all six objectives (mle, filter, conditional, unlikelihood, rwr,
# awr) with the same model and token budget, samples continuing function
# signatures from held-out files, and one comparison table. docs/eval.md.
#
#   experiments/pep8.sh [--tiny] [--out DIR] [--corpus DIR] [--max-bytes N] [--steps N] [--model SPEC]
#                       [--samples N] [--objectives "mle ..."] [--finetune "conditional ..."] [--finetune-steps N]
#                       [--train-only]
#
# Re-running continues where it stopped (with the same sizes: another size needs another --out).
# --tiny: a few-minute smoke run. --finetune: PHF's MLE-then-finetune comparison, each listed
# objective continuing the mle run's final checkpoint for --finetune-steps (default steps/2) as
# runs/ft-<objective>. Samples are scored twice: with `pep8`, the labeling config, and with
# `pep8_untruncated`, which ignores the codes that count where a sample was cut (docs/eval.md).
# --train-only: stop after training (and the prompts file): experiments/search.sh takes the models from there.
set -euo pipefail
OUT=runs/pep8 CORPUS=/usr/lib/python3.11
MAX_BYTES=6000000 VOCAB=2048 MODEL="dim=192,layers=4,heads=6,ctx=256" STEPS=1500 BATCH=16 SEQ=128 LR=2e-3
SAMPLES=1024 CURVE_SAMPLES=256 NEW_TOKENS=128 SEED=1 MAX_FILE=100k VAL=0.1 EVAL_BATCHES=32 OBJECTIVES="mle filter conditional unlikelihood rwr awr"
FINETUNE="" FT_STEPS="" TRAIN_ONLY=""
for a in "$@"; do
  if [ "$a" = --tiny ]; then
    OUT=runs/pep8-tiny; MAX_BYTES=300000; VOCAB=512; MODEL="dim=48,layers=2,heads=2,ctx=96"
    STEPS=80; BATCH=8; SEQ=96; LR=3e-3; SAMPLES=128; CURVE_SAMPLES=48; NEW_TOKENS=48; EVAL_BATCHES=4; CURVE_POINTS=2
    MAX_FILE=12k; VAL=0.2
  fi
done
while [ $# -gt 0 ]; do  # explicit flags win over --tiny's sizes
  case $1 in
    --tiny) ;;
    --out) OUT=$2; shift ;;
    --corpus) CORPUS=$2; shift ;;
    --max-bytes) MAX_BYTES=$2; shift ;;
    --steps) STEPS=$2; shift ;;
    --model) MODEL=$2; shift ;;
    --samples) SAMPLES=$2; shift ;;
    --objectives) OBJECTIVES=$2; shift ;;
    --finetune) FINETUNE=$2; shift ;;
    --finetune-steps) FT_STEPS=$2; shift ;;
    --train-only) TRAIN_ONLY=1 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
FT_STEPS=${FT_STEPS:-$((STEPS / 2))}
source "$(dirname "$0")/lib.sh"
settings "pep8 experiment: out=$OUT corpus=$CORPUS max_bytes=$MAX_BYTES model=$MODEL steps=$STEPS batch=$BATCH seq=$SEQ tokens/run=$((STEPS * BATCH * SEQ)) samples=$SAMPLES finetune_steps=$FT_STEPS"

corpus_files() {  # Python files under $CORPUS (tests excluded), sorted, up to $MAX_BYTES
  find "$CORPUS" -name '*.py' -not -path '*/test*' -not -path '*/idle_test/*' -size -$MAX_FILE -size +0 -printf '%p\t%s\n' |
    LC_ALL=C sort | awk -F'\t' -v max="$MAX_BYTES" '{ if (t + $2 > max) exit; t += $2; print $1 }' > "$OUT/files.txt"
  echo "$(wc -l < "$OUT/files.txt") files" >&2
}
stage files corpus_files
stage score "$PREALIGN" score --config pep8 --skip-bad --quiet --summary "$OUT/score-summary.json" \
  -o "$OUT/corpus.scored.jsonl" $(cat "$OUT/files.txt")
stage tokenizer "$PREALIGN" tokenizer train "$OUT/corpus.scored.jsonl" --tagset "$ROOT/configs/tagsets/good_bad.json" \
  --vocab-size "$VOCAB" --exclude-val-fraction "$VAL" --split-seed "$SEED" -o "$OUT/tokenizer/tokenizer.model"
stage tokenize "$PREALIGN" tokenize "$OUT/corpus.scored.jsonl" --tokenizer "$OUT/tokenizer" --out "$OUT/data" \
  --val-fraction "$VAL" --seed "$SEED"
stage prompts "$PREALIGN" eval prompts --data "$OUT/data" --out "$OUT/prompts.txt"
for objective in $OBJECTIVES; do stage "train-$objective" train_run "$objective" "$objective"; done
for objective in $FINETUNE; do
  [ -e "$OUT/.done/train-mle" ] || { echo "error: --finetune needs the mle run (keep mle in --objectives)" >&2; exit 2; }
  RUN_STEPS=$FT_STEPS INIT_FROM="$OUT/runs/mle/checkpoint" stage "train-ft-$objective" train_run "ft-$objective" \
    "$objective"
done
[ -n "$TRAIN_ONLY" ] && exit 0
evaluate_both() {  # RUN: its samples scored with pep8 (as labeled) and pep8_untruncated
  stage "eval-$1" evaluate_run "$1" pep8 --prompts "$OUT/prompts.txt"
  MIS_TAG=-untruncated stage "eval-untruncated-$1" evaluate_run "$1" pep8_untruncated --prompts "$OUT/prompts.txt"
}
for objective in $OBJECTIVES; do evaluate_both "$objective"; done
for objective in $FINETUNE; do RUN_STEPS=$FT_STEPS evaluate_both "ft-$objective"; done
runs=()
for objective in $OBJECTIVES; do runs+=("$OUT/runs/$objective"); done
for objective in $FINETUNE; do runs+=("$OUT/runs/ft-$objective"); done
"$PREALIGN" eval compare "${runs[@]}" --baseline mle --score-config pep8 --out "$OUT/report"
"$PREALIGN" eval compare "${runs[@]}" --baseline mle --score-config pep8_untruncated --out "$OUT/report-untruncated"
echo
echo "report: $OUT/report/compare.md (samples scored with pep8, the labeling config) and"
echo "        $OUT/report-untruncated/compare.md (pep8_untruncated); each with compare.json, pareto.svg, misalignment_over_tokens.svg"
