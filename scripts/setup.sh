#!/usr/bin/env bash
# Installs prealign's build and run dependencies from Debian 12 packages.
# Idempotent and non-interactive: does nothing when everything is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libtorch-dev libopenblas0-openmp   # OpenMP OpenBLAS: see docs/performance.md
  libgloo-dev                        # headers of the Gloo backend libtorch's c10d uses (src/dist/)
  libdnnl-dev                        # oneDNN headers: the model's CPU matmul (src/model/matmul.hpp)
  libsentencepiece-dev libfasttext-dev libre2-dev libhyperscan-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 pycodestyle                # the pep8 scorer's worker and the demo corpus
  openssl                            # experiments/pep8.sh: the seeded stream of its corpus shuffle
  clang libclang-rt-14-dev           # libFuzzer, ASan, UBSan: scripts/fuzz.sh
)
# PyTorch's Python package: the reference the tests compare logits and safetensors
# with (PythonReference.*, Safetensors.InteroperatesWithPython, HfExport.*), and the
# bench/ baselines. scripts/test.sh asks for it; the demo does not need it.
if [ "${PREALIGN_BENCH_DEPS:-0}" = 1 ] || [ "${PREALIGN_TEST_DEPS:-0}" = 1 ]; then
  packages+=(python3-torch)
fi
# SentencePiece's Python package: Hugging Face's LlamaTokenizer logic in the tests
# of `export hf` (tests/interop/hf_llama_tokenizer.py). Chromium: the browser the
# test of the server's page drives (tests/serve/test_web_page_browser.cpp).
if [ "${PREALIGN_TEST_DEPS:-0}" = 1 ]; then
  packages+=(python3-sentencepiece chromium)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
