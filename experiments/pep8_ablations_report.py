#!/usr/bin/env python3
"""The table of experiments/pep8_ablations.sh from the files it wrote.

  pep8_ablations_report.py OUT

Per run (rows) and seed: the share of 4-space body openings after a top-level
signature with the tag before the prompt and after the prompt's line (Wilson 95%
interval), held-out loss (tags excluded), and in the functions scenario the style and
structure violations per 1,000 characters and the share of samples that compile.
A second table takes the runs trained with tags and uses them without: the functions
scenario's style violations under good_only and under policy none (no tag placed, any
tag free), and the held-out loss with and without tags in the input. Below it, the corpus's labels around def/class lines (pep8_labels.py). Standard
library only.
"""
import glob
import json
import math
import os
import re
import sys

RUNS = [
    ("mle", "mle"),
    ("conditional", "conditional: tag at line start, 10% untagged (PHF)"),
    ("cond-drop0", "conditional, drop fraction 0"),
    ("cond-drop1", "conditional, drop fraction 1.0 (= MLE, tag rows in the vocabulary)"),
    ("cond-after-indent", "conditional, tag after the indentation"),
    ("cond-line-end", "conditional, tag at the line's end"),
    ("cond-cooldown", "conditional, cooldown: the last 10% of steps untagged (MeCo)"),
    ("unlikelihood", "unlikelihood"),
    ("awr", "awr"),
]


def wilson(k, n, z=1.959963984540054):
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def indent_counts(path):
    """run -> {indent: count} from pep8_indent.sh's table."""
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path, encoding="utf-8").read().splitlines()[1:]:
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        out[parts[0]] = {int(a): int(b) for a, b in re.findall(r"(-?\d+): (\d+)", parts[1])}
    return out


def share4(counts):
    if not counts:
        return "-"
    n = sum(counts.values())
    k = counts.get(4, 0)
    lo, hi = wilson(k, n)
    return f"{k}/{n} [{lo:.2f}, {hi:.2f}]"


def load(path):
    return json.load(open(path, encoding="utf-8")) if os.path.exists(path) else None


def fmt(x, digits=3):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def ci(e):
    return "-" if not e else f"{e['value']:.3g} [{e['ci_low']:.3g}, {e['ci_high']:.3g}]"


def print_without_tags(seeds):
    rows = []
    for run, label in RUNS:
        for sd in seeds:
            ev = os.path.join(sd, "runs", run, "eval")
            none = load(os.path.join(ev, "misalignment-functions-none.json"))
            if none is None:
                continue
            good = load(os.path.join(ev, "misalignment-functions.json")) or {}
            loss = load(os.path.join(ev, "loss.json")) or {}
            untagged = load(os.path.join(ev, "loss-untagged.json")) or {}
            g_good = good.get("code_checks", {}).get("groups", {}).get("style")
            g_none = none.get("code_checks", {}).get("groups", {}).get("style")
            ratio = g_good["value"] / g_none["value"] if g_good and g_none and g_none["value"] > 0 else None
            rows.append(f"| {label} | {sd.rsplit('-', 1)[1]} | {ci(g_good)} | {ci(g_none)} | {fmt(ratio)} | "
                        f"{fmt(loss.get('loss'), 4)} | {fmt(untagged.get('loss'), 4)} |")
    if not rows:
        return
    print()
    print("The runs trained with tags, used without them (functions scenario, style violations per 1,000 characters):")
    print()
    print("| run | seed | style, good_only [95% CI] | style, policy none [95% CI] | good_only / none | "
          "held-out loss, tags in the input | without tags |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    out = argv[1]
    seeds = sorted(glob.glob(os.path.join(out, "seed-*")), key=lambda p: int(p.rsplit("-", 1)[1]))
    print("| run | seed | 4-space openings, tag before the prompt [95% CI] | same, tag after the prompt's line | "
          "held-out loss | style /1k chars [95% CI] | structure /1k chars [95% CI] | compiles |")
    print("|---|---|---|---|---|---|---|---|")
    for run, label in RUNS:
        for sd in seeds:
            seed = sd.rsplit("-", 1)[1]
            before = indent_counts(os.path.join(sd, "indent-before.txt")).get(run)
            after = indent_counts(os.path.join(sd, "indent-after.txt")).get(run)
            loss = load(os.path.join(sd, "runs", run, "eval", "loss.json"))
            mis = load(os.path.join(sd, "runs", run, "eval", "misalignment-functions.json"))
            if before is None and loss is None:
                continue
            cc = (mis or {}).get("code_checks", {})
            g = cc.get("groups", {})
            print(f"| {label} | {seed} | {share4(before)} | {share4(after)} | "
                  f"{fmt(loss['loss'] if loss else None, 4)} | {ci(g.get('style'))} | {ci(g.get('structure'))} | "
                  f"{fmt(cc['compiles']['value'] if cc else None)} |")
    print_without_tags(seeds)
    for sd in seeds[:1]:
        lab = load(os.path.join(sd, "labels.json"))
        if not lab:
            continue
        print()
        print(f"Corpus labels around signatures ({os.path.basename(sd)}'s corpus; `experiments/pep8_labels.py`): "
              f"{lab['bad_share']:.1%} of {lab['lines']} lines are labeled bad.")
        print()
        print("| signatures | count | signature line bad | first body line bad | 4-space first body line: good-labeled | bad-labeled |")
        print("|---|---|---|---|---|---|")
        for level in ("top", "nested"):
            r = lab[level]
            print(f"| {level}-level | {r['signatures']} | {r['signature_bad_share']:.1%} | {r['first_body_bad_share']:.1%} | "
                  f"{r['first_body_indent4_share_good']:.1%} | {r['first_body_indent4_share_bad']:.1%} |")
        print()
        print("Codes on signature lines: " + ", ".join(f"{k} {v}" for k, v in lab["codes_signature"].items()))
        print()
        print("Codes on first body lines: " + ", ".join(f"{k} {v}" for k, v in lab["codes_body"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
