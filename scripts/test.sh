#!/usr/bin/env bash
# The README's second command: set up, build, and run the test suite.
# Long experiments carry the ctest label "long" and are skipped here;
# run them with: ctest --test-dir build -L long
set -euo pipefail
cd "$(dirname "$0")/.."
PREALIGN_TEST_DEPS=1 scripts/setup.sh   # with python3-torch, the tests' reference implementation
scripts/build.sh
ctest --test-dir build -LE long --output-on-failure --timeout 900 -j "$(nproc)" "$@"
