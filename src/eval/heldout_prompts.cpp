#include "eval/heldout_prompts.hpp"

#include <regex>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/progress.hpp"
#include "data/shard.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

std::string prompt_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
    text.pop_back();
  return text.find('\n') == std::string::npos ? text : std::string();
}

std::vector<std::string> heldout_prompts(const HeldoutPromptOptions& o) {
  Dataset data = Dataset::open(o.data);
  if (data.val.empty()) fail(o.data, "the dataset has no validation shards", "tokenize with --val-fraction > 0");
  Tokenizer tok = Tokenizer::load_dir(o.data);
  std::regex re;
  try {
    re = std::regex(o.match, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail("--match " + o.match, std::string("not a regular expression: ") + e.what());
  }
  std::vector<std::string> prompts;
  std::set<std::string> seen;
  for (const auto& sh : data.val)
    for (uint64_t s = 0, d = 0; s < sh->n_segments() && prompts.size() < size_t(o.max); ++s) {
      std::vector<int> ids;
      for (uint64_t k = sh->segment_token_begin(s); k < sh->segment_token_end(s); ++k) ids.push_back(sh->token(k));
      while (d + 1 < sh->n_docs() && sh->doc_segment_end(d) <= s) ++d;
      // A document's first segment was encoded as the start of a text (add_dummy_prefix).
      const std::string text = prompt_line(s == sh->doc_segment_begin(d) ? tok.decode_start(ids) : tok.decode(ids));
      if (text.empty() || text.size() > size_t(o.max_chars)) continue;
      if (!std::regex_search(text, re) || !seen.insert(text).second) continue;
      prompts.push_back(text);
    }
  if (prompts.empty()) fail(o.data, "no held-out segment matches " + o.match, "change --match or use more data");
  std::string body;
  for (const auto& p : prompts) body += p + "\n";
  write_file_atomic(o.out, body);
  note("prompts: " + std::to_string(prompts.size()) + " held-out segments matching " + o.match + " -> " + o.out);
  return prompts;
}

}  // namespace prealign
