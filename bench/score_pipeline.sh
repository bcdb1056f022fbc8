#!/usr/bin/env bash
# End-to-end throughput of `prealign score` (read, segment, score, write scored
# JSONL) with the pii scorer on the Debian changelogs and copyright files, next
# to the bare scanner (pii_bench) on the same bytes.
#
#   bench/score_pipeline.sh [BUILD_DIR]    (default: build; env RUNS=3)
#
# Inputs, both holding the same documents: the files themselves (text inputs;
# changelog.Debian.gz decompressed by the reader), and one JSONL file of
# {"id", "text"} records. Each is scored with line segments and with sentence
# segments, on 1 and on 2 worker threads. MB/s are of input text; CPU MB/s use
# user+sys time minus the command's fixed start-up (measured on a one-line
# input), i.e. per core. Medians of RUNS runs; runs alternate configurations.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${RUNS:-3}
PREALIGN=${PREALIGN:-$BUILD/prealign}
PYTHON=${PYTHON:-/usr/bin/python3}
export PREALIGN_HOME=$PWD

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ls /usr/share/doc/*/changelog.Debian.gz /usr/share/doc/*/copyright 2>/dev/null | sort > "$work/files"
"$PYTHON" - "$work/files" "$work/corpus.jsonl" <<'EOF'
import gzip, json, sys
out = open(sys.argv[2], "w")
for path in open(sys.argv[1]).read().split():
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        continue  # the text run skips these too (--skip-bad)
    if text:
        out.write(json.dumps({"id": path, "text": text}, ensure_ascii=False) + "\n")
EOF
echo '{"id": "x", "text": "one line\n"}' > "$work/tiny.jsonl"
for seg in line sentence; do
  echo "{\"segmenter\": \"$seg\", \"scorers\": [{\"type\": \"pii\", \"name\": \"pii\"}]}" > "$work/$seg.json"
done

# run NAME ARGS...: appends "NAME wall cpu" to results
run() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$work/t" "$PREALIGN" score "$@" --quiet --skip-bad -o "$work/out.jsonl" \
      --summary "$work/summary.json" </dev/null >/dev/null 2>&1
  read -r wall user sys < "$work/t"
  echo "$name $wall $(echo "$user + $sys" | bc) $("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['bytes'])" "$work/summary.json")" >> "$work/results"
}

for i in $(seq 1 "$RUNS"); do
  for seg in line sentence; do
    for t in 1 2; do
      run "jsonl-$seg-t$t" --config "$work/$seg.json" --threads "$t" "$work/corpus.jsonl"
      run "text-$seg-t$t" --config "$work/$seg.json" --threads "$t" $(cat "$work/files")
    done
  done
  run startup --config "$work/line.json" --threads 1 "$work/tiny.jsonl"
done
cmake --build "$BUILD" --target pii_bench >/dev/null
"$PYTHON" - "$work/corpus.jsonl" "$work/input.bin" <<'EOF'
import json, sys
with open(sys.argv[2], "wb") as out:
    for line in open(sys.argv[1]):
        out.write(json.loads(line)["text"].encode() + b"\0")
EOF
"$BUILD/bench/pii_bench" "$work/input.bin" --what pii --runs "$RUNS" > "$work/bare.json"

"$PYTHON" - "$work/results" "$work/bare.json" <<'EOF'
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
bare = json.loads(open(sys.argv[2]).read().splitlines()[0])
def med(name, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == name)
sw, sc = med("startup", 1), med("startup", 2)
print("start-up alone: wall %.2f s, cpu %.2f s (subtracted below)" % (sw, sc))
print("%-22s %8s %10s %14s %14s" % ("input / segments / threads", "MB", "wall s", "MB/s (wall)", "MB/s per core"))
for src in ("jsonl", "text"):
    for seg in ("line", "sentence"):
        for t in (1, 2):
            name = "%s-%s-t%d" % (src, seg, t)
            mb = med(name, 3) / 1e6
            w, c = med(name, 1) - sw, med(name, 2) - sc
            print("%-22s %8.1f %10.2f %14.1f %14.1f" % (name, mb, w, mb / w, mb / c))
print("bare pii scan (pii_bench, line segments, 1 thread): %.1f MB/s cpu, %.1f MB/s wall" % (
    bare["mb_per_s_cpu"], bare["mb_per_s_wall"]))
EOF
