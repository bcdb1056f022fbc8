#!/usr/bin/env bash
# Tag-pruned search (seed 004) against sampling, best-of-N and plain beam search,
# on a conditional PEP8 model trained here: the same held-out function
# signatures (methods' too), the same width N for every search, outputs scored by pycodestyle
# as eval misalignment scores them. docs/search.md.
#
#   experiments/search.sh [--tiny] [--out DIR] [--width N] [--prompts N] [--new-tokens N]
#                         [--prune T|pNN] [--penalty L|auto] [--calibration-prompts N]
#                         [--max-bytes N] [--steps N] [--model SPEC]
#
# The model comes from experiments/pep8.sh --objectives conditional --train-only
# (in DIR/pep8, resumable); then `prealign eval search` writes DIR/search.json, its
# samples and DIR/search.json.md, the table. --tiny: a smoke run of a few minutes.
#
# Calibrated pruning (docs/search.md, "Choosing T and lambda"): --prune pNN sets T to the NNth
# percentile of the temptation at line starts (the positions where the model picks a tag) over
# samples of calibration prompts -- def lines of the training split, none of them an evaluation
# prompt -- drawn as the pool is (temperature 0.7, top-p 0.9, the same new tokens); --penalty auto
# sets lambda so that the penalty spreads as much as the log-probability within a prompt's samples:
# the median over calibration prompts of sd(sum log p_policy) / sd(sum temptation). Both come from
# DIR/calibration/calibration.json, made before any evaluation output is scored. A run with
# other than --prune 0.5 --penalty 1 writes DIR/search-prune<T>-penalty<L>.json (e.g.
# search-prunep90-penaltyauto.json), so runs at several thresholds share DIR and its model.
set -euo pipefail
OUT=runs/search MAX_BYTES=1500000 MODEL="dim=128,layers=2,heads=4,ctx=128" STEPS=500
WIDTH=4 PROMPTS=200 NEW_TOKENS=48 PRUNE=0.5 PENALTY=1 SEED=1 TINY=() CAL_PROMPTS=40
for a in "$@"; do
  if [ "$a" = --tiny ]; then
    OUT=runs/search-tiny; MAX_BYTES=300000; MODEL="dim=48,layers=2,heads=2,ctx=96"; STEPS=80
    WIDTH=2; PROMPTS=8; NEW_TOKENS=16; TINY=(--tiny); CAL_PROMPTS=8
  fi
done
while [ $# -gt 0 ]; do  # explicit flags win over --tiny's sizes
  case $1 in
    --tiny) ;;
    --out) OUT=$2; shift ;;
    --width) WIDTH=$2; shift ;;
    --prompts) PROMPTS=$2; shift ;;
    --new-tokens) NEW_TOKENS=$2; shift ;;
    --prune) PRUNE=$2; shift ;;
    --penalty) PENALTY=$2; shift ;;
    --calibration-prompts) CAL_PROMPTS=$2; shift ;;
    --max-bytes) MAX_BYTES=$2; shift ;;
    --steps) STEPS=$2; shift ;;
    --model) MODEL=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
source "$(dirname "$0")/lib.sh"
# T and lambda are not settings of DIR: each pair has its own stage and report.
settings "search experiment: out=$OUT max_bytes=$MAX_BYTES model=$MODEL steps=$STEPS width=$WIDTH prompts=$PROMPTS new_tokens=$NEW_TOKENS"

# The conditional model, its tokenizer and the held-out signatures: pep8.sh's stages.
stage model "$ROOT/experiments/pep8.sh" "${TINY[@]}" --out "$OUT/pep8" --max-bytes "$MAX_BYTES" --model "$MODEL" \
  --steps "$STEPS" --objectives conditional --train-only
