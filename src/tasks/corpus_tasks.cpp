#include "tasks/corpus_tasks.hpp"

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "core/lines.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "core/utf8.hpp"
#include "score/pep8.hpp"
#include "tasks/generators.hpp"
#include "tasks/make.hpp"

namespace prealign {
namespace {

constexpr int kWindow = 6;                  // lines shown in a pep8-lines task
constexpr size_t kMaxShownLineBytes = 200;  // longer lines make poor prompts

struct SourceFile {
  std::string path, name;  // name: the base name, shown in prompts and hashed for the split
  std::string text;
  std::vector<std::string> lines;  // without "\n"
};

std::vector<SourceFile> read_sources(const std::vector<std::string>& files) {
  std::vector<SourceFile> out;
  size_t skipped = 0;
  for (const auto& path : files) {
    SourceFile f;
    f.path = path;
    f.name = std::filesystem::path(path).filename().string();
    f.text = read_text_file(path, size_t(8) << 20);
    if (!is_valid_utf8(f.text) || f.text.find('\0') != std::string::npos) {
      ++skipped;  // compiled files, images, ... beside the text in a directory
      continue;
    }
    for (const auto& [b, e] : split_lines(f.text)) {
      std::string line = f.text.substr(b, e - b);
      if (!line.empty() && line.back() == '\n') line.pop_back();
      f.lines.push_back(std::move(line));
    }
    out.push_back(std::move(f));
  }
  if (skipped) note("tasks: skipped " + std::to_string(skipped) + " corpus files that are not UTF-8 text");
  return out;
}

// The split key of a source block: the same for every task cut from it.
uint64_t block_key(const SourceFile& f, size_t line) {
  return stable_hash(f.name + ":" + std::to_string(line / kCorpusBlockLines)) & ((uint64_t(1) << 53) - 1);
}

bool same_block(size_t first, size_t last) { return first / kCorpusBlockLines == last / kCorpusBlockLines; }

std::string numbered(const std::vector<std::string>& lines, size_t first, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += std::to_string(i + 1) + "| " + lines[first + i] + "\n";
  return out;
}

std::string task_id(const char* family, uint64_t seed, size_t index) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%06zu", index);
  return std::string(family) + "-s" + std::to_string(seed) + "-" + digits;
}

}  // namespace

std::vector<TaskRecord> make_pep8_line_tasks(const std::vector<std::string>& files, size_t n, uint64_t seed,
                                             const std::string& python) {
  const std::vector<SourceFile> sources = read_sources(files);
  Pep8Scorer scorer(python);
  struct Candidate {
    size_t file, first, bad;
  };
  std::vector<Candidate> candidates;
  size_t failed = 0;
  std::string first_failure;
  for (size_t fi = 0; fi < sources.size(); ++fi) {
    const SourceFile& f = sources[fi];
    std::vector<float> scores;
    try {  // one file pycodestyle cannot check does not stop the others
      scores = scorer.score_lines(f.text);
    } catch (const Error& e) {
      if (failed++ == 0) first_failure = f.path + ": " + e.what();
      continue;
    }
    for (size_t first = 0; first + kWindow <= f.lines.size(); ++first) {
      if (!same_block(first, first + kWindow - 1)) continue;
      int bad = 0, blank = 0;
      size_t bad_line = 0;
      bool too_long = false;
      for (size_t i = first; i < first + kWindow; ++i) {
        if (scores[i] > 0) ++bad, bad_line = i;
        if (f.lines[i].find_first_not_of(" \t") == std::string::npos) ++blank;
        if (f.lines[i].size() > kMaxShownLineBytes) too_long = true;
      }
      if (bad == 1 && blank <= 2 && !too_long) candidates.push_back({fi, first, bad_line});
    }
  }
  if (failed > 0 && failed == sources.size()) fail("pep8-lines", "no corpus file could be checked: " + first_failure);
  if (failed > 0) note("tasks: pep8-lines: skipped " + std::to_string(failed) + " files pycodestyle could not check, e.g. " + first_failure);
  // a seeded order; overlapping windows of one file are taken once
  Rng rng(hash_combine(seed, stable_hash("pep8-lines")));
  std::shuffle(candidates.begin(), candidates.end(), rng);
  std::vector<TaskRecord> out;
  std::vector<std::vector<bool>> used(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) used[i].assign(sources[i].lines.size(), false);
  for (const Candidate& c : candidates) {
    if (out.size() >= n) break;
    if (std::any_of(used[c.file].begin() + static_cast<long>(c.first),
                    used[c.file].begin() + static_cast<long>(c.first + kWindow), [](bool u) { return u; }))
      continue;
    std::fill(used[c.file].begin() + static_cast<long>(c.first), used[c.file].begin() + static_cast<long>(c.first + kWindow), true);
    const SourceFile& f = sources[c.file];
    TaskRecord t;
    t.id = task_id("pep8-lines", seed, out.size());
    t.family = "pep8-lines";
    t.seed = block_key(f, c.first);
    t.prompt = "Here are " + std::to_string(kWindow) + " consecutive lines of the Python file " + f.name +
               " (numbered 1-" + std::to_string(kWindow) + "; the file goes on above and below):\n```\n" +
               numbered(f.lines, c.first, kWindow) +
               "```\nExactly one of these lines violates PEP 8 as pycodestyle checks it with its default settings. "
               "Which line is it?\n" + kAnswerLineInstruction;
    t.verifier = {{"type", "number"}, {"answer", static_cast<int64_t>(c.bad - c.first + 1)}};
    t.source = {{"file", f.path}, {"line", static_cast<int64_t>(c.first + 1)}};
    out.push_back(std::move(t));
  }
  return out;
}

