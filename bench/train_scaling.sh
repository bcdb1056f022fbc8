#!/usr/bin/env bash
# Data-parallel scaling on one machine: the same global batch trained by one
# process and by two ranks (`prealign launch --nproc 2`, Gloo over loopback),
# runs alternated, medians. On a 2-core machine the fair baseline for "2 ranks x
# 1 thread" is "1 rank x 1 thread": efficiency = tok/s(2 ranks) / (2 x tok/s(1 rank,
# 1 thread)). Also: 1 rank using both cores, and 2 ranks with the all-reduce
# overlapped with backward (--grad-overlap, small buckets).
#
#   bench/train_scaling.sh               # 6 layers x 384, vocab 8192, ctx 256, global batch 8
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
STEPS=${STEPS:-12}
MODEL=${MODEL:-"dim=384,layers=6,heads=6"}
. bench/lib.sh
GLOBAL=$BATCH

machine_line
echo "model $MODEL, global batch $GLOBAL x $SEQ, vocab $VOCAB, $REPS alternating runs of $STEPS measured steps; tok/s medians"
a=(); b=(); c=(); d=()
for _ in $(seq "$REPS"); do
  read -r tok _ < <(BATCH=$GLOBAL prealign_run "$MODEL" --threads 1); a+=("$tok")
  read -r tok _ < <(BATCH=$GLOBAL prealign_run "$MODEL" --threads 2); b+=("$tok")
  read -r tok _ < <(BATCH=$((GLOBAL / 2)) prealign_run "$MODEL" launch --nproc 2 --); c+=("$tok")
  read -r tok _ < <(BATCH=$((GLOBAL / 2)) prealign_run "$MODEL" launch --nproc 2 -- :: --grad-overlap --grad-bucket-mb 4); d+=("$tok")
done
A=$(echo "${a[@]}" | median); B=$(echo "${b[@]}" | median); C=$(echo "${c[@]}" | median); D=$(echo "${d[@]}" | median)
printf '| 1 rank, 1 thread | 1 rank, 2 threads | 2 ranks x 1 thread | 2 ranks, overlapped all-reduce | 2 ranks / 1 rank (1 thread) | efficiency | 2 ranks / 1 rank (2 threads) | overlap / after backward |\n|---|---|---|---|---|---|---|---|\n'
awk -v A="$A" -v B="$B" -v C="$C" -v D="$D" \
    'BEGIN {printf "| %.0f | %.0f | %.0f | %.0f | %.2fx | %.0f%% | %.2fx | %.2fx |\n", A, B, C, D, C/A, 100*C/(2*A), C/B, D/C}'
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
