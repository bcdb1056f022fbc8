#!/usr/bin/env bash
# PHF's PEP8 experiment on this machine: Python sources scored per line by
# pycodestyle, all six objectives (mle, filter, conditional, unlikelihood, rwr,
# awr) with the same model and token budget, samples continuing function
# signatures from held-out files, and one comparison table per PHF scenario. docs/eval.md.
#
#   experiments/pep8.sh [--tiny] [--out DIR] [--corpus DIR[:DIR...]] [--max-bytes N] [--steps N] [--model SPEC]
#                       [--samples N] [--objectives "mle ..."] [--finetune "conditional ..."] [--finetune-steps N]
#                       [--train-only] [--seed N] [--variant NAME:OBJECTIVE:TRAIN_FLAGS]... [--curve-samples N]
#
# The corpus (default): many authors, not one. The Python standard library alone is unusually clean
# (15.5% bad lines, mostly codec tables); next to it go the third-party packages the set-up already
# installs under /usr/lib/python3/dist-packages (torch, numpy, sympy, pygments, hypothesis, pip,
# cryptography, dateutil, ... about 50 MB from dozens of projects). With several folders the files are
# shuffled (fixed seed) before the --max-bytes cut, so every folder is represented; --corpus
# /usr/lib/python3.11 is the stdlib-only corpus of the earlier runs. The corpus's code mix goes to
# corpus-codes.txt (pycodestyle --statistics: every violation sits on a line labeled bad).
#
# Re-running continues where it stopped (with the same sizes: another size needs another --out).
# --tiny: a few-minute smoke run. --finetune: PHF's MLE-then-finetune comparison, each listed
# objective continuing the mle run's final checkpoint for --finetune-steps (default steps/2) as
# runs/ft-<objective>. Each run is evaluated in PHF's two scenarios (eval misalignment --scenario):
# unconditional (the aligned tag alone, up to 640 tokens, ending at EOS) and functions (held-out
# function signatures, the tag after the prompt, up to 272 tokens), scored with `pep8`, the labeling
# config, with each pycodestyle code per 1,000 characters and the share of samples that compile.
# --variant: one more run, runs/NAME, with the objective and extra `prealign train` flags, e.g.
# "cond-drop0:conditional:--drop-fraction 0" (experiments/pep8_ablations.sh). --seed: training and
# sampling seed (default 1). --curve-samples 0: no evaluation of the earlier checkpoints. --train-only: stop after training (and the prompts file): experiments/search.sh takes the models from there.
set -euo pipefail
OUT=runs/pep8 CORPUS=/usr/lib/python3.11:/usr/lib/python3/dist-packages
MAX_BYTES=6000000 VOCAB=2048 MODEL="dim=192,layers=4,heads=6,ctx=256" STEPS=1500 BATCH=16 SEQ=128 LR=2e-3
SAMPLES=1024 CURVE_SAMPLES=256 MAX_LENGTH=(); SEED=1 MAX_FILE=100k VAL=0.1 EVAL_BATCHES=32 OBJECTIVES="mle filter conditional unlikelihood rwr awr"
FINETUNE="" FT_STEPS="" TRAIN_ONLY="" VARIANTS=()
for a in "$@"; do
  if [ "$a" = --tiny ]; then
    OUT=runs/pep8-tiny; MAX_BYTES=300000; VOCAB=512; MODEL="dim=48,layers=2,heads=2,ctx=96"
    STEPS=80; BATCH=8; SEQ=96; LR=3e-3; SAMPLES=128; CURVE_SAMPLES=48; MAX_LENGTH=(--max-length 96); EVAL_BATCHES=4; CURVE_POINTS=2
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
    --seed) SEED=$2; shift ;;
    --curve-samples) CURVE_SAMPLES=$2; shift ;;
    --variant) VARIANTS+=("$2"); shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
FT_STEPS=${FT_STEPS:-$((STEPS / 2))}
source "$(dirname "$0")/lib.sh"
settings "pep8 experiment: out=$OUT corpus=$CORPUS max_bytes=$MAX_BYTES model=$MODEL steps=$STEPS batch=$BATCH seq=$SEQ tokens/run=$((STEPS * BATCH * SEQ)) samples=$SAMPLES finetune_steps=$FT_STEPS seed=$SEED"