namespace {

// Whitespace-separated tokens of a line as byte ranges.
std::vector<std::pair<size_t, size_t>> tokens(const std::string& line) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < line.size();) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    size_t e = i;
    while (e < line.size() && line[e] != ' ' && line[e] != '\t') ++e;
    out.emplace_back(i, e);
    i = e;
  }
  return out;
}

bool plain_word(const std::string& line, std::pair<size_t, size_t> t) {
  if (t.second - t.first < 3) return false;
  for (size_t i = t.first; i < t.second; ++i)
    if (!std::isalpha(static_cast<unsigned char>(line[i]))) return false;
  return true;
}

}  // namespace

std::vector<TaskRecord> make_masked_span_tasks(const std::vector<std::string>& files, size_t n, uint64_t seed) {
  const std::vector<SourceFile> sources = read_sources(files);
  constexpr size_t kBefore = 3, kAfter = 2;
  std::vector<std::pair<size_t, size_t>> candidates;  // (file, line)
  for (size_t fi = 0; fi < sources.size(); ++fi) {
    const auto& lines = sources[fi].lines;
    for (size_t li = kBefore; li + kAfter < lines.size(); ++li) {
      if (!same_block(li - kBefore, li + kAfter) || lines[li].size() > kMaxShownLineBytes) continue;
      const auto toks = tokens(lines[li]);
      if (toks.size() >= 6 && std::count_if(toks.begin(), toks.end(), [&](auto t) { return plain_word(lines[li], t); }) >= 3)
        candidates.emplace_back(fi, li);
    }
  }
  Rng rng(hash_combine(seed, stable_hash("masked-span")));
  std::shuffle(candidates.begin(), candidates.end(), rng);
  std::vector<TaskRecord> out;
  for (const auto& [fi, li] : candidates) {
    if (out.size() >= n) break;
    const SourceFile& f = sources[fi];
    const std::string& line = f.lines[li];
    const auto toks = tokens(line);
    // spans of 1-3 plain words separated by single spaces; one picked by the record's own draw
    std::vector<std::pair<size_t, size_t>> spans;  // (first token, token count)
    for (size_t a = 0; a < toks.size(); ++a)
      for (size_t len = 1; len <= 3 && a + len <= toks.size(); ++len) {
        bool ok = true;
        for (size_t k = a; k < a + len; ++k)
          ok = ok && plain_word(line, toks[k]) && (k == a || toks[k].first == toks[k - 1].second + 1);
        if (ok) spans.emplace_back(a, len);
      }
    if (spans.empty()) continue;
    Rng pick(hash_combine(seed, stable_hash(f.name + ":" + std::to_string(li))));
    const auto [a, len] = spans[static_cast<size_t>(uniform(pick, 0, static_cast<int64_t>(spans.size()) - 1))];
    const size_t b = toks[a].first, e = toks[a + len - 1].second;
    std::string context;
    for (size_t k = li - kBefore; k <= li + kAfter; ++k)
      context += (k == li ? line.substr(0, b) + "____" + line.substr(e) : f.lines[k]) + "\n";
    TaskRecord t;
    t.id = task_id("masked-span", seed, out.size());
    t.family = "masked-span";
    t.variant = std::to_string(len) + (len == 1 ? "-word" : "-words");
    t.seed = block_key(f, li);
    t.prompt = "In this excerpt of " + f.name + ", " + std::to_string(len) + (len == 1 ? " word was" : " consecutive words were") +
               " replaced by ____:\n```\n" + context + "```\nWhat exactly was replaced? Give only the missing words.\n" +
               kAnswerLineInstruction;
    t.verifier = {{"type", "exact"}, {"answer", line.substr(b, e - b)}};
    t.source = {{"file", f.path}, {"line", static_cast<int64_t>(li + 1)}};
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace prealign
