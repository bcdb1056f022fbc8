#!/bin/sh
# Installs node-llama-cpp (the npm package that ships a prebuilt llama.cpp for
# linux-x64) into a cache folder once, and prints that folder. Used by the GGUF
# tests (tests/interop/) and bench/llama_cpp_decode.sh.
#   exit 0: printed the folder    exit 2: npm missing    exit 3: registry unreachable
#   any other status: the install failed (npm's output is on stderr)
# --ignore-scripts: the package's postinstall would try to build llama.cpp from
# source (downloading it) when it doubts the prebuilt binary; we use the prebuilt
# one only. Only the linux-x64 CPU binary is installed (not the CUDA/Vulkan ones):
# 83 MB instead of 730 MB. Nothing here or at run time downloads a model.
set -eu
version=3.21.1  # pinned: newer releases may not install here
dir="${PREALIGN_NPM_CACHE:-$HOME/.cache/prealign/npm}/node-llama-cpp-$version"
if [ -f "$dir/.installed" ]; then echo "$dir"; exit 0; fi
command -v npm >/dev/null 2>&1 || { echo "npm is not installed" >&2; exit 2; }
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9  # tests run in parallel: one installs, the others wait
if [ ! -f "$dir/.installed" ]; then
  timeout 30 npm ping >/dev/null 2>&1 || { echo "the npm registry is unreachable (npm ping failed)" >&2; exit 3; }
  cd "$dir"
  echo '{"name": "prealign-node-llama-cpp", "private": true}' >package.json
  timeout 600 npm install --save-exact --ignore-scripts --omit=optional --no-audit --no-fund \
    "node-llama-cpp@$version" "@node-llama-cpp/linux-x64@$version" >&2
  touch .installed
fi
echo "$dir"
