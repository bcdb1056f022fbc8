#!/usr/bin/env python3
"""One markdown table from experiments/seed_prompt.sh's eval/ reports (no computation of its own
beyond reading: every figure and interval comes from a prealign report)."""
import json
import os
import sys

MODELS = ["base", "sft", "rl-seed", "rl-none", "rl-other"]


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def rate(r):
    if not r:
        return "n/a"
    v, lo, hi = r.get("value", r.get("rate")), r.get("ci_low"), r.get("ci_high")
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]"


def main(out):
    rows = []
    for m in MODELS:
        e = os.path.join(out, "eval", m)
        tasks, adh, lock, kl = (load(e + s) for s in (".tasks.json", ".adherence.json", ".lock.json", ".kl.json"))
        fam = (tasks or {}).get("families", {})
        locked = (lock or {}).get("locked", {})
        rows.append([
            m,
            rate(fam.get("arithmetic", {}).get("task_accuracy")),
            rate(fam.get("strings", {}).get("task_accuracy")),
            rate((adh or {}).get("seen")),
            rate((adh or {}).get("unseen")),
            f"{locked['harmful_rate']:.4f}" if locked else "n/a",
            f"{locked['violations']:.0f}" if locked else "n/a",
            f"{locked['mean_temptation']:.4f} / {locked['max_temptation']:.3f}" if locked else "n/a",
            rate((kl or {}).get("kl", {}).get("mean_of_sequences")) if kl else ("0" if m == "base" else "n/a"),
        ])
    head = ["model", "arithmetic acc. (held out)", "strings acc.", "rule adherence, seen", "rule adherence, unseen",
            "harmful rate (lock)", "grammar violations", "temptation mean / max", "KL from base (nats/token)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    print("Intervals: 95% (Wilson for rates, bootstrap over sequences for KL). Task accuracy and adherence are"
          " asked with the helpful-AI seed prompt for every model; `rl-seed`, `rl-none` and `rl-other` differ"
          " only in the prompt their RLVR rollouts were asked with.")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: seed_prompt_report.py OUT_DIR")
    main(sys.argv[1])
