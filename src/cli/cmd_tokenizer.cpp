// prealign tokenizer train | encode | decode: build a SentencePiece tokenizer
// whose tags are control symbols, and look at what it does to text.
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <iostream>
#include <iterator>
#include <mutex>
#include <thread>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "cli/tokenizer_args.hpp"
#include "core/config.hpp"
#include "core/files.hpp"
#include "core/progress.hpp"
#include "corpus/markup.hpp"
#include "corpus/reader.hpp"
#include "data/tokenize.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

namespace {

// read_corpus pushes documents; Tokenizer::train pulls them. A reader thread and
// a small queue join the two without holding the corpus in memory.
class DocumentPipe {
 public:
  // `held_out(id)`: documents left out of training (counted in held_out()).
  DocumentPipe(std::vector<std::string> inputs, CorpusReadOptions options, Tagset tagset,
               std::function<bool(const std::string&)> held_out)
      : held_out_(std::move(held_out)),
        thread_([this, inputs = std::move(inputs), options = std::move(options), tagset = std::move(tagset)] {
          run(inputs, options, tagset);
        }) {}
  ~DocumentPipe() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  // The next document's training text; false at the end (rethrows a reader error).
  bool next(std::string& text) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) {
      if (error_) std::rethrow_exception(error_);
      return false;
    }
    text = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return true;
  }
  const CorpusReadStats& stats() const { return stats_; }
  uint64_t held_out() const { return held_out_count_; }

 private:
  struct Cancelled {};
  static constexpr size_t kCapacity = 64;

  void run(const std::vector<std::string>& inputs, const CorpusReadOptions& options, const Tagset& tagset) {
    std::exception_ptr error;
    try {
      stats_ = read_corpus(inputs, options, [&](Document&& doc) {
        if (held_out_ && held_out_(doc.id)) {
          ++held_out_count_;
          return;
        }
        push(training_text(doc, tagset));
      });
    } catch (const Cancelled&) {
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = error;
    finished_ = true;
    changed_.notify_all();
  }

  void push(std::string text) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return queue_.size() < kCapacity || cancelled_; });
    if (cancelled_) throw Cancelled{};
    queue_.push_back(std::move(text));
    changed_.notify_all();
  }

  // Tags of a trusted tagged corpus are not text: their runs become separate
  // lines, so no piece is learned across a tag.
  static std::string training_text(Document& doc, const Tagset& tagset) {
    if (!doc.tagged) return std::move(doc.text);
    std::string out;
    for (const MarkupPiece& p : parse_markup(doc.text, tagset))
      if (!p.is_tag) out += p.text + "\n";
    return out;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  bool finished_ = false, cancelled_ = false;
  std::exception_ptr error_;
  CorpusReadStats stats_;
  std::function<bool(const std::string&)> held_out_;
  uint64_t held_out_count_ = 0;
  std::thread thread_;  // last: starts after every other member exists
};

std::string read_stdin() {
  std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (std::cin.bad()) fail("stdin", "read error");
  return s;
}

// Token ids from text: integers separated by whitespace or commas, or the JSON
// that `encode --json` prints ({"ids": [...]}) or a JSON array.
std::vector<int> parse_ids(const std::string& text, const std::string& where) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) {
    json j = parse_json(text, where);
    const json& ids = j.is_object() ? j.value("ids", json()) : j;
    if (!ids.is_array()) fail(where, "expected a JSON array of ids or {\"ids\": [...]}");
    std::vector<int> out;
    for (size_t i = 0; i < ids.size(); ++i) {
      // get<int> would wrap an id beyond int's range into a valid-looking one.
      const bool fits = ids[i].is_number_unsigned() ? ids[i].get<uint64_t>() <= uint64_t(INT_MAX)
                        : ids[i].is_number_integer() && ids[i].get<int64_t>() >= INT_MIN && ids[i].get<int64_t>() <= INT_MAX;
      if (!fits) fail(where + ": ids[" + std::to_string(i) + "]", ids[i].dump() + " is not a token id (an integer)");
      out.push_back(static_cast<int>(ids[i].get<int64_t>()));
    }
    return out;
  }
  std::vector<int> out;
  size_t i = 0;
  while (true) {
    i = text.find_first_not_of(" \t\r\n,", i);
    if (i == std::string::npos) break;
    const size_t end = std::min(text.find_first_of(" \t\r\n,", i), text.size());
    const std::string word = text.substr(i, end - i);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || v < INT_MIN || v > INT_MAX)
      fail(where + ": token " + std::to_string(out.size() + 1), "\"" + word + "\" is not a token id",
           "give integers separated by spaces, or the JSON printed by `prealign tokenizer encode --json`");
    out.push_back(static_cast<int>(v));
    i = end;
  }
  return out;
}

