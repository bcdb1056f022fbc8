#!/usr/bin/env bash
# Takes the picture of `prealign serve`'s page that the README shows: serves
# CHECKPOINT with the already built build/prealign (this builds nothing), runs
# the browser test's script (tests/serve/web_page_check.cjs: headless Debian
# Chromium driven by playwright-core, which it installs into the npm cache as
# the test does) and saves the page after its generation to OUT.
#   scripts/page_screenshot.sh runs/cond/checkpoint [docs/img/serve_page.png]
# docs/img/serve_page.png is the tour's data (`docs/tour.sh --tiny DIR`) trained
# longer than the tour does (2 min 21 s here), so the curves have a shape:
#   (cd DIR && prealign train --data data --out runs/page --model tiny --objective conditional \
#      --threshold 0 --steps 300 --eval-every 25 --eval-batches 4)   # build/ on PATH, as in the tour
#   PROMPT=$'def parse(path):\n    ' FLAG_THRESHOLD=0.005 MAX_TOKENS=96 SEED=3 \
#     scripts/page_screenshot.sh DIR/runs/page/checkpoint
# Environment passed to the script: PROMPT, SEED, MAX_TOKENS, FLAG_THRESHOLD.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ckpt="${1:?usage: scripts/page_screenshot.sh CHECKPOINT [OUT.png]}"
out="$(realpath -m "${2:-$root/docs/img/serve_page.png}")"
binary="$root/build/prealign"
[ -x "$binary" ] || { echo "no $binary: build first (scripts/build.sh)" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "no /usr/bin/chromium: apt-get install chromium" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is not installed (apt-get install nodejs npm)" >&2; exit 1; }

# The version the test pins, and the cache folder it installs into.
version=$(sed -n 's/.*kPlaywrightVersion = "\([0-9.]*\)".*/\1/p' "$root/tests/serve/test_web_page_browser.cpp")
cache="${PREALIGN_NPM_CACHE:-$HOME/.cache/prealign/npm}/playwright-core-$version"
package="$cache/node_modules/playwright-core"
if [ ! -f "$package/package.json" ]; then
  staging="$cache.partial-$$"
  rm -rf "$staging"
  timeout 300 npm install --prefix "$staging" --no-audit --no-fund --no-save "playwright-core@$version" >&2
  mv "$staging" "$cache"
fi

log=$(mktemp)
key="sk-screenshot-$$"
PREALIGN_API_KEY="$key" "$binary" serve --model "$ckpt" --port 0 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -q listening "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\)\/.*/\1/p' "$log")
[ -n "$port" ] || { cat "$log" >&2; exit 1; }

curves=0
[ -f "$(dirname "$(realpath "$ckpt")")/metrics.jsonl" ] && curves=1
mkdir -p "$(dirname "$out")"
PLAYWRIGHT_PACKAGE="$package" BASE_URL="http://127.0.0.1:$port" API_KEY="$key" EXPECT_CURVES=$curves \
  SCREENSHOT="$out" node "$root/tests/serve/web_page_check.cjs"
