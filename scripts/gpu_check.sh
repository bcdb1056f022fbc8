#!/usr/bin/env bash
# For a person with a CUDA machine: builds prealign against a CUDA build of
# libtorch, runs the CUDA tests (ctest label "cuda": model, training in fp32 and
# bf16, decoding under a policy, evaluation on the GPU; NCCL across the GPUs if
# there are two or more), then a 2-minute throughput run of the 124m preset
# (PHF's model size) that prints tokens/s and MFU against the GPU's bf16 matmul
# peak (measured once and cached, see src/train/throughput.hpp).
#
#   TORCH_DIR=/opt/libtorch scripts/gpu_check.sh        # libtorch unpacked from pytorch.org (cxx11 ABI)
#
# Debian's libtorch is CPU-only, so this cannot run on the machine prealign is
# developed on; there the same tests are reported as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TORCH_DIR:?set TORCH_DIR to a CUDA libtorch (the directory holding share/cmake/Torch)}"
build=${BUILD_DIR:-build-gpu}
scripts/setup.sh   # the other dependencies, from Debian

echo "== build against $TORCH_DIR"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_DIR" >/dev/null
cmake --build "$build" -j "$(nproc)"
B="$build/prealign"

echo "== CUDA tests"
ctest --test-dir "$build" -L cuda --output-on-failure

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== data: Python's standard library, tokenized ($work)"
"$B" tokenizer train /usr/lib/python3.11 --glob '*.py' --tagset good_bad --vocab-size 32000 -o "$work/tok/tokenizer.model"
"$B" tokenize /usr/lib/python3.11 --glob '*.py' --tokenizer "$work/tok" --tagset good_bad --out "$work/data"

gpus=$(nvidia-smi -L 2>/dev/null | wc -l || echo 1)
echo "== 124m preset, bf16, $gpus GPU(s), about 2 minutes"
run=( train --data "$work/data" --out "$work/run" --model 124m --seq-len 1024 --batch-size 8 --grad-accum 4
      --precision bf16 --device cuda --steps 100000 --stop-after 150 --eval-every 0 --log-every 10 --lr 6e-4 )
if [ "$gpus" -gt 1 ]; then
  "$B" launch --nproc "$gpus" -- "${run[@]}"
else
  "$B" "${run[@]}"
fi
python3 - "$work/run/metrics.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
rows = rows[len(rows) // 5:]  # leave out the warm-up
print(f"median over {len(rows)} steps: {statistics.median(r['tok_s'] for r in rows):,.0f} tok/s, "
      f"MFU {100 * statistics.median(r['mfu'] for r in rows):.1f}% of the measured bf16 matmul peak")
PY
