# Shared by the training benchmarks (bench/train_*.sh): the dataset, one prealign
# run, one run of the PyTorch Python reference, and medians. Source it from bench/.
PRE=${PRE:-build/prealign}
PY=/usr/bin/python3
VOCAB=${VOCAB:-8192}
BATCH=${BATCH:-8}
SEQ=${SEQ:-256}
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

# prealign_run MODEL [prealign options...] :: [train options...]: prints the median
# tok/s of the logged steps after the first 3 (warm-up) and the MFU of that step.
prealign_run() {
  local model=$1 out=$WORK/run global=() train=()
  shift
  while [ $# -gt 0 ] && [ "$1" != :: ]; do global+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  train=("$@")
  rm -rf "$out"
  $PRE "${global[@]}" train --data "$DATA" --out "$out" --model "$model,ctx=$SEQ" --steps $((STEPS + 3)) \
      --batch-size "$BATCH" --seq-len "$SEQ" --log-every 1 --eval-every 0 --eval-batches 1 "${train[@]}" >/dev/null 2>&1
  $PY - "$out/metrics.jsonl" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l][3:]
rows.sort(key=lambda r: r["tok_s"])
m = rows[len(rows) // 2]
print("%.1f %.3f" % (m["tok_s"], m["mfu"]))
PYEOF
}

# python_run default|PASSIVE|PASSIVE+reuse [reference options...]; after a prealign_run of the
# same model. "+reuse" gives Python the malloc settings prealign sets for itself
# (keep_freed_memory_for_reuse in src/model/runtime.hpp), through glibc's variables.
python_run() {
  local policy=$1 envs=()
  shift
  if [ "${policy%+reuse}" != "$policy" ]; then
    envs=(MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=2147483647)
    policy=${policy%+reuse}
  fi
  if [ "$policy" = default ]; then envs+=(-u OMP_WAIT_POLICY); else envs+=(OMP_WAIT_POLICY="$policy"); fi
  # shellcheck disable=SC2046
  env "${envs[@]}" $PY bench/reference_llama.py $(ref_flags) --vocab "$VOCAB" --seq-len "$SEQ" --batch-size "$BATCH" \
      --steps "$STEPS" --threads "${THREADS:-$(nproc)}" "$@" | $PY -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["tok_s"])'
}

median() { tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

machine_line() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
       "flags: $(grep -m1 -o -w -E 'avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | xargs)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}
