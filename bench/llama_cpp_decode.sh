#!/usr/bin/env bash
# Decoding speed of `prealign generate` (policy on, temptation on) against
# llama.cpp (node-llama-cpp's prebuilt build) on the same model exported with
# `prealign export gguf --type f32`: same prompt and context, same number of new
# tokens, batch 1 and batch B, alternated side by side, medians and the ratio.
#   bench/llama_cpp_decode.sh     # PRESET=small VOCAB=8192 N=128 B=8 REPS=5 THREADS=1
# prealign's rate is B*(N-1) / (wall time of generate with N new tokens - with 1):
# the same command both times, so start-up, loading and the prefill cancel out.
# llama.cpp's is timed inside the process from the sequences' first token to
# their last (bench/llama_cpp_decode.mjs). Greedy on both sides; the bench policy
# is the checkpoint's good_only with EOS banned (states "end": false), so both
# decode exactly N tokens.
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${PRESET:-small}
N=${N:-128}
B=${B:-8}
REPS=${REPS:-5}
THREADS=${THREADS:-1}
VOCAB=${VOCAB:-8192}
source bench/lib.sh  # PRE, PY, WORK, DATA (stdlib Python tokenized at VOCAB), median, machine_line
NODE_LLAMA_CPP=$(scripts/node_llama_cpp.sh)
OUT=$WORK/llama-cpp-$PRESET-$VOCAB
mkdir -p "$OUT"

if [ ! -f "$OUT/run/checkpoint/config.json" ]; then  # speed does not depend on the weights: a few steps,
  # with the PHF policy good_only stored as the default (<|good|> forced, <|bad|> banned and watched)
  rm -rf "$OUT/run"
  $PRE train --data "$DATA" --out "$OUT/run" --model "$PRESET,ctx=512" --steps 3 --batch-size 2 --seq-len 128 \
      --policy good_only --eval-every 0 --eval-batches 1 >/dev/null
fi
CK=$OUT/run/checkpoint
$PRE export gguf "$CK" -o "$OUT/model.gguf" --type f32 >/dev/null
$PY - "$CK/policy.json" "$OUT/policy.json" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))
for s in p["states"].values():
    s["end"] = False  # no EOS: both sides decode exactly N tokens
json.dump(p, open(sys.argv[2], "w"))
PYEOF
PROMPT='def parse_header(line, strict=True):
    """Split one header line into name and value."""
'
for batch in 1 "$B"; do
  for _ in $(seq "$batch"); do $PY -c 'import json,sys; print(json.dumps({"prompt": sys.argv[1]}))' "$PROMPT"; done \
      >"$OUT/prompts-$batch.jsonl"
done

# prealign_seconds TOKENS BATCH: wall seconds of one generate run.
prealign_seconds() {
  local t0 t1
  t0=$(date +%s.%N)
  $PRE --threads "$THREADS" generate --model "$CK" --policy "$OUT/policy.json" --prompts "$OUT/prompts-$2.jsonl" \
      --batch-size "$2" --max-new-tokens "$1" --temperature 0 --json >"$OUT/generate.jsonl" 2>/dev/null
  t1=$(date +%s.%N)
  $PY -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1"
}
# prealign_rate BATCH: decode tok/s from an N-token run minus a 1-token run.
prealign_rate() {
  local long short
  long=$(prealign_seconds "$N" "$1")
  $PY - "$OUT/generate.jsonl" "$N" <<'PYEOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert all(r["generated_tokens"] == int(sys.argv[2]) for r in recs), "a sequence stopped early"
assert all(r["tokens"][0]["temptation"] for r in recs), "temptation was not measured"
PYEOF
  short=$(prealign_seconds 1 "$1")
  $PY -c 'import sys; b, n, l, s = map(float, sys.argv[1:]); print("%.1f" % (b * (n - 1) / (l - s)))' "$1" "$N" "$long" "$short"
}
llama_rate() {
  node bench/llama_cpp_decode.mjs "$NODE_LLAMA_CPP" "$OUT/model.gguf" "$PROMPT" "$N" "$1" "$THREADS" |
      $PY -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["tok_s"])'
}

machine_line
echo "model: $PRESET (vocab $VOCAB), $(du -h "$OUT/model.gguf" | cut -f1) GGUF f32; $N new tokens; threads $THREADS; $REPS alternated reps"
P1=() L1=() PB=() LB=()
for rep in $(seq "$REPS"); do
  P1+=("$(prealign_rate 1)"); L1+=("$(llama_rate 1)")
  PB+=("$(prealign_rate "$B")"); LB+=("$(llama_rate "$B")")
  echo "rep $rep: batch 1: prealign ${P1[-1]} llama.cpp ${L1[-1]} tok/s | batch $B: prealign ${PB[-1]} llama.cpp ${LB[-1]} tok/s"
done
p1=$(echo "${P1[*]}" | median) l1=$(echo "${L1[*]}" | median)
pb=$(echo "${PB[*]}" | median) lb=$(echo "${LB[*]}" | median)
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| batch | prealign generate tok/s | llama.cpp tok/s | llama.cpp / prealign |"
echo "|---|---|---|---|"
$PY -c 'import sys; print("| 1 | %s | %s | %.2fx |" % (sys.argv[1], sys.argv[2], float(sys.argv[2]) / float(sys.argv[1])))' "$p1" "$l1"
$PY -c 'import sys; print("| %s | %s | %s | %.2fx |" % (sys.argv[3], sys.argv[1], sys.argv[2], float(sys.argv[2]) / float(sys.argv[1])))' "$pb" "$lb" "$B"
