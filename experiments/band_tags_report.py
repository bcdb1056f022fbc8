#!/usr/bin/env python3
"""experiments/band_tags.sh's table: where the years a model writes after each band tag fall.

Reads OUT/samples/<band>.jsonl (prealign generate --json over OUT/prompts.jsonl: held-out changelog
entries cut right before their trailer's year, one sample each) and OUT/prompts.jsonl (each entry's
own year); writes OUT/bands.json and OUT/bands.md and prints the table. A sample's year is the
date's in the first line of prompt + generated text that starts " -- " (the trailer: " -- Name
<mail>  Day, DD Mon YYYY hh:mm"); none if the model did not write a year there. Shares count every
sample (no year = neither in the band nor following the entry).

    band_tags_report.py OUT --tagset configs/tagsets/year_bands.json
"""
import argparse
import json
import math
import os
import re

DATE = re.compile(r"(?<![^ ])[0-9]{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) [0-9]{2}:")


def wilson(k, n, z=1.959964):
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [max(0.0, c - h), min(1.0, c + h)]


def band_of(year, bands):
    for i, (lo, hi) in enumerate(bands):
        if lo <= year < hi or (i == len(bands) - 1 and year == hi):
            return i
    return None


def sample_year(record):
    text = record["prompt"] + "".join(t["text"] for t in record["tokens"] if not t.get("tag"))
    trailer = next((line for line in text.split("\n") if line.startswith(" -- ")), "")
    m = DATE.search(trailer)
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--tagset", required=True)
    a = ap.parse_args()
    tags = json.load(open(a.tagset))["tags"]
    names = [t["name"] for t in tags]
    bands = [tuple(t["attributes"]["band"]) for t in tags]
    with open(os.path.join(a.out, "prompts.jsonl")) as f:
        own = [band_of(json.loads(line)["meta"]["year"], bands) for line in f]
    entries = [own.count(i) for i in range(len(bands))]
    rows = []
    for i, name in enumerate(names):
        counts = [0] * len(bands)
        none = outside = follows = n = 0
        years = []
        with open(os.path.join(a.out, "samples", name + ".jsonl")) as f:
            for line in f:
                record = json.loads(line)
                n += 1
                y = sample_year(record)
                if y is None:
                    none += 1
                    continue
                years.append(y)
                b = band_of(y, bands)
                if b is None:
                    outside += 1
                    continue
                counts[b] += 1
                follows += b == own[record["prompt_index"]]
        years.sort()
        rows.append({"band": name, "samples": n, "counts": counts, "no_year": none, "outside": outside,
                     "in_band": counts[i] / n if n else 0.0, "in_band_ci": wilson(counts[i], n),
                     "entries_in_band": entries[i] / len(own) if own else 0.0,
                     "follows_entry": follows / n if n else 0.0,
                     "median_year": years[len(years) // 2] if years else None})
    report = {"bands": names, "edges": bands, "entry_counts": entries, "rows": rows}
    tmp = os.path.join(a.out, "bands.json.tmp")
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1)
    os.replace(tmp, os.path.join(a.out, "bands.json"))
    lines = ["| band tag | " + " | ".join(f"{lo}-{hi}" for lo, hi in bands) +
             " | no year | in the tag's band [95% CI] | entries whose own year is in it | answers that follow the entry's own year | median year |",
             "|---" * (len(bands) + 6) + "|"]
    for r in rows:
        lo, hi = r["in_band_ci"]
        lines.append(f"| `{r['band']}` | " + " | ".join(str(c) for c in r["counts"]) +
                     f" | {r['no_year']} | {r['in_band']:.3f} [{lo:.3f}, {hi:.3f}] | {r['entries_in_band']:.3f} |"
                     f" {r['follows_entry']:.3f} | {r['median_year'] if r['median_year'] is not None else '-'} |")
    table = "\n".join(lines) + "\n"
    tmp = os.path.join(a.out, "bands.md.tmp")
    with open(tmp, "w") as f:
        f.write(table)
    os.replace(tmp, os.path.join(a.out, "bands.md"))
    print(table, end="")


if __name__ == "__main__":
    main()
