#!/usr/bin/env bash
# The pep8 scorer through its persistent worker (prealign score --config pep8)
# against running pycodestyle directly over the same Python files.
#
#   bench/score_pep8.sh [BUILD_DIR]       (default: build; env RUNS=3, CAP_KB=1500)
#
# Input: the top-level modules of /usr/lib/python3.11 in sorted order, up to
# CAP_KB kilobytes, copied into a scratch directory. Runs alternate
# pycodestyle / prealign --threads 1 / prealign --threads 2; medians of wall and
# CPU (user+sys, children included) are reported, and the ratio prealign /
# pycodestyle. prealign's fixed start-up (loading its libraries, the same for
# every command) is measured on a one-line file and shown separately. Both must
# find the same number of violations.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${RUNS:-3}
CAP_KB=${CAP_KB:-1500}
PREALIGN=${PREALIGN:-$BUILD/prealign}
PYTHON=${PYTHON:-/usr/bin/python3}
export PREALIGN_HOME=$PWD

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/py"
total=0
for f in $(ls /usr/lib/python3.11/*.py | sort); do
  size=$(stat -c %s "$f")
  if [ $((total + size)) -gt $((CAP_KB * 1000)) ]; then break; fi
  cp "$f" "$work/py/"
  total=$((total + size))
done
echo "input: $(ls "$work/py" | wc -l) files, $total bytes of Python (/usr/lib/python3.11, cap ${CAP_KB} kB)"
printf 'x = 1\n' > "$work/tiny.py"

# time_cmd NAME CMD...: appends "NAME wall cpu" to results
time_cmd() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$work/t" "$@" </dev/null >/dev/null 2>"$work/err" || true
  read -r wall user sys < <(tail -1 "$work/t")
  echo "$name $wall $(echo "$user + $sys" | bc)" >> "$work/results"
}

for i in $(seq 1 "$RUNS"); do
  time_cmd pycodestyle "$PYTHON" -m pycodestyle "$work/py"
  time_cmd prealign_1 "$PREALIGN" score --config pep8 "$work/py" --glob '*.py' --threads 1 --quiet -o "$work/out1.jsonl"
  time_cmd prealign_2 "$PREALIGN" score --config pep8 "$work/py" --glob '*.py' --threads 2 --quiet -o "$work/out2.jsonl"
  time_cmd startup "$PREALIGN" score --config pep8 "$work/tiny.py" --threads 1 --quiet -o "$work/tiny.jsonl"
done
"$PYTHON" -m pycodestyle "$work/py" > "$work/direct.txt" || true
cmp -s "$work/out1.jsonl" "$work/out2.jsonl" && same=yes || same=no

"$PYTHON" - "$work" "$total" "$same" <<'EOF'
import json, statistics, sys
work, total, same = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [l.split() for l in open(work + "/results")]
def med(name, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == name)
direct = sum(1 for l in open(work + "/direct.txt") if l.strip())
ours = 0
for line in open(work + "/out1.jsonl"):
    r = json.loads(line)
    for s in r["segments"]:
        n = len(r["text"].encode()[s["start"]:s["end"]].decode())
        ours += round(s["scores"]["pep8"] * n)
start_w, start_c = med("startup", 1), med("startup", 2)
py_w, py_c = med("pycodestyle", 1), med("pycodestyle", 2)
print("%-28s %8s %8s %10s" % ("", "wall s", "cpu s", "MB/s wall"))
for name, label in (("pycodestyle", "pycodestyle (direct)"), ("prealign_1", "prealign score --threads 1"),
                    ("prealign_2", "prealign score --threads 2"), ("startup", "prealign start-up alone")):
    w, c = med(name, 1), med(name, 2)
    print("%-28s %8.2f %8.2f %10.2f" % (label, w, c, total / 1e6 / w if name != "startup" else 0))
for name in ("prealign_1", "prealign_2"):
    w, c = med(name, 1), med(name, 2)
    print("ratio %s / pycodestyle: wall %.2fx, cpu %.2fx; without start-up: wall %.2fx, cpu %.2fx" % (
        name, w / py_w, c / py_c, (w - start_w) / py_w, (c - start_c) / py_c))
print("violations: pycodestyle %d, prealign %d; --threads 1 and 2 outputs identical: %s (median of %d runs)" % (
    direct, ours, same, len([r for r in rows if r[0] == "startup"])))
EOF
