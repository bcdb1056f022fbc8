#!/usr/bin/env bash
# Training throughput of prealign's own loop (`prealign train`: data stream,
# objective, forward, backward, clipping, AdamW) against the same model written
# in PyTorch Python (bench/reference_llama.py), same threads and environment,
# runs alternated so machine noise hits both alike. Reports median tok/s per
# implementation and the ratios; MFU is against this machine's cached matmul peak.
#
#   bench/train_throughput.sh                       # the issue's shape: 6 layers, width 384, vocab 8192, ctx 256, batch 8
#   MODELS="tiny small base medium large" bench/train_throughput.sh
# Needs: build/prealign, Debian's python3-torch (PREALIGN_BENCH_DEPS=1 scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
STEPS=${STEPS:-12}
MODELS=${MODELS:-"dim=384,layers=6,heads=6"}
. bench/lib.sh

machine_line
echo "B=$BATCH T=$SEQ vocab=$VOCAB, $REPS alternating runs of $STEPS measured steps each; tok/s medians"
# prealign sets OMP_WAIT_POLICY=PASSIVE itself (src/model/runtime.cpp); the Python
# reference runs both with libgomp's default (active spinning) and with PASSIVE.
printf '| model | prealign (onednn) tok/s | mfu | prealign (torch BLAS) tok/s | Python tok/s | Python, PASSIVE tok/s | prealign / best Python | onednn / torch BLAS |\n|---|---|---|---|---|---|---|---|\n'
for model in $MODELS; do
  a=(); m=(); b=(); p=(); q=()
  for _ in $(seq "$REPS"); do
    read -r tok mfu < <(prealign_run "$model" --matmul onednn); a+=("$tok"); m+=("$mfu")
    read -r tok _ < <(prealign_run "$model" --matmul torch); b+=("$tok")
    p+=("$(python_run default)")
    q+=("$(python_run PASSIVE)")
  done
  A=$(echo "${a[@]}" | median); M=$(echo "${m[@]}" | median); B=$(echo "${b[@]}" | median)
  P=$(echo "${p[@]}" | median); Q=$(echo "${q[@]}" | median)
  awk -v model="$model" -v A="$A" -v M="$M" -v B="$B" -v P="$P" -v Q="$Q" \
      'BEGIN {best = P > Q ? P : Q; printf "| %s | %.0f | %.0f%% | %.0f | %.0f | %.0f | %.2fx | %.2fx |\n", model, A, 100*M, B, P, Q, A/best, A/B}'
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
