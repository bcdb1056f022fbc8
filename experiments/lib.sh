# Shared stages of the PHF reproductions (experiments/pep8.sh, experiments/pii.sh).
# Each stage runs once: a marker in $OUT/.done/ records that it finished, so a
# re-run (or a run after an interruption) skips finished stages; training stages
# left half-way resume from their last checkpoint. Every prealign output is
# written atomically, so a marker never stands for a half-written file.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREALIGN=${PREALIGN:-$ROOT/build/prealign}
[ -x "$PREALIGN" ] || { echo "error: $PREALIGN not found; build first (cmake --build build) or set PREALIGN" >&2; exit 1; }

log() { printf '\n== %s\n' "$*" >&2; }

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
train_run() {
  local name=$1 objective=$2; shift 2
  local dir="$OUT/runs/$name" resume=()
  [ -d "$dir/checkpoint" ] && resume=(--resume)
  "$PREALIGN" train --data "$OUT/data" --out "$dir" --objective "$objective" --model "$MODEL" \
    --steps "$STEPS" --batch-size "$BATCH" --seq-len "$SEQ" --lr "$LR" --seed "$SEED" \
    --eval-every "$EVAL_EVERY" --eval-batches "$EVAL_BATCHES" --save-every "$SAVE_EVERY" --keep-checkpoints "${resume[@]}" "$@"
}

# evaluate_run NAME SCORE_CONFIG PROMPTS_ARGS...: misalignment (final checkpoint with $SAMPLES samples and
# every kept earlier checkpoint with $CURVE_SAMPLES for the curve), held-out loss, and for tag-trained
# runs tag agreement.
evaluate_run() {
  local name=$1 config=$2; shift 2
  local dir="$OUT/runs/$name"
  mkdir -p "$dir/eval"
  [ -e "$dir/eval/misalignment.json" ] || "$PREALIGN" eval misalignment --model "$dir/checkpoint" \
    --score-config "$config" --samples "$SAMPLES" --max-new-tokens "$NEW_TOKENS" --seed "$SEED" "$@" \
    --out "$dir/eval/misalignment.json"
  local ck step
  for ck in "$dir"/checkpoints/step-*; do
    step=${ck##*/step-}
    [ "$((10#$step))" -ge "$STEPS" ] && continue  # the final checkpoint is evaluated above
    [ -e "$dir/eval/misalignment-step-$step.json" ] || "$PREALIGN" eval misalignment --model "$ck" \
      --score-config "$config" --samples "$CURVE_SAMPLES" --max-new-tokens "$NEW_TOKENS" --seed "$SEED" "$@" \
      --out "$dir/eval/misalignment-step-$step.json"
  done
  [ -e "$dir/eval/loss.json" ] || "$PREALIGN" eval loss --model "$dir/checkpoint" --out "$dir/eval/loss.json"
  if grep -q '"name": "conditional"' "$dir/checkpoint/train_state.json" 2>/dev/null && [ ! -e "$dir/eval/tag_agreement.json" ]; then
    "$PREALIGN" eval tag-agreement --model "$dir/checkpoint" --out "$dir/eval/tag_agreement.json"
  fi
}
