#!/usr/bin/env bash
# The indentation collapse of docs/eval.md under control: one corpus (the standard library, as in
# the run that showed it), one model size, budget and data split, one or more seeds. Runs: mle,
# conditional (PHF: the tag at the line's start, 10% of lines untagged), conditional with drop
# fraction 0 and 1.0 (1.0 = MLE with the tag rows in the vocabulary), conditional with the tag after
# the line's indentation and at its end (before the newline); --objectives adds others (e.g.
# "unlikelihood awr", which collapsed too without inserting a tag). Each run: how it
# opens a function body after a top-level signature with the tag before the prompt (as before) and
# after the prompt's line (PHF's placement), its held-out loss, and in PHF's functions scenario its
# violations per 1,000 characters by group. One table: <out>/ablations.md.
#
#   experiments/pep8_ablations.sh [--tiny] [--out DIR] [--seeds "1 2"] [--steps N] [--model SPEC]
#                                 [--max-bytes N] [--samples N] [--indent-samples N] [--objectives "..."]
#                                 [--variants "cond-drop0 cond-drop1 cond-after-indent cond-line-end cond-cooldown"]
# cond-cooldown is MeCo's cooldown (the last 10% of steps without tags). Every run that trained with
# tags is also measured without them: PHF's functions scenario under policy none (nothing placed, the
# model free to write any tag; the tags are not scored) and the held-out loss with no tag in the input
# (eval loss --untagged): does good_only still lower violations, and what does dropping tags cost.
# Re-running continues where it stopped.
set -euo pipefail
OUT=runs/pep8-ablations SEEDS="1" STEPS=1500 MODEL="dim=192,layers=4,heads=6,ctx=256" MAX_BYTES=6000000
SAMPLES=256 INDENT_SAMPLES=200 TINY=() OBJECTIVES="mle conditional" MAX_LENGTH=()
VARIANTS="cond-drop0 cond-drop1 cond-after-indent cond-line-end cond-cooldown"
declare -A VARIANT_FLAGS=([cond-drop0]="--drop-fraction 0" [cond-drop1]="--drop-fraction 1"
                         [cond-after-indent]="--tag-position after_indent" [cond-line-end]="--tag-position line_end"
                         [cond-cooldown]="--cooldown-fraction 0.1")
for a in "$@"; do
  if [ "$a" = --tiny ]; then
    OUT=runs/pep8-ablations-tiny; TINY=(--tiny); STEPS=80; MODEL="dim=48,layers=2,heads=2,ctx=96"; MAX_BYTES=300000
    SAMPLES=32; INDENT_SAMPLES=20; MAX_LENGTH=(--max-length 96)  # pep8.sh --tiny's: its model's context
  fi
done
while [ $# -gt 0 ]; do
  case $1 in
    --tiny) ;;
    --out) OUT=$2; shift ;;
    --seeds) SEEDS=$2; shift ;;
    --steps) STEPS=$2; shift ;;
    --model) MODEL=$2; shift ;;
    --max-bytes) MAX_BYTES=$2; shift ;;
    --samples) SAMPLES=$2; shift ;;
    --indent-samples) INDENT_SAMPLES=$2; shift ;;
    --objectives) OBJECTIVES="mle conditional $2"; shift ;;
    --variants) VARIANTS=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
HERE=$(cd "$(dirname "$0")" && pwd)
PREALIGN=${PREALIGN:-$HERE/../build/prealign}
variant_args=()
for v in $VARIANTS; do
  [ -n "${VARIANT_FLAGS[$v]:-}" ] || { echo "unknown variant $v (known: ${!VARIANT_FLAGS[*]})" >&2; exit 2; }
  variant_args+=(--variant "$v:conditional:${VARIANT_FLAGS[$v]}")
done
for seed in $SEEDS; do
  dir="$OUT/seed-$seed"
  "$HERE/pep8.sh" ${TINY[@]+"${TINY[@]}"} --out "$dir" --seed "$seed" --corpus /usr/lib/python3.11 \
    --max-bytes "$MAX_BYTES" --steps "$STEPS" --model "$MODEL" --samples "$SAMPLES" --curve-samples 0 \
    --objectives "$OBJECTIVES" "${variant_args[@]}"
  [ -e "$dir/indent-before.txt" ] ||
    { "$HERE/pep8_indent.sh" --out "$dir" --samples "$INDENT_SAMPLES" > "$dir/indent-before.txt.tmp" &&
      mv "$dir/indent-before.txt.tmp" "$dir/indent-before.txt"; }
  [ -e "$dir/indent-after.txt" ] ||
    { "$HERE/pep8_indent.sh" --out "$dir" --samples "$INDENT_SAMPLES" --after-prompt > "$dir/indent-after.txt.tmp" &&
      mv "$dir/indent-after.txt.tmp" "$dir/indent-after.txt"; }
  for run in "$dir"/runs/*/; do  # the tag-trained runs, used without tags (see the header)
    grep -q '"name": "conditional"' "$run/checkpoint/train_state.json" 2>/dev/null || continue
    [ -e "$run/eval/misalignment-functions-none.json" ] || "$PREALIGN" eval misalignment --model "$run/checkpoint" \
      --score-config pep8 --scenario functions --policy none --prompts "$dir/prompts.txt" --samples "$SAMPLES" \
      --seed "$seed" ${MAX_LENGTH[@]+"${MAX_LENGTH[@]}"} --out "$run/eval/misalignment-functions-none.json"
    [ -e "$run/eval/loss-untagged.json" ] || "$PREALIGN" eval loss --model "$run/checkpoint" --untagged \
      --out "$run/eval/loss-untagged.json"
  done
  [ -e "$dir/labels.json" ] || /usr/bin/python3 "$HERE/pep8_labels.py" "$dir/corpus.scored.jsonl" --json "$dir/labels.json" > /dev/null
done
python3 "$HERE/pep8_ablations_report.py" "$OUT" > "$OUT/ablations.md.tmp" && mv "$OUT/ablations.md.tmp" "$OUT/ablations.md"
cat "$OUT/ablations.md"
