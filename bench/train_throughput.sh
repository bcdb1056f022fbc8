#!/usr/bin/env bash
# Training throughput of prealign's own loop (`prealign train`: data stream,
# objective, forward, backward, clipping, AdamW) against the same model written
# in PyTorch Python (bench/reference_llama.py), same threads and environment,
# runs alternated so machine noise hits both alike. Reports median tok/s per
# implementation and the ratios; MFU is against this machine's measured matmul peak.
#
#   bench/train_throughput.sh                       # the issue's shape: 6 layers, width 384, vocab 8192, ctx 256, batch 8
#   MODELS="tiny small base medium large" bench/train_throughput.sh
# Needs: build/prealign, Debian's python3-torch (PREALIGN_BENCH_DEPS=1 scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PRE=${PRE:-build/prealign}
PY=/usr/bin/python3
REPS=${REPS:-3}
STEPS=${STEPS:-12}
VOCAB=${VOCAB:-8192}
BATCH=${BATCH:-8}
SEQ=${SEQ:-256}
MODELS=${MODELS:-"dim=384,layers=6,heads=6"}
WORK=${WORK:-build/bench-train}
mkdir -p "$WORK"

# A real dataset: Python source of the standard library, tokenized at VOCAB.
DATA=$WORK/data-$VOCAB
if [ ! -f "$DATA/dataset.json" ]; then
  mkdir -p "$WORK/corpus"
  find /usr/lib/python3.11 -maxdepth 1 -name '*.py' -size -400k | sort | head -120 | xargs -I{} cp {} "$WORK/corpus/"
  mkdir -p "$WORK/tok-$VOCAB"
  $PRE tokenizer train "$WORK/corpus" --glob '*.py' --vocab-size "$VOCAB" \
      --tagset configs/tagsets/good_bad.json -o "$WORK/tok-$VOCAB/tokenizer.model" >/dev/null
  $PRE tokenize --tokenizer "$WORK/tok-$VOCAB" --glob '*.py' --out "$DATA" "$WORK/corpus" >/dev/null
fi

# The reference gets its shape from the config.json prealign wrote for the same spec.
ref_flags() {
  $PY - "$WORK/run/checkpoint/config.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
print("--dim %d --layers %d --heads %d --kv-heads %d --hidden %d" % (c["hidden_size"], c["num_hidden_layers"],
      c["num_attention_heads"], c["num_key_value_heads"], c["intermediate_size"]))
PYEOF
}

# median tok/s of the logged steps after the first 3 (warm-up), and the mfu of that step
prealign_run() {  # model matmul
  local out=$WORK/run
  rm -rf "$out"
  $PRE --matmul "$2" train --data "$DATA" --out "$out" --model "$1,ctx=$SEQ" --steps $((STEPS + 3)) \
      --batch-size "$BATCH" --seq-len "$SEQ" --log-every 1 --eval-every 0 --eval-batches 1 >/dev/null 2>&1
  $PY - "$out/metrics.jsonl" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l][3:]
rows.sort(key=lambda r: r["tok_s"])
m = rows[len(rows) // 2]
print("%.1f %.3f" % (m["tok_s"], m["mfu"]))
PYEOF
}

python_run() {  # default|PASSIVE; after a prealign_run of the same model
  if [ "$1" = default ]; then set -- -u OMP_WAIT_POLICY; else set -- OMP_WAIT_POLICY="$1"; fi
  env "$@" $PY bench/reference_llama.py $(ref_flags) --vocab "$VOCAB" --seq-len "$SEQ" --batch-size "$BATCH" \
      --steps "$STEPS" --threads "$(nproc)" | $PY -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["tok_s"])'
}

median() { tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "B=$BATCH T=$SEQ vocab=$VOCAB, $REPS alternating runs of $STEPS measured steps each; tok/s medians"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# prealign sets OMP_WAIT_POLICY=PASSIVE itself (src/model/runtime.cpp); the Python
# reference runs both with libgomp's default (active spinning) and with PASSIVE.
printf '| model | prealign (onednn) tok/s | mfu | prealign (torch BLAS) tok/s | Python tok/s | Python, PASSIVE tok/s | prealign / best Python | onednn / torch BLAS |\n|---|---|---|---|---|---|---|---|\n'
for model in $MODELS; do
  a=(); m=(); b=(); p=(); q=()
  for _ in $(seq "$REPS"); do
    read -r tok mfu < <(prealign_run "$model" onednn); a+=("$tok"); m+=("$mfu")
    read -r tok _ < <(prealign_run "$model" torch); b+=("$tok")
    p+=("$(python_run default)")
    q+=("$(python_run PASSIVE)")
  done
  A=$(echo "${a[@]}" | median); M=$(echo "${m[@]}" | median); B=$(echo "${b[@]}" | median)
  P=$(echo "${p[@]}" | median); Q=$(echo "${q[@]}" | median)
  awk -v model="$model" -v A="$A" -v M="$M" -v B="$B" -v P="$P" -v Q="$Q" \
      'BEGIN {best = P > Q ? P : Q; printf "| %s | %.0f | %.0f%% | %.0f | %.0f | %.0f | %.2fx | %.2fx |\n", model, A, 100*M, B, P, Q, A/best, A/B}'
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
