# Shared stages of the PHF reproductions (experiments/pep8.sh, experiments/pii.sh).
# Each stage runs once: a marker in $OUT/.done/ records that it finished, so a
# re-run (or a run after an interruption) skips finished stages; training stages
# left half-way resume from their last checkpoint. Every prealign output is
# written atomically, so a marker never stands for a half-written file.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREALIGN=${PREALIGN:-$ROOT/build/prealign}
[ -x "$PREALIGN" ] || { echo "error: $PREALIGN not found; build first (cmake --build build) or set PREALIGN" >&2; exit 1; }

log() { printf '\n== %s\n' "$*" >&2; }

# settings LINE: records the run's sizes in $OUT/settings.txt, and refuses to go on
# in an $OUT made with other sizes (its finished stages would be skipped and mixed in).
settings() {
  mkdir -p "$OUT"
  if [ -e "$OUT/settings.txt" ] && [ "$(cat "$OUT/settings.txt")" != "$1" ]; then
    printf 'error: %s was made with other settings:\n  was: %s\n  now: %s\nuse another --out, or delete %s to start over\n' \
      "$OUT" "$(cat "$OUT/settings.txt")" "$1" "$OUT" >&2
    exit 2
  fi
  printf '%s\n' "$1" | tee "$OUT/settings.txt"
}

# stage NAME COMMAND...: runs COMMAND unless NAME finished before.
stage() {
  local name=$1; shift
  mkdir -p "$OUT/.done"
  if [ -e "$OUT/.done/$name" ]; then log "$name: done before, skipped"; return 0; fi
  log "$name"
  "$@"
  touch "$OUT/.done/$name"
}

# train_run NAME OBJECTIVE [extra train flags...]: same model and token budget for every objective.
# RUN_STEPS (default $STEPS) sets another budget and INIT_FROM a checkpoint to start from: the
# fine-tuning runs. A run that has a checkpoint resumes it instead (its own weights, not INIT_FROM's).
train_run() {
  local name=$1 objective=$2; shift 2
  local dir="$OUT/runs/$name" start=() steps=${RUN_STEPS:-$STEPS}
  if [ -d "$dir/checkpoint" ]; then
    start=(--resume)
  elif [ -n "${INIT_FROM:-}" ]; then
    start=(--init-from "$INIT_FROM")
  fi
  "$PREALIGN" train --data "$OUT/data" --out "$dir" --objective "$objective" --model "$MODEL" \
    --steps "$steps" --batch-size "$BATCH" --seq-len "$SEQ" --lr "$LR" --seed "$SEED" \
    --eval-every "$((steps / ${CURVE_POINTS:-4}))" --eval-batches "$EVAL_BATCHES" \
    --save-every "$((steps / ${CURVE_POINTS:-4}))" --keep-checkpoints "${start[@]}" "$@"
}

# evaluate_run NAME SCORE_CONFIG MISALIGNMENT_ARGS...: misalignment (final checkpoint with $SAMPLES samples
# and every kept earlier checkpoint with $CURVE_SAMPLES for the curve; the arguments choose the scenario,
# prompts and lengths), held-out loss, and for tag-trained runs tag agreement. MIS_TAG (e.g.
# -unconditional) names the reports of one scenario: misalignment$MIS_TAG.json, misalignment$MIS_TAG-step-N.json.
evaluate_run() {
  local name=$1 config=$2; shift 2
  local dir="$OUT/runs/$name" tag=${MIS_TAG:-}
  mkdir -p "$dir/eval"
  [ -e "$dir/eval/misalignment$tag.json" ] || "$PREALIGN" eval misalignment --model "$dir/checkpoint" \
    --score-config "$config" --samples "$SAMPLES" --seed "$SEED" "$@" --out "$dir/eval/misalignment$tag.json"
  local ck step
  for ck in "$dir"/checkpoints/step-*; do
    [ -d "$ck" ] && [ "$CURVE_SAMPLES" -gt 0 ] || continue
    step=${ck##*/step-}
    [ "$((10#$step))" -ge "${RUN_STEPS:-$STEPS}" ] && continue  # the final checkpoint is evaluated above
    [ -e "$dir/eval/misalignment$tag-step-$step.json" ] || "$PREALIGN" eval misalignment --model "$ck" \
      --score-config "$config" --samples "$CURVE_SAMPLES" --seed "$SEED" "$@" \
      --out "$dir/eval/misalignment$tag-step-$step.json"
  done
  [ -e "$dir/eval/loss.json" ] || "$PREALIGN" eval loss --model "$dir/checkpoint" --out "$dir/eval/loss.json"
  # tag agreement reads p(tag) at line starts: runs that put the tag elsewhere (--tag-position) are left out
  if grep -q '"name": "conditional"' "$dir/checkpoint/train_state.json" 2>/dev/null &&
     ! grep -Eq '"tag_position": "(after_indent|line_end)"' "$dir/checkpoint/train_state.json" &&
     [ ! -e "$dir/eval/tag_agreement.json" ]; then
    "$PREALIGN" eval tag-agreement --model "$dir/checkpoint" --out "$dir/eval/tag_agreement.json"
  fi
}
