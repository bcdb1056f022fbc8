#!/usr/bin/env bash
# Throughput of the pii scorer on real text, against a Python `re` implementation
# of the same patterns and validators (bench/pii_reference.py) on the same bytes.
#
#   bench/score_pii.sh [BUILD_DIR]        (default: build; env RUNS=3, CAP_MB=100)
#
# Input: every /usr/share/doc/*/changelog.Debian.gz (decompressed) and
# /usr/share/doc/*/copyright, one document per file, capped at CAP_MB. Runs
# alternate C++ / Python (A B A B ...), single-threaded; medians are reported
# in MB/s of CPU time (per core, robust to other load on the machine) and of
# wall time. The ratio is what to trust on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${RUNS:-3}
CAP_MB=${CAP_MB:-100}
BENCH=${PII_BENCH:-$BUILD/bench/pii_bench}
PYTHON=${PYTHON:-/usr/bin/python3}

if [ -z "${PII_BENCH:-}" ]; then
  cmake --build "$BUILD" --target pii_bench >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
input="$work/input.bin"
# One document per file, separated by NUL bytes (which the texts do not contain).
{
  for f in /usr/share/doc/*/changelog.Debian.gz; do gzip -dc "$f" 2>/dev/null || true; printf '\0'; done
  for f in /usr/share/doc/*/copyright; do cat "$f"; printf '\0'; done
} | head -c $((CAP_MB * 1000 * 1000)) > "$input"
n_changelogs=$(ls /usr/share/doc/*/changelog.Debian.gz 2>/dev/null | wc -l)
n_copyrights=$(ls /usr/share/doc/*/copyright 2>/dev/null | wc -l)
echo "input: $(stat -c %s "$input") bytes from $n_changelogs changelogs and $n_copyrights copyright files (cap ${CAP_MB} MB)"

"$BENCH" --patterns > "$work/patterns.json"
for i in $(seq 1 "$RUNS"); do
  "$BENCH" "$input" --what pii --runs 1 >> "$work/results.jsonl"
  "$PYTHON" bench/pii_reference.py "$work/patterns.json" "$input" --runs 1 >> "$work/results.jsonl"
done
"$BENCH" "$input" --what lexicon --runs 3 >> "$work/results.jsonl"
"$BENCH" "$input" --what segment --runs 3 >> "$work/results.jsonl"

"$PYTHON" - "$work/results.jsonl" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(engine, what, key):
    return statistics.median(r[key] for r in rows if r["engine"] == engine and r["what"] == what)
print("%-22s %12s %12s %11s" % ("measurement", "MB/s (cpu)", "MB/s (wall)", "detections"))
for engine in ("prealign", "python-re"):
    runs = [r for r in rows if r["engine"] == engine and r["what"] == "pii"]
    print("%-22s %12.1f %12.1f %11d   (median of %d runs)" % (
        "pii " + engine, med(engine, "pii", "mb_per_s_cpu"), med(engine, "pii", "mb_per_s_wall"),
        runs[0]["detections"], len(runs)))
cpu = med("prealign", "pii", "mb_per_s_cpu") / med("python-re", "pii", "mb_per_s_cpu")
wall = med("prealign", "pii", "mb_per_s_wall") / med("python-re", "pii", "mb_per_s_wall")
print("ratio prealign / python-re: %.1fx (cpu time), %.1fx (wall time)" % (cpu, wall))
a = next(r for r in rows if r["engine"] == "prealign" and r["what"] == "pii")
b = next(r for r in rows if r["engine"] == "python-re" and r["what"] == "pii")
print("detections by kind: prealign %s" % json.dumps(a["by_kind"]))
print("                    python-re %s" % json.dumps(b["by_kind"]))
print("sum of segment scores: prealign %.4f, python-re %.4f" % (a["score_sum"], b["score_sum"]))
for r in rows:
    if r["engine"] == "prealign" and r["what"] != "pii":
        print("%-22s %12.1f %12.1f   (best of %d runs)" % (r["what"], r["mb_per_s_cpu"], r["mb_per_s_wall"], r["runs"]))
EOF
