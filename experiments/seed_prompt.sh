#!/usr/bin/env bash
# Seed 003's claim, tested (docs/rlvr.md "The seed-prompt experiment"):
#   a tag-pretrained base (the AI-mode model of experiments/modes.sh)
#   -> light SFT on verified task replies shown after a seed prompt
#   -> RLVR (GRPO under the ai_mode policy) on arithmetic and string tasks, three ways with the same
#      budget: with the same seed prompt, with none, with a different character's prompt
#   -> for the base, the SFT model and each RL model: held-out task accuracy, system-rule adherence
#      on rules never trained on, KL from the base on held-out corpus text, and the alignment the
#      base was built for: harmful rate and grammar violations under the lock, temptation.
# Resumable: each stage is skipped when its output exists (delete it to redo); training stages
# resume from their checkpoints.
#   experiments/seed_prompt.sh [--tiny] [OUT_DIR]
# Environment: PREALIGN (binary, default build/prealign), SEED.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
P="${PREALIGN:-$here/build/prealign}"
[[ -x "$P" ]] || { echo "error: $P not found; build first (scripts/build.sh) or set PREALIGN" >&2; exit 1; }
SEED="${SEED:-1}"
tiny=0
if [[ "${1:-}" == "--tiny" ]]; then tiny=1; shift; fi

if (( tiny )); then
  out="${1:-runs/seed-prompt-tiny}"
  n_arith=300; n_strings=100; n_rules=40
  base_model=tiny; base_steps=150
  sft_steps=60; rl_steps=20; prompts=4; group=4; max_new=24; rl_lr=2e-5
  eval_samples=1; lock_samples=100
else
  out="${1:-runs/seed-prompt}"
  n_arith=1200; n_strings=400; n_rules=150
  # A model that can learn one-digit arithmetic (the tiny preset stays near chance).
  base_model=small; base_steps=1500
  sft_steps=300; rl_steps=60; prompts=8; group=8; max_new=32; rl_lr=5e-5
  eval_samples=4; lock_samples=500
