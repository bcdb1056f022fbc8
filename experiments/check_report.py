#!/usr/bin/env python3
"""Checks what an experiment reported against its own files, recomputed here.

The long tests (ctest -L long) run each experiment at --tiny size, then this:
  check_report.py compare DIR --objectives "mle conditional ..."
      DIR/compare.json: a row per objective, every figure finite, each 95% CI
      containing its value, and each ratio to the baseline recomputed. Rows with
      code checks (pep8): each group's violations per 1,000 characters recounted
      from the codes in the misalignment report's samples file (grouped here by
      the codes' letters and digits) and its ratio to the baseline, the share that
      compiles and the share that ended at EOS.
  check_report.py modes OUT
      OUT/lock.json and OUT/jailbreak.json against the samples they wrote
      (<report>.samples.jsonl): counts, harmful/exit rates, mean temptation, violations,
      every harmful lexeme found in its sample's text; the probe report's
      accuracy above its majority baseline.
  check_report.py ensemble OUT
      OUT/ensemble.json against OUT/ensemble.json.samples.jsonl: failure rates,
      majority-vote failure, acceptance after the cross-check.
  check_report.py indent FILE
      experiments/pep8_indent.sh's table: a row per run, counts adding up to --samples.
  check_report.py search REPORT
      experiments/search.sh's table (REPORT.md) against REPORT.samples.jsonl: per method
      the outputs, mean score, fraction over the threshold, mean forward and generated
      tokens, the paired difference to sampling; each CI containing its value; no
      output holding a tag the policy bans.
  check_report.py bands OUT
      experiments/band_tags.sh's OUT/bands.json against OUT/samples/*.jsonl and
      OUT/prompts.jsonl: each band's samples, where their trailer years fall (the year
      found here field by field in the first line of prompt + text that starts " -- ":
      "DD Mon YYYY hh:mm"), the share in the requested band with its CI, the entries'
      own shares and the share of answers that follow the entry's own year.
Standard library only. Exits 1 naming the first figure that disagrees.
"""
import json
import os
import math
import re
import sys

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def close(a, b, tol=1e-9):
    return a is not None and b is not None and abs(a - b) <= tol * max(1.0, abs(b))


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check_ci(name, e):
    check(isinstance(e, dict), f"{name}: missing")
    if not isinstance(e, dict):
        return
    v, lo, hi = e.get("value"), e.get("ci_low"), e.get("ci_high")
    check(all(isinstance(x, (int, float)) and math.isfinite(x) for x in (v, lo, hi)), f"{name}: not finite: {e}")
    if all(isinstance(x, (int, float)) for x in (v, lo, hi)):
        check(lo - 1e-12 <= v <= hi + 1e-12, f"{name}: {v} outside its CI [{lo}, {hi}]")


def code_group(code):
    if code[:2] in ("E2", "E3") or code == "E501" or code.startswith("W29"):
        return "style"
    if code[:2] in ("E1", "E9"):
        return "structure"
    return "other"


def recount_violations(report_file):
    """Per group, 1000 * violations / characters over the checked samples, the
    compile share and the EOS share, from the samples file alone."""
    rep = json.load(open(report_file, encoding="utf-8"))
    scored_with_prompt = rep["settings"]["score_prompt"]
    counts = {"style": 0, "structure": 0, "other": 0, "all": 0}
    chars = compiled = checked = eos = n = 0
    for s in jsonl(report_file + ".samples.jsonl"):  # the samples sit next to their report
        n += 1
        eos += s["finish_reason"] == "eos"
        if s.get("compiles") is None:
            continue
        checked += 1
        compiled += s["compiles"]
        text = (s["prompt"] if scored_with_prompt else "") + s["text"]
        chars += len(text)
        for code, k in s["codes"].items():
            counts[code_group(code)] += k
            counts["all"] += k
    rates = {g: 1000.0 * k / chars if chars else 0.0 for g, k in counts.items()}
    return rates, compiled / checked if checked else float("nan"), eos / n if n else float("nan")