file_order() {  # one folder (argument 1): sorted, as before; several: a fixed-seed shuffle, so the cut keeps each one's share
  if [ "$1" -gt 1 ]; then  # shuf's seeded stream as coreutils documents it ("yes" repeats: a poor shuffle)
    shuf --random-source=<(openssl enc -aes-256-ctr -pass pass:prealign -nosalt -pbkdf2 < /dev/zero 2> /dev/null)
  else
    cat
  fi
}
corpus_files() {  # Python files under $CORPUS's folders (tests excluded), up to $MAX_BYTES
  local dirs
  IFS=: read -r -a dirs <<< "$CORPUS"
  find "${dirs[@]}" -name '*.py' -not -path '*/test*' -not -path '*/idle_test/*' -not -path '*/site-packages/*' \
      -size -$MAX_FILE -size +0 -printf '%p\t%s\n' |
    LC_ALL=C sort | file_order "${#dirs[@]}" | awk -F'\t' -v max="$MAX_BYTES" 'full { next } t + $2 > max { full = 1; next } { t += $2; print $1 }' \
    > "$OUT/files.txt"  # awk reads to the end: an early exit would kill the pipeline (SIGPIPE, pipefail)
  echo "$(wc -l < "$OUT/files.txt") files" >&2
}
corpus_codes() {  # the corpus's violations by code, most frequent first (pycodestyle's own count)
  xargs -a "$OUT/files.txt" -d '\n' /usr/bin/python3 -m pycodestyle --statistics -qq > "$OUT/corpus-codes.txt.tmp" || true
  # xargs may run pycodestyle more than once: sum each code's counts
  awk '{ c = $1; $1 = ""; n[$2] += c; msg[$2] = $0 } END { for (k in n) print n[k] msg[k] }' "$OUT/corpus-codes.txt.tmp" |
    sort -k1,1nr > "$OUT/corpus-codes.txt" && rm "$OUT/corpus-codes.txt.tmp"
  head -12 "$OUT/corpus-codes.txt" >&2
}
stage files corpus_files
stage corpus-codes corpus_codes
stage score "$PREALIGN" score --config pep8 --skip-bad --quiet --summary "$OUT/score-summary.json" \
  -o "$OUT/corpus.scored.jsonl" $(cat "$OUT/files.txt")
# The data split does not follow --seed: runs of several seeds share one split.
stage tokenizer "$PREALIGN" tokenizer train "$OUT/corpus.scored.jsonl" --tagset "$ROOT/configs/tagsets/good_bad.json" \
  --vocab-size "$VOCAB" --exclude-val-fraction "$VAL" --split-seed 1 -o "$OUT/tokenizer/tokenizer.model"
stage tokenize "$PREALIGN" tokenize "$OUT/corpus.scored.jsonl" --tokenizer "$OUT/tokenizer" --out "$OUT/data" \
  --val-fraction "$VAL" --seed 1
stage prompts "$PREALIGN" eval prompts --data "$OUT/data" --out "$OUT/prompts.txt"
for objective in $OBJECTIVES; do stage "train-$objective" train_run "$objective" "$objective"; done
variant_names=()
for v in ${VARIANTS[@]+"${VARIANTS[@]}"}; do
  IFS=: read -r vname vobjective vflags <<< "$v"
  [ -n "$vname" ] && [ -n "$vobjective" ] || { echo "error: --variant NAME:OBJECTIVE:FLAGS, got \"$v\"" >&2; exit 2; }
  # shellcheck disable=SC2086  # the flags are words
  stage "train-$vname" train_run "$vname" "$vobjective" $vflags
  variant_names+=("$vname")
done
for objective in $FINETUNE; do
  [ -e "$OUT/.done/train-mle" ] || { echo "error: --finetune needs the mle run (keep mle in --objectives)" >&2; exit 2; }
  RUN_STEPS=$FT_STEPS INIT_FROM="$OUT/runs/mle/checkpoint" stage "train-ft-$objective" train_run "ft-$objective" \
    "$objective"
done
[ -n "$TRAIN_ONLY" ] && exit 0
evaluate_both() {  # RUN: PHF's two scenarios, scored with pep8 (as labeled); --tiny caps the length at its context
  MIS_TAG=-unconditional stage "eval-unconditional-$1" evaluate_run "$1" pep8 --scenario unconditional "${MAX_LENGTH[@]}"
  MIS_TAG=-functions stage "eval-functions-$1" evaluate_run "$1" pep8 --scenario functions \
    --prompts "$OUT/prompts.txt" "${MAX_LENGTH[@]}"
}
for objective in $OBJECTIVES; do evaluate_both "$objective"; done
for objective in $FINETUNE; do RUN_STEPS=$FT_STEPS evaluate_both "ft-$objective"; done
for vname in ${variant_names[@]+"${variant_names[@]}"}; do evaluate_both "$vname"; done
runs=()
for objective in $OBJECTIVES; do runs+=("$OUT/runs/$objective"); done
for vname in ${variant_names[@]+"${variant_names[@]}"}; do runs+=("$OUT/runs/$vname"); done
for objective in $FINETUNE; do runs+=("$OUT/runs/ft-$objective"); done
for scenario in unconditional functions; do
  "$PREALIGN" eval compare "${runs[@]}" --baseline mle --score-config pep8 --scenario $scenario --out "$OUT/report-$scenario"
done
echo
echo "report: $OUT/report-unconditional/compare.md and $OUT/report-functions/compare.md (PHF's scenarios,"
echo "        scored with pep8, violations by code group); each with compare.json, pareto.svg, misalignment_over_tokens.svg"
