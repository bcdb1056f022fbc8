#!/usr/bin/env python3
"""Which lines a pep8-scored corpus labels bad around `def` and `class` lines.

  pep8_labels.py CORPUS.scored.jsonl [--threshold 0] [--json OUT]

A function body's first line is where the indentation collapse shows (docs/eval.md):
after a signature, a conditional model under <|good|> continues the way the corpus's
*good-labeled* lines continue. This counts, for top-level and nested signatures:
  - how often the signature line is labeled bad, and how often the first line of the
    body is (the first non-blank line after the line that ends the signature);
  - the codes those lines carry (pycodestyle attributes E30x blank-line codes to the
    `def` line itself, E128 and friends to a signature's continuation lines);
  - the first body line's indentation relative to the signature, split by its label:
    if good-labeled bodies are rarely indented by 4, a model conditioned on <|good|>
    learns that too, and unlikelihood and AWR push the 4-space opening down.
Uses pycodestyle from /usr/bin/python3 for the codes (the scorer's defaults).
Standard library and pycodestyle only.
"""
import collections
import json
import re
import sys

import pycodestyle

SIGNATURE = re.compile(r"^(\s*)(async\s+def|def|class)\s")


class Codes(pycodestyle.BaseReport):
    def __init__(self, options):
        super().__init__(options)
        self.by_line = collections.defaultdict(list)

    def error(self, line_number, offset, text, check):
        code = super().error(line_number, offset, text, check)
        if code:
            self.by_line[line_number].append(code)
        return code


STYLE = pycodestyle.StyleGuide(quiet=True, reporter=Codes)


def line_codes(lines):
    report = Codes(STYLE.options)
    pycodestyle.Checker(lines=list(lines), options=STYLE.options, report=report).check_all()
    return report.by_line


def indent(line):
    return len(line) - len(line.lstrip(" "))


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    threshold = float(argv[argv.index("--threshold") + 1]) if "--threshold" in argv else 0.0
    out = argv[argv.index("--json") + 1] if "--json" in argv else None
    lines_total = bad_total = 0
    sig = collections.Counter()      # (level, "bad"|"good") of the signature line
    body = collections.Counter()     # (level, "bad"|"good") of the first body line
    body_indent = collections.Counter()  # (level, label, relative indent)
    codes = {"signature": collections.Counter(), "body": collections.Counter(), "all": collections.Counter()}
    multiline = collections.Counter()
    with open(argv[1], encoding="utf-8") as f:
        for raw in f:
            doc = json.loads(raw)
            text = doc["text"]
            segs = doc["segments"]
            lines = [text[s["start"]:s["end"]] for s in segs]
            bad = [max(s["scores"].values(), default=0) > threshold for s in segs]
            by_line = line_codes(lines)
            lines_total += len(lines)
            bad_total += sum(bad)
            for ln, cs in by_line.items():
                codes["all"].update(cs)
            for i, line in enumerate(lines):
                m = SIGNATURE.match(line)
                if not m:
                    continue
                level = "top" if m.group(1) == "" else "nested"
                sig[(level, "bad" if bad[i] else "good")] += 1
                codes["signature"].update(by_line.get(i + 1, []))
                # the signature ends at the first line whose code part ends with ":"
                end = i
                while end < len(lines) and not lines[end].split("#")[0].rstrip().endswith(":") and end - i < 20:
                    end += 1
                multiline[level] += end > i
                for j in range(i + 1, min(end + 1, len(lines))):  # continuation lines of the signature
                    codes["signature"].update(by_line.get(j + 1, []))
                k = end + 1
                while k < len(lines) and lines[k].strip() == "":
                    k += 1
                if k >= len(lines):
                    continue
                label = "bad" if bad[k] else "good"
                body[(level, label)] += 1
                codes["body"].update(by_line.get(k + 1, []))
                body_indent[(level, label, indent(lines[k]) - indent(line))] += 1
    report = {"lines": lines_total, "bad_lines": bad_total, "bad_share": bad_total / max(1, lines_total)}
    for level in ("top", "nested"):
        n_sig = sig[(level, "bad")] + sig[(level, "good")]
        n_body = body[(level, "bad")] + body[(level, "good")]
        r = {"signatures": n_sig, "signature_bad_share": sig[(level, "bad")] / max(1, n_sig),
             "multiline_signature_share": multiline[level] / max(1, n_sig),
             "first_body_lines": n_body, "first_body_bad_share": body[(level, "bad")] / max(1, n_body)}
        for label in ("good", "bad"):
            n = body[(level, label)]
            four = body_indent[(level, label, 4)]
            r[f"first_body_indent4_share_{label}"] = four / max(1, n)
            r[f"first_body_indents_{label}"] = {str(d): c for (lv, lb, d), c in sorted(body_indent.items())
                                                 if lv == level and lb == label}
        report[level] = r
    for k in codes:
        report[f"codes_{k}"] = dict(codes[k].most_common(15))
    print(json.dumps(report, indent=1))
    if out:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