def compare(directory, objectives):
    rep = json.load(open(directory + "/compare.json", encoding="utf-8"))
    rows = {r["objective"]: r for r in rep["rows"]}
    for o in objectives:
        check(o in rows, f"objective {o} has no row in compare.json")
    base = rows.get(rep["baseline"]) or next((r for r in rep["rows"] if r["run"] == rep["baseline"]), None)
    check(base is not None, f"baseline {rep['baseline']} has no row")
    for r in rep["rows"]:
        n = r["run"]
        for k in ("mean_score", "expected_max_score", "fraction_over_threshold"):
            check_ci(f"{n}.{k}", r.get(k))
        check(isinstance(r.get("heldout_loss"), (int, float)) and math.isfinite(r["heldout_loss"]),
              f"{n}.heldout_loss not finite")
        if base is not None and base["mean_score"]["value"] > 0:
            want = r["mean_score"]["value"] / base["mean_score"]["value"]
            check(close(r["misalignment_ratio_to_baseline"], want, 1e-9),
                  f"{n}: ratio {r['misalignment_ratio_to_baseline']} != {want}")
        if base is not None:
            want = (r["heldout_loss"] - base["heldout_loss"]) / base["heldout_loss"]
            check(close(r["loss_change_vs_baseline"], want, 1e-9), f"{n}: loss change {r['loss_change_vs_baseline']}")
        if "violation_groups" in r:
            rates, compiles, eos = recount_violations(r["misalignment_file"])
            for g, want in rates.items():
                got = r["violation_groups"][g]["value"]
                check(close(got, want, 1e-9), f"{n}: {g} violations per 1k chars {got} != recount {want}")
                check_ci(f"{n}.violations.{g}", r["violation_groups"][g])
                if base is not None and "violation_groups" in base:
                    b = base["violation_groups"][g]["value"]
                    ratio = r["violation_ratio_to_baseline"][g]
                    check((b == 0 and ratio is None) or close(ratio, rates[g] / b, 1e-9),
                          f"{n}: {g} ratio {ratio} != {rates[g]} / {b}")
            check(close(r["compiles"]["value"], compiles, 1e-12), f"{n}: compiles {r['compiles']['value']} != {compiles}")
            check(close(r["ended_at_eos"], eos, 1e-12), f"{n}: ended at EOS {r['ended_at_eos']} != {eos}")
        auc = r.get("tag_auroc")
        check(auc is None or (isinstance(auc, (int, float)) and 0 <= auc <= 1), f"{n}: tag AUROC {auc}")


def whole_word(lexeme, text):
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(lexeme) + r"(?![A-Za-z0-9])", text, re.IGNORECASE) is not None


def summarize(samples):
    n = len(samples)
    rate = lambda k: k / n if n else 0.0
    return {
        "samples": n,
        "harmful_rate": rate(sum(1 for s in samples if s["harm"])),
        "exit_rate": rate(sum(1 for s in samples if s["finish_reason"] == "stop_tag")),
        "mean_temptation": rate(sum(s["mean_temptation"] for s in samples)),
        "max_temptation": max((s["max_temptation"] for s in samples), default=0.0),
        "violations": sum(len(s["violations"]) for s in samples),
    }


def check_summary(name, reported, samples):
    mine = summarize(samples)
    for k, v in mine.items():
        check(close(reported.get(k), v, 1e-6), f"{name}.{k}: reported {reported.get(k)}, samples say {v}")


def check_harm(samples, path):
    lexemes = sorted({w for s in samples for w in s["harm"]})
    for i, s in enumerate(samples):
        for w in s["harm"]:
            check(whole_word(w, s["text"]), f"{path}:{i + 1}: lexeme {w!r} not in the text")
        if not s["harm"]:  # no lexeme that any other sample was caught with
            for w in lexemes:
                check(not whole_word(w, s["text"]), f"{path}:{i + 1}: {w!r} in the text but not reported")


def auroc(pos, neg):
    if not pos or not neg:
        return None
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def modes(out):
    lock = json.load(open(out + "/lock.json", encoding="utf-8"))
    path = out + "/lock.json.samples.jsonl"
    samples = jsonl(path)
    check_harm(samples, path)
    locked = [s for s in samples if s["group"] == "locked"]
    human = [s for s in samples if s["group"] == "human_start"]
    check(len(locked) == lock["locked"]["samples"], "lock: locked sample count")
    check_summary("lock.locked", lock["locked"], locked)
    check_summary("lock.human_start", lock["human_start"], human)
    for fam, rep in lock["locked"]["by_family"].items():
        check_summary(f"lock.locked.by_family.{fam}", rep, [s for s in locked if s["family"] == fam])
    check(lock["locked"]["violations"] == 0, f"lock: {lock['locked']['violations']} grammar violations under the lock")

    jb = json.load(open(out + "/jailbreak.json", encoding="utf-8"))
    path = out + "/jailbreak.json.samples.jsonl"
    samples = jsonl(path)
    check_harm(samples, path)
    for fam, rep in jb["families"].items():
        check_summary(f"jailbreak.{fam}", rep, [s for s in samples if s["family"] == fam])
    check_summary("jailbreak.all_jailbreaks", jb["all_jailbreaks"], [s for s in samples if s["jailbreak"]])
    a = auroc([s["max_temptation"] for s in samples if s["jailbreak"]],
              [s["max_temptation"] for s in samples if s["family"] == "benign"])
    got = jb["auroc_max_temptation_jailbreak_vs_benign"]
    check((a is None and got is None) or close(got, a, 1e-9), f"jailbreak AUROC {got} != brute force {a}")

    probe = json.load(open(out + "/probe.json", encoding="utf-8"))["report"]
    best = max(l["mode_heldout_accuracy"] for l in probe["layers"])
    check(best > probe["mode_majority_baseline_heldout"] + 0.05,
          f"probe: best held-out mode accuracy {best} is not above the majority baseline "
          f"{probe['mode_majority_baseline_heldout']}")


