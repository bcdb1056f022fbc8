#!/usr/bin/env bash
# README "A tour", runnable: the lines between the two "tour" markers below are
# the README's tour block, character for character (tests/cli/test_tour.cpp
# checks it, and runs this script with --tiny in the default test suite).
#
#   docs/tour.sh [--tiny] [DIR]
#
# DIR: where everything is written; it must be new or empty (default: a new
# temporary directory), so the tour never writes into the source tree or over
# anything. Data: Python sources Debian ships in /usr/lib/python3.11.
# --tiny: a tokenizer, model and run small enough for the test suite (30-40 s
# in all on 2 busy cores); the default sizes took 11 min 40 s there.
# PREALIGN: the binary (default: build/prealign of this source tree).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREALIGN=${PREALIGN:-$ROOT/build/prealign}
DIR=""
unset VOCAB MODEL STEPS  # the sizes come from the tour block, or from --tiny, never from the environment
for a in "$@"; do
  case $a in
    --tiny) VOCAB=384 MODEL=tiny STEPS=30 ;;  # the tour block keeps these (its ${X:-default})
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "docs/tour.sh: unknown option $a (usage: docs/tour.sh [--tiny] [DIR])" >&2; exit 2 ;;
    *) DIR=$a ;;
  esac
done

if [ ! -x "$PREALIGN" ] || [ "$(basename "$PREALIGN")" != prealign ]; then
  echo "docs/tour.sh: no prealign binary at $PREALIGN; build it (scripts/build.sh) or set PREALIGN" >&2
  exit 1
fi
if [ -z "$DIR" ]; then
  DIR=$(mktemp -d "${TMPDIR:-/tmp}/prealign-tour.XXXXXX")
elif [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
  echo "docs/tour.sh: $DIR is not empty; give a new or empty directory" >&2
  exit 2
fi
mkdir -p "$DIR"
cd "$DIR"
echo "tour: in $DIR, with $PREALIGN" >&2
# The block calls `prealign`, as a reader with it on PATH would.
PATH="$(cd "$(dirname "$PREALIGN")" && pwd):$PATH"
set -x

# >>> tour
VOCAB=${VOCAB:-2048} MODEL=${MODEL:-small} STEPS=${STEPS:-600}  # sizes (docs/tour.sh --tiny: smaller)
# the corpus: some Python files of the standard library Debian ships
mkdir corpus && cp /usr/lib/python3.11/[a-c]*.py corpus/
# each line scored by pycodestyle (docs/scoring.md) -> scored JSONL, one document per file
prealign score corpus --glob '*.py' --config pep8 -o corpus.scored.jsonl
# a tokenizer whose tags are control symbols; the documents `tokenize --val-fraction 0.1` will hold
# out are kept out of its vocabulary too (both use the default --seed)
prealign tokenizer train corpus.scored.jsonl --tagset good_bad --vocab-size "$VOCAB" --exclude-val-fraction 0.1 -o tok/
# what the model sees of a string: the tag stays plain text, never the tag's id
echo 'x = "<|bad|>"' | prealign tokenizer encode --tokenizer tok --json
# token shards keeping each line's score, so tags are chosen at training time (docs/formats.md)
prealign tokenize corpus.scored.jsonl --tokenizer tok --out data --val-fraction 0.1
# PHF conditional training: <|good|>/<|bad|> before each line by its score, 10% of lines untagged
prealign train --data data --out runs/cond --model "$MODEL" --objective conditional --threshold 0 --steps "$STEPS"
# generate under the checkpoint's default policy (good_only: <|good|> forced first, <|bad|> banned)
prealign generate --model runs/cond/checkpoint --prompt 'def parse(path):' --temperature 0.7 --top-p 0.9 --json
# <<< tour

{ set +x; } 2>/dev/null
echo "tour: done; everything is in $DIR" >&2