struct TrainArgs {
  std::vector<std::string> inputs, tagsets;
  std::string out = "tokenizer.model";
  CorpusReadOptions read;
  TokenizerTrainOptions options;
  // The validation split of `prealign tokenize --val-fraction F --seed S`, left out
  // so held-out documents never shape the vocabulary (0 = train on everything).
  double exclude_val_fraction = 0;
  uint64_t split_seed = TokenizeOptions{}.seed;
};

// The recipe: tagset -> stream the corpus -> train -> tagset.json beside the model.
void run_train(TrainArgs& a) {
  std::string model = a.out;
  if (is_directory(model) || (!model.empty() && model.back() == '/')) {
    while (model.size() > 1 && model.back() == '/') model.pop_back();
    model += "/tokenizer.model";
  }
  const std::string dir = model.substr(0, model.find_last_of('/') + 1);
  expand_inputs(a.inputs, a.read.glob);  // a missing input fails here, before anything is created
  if (!dir.empty()) make_directories(dir);
  note("tokenizer train: options " + config_to_json(a.options).dump());
  const Tagset tagset = load_tagsets(a.tagsets);
  note("tokenizer train: " + std::to_string(tagset.size()) + " tags (" + tagset.name() + ") as control symbols");
  if (!(a.exclude_val_fraction >= 0 && a.exclude_val_fraction < 1))
    fail("--exclude-val-fraction", "must be in [0, 1)", "give the --val-fraction you tokenize with");
  std::function<bool(const std::string&)> held_out;
  if (a.exclude_val_fraction > 0)
    held_out = [f = a.exclude_val_fraction, seed = a.split_seed](const std::string& id) {
      return is_validation_document(id, seed, f);
    };
  DocumentPipe pipe(a.inputs, a.read, tagset, held_out);
  Tokenizer::train([&](std::string& text) { return pipe.next(text); }, tagset, a.options, model);
  write_json_file(dir + "tagset.json", tagset.to_json());
  const CorpusReadStats& st = pipe.stats();
  std::printf("read %llu documents (%s), skipped %llu\n", static_cast<unsigned long long>(st.documents),
              human_bytes(static_cast<double>(st.bytes)).c_str(), static_cast<unsigned long long>(st.skipped));
  for (const std::string& e : st.first_errors) std::printf("  skipped: %s\n", e.c_str());
  if (held_out)
    std::printf("held out %llu documents: the validation split of tokenize --val-fraction %g --seed %llu\n",
                static_cast<unsigned long long>(pipe.held_out()), a.exclude_val_fraction,
                static_cast<unsigned long long>(a.split_seed));
  std::printf("tokenizer: %s\ntagset:    %stagset.json\n", model.c_str(), dir.c_str());
}

void register_train(CLI::App& parent) {
  auto* cmd = parent.add_subcommand(
      "train",
      "train a SentencePiece tokenizer on a corpus; the tags become control symbols (ids 4, 5, ... in tagset\n"
      "order) that plain text can never produce. Writes the model and tagset.json beside it.\n"
      "Example: prealign tokenizer train corpus.jsonl --tagset good_bad -o tok/tokenizer.model");
  auto a = std::make_shared<TrainArgs>();
  cmd->add_option("inputs", a->inputs, "JSONL files (.jsonl/.jsonl.gz), text files or directories")->required();
  accept_shipped(cmd->add_option("--tagset", a->tagsets, "tagset file or name (repeatable; merged in order)")
                     ->required()
                     ->allow_extra_args(false),
                 ShippedKind::tagset);
  cmd->add_option("-o,--out", a->out, "model file to write (or a directory: DIR/tokenizer.model)")
      ->capture_default_str();
  cmd->add_option("--glob", a->read.glob, "for directories: files whose path matches")->capture_default_str();
  cmd->add_option("--format", a->read.format, "auto | jsonl | text")->capture_default_str();
  cmd->add_option("--text-field", a->read.text_field, "JSONL field holding the text")->capture_default_str();
  cmd->add_flag("--skip-bad", a->read.skip_bad, "skip (and count) bad records instead of stopping");
  cmd->add_flag("--tagged", a->read.tagged, "texts carry inline tag markup (trusted corpus); tags are not trained on");
  cmd->add_option("--exclude-val-fraction", a->exclude_val_fraction,
                  "leave out the documents `tokenize --val-fraction F --seed S` holds out (with --split-seed S)")
      ->capture_default_str();
  cmd->add_option("--split-seed", a->split_seed, "the --seed of the tokenize run whose validation split is left out")
      ->capture_default_str();
  add_options(*cmd, a->options);
  cmd->callback([a] { run_train(*a); });
}

