#!/usr/bin/env bash
# Runs one libFuzzer target: first every committed regression input and seed
# (each must pass), then fuzzing for $FUZZ_SECONDS (default 60) from a scratch
# copy of the seed corpus, so runs never write into the source tree. A crash
# leaves its input in WORK/<target>/ (crash-*): commit it under
# fuzz/regressions/<target>/ once fixed. The last status line (execs/s, cov, ft)
# is printed for docs/testing.md.
#   usage: run_target.sh BINARY FUZZ_DIR TARGET WORK_DIR
set -euo pipefail
binary=$1 fuzz_dir=$2 target=$3 work=$4/$3
seconds=${FUZZ_SECONDS:-60}
rm -rf "$work" && mkdir -p "$work/corpus"
replay=()
for dir in "$fuzz_dir/regressions/$target" "$fuzz_dir/corpus/$target"; do
  if [ -d "$dir" ]; then
    for f in "$dir"/*; do [ -f "$f" ] && replay+=("$f"); done
  fi
done
if [ ${#replay[@]} -gt 0 ]; then
  "$binary" -runs=1 "${replay[@]}" >"$work/replay.log" 2>&1 || { cat "$work/replay.log"; exit 1; }
  echo "replayed ${#replay[@]} committed inputs"
fi
cp "$fuzz_dir/corpus/$target"/* "$work/corpus/" 2>/dev/null || true
cd "$work"
status=0
# A dictionary of the format's keywords, where one is committed (fuzz/<target>.dict).
dict=()
[ -f "$fuzz_dir/$target.dict" ] && dict=(-dict="$fuzz_dir/$target.dict")
"$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  "${dict[@]}" -artifact_prefix="$work/" corpus >"$work/fuzz.log" 2>&1 || status=$?
grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$work/fuzz.log" | tail -1 || true
grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$work/fuzz.log" || true
if [ $status -ne 0 ]; then
  tail -60 "$work/fuzz.log"
  echo "fuzz.$target: crash input in $work (commit it under fuzz/regressions/$target/ with the fix)" >&2
fi
exit $status