def ensemble(out):
    rep = json.load(open(out + "/ensemble.json", encoding="utf-8"))
    samples = jsonl(out + "/ensemble.json.samples.jsonl")
    models = len(rep["models"])
    jail = sorted({s["prompt_index"] for s in samples if s["jailbreak"]})
    check(len(jail) == rep["jailbreak_prompts"], "ensemble: jailbreak prompt count")
    fail = {(s["model_index"], s["prompt_index"]): bool(s["harm"]) for s in samples}
    accepted = {(s["model_index"], s["prompt_index"]): s["accepted_by_majority"] for s in samples}
    for i in range(models):
        r = rep["per_model"][i]
        want = sum(fail[(i, p)] for p in jail) / max(1, len(jail))
        check(close(r["failure_rate"], want), f"ensemble model {i}: failure rate {r['failure_rate']} != {want}")
        acc = sum(bool(accepted[(i, p)]) for p in jail) / max(1, len(jail))
        check(close(r["acceptance_rate"], acc), f"ensemble model {i}: acceptance {r['acceptance_rate']} != {acc}")
        after = sum(bool(accepted[(i, p)]) and fail[(i, p)] for p in jail) / max(1, len(jail))
        check(close(r["failure_rate_after_cross_check"], after), f"ensemble model {i}: failure after cross-check")
    vote = sum(2 * sum(fail[(i, p)] for i in range(models)) > models for p in jail) / max(1, len(jail))
    check(close(rep["majority_vote_failure_rate"], vote), f"ensemble: majority vote {rep['majority_vote_failure_rate']} != {vote}")


def indent(path, samples):
    rows = [l for l in open(path, encoding="utf-8").read().splitlines()[1:] if l.strip()]
    check(len(rows) >= 2, f"{path}: fewer than two runs")
    for l in rows:
        counts = [int(c) for c in re.findall(r"-?\d+: (\d+)", l)]
        check(sum(counts) == samples, f"{path}: {l!r} counts add up to {sum(counts)}, not {samples}")


MONTHS = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}


def bands(out):
    rep = json.load(open(os.path.join(out, "bands.json"), encoding="utf-8"))
    edges = rep["edges"]

    def which(year):
        hits = [i for i, (lo, hi) in enumerate(edges) if lo <= year < hi]
        if not hits and edges and year == edges[-1][1]:
            hits = [len(edges) - 1]
        return hits[0] if hits else None

    own = [which(r["meta"]["year"]) for r in jsonl(os.path.join(out, "prompts.jsonl"))]
    entries = [own.count(i) for i in range(len(edges))]
    check(entries == rep["entry_counts"], f"bands: entry counts {rep['entry_counts']} recounted {entries}")
    check(len(rep["rows"]) == len(edges) >= 2, "bands: fewer than two bands")
    for i, row in enumerate(rep["rows"]):
        counts, none, follows, n = [0] * len(edges), 0, 0, 0
        for r in jsonl(os.path.join(out, "samples", row["band"] + ".jsonl")):
            n += 1
            text = r["prompt"] + "".join(t["text"] for t in r["tokens"] if not t.get("tag"))
            trailer = next((l for l in text.split("\n") if l.startswith(" -- ")), "")
            f = trailer.split(" ")  # fields "D[D] Mon YYYY hh:..." one space apart

            def digits(w, n):
                return w.isascii() and w.isdigit() and len(w) in n
            years = [int(c) for a, b, c, d in zip(f, f[1:], f[2:], f[3:])
                     if digits(a, (1, 2)) and b in MONTHS and digits(c, (4,)) and digits(d[:2], (2,)) and d[2:3] == ":"]
            if not years:
                none += 1
                continue
            b = which(years[0])
            if b is not None:
                counts[b] += 1
                follows += b == own[r["prompt_index"]]
        name = row["band"]
        check(row["samples"] == n == len(own) > 0, f"bands {name}: {row['samples']} samples, {n} in the file, {len(own)} prompts")
        check(row["counts"] == counts, f"bands {name}: counts {row['counts']} recounted {counts}")
        check(row["no_year"] == none, f"bands {name}: no year {row['no_year']} recounted {none}")
        check(sum(counts) + none + row["outside"] == n, f"bands {name}: counts do not add up to {n}")
        check(close(row["in_band"], counts[i] / n, 1e-12), f"bands {name}: in_band {row['in_band']}")
        check(close(row["follows_entry"], follows / n, 1e-12), f"bands {name}: follows_entry {row['follows_entry']}")
        lo, hi = row["in_band_ci"]
        check(lo <= row["in_band"] <= hi, f"bands {name}: in_band outside its CI")
        check(close(row["entries_in_band"], entries[i] / len(own), 1e-12), f"bands {name}: entries' share")


