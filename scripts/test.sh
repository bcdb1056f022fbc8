#!/usr/bin/env bash
# The README's second command: set up, build, and run the test suite.
# Long experiments carry the ctest label "long" and are skipped here;
# run them with: ctest --test-dir build -L long
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build -LE long --output-on-failure --timeout 900 -j "$(nproc)" "$@"
