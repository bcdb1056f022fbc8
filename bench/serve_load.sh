#!/usr/bin/env bash
# Continuous batching under load: `prealign serve` with --max-batch 1 (one
# sequence at a time) and --max-batch B, each hit by CLIENTS concurrent
# streaming requests of N tokens from build/bench/serve_load (cpp-httplib client
# threads on loopback), alternated REPS times; medians side by side.
#   bench/serve_load.sh     # CLIENTS=200 N=64 B=16 REPS=3 PRESET=tiny VOCAB=2048
# The model is a few training steps of PRESET (speed does not depend on the
# weights) under good_only with the end of text banned and no stop rules, so
# every request decodes exactly N tokens in both settings. The queue holds every
# client (--max-queue), so a 429 would be an error here.
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${PRESET:-tiny}
VOCAB=${VOCAB:-2048}
CLIENTS=${CLIENTS:-200}
N=${N:-64}
B=${B:-16}
REPS=${REPS:-3}
source bench/lib.sh  # PRE, PY, WORK, DATA (stdlib Python tokenized at VOCAB), median, machine_line
LOAD=${LOAD:-build/bench/serve_load}
OUT=$WORK/serve-load-$PRESET-$VOCAB
mkdir -p "$OUT"

if [ ! -f "$OUT/run/checkpoint/config.json" ]; then
  rm -rf "$OUT/run"
  $PRE train --data "$DATA" --out "$OUT/run" --model "$PRESET,ctx=256" --steps 3 --batch-size 2 --seq-len 128 \
      --policy good_only --eval-every 0 --eval-batches 1 >/dev/null 2>&1
fi
CK=$OUT/run/checkpoint
$PY - "$CK/policy.json" "$OUT/policy.json" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))
for s in p["states"].values():
    s["end"] = False   # no end of text: every request decodes exactly N tokens
p["temptation"] = []   # and no stop rule ends one early (temptation is still measured)
json.dump(p, open(sys.argv[2], "w"))
PYEOF

# load MAX_BATCH: starts a server, fires the clients, prints serve_load's JSON line, stops the server.
load() {
  local log=$OUT/serve-$1.log port pid line
  $PRE serve --model "$CK" --policy "$OUT/policy.json" --port 0 --max-batch "$1" --max-queue "$CLIENTS" \
      --max-tokens "$N" >"$log.out" 2>"$log" &
  pid=$!
  for _ in $(seq 300); do grep -q listening "$log.out" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's|.*http://[^:]*:\([0-9]*\)/.*|\1|p' "$log.out")
  line=$($LOAD "$port" "$CLIENTS" "$N" || true)
  kill -TERM "$pid"
  wait "$pid" || echo "server --max-batch $1 exited with status $?" >&2
  echo "$line"
}

field() { $PY -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

machine_line
echo "model: $PRESET (vocab $VOCAB); $CLIENTS concurrent streaming clients x $N tokens; --max-batch 1 vs $B; $REPS alternated reps"
declare -A V
keys=(errors requests_per_s tokens_per_s ttft_p50_ms ttft_p99_ms latency_p50_ms latency_p99_ms)
for rep in $(seq "$REPS"); do
  for mb in 1 "$B"; do
    line=$(load "$mb")
    echo "rep $rep --max-batch $mb: $line"
    for k in "${keys[@]}"; do V[$mb,$k]+="$(field "$line" "$k") "; done
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| medians of $REPS | --max-batch 1 | --max-batch $B | ratio |"
echo "|---|---|---|---|"
for k in "${keys[@]}"; do
  # shellcheck disable=SC2086  # unquoted: the trailing space goes
  a=$(echo ${V[1,$k]} | median) b=$(echo ${V[$B,$k]} | median)
  $PY - "$k" "$a" "$b" <<'PYEOF'
import sys
k, a, b = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
f = "%.0f" if k.endswith("_ms") or k == "errors" else "%.1f"
r = "-" if k == "errors" or a == 0 else "%.2fx" % (b / a)
print(("| %s | " + f + " | " + f + " | %s |") % (k, a, b, r))
PYEOF
done
