#!/usr/bin/env bash
# The README's first command: set up, build, and run the default job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh --target prealign
exec build/prealign demo "$@"
