// Training a prealign tokenizer: SentencePiece on sampled lines, the tags as
// control symbols (ids 4.. in tagset order), byte fallback, no normalization.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/files.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "core/utf8.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/spm_backend.hpp"
#include "tokenizer/tokenizer_internal.hpp"

namespace prealign {

namespace {

// SentencePiece's default max_sentence_length: longer lines are skipped (its
// BPE trainer is O(n log n) per line and unigram EM can overflow on them).
constexpr size_t kMaxLineBytes = 4192;
// The trainer skips any line containing U+2585, its internal unknown mark.
constexpr std::string_view kUnknownMark = "\xE2\x96\x85";

// A uniform sample of at most `capacity` lines (reservoir sampling), so the
// sample depends only on the text and the seed, not on the corpus size.
class LineSample {
 public:
  LineSample(size_t capacity, uint64_t seed) : capacity_(capacity), rng_(seed) {}
  void add(std::string_view line) {
    ++seen_;
    if (lines_.size() < capacity_) {
      lines_.emplace_back(line);
      return;
    }
    const uint64_t j = rng_() % seen_;
    if (j < capacity_) lines_[j].assign(line.data(), line.size());
  }
  std::vector<std::string>& lines() { return lines_; }
  uint64_t seen() const { return seen_; }
  uint64_t too_long = 0;

