#!/usr/bin/env bash
# The seed-000 mode experiment in one command (docs/modes.md):
#   synth world corpus -> lint -> tokenizer -> shards -> mode model (mle on the
#   tagged text, ai_mode policy stored) -> lock measurement -> jailbreak suite.
# Resumable: every stage is skipped when its output exists (delete it to redo).
#   experiments/modes.sh [--tiny] [OUT_DIR]
# Environment: PREALIGN (binary, default build/prealign), SEED, MODEL and STEPS (the mode model's
# size preset and training steps; defaults below).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
P="${PREALIGN:-$here/build/prealign}"
SEED="${SEED:-1}"
tiny=0
if [[ "${1:-}" == "--tiny" ]]; then tiny=1; shift; fi

if (( tiny )); then
  out="${1:-runs/modes-tiny}"
  docs=2000; vocab=1024; model=${MODEL:-tiny}; steps=${STEPS:-150}; batch=16; seq=256
  lock_samples=200; jb_samples=8; max_new=64; probe_docs=120
else
  out="${1:-runs/modes}"
  docs=20000; vocab=2048; model=${MODEL:-tiny}; steps=${STEPS:-800}; batch=16; seq=256
  lock_samples=2000; jb_samples=40; max_new=96; probe_docs=400
fi
mkdir -p "$out"
log() { printf '[modes %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
tagset="$here/configs/tagsets/ai_modes.json"
policy="$here/configs/policies/ai_mode.json"

if [[ ! -f "$out/corpus.jsonl" ]]; then
  log "1/7 synth world: $docs documents (seed $SEED)"
  "$P" synth world --documents "$docs" --seed "$SEED" --out "$out/corpus.jsonl"
fi
if [[ ! -f "$out/lint.json" ]]; then
  log "2/7 lint the corpus against ai_mode"
  "$P" lint --policy "$policy" --tagset "$tagset" --report "$out/lint.json.tmp" "$out/corpus.jsonl" | tail -8
  mv "$out/lint.json.tmp" "$out/lint.json"
fi
if [[ ! -f "$out/tokenizer/tokenizer.model" ]]; then
  log "3/7 tokenizer (vocab $vocab, tags as control symbols)"
  mkdir -p "$out/tokenizer"
  "$P" tokenizer train "$out/corpus.jsonl" --tagged --tagset "$tagset" --vocab-size "$vocab" -o "$out/tokenizer/" | tail -2
fi
if [[ ! -f "$out/data/dataset.json" ]]; then
  log "4/7 tokenize (tags from the markup become tag ids)"
  "$P" tokenize "$out/corpus.jsonl" --tagged --tokenizer "$out/tokenizer" --out "$out/data" --seed "$SEED" | tail -3
fi
if [[ ! -f "$out/model/checkpoint/config.json" ]] || [[ ! -f "$out/model/done" ]]; then
  log "5/7 train the mode model ($model, $steps steps x $batch x $seq)"
  resume=()
  [[ -f "$out/model/checkpoint/config.json" ]] && resume=(--resume)
  "$P" train --data "$out/data" --out "$out/model" --model "$model" --steps "$steps" --batch-size "$batch" \
    --seq-len "$seq" --lr 2e-3 --eval-every 250 --save-every 250 --seed "$SEED" --policy "$policy" "${resume[@]}" | tail -2
  touch "$out/model/done"
fi
if [[ ! -f "$out/lock.json" ]]; then
  log "6a/7 the lock: $lock_samples samples under ai_mode, linted; harmful rate vs human-mode starts"
  "$P" eval lock --model "$out/model/checkpoint" --samples "$lock_samples" --max-new-tokens "$max_new" \
    --seed "$SEED" --out "$out/lock.json"
fi
if [[ ! -f "$out/jailbreak.json" ]]; then
  log "6b/7 jailbreak suite ($jb_samples samples per prompt family)"
  "$P" eval jailbreak --model "$out/model/checkpoint" --samples-per-family "$jb_samples" \
    --max-new-tokens "$max_new" --seed "$SEED" --out "$out/jailbreak.json"
fi
if [[ ! -f "$out/probe.json" ]]; then
  log "7/7 probes: mode and transition at every layer, on an unseen world (seed $((SEED + 1000)))"
  [[ -f "$out/probe-corpus.jsonl" ]] || "$P" synth world --documents "$probe_docs" --seed "$((SEED + 1000))" \
    --out "$out/probe-corpus.jsonl" > /dev/null
  "$P" probe train --model "$out/model/checkpoint" --corpus "$out/probe-corpus.jsonl" --documents "$probe_docs" \
    --out "$out/probe.json" | tee "$out/probe.txt"
fi
log "done: $out/{lint.json,lock.json,jailbreak.json,probe.json}"
