#!/usr/bin/env bash
# Resident memory of `prealign train` as the dataset grows: the same run (6
# layers x 384, vocab 8192, batch 8 x 256, STEPS steps) on synthetic shards of
# ~100 MB and ~1 GB (bench/make_shards). Shards are memory-mapped and their pages
# released once read, and the document order is computed, not stored, so the peak
# RSS should not depend on the corpus size. Prints peak RSS (kernel's max RSS of
# the process) per size, median of REPS runs.
#
#   bench/train_rss.sh                  # SIZES="50000000 500000000" tokens (u16: 100 MB, 1 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
STEPS=${STEPS:-40}
SIZES=${SIZES:-"50000000 500000000"}
MODEL=${MODEL:-"dim=384,layers=6,heads=6"}
. bench/lib.sh
MAKE=${MAKE:-build/bench/make_shards}

machine_line
printf '| train tokens | shard bytes | peak RSS, median of %s (MB) |\n|---|---|---|\n' "$REPS"
for n in $SIZES; do
  d=$WORK/synthetic-$n
  [ -f "$d/dataset.json" ] || "$MAKE" --like "$DATA" --tokens "$n" --out "$d" >/dev/null
  bytes=$(du -cb "$d"/train-*.bin | tail -1 | cut -f1)
  r=()
  for _ in $(seq "$REPS"); do
    rm -rf "$WORK/rss-run"
    /usr/bin/time -f '%M' -o "$WORK/rss.txt" "$PRE" train --data "$d" --out "$WORK/rss-run" --model "$MODEL,ctx=$SEQ" \
        --steps "$STEPS" --batch-size "$BATCH" --seq-len "$SEQ" --eval-every 0 --eval-batches 2 >/dev/null 2>&1
    kb=$(tail -1 "$WORK/rss.txt")
    r+=("$kb")
  done
  awk -v n="$n" -v b="$bytes" -v kb="$(echo "${r[@]}" | median)" 'BEGIN {printf "| %.0fM | %.0f MB | %.0f |\n", n/1e6, b/1e6, kb/1024}'
done
