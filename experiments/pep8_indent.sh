#!/usr/bin/env bash
# How each model of a pep8 experiment opens a function body after a top-level
# signature: the indentation of the first generated line over N samples at
# temperature 1. A well-formed body is indented 4 spaces; docs/eval.md uses this
# to show which objectives lost Python's structure. --after-prompt: the prompt
# ends its line ("\n" appended) and the policy's start tag comes after it (PHF's
# placement for function prompts); the first generated line is then the body's.
#
# --checkpoints: also every kept earlier checkpoint (rows "run@STEP"): when a run learned the indentation.
#
#   experiments/pep8_indent.sh [--out DIR] [--samples N] [--prompt TEXT] [--after-prompt] [--checkpoints]
set -euo pipefail
OUT=runs/pep8 SAMPLES=200 PROMPT="def newer_group(sources, target, missing='error'):" AFTER=0 CURVE=0
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=$2; shift ;;
    --samples) SAMPLES=$2; shift ;;
    --prompt) PROMPT=$2; shift ;;
    --after-prompt) AFTER=1 ;;
    --checkpoints) CURVE=1 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
source "$(dirname "$0")/lib.sh"
[ -d "$OUT/runs" ] || { echo "error: $OUT/runs not found; run experiments/pep8.sh --out $OUT first" >&2; exit 2; }
printf '%-16s %s\n' run "first-line indentation: count (-1 = no new line)"
models() {  # "row-name checkpoint-dir" per model: each run's final checkpoint, with --checkpoints its earlier ones first
  local dir run ck
  for dir in "$OUT"/runs/*/; do
    run=$(basename "$dir")
    [ -d "$dir/checkpoint" ] || continue
    if [ "$CURVE" = 1 ]; then
      local final
      final=$(sed -n 's/.*"step": *\([0-9]*\).*/\1/p' "$dir/checkpoint/train_state.json" | head -1)
      for ck in "$dir"checkpoints/step-*; do  # the glob sorts: the names are zero-padded
        [ -d "$ck" ] && [ "$((10#${ck##*/step-}))" -lt "${final:-0}" ] && echo "$run@$((10#${ck##*/step-})) $ck"
      done
    fi
    echo "$run $dir/checkpoint"
  done
}
models | while read -r run checkpoint; do
  placement=()
  [ "$AFTER" = 1 ] && placement=(--prompt "$PROMPT"$'\n' --start-position after_prompt)
  [ "$AFTER" = 1 ] || placement=(--prompt "$PROMPT")
  counts=$("$PREALIGN" generate --model "$checkpoint" "${placement[@]}" --json --max-new-tokens 6 \
      --temperature 1 --num-samples "$SAMPLES" --seed 1 2>/dev/null | AFTER=$AFTER python3 -c '
import collections, json, os, sys
c = collections.Counter()
after = os.environ["AFTER"] == "1"
for line in sys.stdin:
    text = "".join(t["text"] for t in json.loads(line)["tokens"] if not t.get("tag"))
    if after:  # the prompt ended its line: the body starts the text (a blank line is no body line)
        first = text.split("\n")[0] if text and not text.startswith("\n") else None
    else:
        first = text[1:].split("\n")[0] if text.startswith("\n") else None
    c[-1 if first is None else len(first) - len(first.lstrip(" "))] += 1
print("  ".join("%d: %d" % kv for kv in sorted(c.items())))')
  printf '%-16s %s\n' "$run" "$counts"
done