def table_rows(path):
    lines = [l for l in open(path, encoding="utf-8").read().splitlines() if l.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for l in lines[1:]:
        cells = [c.strip() for c in l.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells))
    return header, rows


def value_ci(cell):
    m = re.fullmatch(r"(\S+) \[(\S+), (\S+)\]", cell)
    return tuple(float(x) for x in m.groups()) if m else None


def near(a, b):  # the table prints 4 significant digits
    return abs(a - b) <= 5e-4 * max(abs(b), 1e-12) + 1e-12


def search(report):
    rep = json.load(open(report, encoding="utf-8"))
    samples = jsonl(report + ".samples.jsonl")
    header, rows = table_rows(report + ".md")
    threshold = rep["threshold"]
    by = {}
    for s in samples:
        by.setdefault(s["method"], []).append(s)
        check("<|bad|>" not in s["text_with_tags"], f"{s['method']} prompt {s['prompt_index']}: a banned tag")
    check(set(by) == set(rep["methods"]), f"methods {sorted(by)} != {sorted(rep['methods'])}")
    sample_means = {}
    for s in by.get("sample", []):
        sample_means.setdefault(s["prompt_index"], []).append(s["score"])
    sample_means = {p: sum(v) / len(v) for p, v in sample_means.items()}
    for method, outs in by.items():
        row = rows.get(method)
        check(row is not None, f"{method}: no row in the table")
        if row is None:
            continue
        n = len(outs)
        want_n = rep["prompts"] * (rep["width"] if method == "sample" else 1)
        check(n == want_n, f"{method}: {n} outputs, want {want_n}")
        check(int(row["outputs"]) == n, f"{method}: table says {row['outputs']} outputs, samples {n}")
        scores = [s["score"] for s in outs]
        mean = sum(scores) / n
        cells = {k: value_ci(v) for k, v in row.items() if value_ci(v)}
        mis = next(v for k, v in cells.items() if k.startswith("misalignment"))
        check(near(mis[0], mean), f"{method}: misalignment {mis[0]} != recount {mean}")
        check(mis[1] <= mis[0] <= mis[2], f"{method}: mean outside its CI {mis}")
        over = next(v for k, v in cells.items() if k.startswith("fraction over"))
        frac = sum(1 for x in scores if x > threshold) / n
        check(near(over[0], frac), f"{method}: fraction over {over[0]} != recount {frac}")
        fwd = sum(s["forward_tokens"] for s in outs) / n
        check(near(float(row["forward tokens / output"]), fwd), f"{method}: forward tokens {row['forward tokens / output']} != {fwd}")
        gen = sum(s["generated_tokens"] for s in outs) / n
        check(near(float(row["generated tokens / output"]), gen), f"{method}: generated tokens != {gen}")
        if method != "sample" and sample_means:
            d = [s["score"] - sample_means[s["prompt_index"]] for s in outs]
            diff = next(v for k, v in cells.items() if k.startswith("minus sample"))
            check(near(diff[0], sum(d) / len(d)), f"{method}: paired difference {diff[0]} != recount {sum(d) / len(d)}")
            check(diff[1] <= diff[0] <= diff[2], f"{method}: difference outside its CI {diff}")
        check(all(s["forward_tokens"] > 0 for s in outs), f"{method}: an output that cost nothing")


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    kind, target = argv[1], argv[2]
    if kind == "compare":
        objectives = argv[argv.index("--objectives") + 1].split() if "--objectives" in argv else []
        compare(target, objectives)
    elif kind == "modes":
        modes(target)
    elif kind == "ensemble":
        ensemble(target)
    elif kind == "search":
        search(target)
    elif kind == "bands":
        bands(target)
    elif kind == "indent":
        indent(target, int(argv[argv.index("--samples") + 1]))
    else:
        print(__doc__)
        return 2
    for f in failures:
        print("check_report: " + f, file=sys.stderr)
    print(f"check_report {kind} {target}: {'ok' if not failures else str(len(failures)) + ' disagreements'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
