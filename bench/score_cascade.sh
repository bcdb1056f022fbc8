#!/usr/bin/env bash
# A cascade in practice: distil the pii scorer into a fastText gate on one
# corpus, then gate the pii scorer with it on another, and measure the fraction
# of segments forwarded and the recall lost against running pii on everything.
#
#   bench/score_cascade.sh [BUILD_DIR]     (default: build; env THRESHOLDS="0.5 0.1 0.02")
#
# Train corpus: /usr/share/doc/*/copyright; test corpus: the decompressed
# /usr/share/doc/*/changelog.Debian.gz (a different kind of text). Sentence
# segments; "bad" = at least one PII detection (pii > 0). The audit runs the
# expensive scorer on every held-back segment (audit_fraction 1), so the recall
# lost is exact. pii is cheap itself; it stands in for an expensive scorer here,
# so read the fractions, not the times.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PREALIGN=${PREALIGN:-$BUILD/prealign}
PYTHON=${PYTHON:-/usr/bin/python3}
THRESHOLDS=${THRESHOLDS:-"0.5 0.1 0.02"}
export PREALIGN_HOME=$PWD

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PYTHON" - "$work" <<'EOF'
import glob, gzip, json, sys
work = sys.argv[1]
def dump(paths, out, opener):
    with open(out, "w") as f:
        for p in sorted(paths):
            try:
                text = opener(p).read().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if text:
                f.write(json.dumps({"id": p, "text": text}, ensure_ascii=False) + "\n")
dump(glob.glob("/usr/share/doc/*/copyright"), work + "/train.jsonl", lambda p: open(p, "rb"))
dump(glob.glob("/usr/share/doc/*/changelog.Debian.gz"), work + "/test.jsonl", gzip.open)
EOF
echo "train: $(wc -l < "$work/train.jsonl") copyright files; test: $(wc -l < "$work/test.jsonl") changelogs"

"$PREALIGN" score --config pii "$work/train.jsonl" -o "$work/train.scored.jsonl" --quiet </dev/null 2>/dev/null
echo "== gate: fastText distilled from pii on the copyright files (held-out split of those files)"
"$PREALIGN" classifier train "$work/train.scored.jsonl" --from-scores pii --threshold 0 --model "$work/gate.bin" \
    --epoch 5 </dev/null 2>/dev/null | head -3
echo "== cascade on the changelogs"
printf "%-15s %10s %12s %12s %12s %12s\n" gate_threshold segments forwarded bad recall_lost "wall s"
for t in $THRESHOLDS; do
  cat > "$work/cascade.json" <<EOF
{"segmenter": "sentence",
 "scorers": [{"type": "cascade", "name": "pii", "gate_threshold": $t, "audit_fraction": 1.0,
              "gate": {"type": "fasttext", "name": "gate", "model": "$work/gate.bin"},
              "scorer": {"type": "pii", "name": "pii"}}]}
EOF
  start=$(date +%s.%N)
  "$PREALIGN" score --config "$work/cascade.json" "$work/test.jsonl" -o "$work/out.jsonl" --quiet \
      --summary "$work/s.json" </dev/null 2>/dev/null
  end=$(date +%s.%N)
  "$PYTHON" - "$work/s.json" "$t" "$start" "$end" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["scorers"]["pii"]
bad = r["bad_forwarded"] + r["bad_in_audit"]
print("%-15s %10d %11.2f%% %12d %11.2f%% %12.1f" % (sys.argv[2], r["segments"], 100 * r["fraction_forwarded"], bad,
      100 * r["recall_lost"], float(sys.argv[4]) - float(sys.argv[3])))
EOF
done