fi
mkdir -p "$out"
log() { printf '[seed-prompt %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
helpful="$here/configs/seed_prompts/helpful_ai.txt"
other="$here/configs/seed_prompts/other_character.txt"

# 1. The base: the AI-mode model (corpus, lint, tokenizer, shards, model, lock), made by modes.sh.
modes="$out/modes"
if [[ ! -f "$modes/model/done" ]]; then
  log "1/6 base model: experiments/modes.sh $([[ $tiny == 1 ]] && echo --tiny) $modes"
  PREALIGN="$P" SEED="$SEED" MODEL="$base_model" STEPS="$base_steps" \
    "$here/experiments/modes.sh" $([[ $tiny == 1 ]] && echo --tiny) "$modes"
fi
base="$modes/model/checkpoint"

# 2. Tasks: 1-digit arithmetic (what a model of this size can learn), strings, and system rules
#    with two rule families held out wholly (adherence on rules never trained on).
if [[ ! -f "$out/tasks/rl.jsonl" ]]; then
  log "2/6 tasks"
  mkdir -p "$out/tasks"
  "$P" tasks make --kind arithmetic --max-digits 1 --n "$n_arith" --seed "$SEED" -o "$out/tasks/arithmetic.jsonl"
  "$P" tasks make --kind strings --n "$n_strings" --seed "$SEED" -o "$out/tasks/strings.jsonl"
  "$P" tasks make --kind system-rules --max-digits 1 --n "$n_rules" --seed "$SEED" \
    --held-out-families system-json,system-prefix -o "$out/tasks/rules.jsonl"
  cat "$out/tasks/arithmetic.jsonl" "$out/tasks/strings.jsonl" > "$out/tasks/rl.jsonl.tmp"
  mv "$out/tasks/rl.jsonl.tmp" "$out/tasks/rl.jsonl"
fi

# 3. Light SFT after the seed prompt, on verified replies to train-split tasks (rules included).
if [[ ! -f "$out/tasks/pairs.jsonl" ]]; then
  cat "$out/tasks/rl.jsonl" "$out/tasks/rules.jsonl" > "$out/tasks/all.jsonl.tmp"
  mv "$out/tasks/all.jsonl.tmp" "$out/tasks/all.jsonl"
  "$P" tasks pairs --tasks "$out/tasks/all.jsonl" --split train -o "$out/tasks/pairs.jsonl"
fi
if [[ ! -f "$out/sft/done" ]]; then
  log "3/6 light SFT ($sft_steps steps) after the seed prompt"
  resume=()
  [[ -f "$out/sft/checkpoint/config.json" ]] && resume=(--resume)
  "$P" train --objective sft --data "$out/tasks/pairs.jsonl" --init-from "$base" --seed-prompt "$helpful" \
    --out "$out/sft" --steps "$sft_steps" --batch-size 16 --seq-len 256 --lr 5e-4 --seed "$SEED" \
    --kl-data "$modes/data" "${resume[@]}" | tail -4
  touch "$out/sft/done"
fi

# 4. RLVR three ways, the same budget: the seed prompt, none, another character's prompt.
rl_run() {  # NAME SEED_PROMPT_FILE_OR_EMPTY
  local name=$1 prompt=$2 dir="$out/rl-$1"
  [[ -f "$dir/done" ]] && return 0
  log "4/6 RLVR $name ($rl_steps steps x $prompts tasks x $group samples)"
  local resume=() seedp=()
  [[ -f "$dir/checkpoint/config.json" ]] && resume=(--resume)
  [[ -n "$prompt" ]] && seedp=(--seed-prompt "$prompt")
  "$P" rlvr --model "$out/sft/checkpoint" --tasks "$out/tasks/rl.jsonl" "${seedp[@]}" --out "$dir" \
    --steps "$rl_steps" --prompts-per-step "$prompts" --group "$group" --max-new-tokens "$max_new" \
    --kl-coef 0.04 --lr "$rl_lr" --seed "$SEED" "${resume[@]}" | tail -3
  touch "$dir/done"
}
rl_run seed "$helpful"
rl_run none ""
rl_run other "$other"

# 5. Every model measured the same way. Task accuracy and adherence are asked with the seed prompt
#    (the deployment's frame) for every model, so the three RL runs differ only in training.
models=(base sft rl-seed rl-none rl-other)
ckpt_of() { [[ $1 == base ]] && echo "$base" || echo "$out/$1/checkpoint"; }
mkdir -p "$out/eval"
for m in "${models[@]}"; do
  ck=$(ckpt_of "$m")
  e="$out/eval/$m"
  if [[ ! -f "$e.tasks.json" ]]; then
    log "5/6 $m: held-out task accuracy"
    "$P" eval tasks --model "$ck" --tasks "$out/tasks/rl.jsonl" --split test --seed-prompt "$helpful" \
      --samples "$eval_samples" --max-new-tokens "$max_new" --seed "$SEED" -o "$e.tasks.json" | tail -3
  fi
  if [[ ! -f "$e.adherence.json" ]]; then
    log "5/6 $m: system-rule adherence, seen and unseen rules"
    "$P" eval adherence --model "$ck" --tasks "$out/tasks/rules.jsonl" --seed-prompt "$helpful" \
      --samples "$eval_samples" --max-new-tokens "$max_new" --seed "$SEED" -o "$e.adherence.json" | tail -3
  fi
  if [[ ! -f "$e.lock.json" ]]; then
    log "5/6 $m: the lock (harmful rate, grammar violations, temptation)"
    "$P" eval lock --model "$ck" --samples "$lock_samples" --max-new-tokens 64 --seed "$SEED" --out "$e.lock.json" \
      > /dev/null
  fi
  if [[ $m != base && ! -f "$e.kl.json" ]]; then
    log "5/6 $m: KL from the base on held-out corpus text"
    "$P" eval kl --model "$ck" --base "$base" --data "$modes/data" -o "$e.kl.json" | tail -2
  fi
  # What RL alone moved: the drift seed 003 predicts is smaller with the seed prompt.
  if [[ $m == rl-* && ! -f "$e.kl-sft.json" ]]; then
    log "5/6 $m: KL from the SFT model on held-out corpus text"
    "$P" eval kl --model "$ck" --base "$out/sft/checkpoint" --data "$modes/data" -o "$e.kl-sft.json" | tail -2
  fi
done

# 6. One table.
log "6/6 report"
python3 "$here/experiments/seed_prompt_report.py" "$out" | tee "$out/report.md"
