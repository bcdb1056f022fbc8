#include "score/pep8.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/utf8.hpp"
#include "score/command.hpp"

namespace prealign {

// The worker reads requests {"id", "items": [{"text", "segments": [[start, end], ...]}]}
// and answers {"id", "results": [{"scores": [[x], ...]} | {"error": "..."}]}.
// It checks each text as one file (so blank-line and indentation checks see
// their context) and attributes each violation to the line pycodestyle reports
// it on (clamped to the file's lines: end-of-file checks may point one past).
// Lines are split at "\n" only and keep it; a line's score is its violations
// divided by its length in code points, newline included.
const char* pep8_worker_source() {
  return R"PY(
import json, sys
import pycodestyle

class Collect(pycodestyle.BaseReport):
    def __init__(self, options):
        super().__init__(options)
        self.per_line = {}
    def error(self, line_number, offset, text, check):
        code = super().error(line_number, offset, text, check)
        if code:
            self.per_line[line_number] = self.per_line.get(line_number, 0) + 1
        return code

# argv: codes ignored on top of pycodestyle's default ignore list (none: exactly the defaults)
ignore = pycodestyle.DEFAULT_IGNORE.split(",") + sys.argv[1:]
style = pycodestyle.StyleGuide(quiet=True, reporter=Collect, ignore=ignore)

def score(item):
    text = item["text"]
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    n = len(lines)
    report = Collect(style.options)
    # a copy: the checker strips a BOM from its first line in place
    pycodestyle.Checker(lines=list(lines), options=style.options, report=report).check_all()
    counts = [0] * n
    for ln, c in report.per_line.items():
        if n:
            counts[min(max(ln, 1), n) - 1] += c
    index = {}
    pos = 0
    for i, l in enumerate(lines):
        size = len(l) if l.isascii() else len(l.encode("utf-8"))
        index[pos] = (i, pos + size)
        pos += size
    scores = []
    for s, e in item["segments"]:
        line = index.get(s)
        if line is None or line[1] != e:
            raise ValueError("segment [%d, %d) is not one whole line" % (s, e))
        i = line[0]
        scores.append([counts[i] / len(lines[i])])
    return scores

out = sys.stdout
for raw in sys.stdin.buffer:
    try:
        request = json.loads(raw)
        rid, items = request["id"], request["items"]
    except Exception as e:
        out.write(json.dumps({"id": None, "error": "bad request: %s" % e}) + "\n")
        out.flush()
        continue
    results = []
    for item in items:
        try:  # reported, never silently scored 0
            results.append({"scores": score(item)})
        except Exception as e:
            results.append({"error": "%s: %s" % (type(e).__name__, e)})
    out.write(json.dumps({"id": rid, "results": results}) + "\n")
    out.flush()
)PY";
}

std::vector<std::pair<uint64_t, uint64_t>> split_lines(const std::string& text) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  uint64_t begin = 0;
  for (uint64_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') {
      out.emplace_back(begin, i + 1);
      begin = i + 1;
    }
  if (begin < text.size()) out.emplace_back(begin, text.size());
  return out;
}

Pep8Scorer::Pep8Scorer(std::string python) {
  json config = {{"type", "pep8"}, {"name", "pep8"}};
  if (!python.empty()) config["python"] = python;
  scorer_ = make_command_scorer(pep8_options_from_json(config, "pep8 scorer"), "pep8 scorer");
}

Pep8Scorer::~Pep8Scorer() = default;

std::vector<float> Pep8Scorer::score_lines(const std::string& text) {
  std::vector<Span> spans;
  for (const auto& [b, e] : split_lines(text)) spans.push_back({b, e});
  ScoreResult r;
  try {
    r = scorer_->score(text, spans);
  } catch (const ScoreError& e) {
    fail("pep8 scorer", std::string("pycodestyle failed: ") + e.what(),
         "is pycodestyle installed for /usr/bin/python3? (apt-get install python3-pycodestyle)");
  }
  std::vector<float> scores(r.scores.size());
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = r.scores[i].at(0);
  return scores;
}

double Pep8Scorer::score_text(const std::string& text) {
  const auto lines = split_lines(text);
  const std::vector<float> per_line = score_lines(text);
  double violations = 0, chars = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    double n = static_cast<double>(utf8_length(std::string_view(text).substr(lines[i].first, lines[i].second - lines[i].first)));
    violations += std::round(per_line[i] * n);  // back to whole counts: scores are counts / n
    chars += n;
  }
  return chars > 0 ? violations / chars : 0.0;
}

}  // namespace prealign
