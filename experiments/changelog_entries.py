#!/usr/bin/env python3
"""Debian changelog entries as a corpus with a numeric metadata field: the year of each entry.

Every /usr/share/doc/*/changelog.Debian.gz (sorted by package) is cut into its entries (a
"pkg (version) dist; urgency=..." header to its " -- Maintainer <mail>  Day, DD Mon YYYY ..."
trailer). Each entry becomes one JSONL record {"id", "text", "meta": {"year": YYYY}}, the year read
from the trailer. experiments/band_tags.sh turns the year into a band tag and trains on it: a field
the text itself also carries (the trailer's date), so whether a band tag steers is checkable by
reading the date a model writes after it.

    changelog_entries.py [--doc /usr/share/doc] [--max-bytes N] [--max-entry-bytes N]
                         [--heldout FILE [--heldout-every K]] > corpus.jsonl

--heldout: every K-th package (default 10) goes to FILE instead, whole, so no version string or
maintainer of a held-out entry is in the training corpus; each of its records also gets "prompt",
the entry cut right before its trailer's year (" -- Name <mail>  Day, DD Mon "), to ask a model for
the year.
"""
import argparse
import glob
import gzip
import json
import os
import re
import sys

HEADER = re.compile(r"^[a-z0-9][a-z0-9.+-]* \(.*\) .*;.*urgency=")
TRAILER = re.compile(r"^ -- .*, +\d{1,2} [A-Z][a-z]{2} (\d{4}) \d\d:\d\d")


def entries(text):
    """(entry text, year, offset of the year in the text) for every complete entry of one changelog."""
    current = None
    for line in text.splitlines(keepends=True):
        if HEADER.match(line):
            current = [line]
            continue
        if current is None:
            continue
        current.append(line)
        m = TRAILER.match(line)
        if m:
            entry = "".join(current)
            yield entry, int(m.group(1)), len(entry) - len(line) + m.start(1)
            current = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--doc", default="/usr/share/doc")
    ap.add_argument("--max-bytes", type=int, default=4_000_000, help="stop after this many bytes of entries")
    ap.add_argument("--max-entry-bytes", type=int, default=700,
                    help="skip longer entries (one should fit a small model's context, trailer included)")
    ap.add_argument("--heldout", help="write every --heldout-every-th package's entries here, with prompts")
    ap.add_argument("--heldout-every", type=int, default=10)
    a = ap.parse_args()
    total = n = skipped = held = 0
    heldout = open(a.heldout + ".tmp", "w") if a.heldout else None
    for index, path in enumerate(sorted(glob.glob(os.path.join(a.doc, "*", "changelog.Debian.gz")))):
        pkg = os.path.basename(os.path.dirname(path))
        try:
            with gzip.open(path, "rt", encoding="utf-8", errors="strict") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError, EOFError):
            continue  # not gzip, or not UTF-8: a corpus of text only
        for k, (entry, year, year_at) in enumerate(entries(text)):
            if len(entry.encode()) > a.max_entry_bytes:
                skipped += 1
                continue
            record = {"id": f"{pkg}#{k}", "text": entry, "meta": {"year": year}}
            if heldout and index % a.heldout_every == a.heldout_every - 1:
                record["prompt"] = entry[:year_at]
                heldout.write(json.dumps(record) + "\n")
                held += 1
                continue
            print(json.dumps(record))
            total += len(entry.encode())
            n += 1
        if total >= a.max_bytes:
            break
    if heldout:
        heldout.close()
        os.replace(a.heldout + ".tmp", a.heldout)
        print(f"{held} held-out entries in {a.heldout}", file=sys.stderr)
    print(f"{n} entries, {total} bytes ({skipped} longer than {a.max_entry_bytes} bytes skipped)", file=sys.stderr)


if __name__ == "__main__":
    main()