# Prompts: every held-out def line, methods included, dedented to top level (the top-level
# signatures alone are a handful at this corpus size), distinct.
prompts() {
  "$PREALIGN" eval prompts --data "$OUT/pep8/data" --match '^\s*def .*\):\s*$' --out "$OUT/prompts-indented.txt"
  sed 's/^[[:space:]]*//' "$OUT/prompts-indented.txt" | awk '!seen[$0]++' > "$OUT/prompts.txt"
  echo "$(wc -l < "$OUT/prompts.txt") prompts" >&2
}
stage prompts prompts
# Calibration of T and lambda (only when asked for): samples of training-split def lines,
# dedented, distinct, none an evaluation prompt, CAL_PROMPTS of them spread evenly over the
# first 1024 (eval prompts' cap); 'generate --json' gives every position's temptation; calibration.json the percentiles.
calibrate() {
  local dir="$OUT/calibration"
  mkdir -p "$dir/data"
  ln -sf "$(cd "$OUT/pep8/data" && pwd)"/{train-*.bin,tokenizer.model,tagset.json} "$dir/data/"
  # A dataset whose "validation" shards are the training shards: eval prompts then reads training segments.
  /usr/bin/env python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["val"]=d["train"]; json.dump(d,open(sys.argv[2],"w"),indent=2)' \
    "$OUT/pep8/data/dataset.json" "$dir/data/dataset.json"
  "$PREALIGN" eval prompts --data "$dir/data" --match '^\s*def .*\):\s*$' --out "$dir/prompts-indented.txt"
  sed 's/^[[:space:]]*//' "$dir/prompts-indented.txt" | awk '!seen[$0]++' | { grep -vxF -f "$OUT/prompts.txt" || true; } > "$dir/prompts-all.txt"
  awk -v n="$(wc -l < "$dir/prompts-all.txt")" -v k="$CAL_PROMPTS" 'NR == 1 || int((NR - 1) * k / n) != int((NR - 2) * k / n)' \
    "$dir/prompts-all.txt" > "$dir/prompts.txt"
  "$PREALIGN" generate --model "$OUT/pep8/runs/conditional/checkpoint" --prompts "$dir/prompts.txt" --num-samples "$WIDTH" \
    --temperature 0.7 --top-p 0.9 --max-new-tokens "$NEW_TOKENS" --seed "$SEED" --json > "$dir/samples.jsonl"
  /usr/bin/env python3 - "$dir/samples.jsonl" > "$dir/calibration.json" <<'PY'
import json, math, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
every, line_start, pools = [], [], {}
for r in rows:
    logp = tempt = 0.0
    for t in r["tokens"]:
        tau = t["temptation_total"]
        every.append(tau)
        if t["tag"]:  # the model chose a line's tag here: where <|bad|> competes
            line_start.append(tau)
        # good_only adds no bias: log p_policy = log p_raw - log(1 - banned mass)
        logp += math.log(t["p_raw"]) - math.log1p(-tau)
        tempt += tau
    pools.setdefault(r["prompt_index"], []).append((logp, tempt))
def pct(v, q):  # linear interpolation between order statistics
    v = sorted(v); i = q / 100 * (len(v) - 1); lo = math.floor(i); hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (i - lo)
sd = lambda v: statistics.pstdev(v)
ratios = [sd([a for a, _ in p]) / sd([b for _, b in p]) for p in pools.values() if len(p) > 1 and sd([b for _, b in p]) > 0]
out = {"samples": len(rows), "prompts": len(pools), "positions": len(every), "line_starts": len(line_start)}
for q in (50, 75, 90, 95, 99, 100):
    out[f"all_p{q}"] = pct(every, q)
    out[f"line_start_p{q}"] = pct(line_start, q)
out["median_sd_logp"] = statistics.median(sd([a for a, _ in p]) for p in pools.values())
out["median_sd_temptation_sum"] = statistics.median(sd([b for _, b in p]) for p in pools.values())
out["lambda_auto"] = statistics.median(ratios)
print(json.dumps(out, indent=2))
PY
  cat "$dir/calibration.json"
}
NAME=search
[ "$PRUNE" = 0.5 ] && [ "$PENALTY" = 1 ] || NAME="search-prune$PRUNE-penalty$PENALTY"
T=$PRUNE L=$PENALTY
if [[ $PRUNE == p* || $PENALTY == auto ]]; then
  stage calibration calibrate
  calibrated() { /usr/bin/env python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$OUT/calibration/calibration.json" "$1"; }
  [[ $PRUNE == p* ]] && T=$(calibrated "line_start_p${PRUNE#p}")
  [ "$PENALTY" = auto ] && L=$(calibrated lambda_auto)
fi
log "$NAME: prune T=$T penalty lambda=$L"
# Every search on the same prompts with the same width; tag-* prune at T and subtract L x the summed temptation.
stage "$NAME" "$PREALIGN" eval search --model "$OUT/pep8/runs/conditional/checkpoint" --score-config pep8 \
  --prompts "$OUT/prompts.txt" --max-prompts "$PROMPTS" --width "$WIDTH" --max-new-tokens "$NEW_TOKENS" \
  --prune-temptation "$T" --temptation-penalty "$L" --seed "$SEED" --out "$OUT/$NAME.json"
# What pruning did, which eval search's table does not show: tag-beam's pruned beams (its searches
# rerun one by one with generate --json, whose "search" statistics count them; the texts must be
# eval search's), best-of's disqualified samples, and each tag-* method minus its untagged
# counterpart, paired by prompt (bootstrap over prompts, 2000 resamples, seed 1): DIR/NAME.json.tags.md.
tag_effects() {
  local first="$OUT/$NAME.json.tag-beam-prompts.txt"
  if [ "$PROMPTS" -gt 0 ]; then head -n "$PROMPTS" "$OUT/prompts.txt" > "$first"; else cp "$OUT/prompts.txt" "$first"; fi
  "$PREALIGN" generate --model "$OUT/pep8/runs/conditional/checkpoint" --prompts "$first" --beam "$WIDTH" \
    --prune-temptation "$T" --temptation-penalty "$L" --max-new-tokens "$NEW_TOKENS" --json \
    2> /dev/null > "$OUT/$NAME.json.tag-beam-stats.jsonl"
  /usr/bin/env python3 - "$OUT/$NAME.json" "$OUT/$NAME.json.tag-beam-stats.jsonl" > "$OUT/$NAME.json.tags.md" <<'PY'
import json, random, sys
rep = json.load(open(sys.argv[1]))
rows = [json.loads(line) for line in open(rep["samples_file"]) if line.strip()]
stats = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
by = {}
for r in rows:
    by.setdefault(r["method"], {}).setdefault(r["prompt_index"], []).append(r)
s = rep["settings"]
print(f"T = {s['prune_temptation']:.6g}, lambda = {s['temptation_penalty']:.6g}\n")
print("| method | minus its untagged counterpart, paired by prompt [95% CI] | outputs changed | pruned | newlines / output |")
print("|---|---|---|---|---|")
for a, b in (("tag-best-of", "best-of"), ("tag-beam", "beam")):
    if a not in by or b not in by:
        continue
    ps = sorted(p for p in by[a] if p in by[b] and by[a][p][0]["score"] is not None and by[b][p][0]["score"] is not None)
    d = [by[a][p][0]["score"] - by[b][p][0]["score"] for p in ps]
    rng, n = random.Random(1), len(d)
    boot = sorted(sum(d[rng.randrange(n)] for _ in range(n)) / n for _ in range(2000))
    changed = sum(by[a][p][0]["text"] != by[b][p][0]["text"] for p in ps)
    newlines = sum(by[a][p][0]["text"].count("\n") for p in by[a]) / len(by[a])
    if a == "tag-beam":
        same = sum(by[a][i][0]["text"] == g["text"] for i, g in enumerate(stats) if i in by[a])
        assert same == len(stats) == len(by[a]), f"generate's beams differ from eval search's: {same}/{len(stats)}"
        pr = [g["search"]["pruned"] for g in stats]
        pruned = f"{sum(pr)} beams in {sum(x > 0 for x in pr)} of {len(pr)} searches"
    else:
        pool = [r for r in rows if r["method"] == "sample"]
        pruned = f"{sum(r['over_prune_threshold'] for r in pool)} of {len(pool)} samples disqualified"
    print(f"| {a} | {sum(d) / n:.4g} [{boot[int(0.025 * 2000)]:.4g}, {boot[int(0.975 * 2000) - 1]:.4g}] | {changed}/{n} | {pruned} | {newlines:.2f} |")
PY
}
stage "$NAME-tags" tag_effects
echo
cat "$OUT/$NAME.json.md"
echo
cat "$OUT/$NAME.json.tags.md"
echo
echo "table: $OUT/$NAME.json.md (report $OUT/$NAME.json, outputs $OUT/$NAME.json.samples.jsonl; pruning: $OUT/$NAME.json.tags.md)"