 private:
  size_t capacity_;
  Rng rng_;
  uint64_t seen_ = 0;
  std::vector<std::string> lines_;
};

// The trainer sees one line at a time. Lines also end at characters that can
// never be inside a piece: NUL (the trie's terminator), U+2581 (encode() turns a
// literal one into bytes) and U+2585 (SentencePiece would drop the whole line).
void add_document_lines(std::string_view doc, LineSample& sample) {
  size_t start = 0;
  auto flush = [&](size_t end) {
    if (end == start) return;
    if (end - start > kMaxLineBytes) {
      ++sample.too_long;
      return;
    }
    sample.add(doc.substr(start, end - start));
  };
  size_t i = 0;
  while (i < doc.size()) {
    const char c = doc[i];
    size_t cut = 0;
    if (c == '\n' || c == '\0') {
      cut = 1;
    } else if (c == '\xE2' && (doc.compare(i, 3, kSpaceMark) == 0 || doc.compare(i, 3, kUnknownMark) == 0)) {
      cut = 3;
    }
    if (cut == 0) {
      ++i;
      continue;
    }
    flush(i);
    i += cut;
    start = i;
  }
  flush(doc.size());
}

// SentencePiece takes repeated fields as CSV; quoting every item keeps commas
// and quotes inside tag names intact.
std::string csv(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ',';
    out += '"';
    for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
    out += '"';
  }
  return out;
}

void check_options(const TokenizerTrainOptions& o, const Tagset& tagset) {
  if (o.model_type != "bpe" && o.model_type != "unigram")
    fail("--model-type", "unknown model type \"" + o.model_type + "\"", "use bpe or unigram");
  if (!(o.character_coverage >= 0.98 && o.character_coverage <= 1.0))
    fail("--character-coverage", "must be in [0.98, 1]", "rarer characters are encoded as bytes anyway");
  if (o.max_piece_length < 1 || o.max_piece_length > 512) fail("--max-piece-length", "must be in [1, 512]");
  if (o.threads < 1 || o.threads > 128) fail("--threads", "must be in [1, 128]");
  if (o.max_sentences < 1) fail("--max-sentences", "must be at least 1");
  if (tagset.size() == 0) fail("tagset", "the tagset has no tags", "pass --tagset configs/tagsets/good_bad.json");
  const int fixed = 4 + static_cast<int>(tagset.size() + kExtraSymbols.size()) + 256;
  if (o.vocab_size <= fixed)
    fail("--vocab-size", std::to_string(o.vocab_size) + " leaves no room for learned pieces",
         "specials, tags, whitespace symbols and the 256 byte pieces take " + std::to_string(fixed) +
             " ids; use e.g. " + std::to_string(fixed + 1000));
}

std::unordered_map<std::string, std::string> trainer_args(const TokenizerTrainOptions& o, const Tagset& tagset,
                                                          bool text_has_spaces) {
  std::vector<std::string> tags;
  for (const TagSpec& t : tagset.tags()) tags.push_back(t.name);
  std::unordered_map<std::string, std::string> args = {
      {"model_type", o.model_type},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"character_coverage", std::to_string(o.character_coverage)},
      {"max_sentencepiece_length", std::to_string(o.max_piece_length)},
      {"num_threads", std::to_string(o.threads)},
      {"max_sentence_length", std::to_string(kMaxLineBytes)},
      {"input_sentence_size", "0"},  // we sampled already
      {"shuffle_input_sentence", "false"},
      // Tags are control symbols: never matched in text. The whitespace symbols are
      // user-defined: always one piece (a newline, CRLF, tab runs for indentation).
      {"control_symbols", csv(tags)},
      {"user_defined_symbols", csv(kExtraSymbols)},
      {"byte_fallback", "true"},
      {"normalization_rule_name", "identity"},
      {"add_dummy_prefix", "false"},
      {"remove_extra_whitespaces", "false"},
      {"allow_whitespace_only_pieces", "true"},
      {"split_digits", "true"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "3"},
      {"minloglevel", o.verbose ? "0" : "2"},  // 2 = errors only
  };
  // A space is always a piece, however rare (encode() copes without one, at a
  // byte token per space). Only when the text has one: BPE aborts on a required
  // character it never sees.
  if (text_has_spaces) args["required_chars"] = std::string(kSpaceMark);
  return args;
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone; nothing left to tell
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

std::string read_all(int fd) {
  std::string out;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// SentencePiece's trainer ends the whole process on some degenerate inputs (a
// fatal CHECK, e.g. when unigram seeding finds no candidate piece). Training in
// a forked child turns that into an Error; the model comes back through a pipe
// as "K<bytes>", a returned error as "E<message>".
std::string run_trainer(const std::unordered_map<std::string, std::string>& args, const std::vector<std::string>& lines,
                        const std::string& where) {
  int fds[2];
  if (::pipe(fds) != 0) fail(where, std::string("cannot create a pipe: ") + std::strerror(errno));
  std::fflush(nullptr);  // or the child would flush our buffered output a second time
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    fail(where, std::string("cannot start the trainer process: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string model;
    const spm::Status status = spm::library().train(args, lines, &model);
    write_all(fds[1], status.ok ? "K" + model : "E" + status.message);
    ::_exit(0);  // no atexit handlers or destructors of the parent's objects
  }
  ::close(fds[1]);
  const std::string reply = read_all(fds[0]);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const char* hint =
      "the text is probably too small or too uniform for the requested vocabulary: lower --vocab-size or add text";
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || reply.empty())
    fail(where, "SentencePiece's trainer aborted on this text (its message is above)", hint);
  if (reply[0] == 'E') fail(where, "SentencePiece training failed: " + reply.substr(1), hint);
  return reply.substr(1);
}

}  // namespace

void Tokenizer::train(const std::function<bool(std::string&)>& next_document, const Tagset& tagset,
                      const TokenizerTrainOptions& options, const std::string& model_path) {
  check_options(options, tagset);
  LineSample sample(static_cast<size_t>(options.max_sentences), options.seed);
  std::string doc;
  uint64_t documents = 0;
  while (next_document(doc)) {
    size_t bad = 0;
    if (!is_valid_utf8(doc, &bad))
      fail("training document " + std::to_string(documents + 1), "invalid UTF-8 at byte " + std::to_string(bad),
           "training text must be UTF-8");
    add_document_lines(doc, sample);
    ++documents;
  }
  if (sample.lines().empty())
    fail(model_path, "no training text (" + std::to_string(documents) + " documents, no usable line)",
         "give text files or a JSONL corpus with non-empty lines under " + std::to_string(kMaxLineBytes) + " bytes");

  // Seeds the trainer's own randomness (unigram seeding); -1 is reserved by SentencePiece.
  unsigned spm_seed = static_cast<unsigned>(splitmix64(options.seed));
  spm::library().set_random_seed(spm_seed == UINT_MAX ? 0 : spm_seed);
  const bool has_spaces = std::any_of(sample.lines().begin(), sample.lines().end(),
                                      [](const std::string& l) { return l.find(' ') != std::string::npos; });
  const std::string serialized = run_trainer(trainer_args(options, tagset, has_spaces), sample.lines(), model_path);

  // Check the promised layout before anything is written.
  Tokenizer tok = from_serialized(serialized, tagset, model_path + " (just trained)");
  for (size_t i = 0; i < tok.tag_ids_.size(); ++i)
    if (tok.tag_ids_[i] != 4 + static_cast<int>(i))
      fail(model_path,
           "tag " + tagset.tags()[i].name + " got id " + std::to_string(tok.tag_ids_[i]) + ", expected " +
               std::to_string(4 + i),
           "this is a bug in prealign's trainer set-up");
  write_file_atomic(model_path, serialized);
  note("tokenizer: " + options.model_type + " vocabulary of " + std::to_string(tok.vocab_size()) + " from " +
       human_count(static_cast<double>(sample.lines().size())) + " lines (of " +
       human_count(static_cast<double>(sample.seen())) + " in " + std::to_string(documents) + " documents; " +
       std::to_string(sample.too_long) + " over " + std::to_string(kMaxLineBytes) + " bytes skipped) -> " + model_path);
}

}  // namespace prealign
