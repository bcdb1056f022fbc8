#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang 14 (ASan + UBSan) into
# ./build-fuzz and runs each for $FUZZ_SECONDS seconds (default 60), two at a
# time, after replaying every committed seed and regression input.
# Figures and how to add a crash as a regression: docs/testing.md "Fuzzing".
#   FUZZ_SECONDS=600 scripts/fuzz.sh -R markup    # one target, longer
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DPREALIGN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j 2
ctest --test-dir build-fuzz -L fuzz --output-on-failure -V -j 2 "$@"
