#!/usr/bin/env bash
# bf16 against fp32 training on the CPU, prealign and PyTorch Python side by
# side: prealign --precision fp32|bf16 (bf16: autocast matmuls through oneDNN's
# bf16 kernels, fp32 master weights) and the same model in Python, fp32 and under
# torch.autocast("cpu", bfloat16). Runs alternated, medians; the Python runs use
# OMP_WAIT_POLICY=PASSIVE, the faster policy here (bench/train_throughput.sh).
#
#   bench/train_precision.sh             # 6 layers x 384, vocab 8192, ctx 256, batch 8
# Needs: build/prealign, Debian's python3-torch (PREALIGN_BENCH_DEPS=1 scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
STEPS=${STEPS:-12}
MODEL=${MODEL:-"dim=384,layers=6,heads=6"}
. bench/lib.sh

machine_line
echo "model $MODEL, B=$BATCH T=$SEQ vocab=$VOCAB, $REPS alternating runs of $STEPS measured steps; tok/s medians"
a=(); am=(); b=(); bm=(); p=(); q=(); pr=(); qr=()
for _ in $(seq "$REPS"); do
  read -r tok mfu < <(prealign_run "$MODEL" :: --precision fp32); a+=("$tok"); am+=("$mfu")
  read -r tok mfu < <(prealign_run "$MODEL" :: --precision bf16); b+=("$tok"); bm+=("$mfu")
  p+=("$(python_run PASSIVE --precision fp32)")
  q+=("$(python_run PASSIVE --precision bf16)")
  pr+=("$(python_run PASSIVE+reuse --precision fp32)")
  qr+=("$(python_run PASSIVE+reuse --precision bf16)")
done
A=$(echo "${a[@]}" | median); AM=$(echo "${am[@]}" | median); B=$(echo "${b[@]}" | median)
BM=$(echo "${bm[@]}" | median); P=$(echo "${p[@]}" | median); Q=$(echo "${q[@]}" | median)
PR=$(echo "${pr[@]}" | median); QR=$(echo "${qr[@]}" | median)
echo "Python columns: as run by default | with prealign's malloc settings (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_)"
printf '| prealign fp32 | prealign bf16 | Python fp32 | Python bf16 autocast | prealign bf16 / fp32 | prealign bf16 / best Python | prealign fp32 / Python fp32 | Python bf16 / fp32 |\n|---|---|---|---|---|---|---|---|\n'
awk -v A="$A" -v AM="$AM" -v B="$B" -v BM="$BM" -v P="$P" -v Q="$Q" -v PR="$PR" -v QR="$QR" \
    'BEGIN {best = P > Q ? P : Q; bestr = PR > QR ? PR : QR;
            printf "| %.0f (mfu %.0f%%) | %.0f (mfu %.0f%% of the bf16 peak) | %.0f \\| %.0f | %.0f \\| %.0f | %.2fx | %.2fx \\| %.2fx | %.2fx \\| %.2fx | %.2fx \\| %.2fx |\n",
                   A, 100*AM, B, 100*BM, P, PR, Q, QR, B/A, B/best, B/bestr, A/P, A/PR, Q/P, QR/PR}'
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
