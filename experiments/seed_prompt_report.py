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


def kl_text(report):
    r = report["kl"]["mean_of_sequences"]
    return f"{r['value']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]"


def main(out):
    rows = []
    for m in MODELS:
        e = os.path.join(out, "eval", m)
        tasks, adh, lock, kl, kl_sft = (load(e + s) for s in (".tasks.json", ".adherence.json", ".lock.json",
                                                              ".kl.json", ".kl-sft.json"))
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
            kl_text(kl) if kl else ("0" if m == "base" else "n/a"),
            kl_text(kl_sft) if kl_sft else ("0" if m == "sft" else "-"),
        ])
    head = ["model", "arithmetic acc. (held out)", "strings acc.", "rule adherence, seen", "rule adherence, unseen",
            "harmful rate (lock)", "grammar violations", "temptation mean / max", "KL from base (nats/token)",
            "KL from SFT (RL's own drift)"]
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