void register_encode(CLI::App& parent) {
  auto* cmd = parent.add_subcommand(
      "encode",
      "encode text as untrusted input (tag names in it stay plain text) and print the token ids.\n"
      "The text is the argument, or stdin byte for byte (including its final newline), encoded as a whole\n"
      "text: with the leading space of SentencePiece's add_dummy_prefix if the model has it (imported models).\n"
      "Example: echo 'x = <|bad|>' | prealign tokenizer encode --tokenizer tok/ --json");
  auto tokenizer = std::make_shared<std::string>();
  auto tagsets = std::make_shared<std::vector<std::string>>();
  auto text = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("--tokenizer", *tokenizer, "tokenizer directory (tokenizer.model + tagset.json) or model file")
      ->required();
  accept_shipped(
      cmd->add_option("--tagset", *tagsets, "tagset file or name (repeatable; default: tagset.json beside the model)")
          ->allow_extra_args(false),
      ShippedKind::tagset);
  cmd->add_flag("--json", *as_json, "print {\"ids\": [...], \"pieces\": [...]}");
  auto* text_opt = cmd->add_option("text", *text, "text to encode (default: read stdin)");
  cmd->callback([=] {
    const Tokenizer tok = open_tokenizer(*tokenizer, *tagsets);
    const std::string input = text_opt->count() ? *text : read_stdin();
    const std::vector<int> ids = tok.encode_start(input);  // a whole text (add_dummy_prefix, if the model has it)
    if (*as_json) {
      json pieces = json::array();
      for (int id : ids) pieces.push_back(tok.piece(id));
      std::printf("%s\n", json({{"ids", ids}, {"pieces", pieces}}).dump().c_str());
      return;
    }
    std::string line;
    for (int id : ids) line += (line.empty() ? "" : " ") + std::to_string(id);
    std::printf("%s\n", line.c_str());
  });
}

void register_decode(CLI::App& parent) {
  auto* cmd = parent.add_subcommand(
      "decode",
      "decode token ids to text, written byte for byte (no newline added). Tags are dropped unless --show-tags.\n"
      "Ids come as arguments or on stdin (integers, or the JSON of `encode --json`). The inverse of encode:\n"
      "a model with add_dummy_prefix loses the one leading space encode put there.\n"
      "Example: prealign tokenizer decode --tokenizer tok/ --show-tags 4 310 57");
  auto tokenizer = std::make_shared<std::string>();
  auto tagsets = std::make_shared<std::vector<std::string>>();
  auto ids = std::make_shared<std::vector<std::string>>();
  auto show_tags = std::make_shared<bool>(false);
  cmd->add_option("--tokenizer", *tokenizer, "tokenizer directory (tokenizer.model + tagset.json) or model file")
      ->required();
  accept_shipped(
      cmd->add_option("--tagset", *tagsets, "tagset file or name (repeatable; default: tagset.json beside the model)")
          ->allow_extra_args(false),
      ShippedKind::tagset);
  cmd->add_flag("--show-tags", *show_tags, "render tags by name");
  cmd->add_option("ids", *ids, "token ids (default: read stdin)");
  cmd->callback([=] {
    const Tokenizer tok = open_tokenizer(*tokenizer, *tagsets);
    std::string joined;
    for (const std::string& s : *ids) joined += s + " ";
    const std::vector<int> parsed = ids->empty() ? parse_ids(read_stdin(), "stdin") : parse_ids(joined, "ids");
    const std::string text = tok.decode_start(parsed, *show_tags);  // the inverse of encode
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
}

}  // namespace

void register_tokenizer_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenizer", "train a tokenizer with tags as control symbols; encode and decode");
  cmd->require_subcommand(1);
  register_train(*cmd);
  register_encode(*cmd);
  register_decode(*cmd);
}

}  // namespace prealign
