// Loading, encoding and decoding. SentencePiece segments plain text; everything
// that must hold exactly (no tag ever comes out of text, decode(encode(x)) == x)
// is enforced here rather than trusted to its settings.
#include "tokenizer/tokenizer.hpp"


#include <algorithm>
#include <atomic>
#include <cctype>
#include <unordered_map>

#include "core/files.hpp"
#include "core/utf8.hpp"
#include "tokenizer/spm_backend.hpp"
#include "tokenizer/tokenizer_internal.hpp"

namespace prealign {

namespace {

const char* kRetrainHint = "train it with `prealign tokenizer train` (tags as control symbols, byte fallback)";

std::string byte_piece_value(const std::string& piece, const std::string& where) {
  // Byte pieces are spelled <0xAB>.
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>' ||
      !std::isxdigit(static_cast<unsigned char>(piece[3])) || !std::isxdigit(static_cast<unsigned char>(piece[4])))
    fail(where, "malformed byte piece \"" + piece + "\"", kRetrainHint);
  return std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
}

std::string unescape_spaces(const std::string& piece) {
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
      out += ' ';
      i += kSpaceMark.size();
    } else {
      out += piece[i++];
    }
  }
  return out;
}

// True if `piece` could span a cut of encode_plain: a space after a non-space,
// or a newline followed by more text (models trained outside prealign may have such).
bool spans_word_cut(const std::string& piece) {
  for (size_t i = 0; i < piece.size(); ++i) {
    if (piece[i] == '\n' && i + 1 < piece.size()) return true;
    if (i > 0 && piece.compare(i, kSpaceMark.size(), kSpaceMark) == 0 &&
        (i < kSpaceMark.size() || piece.compare(i - kSpaceMark.size(), kSpaceMark.size(), kSpaceMark) != 0))
      return true;
  }
  return false;
}

// A ModelProto field appended to a serialized model: normalizer_spec (field 3)
// { add_dummy_prefix (field 3) = false }. Protobuf merges a message field that
// occurs twice, so this turns the option off and leaves everything else as it was.
constexpr std::string_view kNoDummyPrefix("\x1a\x02\x18\x00", 4);

// Whether SentencePiece puts a space before a text: asked of SentencePiece itself
// rather than read from the file. The space comes as a piece starting with U+2581
// or as its three byte pieces.
bool adds_dummy_prefix(const spm::Processor& sp) {
  std::vector<int> ids;
  if (!sp.encode("a", &ids).ok) return false;  // the caller's checks report an unusable model
  std::string surface;
  for (int id : ids) {
    if (id < 0 || id >= sp.piece_size()) return false;
    const std::string& p = sp.id_to_piece(id);
    if (sp.is_byte(id) && p.size() == 6) surface += char(std::stoi(p.substr(3, 2), nullptr, 16));
    else surface += p;
    if (surface.size() >= kSpaceMark.size()) break;
  }
  return surface.compare(0, kSpaceMark.size(), kSpaceMark) == 0;
}

}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::string& model_path, const Tagset& tagset) {
  if (is_directory(model_path))
    fail(model_path, "is a directory, expected a tokenizer.model file", "use Tokenizer::load_dir or name the file");
  return from_serialized(read_file(model_path), tagset, model_path);
}

Tokenizer Tokenizer::load_dir(const std::string& dir) {
  const std::string tagset_path = dir + "/tagset.json";
  if (!file_exists(tagset_path))
    fail(tagset_path, "missing", "a tokenizer directory holds tokenizer.model and tagset.json side by side");
  return load(dir + "/tokenizer.model", Tagset::load(tagset_path));
}

Tokenizer Tokenizer::from_serialized(const std::string& model_bytes, const Tagset& tagset, const std::string& where) {
  Tokenizer t;
  t.sp_ = spm::library().new_processor();
  spm::Status status = t.sp_->load(model_bytes);
  if (!status.ok) fail(where, "not a usable SentencePiece model: " + status.message, kRetrainHint);
  // encode() cuts text into words and hands SentencePiece one word at a time, so
  // SentencePiece must not put a space before each of them: encode_start() puts
  // the one space add_dummy_prefix stands for before the start of a text instead.
  t.add_dummy_prefix_ = adds_dummy_prefix(*t.sp_);
  if (t.add_dummy_prefix_) {
    t.sp_ = spm::library().new_processor();
    status = t.sp_->load(model_bytes + std::string(kNoDummyPrefix));
    if (!status.ok || adds_dummy_prefix(*t.sp_))
      fail(where, "cannot turn off the model's add_dummy_prefix" + (status.ok ? "" : ": " + status.message),
           "this is a bug in prealign; please report it with the model file");
  }
  t.model_bytes_ = model_bytes;
  t.tagset_ = tagset;
  t.init(where);
  return t;
}

// Builds the id tables and checks every promise the rest of prealign relies on.
void Tokenizer::init(const std::string& where) {
  const int n = sp_->piece_size();
  // <pad> is optional (Llama's tokenizers have none); prealign never feeds it to a model.
  if (n <= 3 || sp_->unk_id() != kUnk || sp_->bos_id() != kBos || sp_->eos_id() != kEos ||
      (sp_->pad_id() != kPad && sp_->pad_id() != -1))
    fail(where,
         "special ids <unk> " + std::to_string(sp_->unk_id()) + ", <s> " + std::to_string(sp_->bos_id()) + ", </s> " +
             std::to_string(sp_->eos_id()) + ", <pad> " + std::to_string(sp_->pad_id()) +
             ": prealign needs <unk>, <s>, </s> at ids 0, 1, 2 and <pad> at 3 or none",
         std::string("prealign places BOS and EOS by these ids (so does every Llama tokenizer.model); ") +
             kRetrainHint);
  pad_id_ = sp_->pad_id();
  id_bytes_.assign(n, std::string());
  is_text_.assign(n, 0);
  id_to_tag_.assign(n, std::string());
  byte_ids_.assign(256, -1);
  bool split_words = true;
  for (int id = 0; id < n; ++id) {
    if (sp_->is_control(id) || sp_->is_unknown(id) || sp_->is_unused(id)) continue;
    const std::string& p = sp_->id_to_piece(id);
    if (sp_->is_byte(id)) {
      id_bytes_[id] = byte_piece_value(p, where);
      byte_ids_[static_cast<unsigned char>(id_bytes_[id][0])] = id;
    } else {
      id_bytes_[id] = unescape_spaces(p);
      if (spans_word_cut(p)) split_words = false;
    }
    is_text_[id] = 1;
  }
  split_words_ = split_words;
  for (const std::string& b : id_bytes_) max_token_bytes_ = std::max(max_token_bytes_, b.size());
  static std::atomic<uint64_t> instances{0};
  instance_id_ = ++instances;
  for (int b = 0; b < 256; ++b)
    if (byte_ids_[b] < 0)
      fail(where, "the model has no byte-fallback pieces (needed for unseen characters)", kRetrainHint);

  tag_ids_.clear();
  for (const TagSpec& t : tagset_.tags()) {
    const int id = sp_->piece_to_id(t.name);
    if (id < 0 || id >= n || is_special(id) || !sp_->is_control(id) || sp_->id_to_piece(id) != t.name)
      fail(where, "tag \"" + t.name + "\" is not a control symbol of the model",
           "the model was trained with another tagset: pass that tagset, or retrain with this one");
    tag_ids_.push_back(id);
    id_to_tag_[id] = t.name;
  }
  check_round_trip(where);
}

// A model trained with other settings (NFKC, dummy prefix, whitespace folding)
// silently changes text; refuse it rather than corrupt a corpus.
void Tokenizer::check_round_trip(const std::string& where) const {
  std::vector<std::string> probes = {"  two  spaces  ",
                                     " lead",
                                     "x\ty\t\t\tz\r\nCR\rLF\n\n    indented",
                                     "\xEF\xAC\x81 \xEF\xBD\x86ull A\xCC\x8A \xC3\x85",
                                     "\xE2\x96\x81 mark",
                                     std::string("nul\0byte", 8)};
  for (const TagSpec& t : tagset_.tags()) probes.push_back("x" + t.name + " " + t.name);
  for (const std::string& p : probes)
    if (decode(encode(p)) != p || decode_start(encode_start(p)) != p)
      fail(where, "the model does not reproduce text exactly (e.g. " + json(p).dump() + ")",
           std::string("its normalization or whitespace settings differ from prealign's (it needs byte fallback, "
                       "identity normalization and no whitespace folding); ") + kRetrainHint);
}

std::vector<int> Tokenizer::encode(std::string_view text) const {
  size_t bad = 0;
  if (!is_valid_utf8(text, &bad))
    fail("text", "invalid UTF-8 at byte offset " + std::to_string(bad), "tokenizer input must be valid UTF-8");
  std::vector<int> out;
  out.reserve(text.size() / 3 + 8);
  // A literal U+2581 and NUL bypass SentencePiece as their byte pieces. Its
  // normalizer writes spaces as U+2581, so a literal one would decode as a space.
  // NUL is the terminator of its tries; 0.1.97 encodes it correctly, but
  // routing it here keeps that guarantee ours rather than the library's.
  size_t start = 0, i = 0;
  while (i < text.size()) {
    i = text.find_first_of(std::string_view("\0\xE2", 2), i);
    if (i == std::string_view::npos) break;
    size_t len = 0;
    if (text[i] == '\0')
      len = 1;
    else if (text.compare(i, kSpaceMark.size(), kSpaceMark) == 0)
      len = kSpaceMark.size();
    if (len == 0) {
      ++i;
      continue;
    }
    encode_plain(text.substr(start, i - start), out);
    for (size_t k = 0; k < len; ++k) out.push_back(byte_ids_[static_cast<unsigned char>(text[i + k])]);
    i += len;
    start = i;
  }
  encode_plain(text.substr(start), out);
  return out;
}

std::vector<int> Tokenizer::encode_start(std::string_view text) const {
  // SentencePiece puts nothing before an empty text.
  if (!add_dummy_prefix_ || text.empty()) return encode(text);
  std::string spaced;
  spaced.reserve(text.size() + 1);
  spaced += ' ';
  spaced += text;
  return encode(spaced);
}

// Word splitting: a cut before a space that follows a non-space, and after a
// newline. Pieces trained with split_by_whitespace hold a space only as a prefix
// or in an all-space run, and the newline is a user-defined symbol, so no piece
// spans a cut: SentencePiece gives the same pieces word by word as for the whole
// text (BPE never merges across a cut; unigram's lattice has no node across it).
// Words repeat, so a cache then makes encoding several times faster.
void Tokenizer::encode_plain(std::string_view text, std::vector<int>& out) const {
  if (!split_words_) return encode_run(text, out);
  size_t start = 0;
  for (size_t i = 1; i < text.size(); ++i)
    if ((text[i] == ' ' && text[i - 1] != ' ') || text[i - 1] == '\n') {
      encode_run(text.substr(start, i - start), out);
      start = i;
    }
  encode_run(text.substr(start), out);
}

// SentencePiece needs ~250 bytes of memory per byte of one input (a 50 MB line
// of "A"s took 12 GB), so a run longer than kMaxRunBytes is encoded in pieces of
// at most that size, cut at character boundaries. Only such runs (minified code,
// base64) tokenize differently from SentencePiece on the whole; the text still
// round-trips exactly, and the cut positions depend on the text alone.
void Tokenizer::encode_run(std::string_view run, std::vector<int>& out) const {
  while (run.size() > kMaxRunBytes) {
    size_t cut = kMaxRunBytes;
    while (cut > 0 && (static_cast<unsigned char>(run[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    encode_word(run.substr(0, cut), out);
    run.remove_prefix(cut);
  }
  encode_word(run, out);
}

namespace {

// One per thread, so encode() stays const and lock-free; it belongs to the
// tokenizer that used it last.
struct WordCache {
  static constexpr size_t kMaxWords = size_t(1) << 16, kMaxWordBytes = 64;
  uint64_t owner = 0;
  std::unordered_map<std::string, std::vector<int>> ids;
  std::string key;
};

}  // namespace

void Tokenizer::encode_word(std::string_view word, std::vector<int>& out) const {
  if (word.empty()) return;
  thread_local WordCache cache;
  const bool cacheable = split_words_ && word.size() <= WordCache::kMaxWordBytes;
  if (cacheable) {
    if (cache.owner != instance_id_ || cache.ids.size() >= WordCache::kMaxWords) {
      cache.ids.clear();
      cache.owner = instance_id_;
    }
    cache.key.assign(word.data(), word.size());
    auto hit = cache.ids.find(cache.key);
    if (hit != cache.ids.end()) {
      out.insert(out.end(), hit->second.begin(), hit->second.end());
      return;
    }
  }
  thread_local std::vector<int> ids;  // reused: SentencePiece fills it for every word
  const spm::Status status = sp_->encode(word, &ids);
  if (!status.ok) fail("text", "SentencePiece could not encode the text: " + status.message);
  const size_t first = out.size();
  const int n = static_cast<int>(is_text_.size());
  const int e2 = byte_ids_[0xE2], x96 = byte_ids_[0x96], x81 = byte_ids_[0x81];
  for (size_t k = 0; k < ids.size(); ++k) {
    const int id = ids[k];
    // The security rule: text never yields a tag or special id. SentencePiece
    // should guarantee it; if it ever does not, stop rather than emit one.
    if (id < 0 || id >= n || !is_text_[id])
      fail("text", "internal error: SentencePiece returned id " + std::to_string(id) + " for plain text",
           "this is a bug in prealign; please report it with the input text");
    // A space that fell back to bytes (a model without a "▁" piece) would decode
    // as a literal U+2581: write it as the byte piece of a space instead.
    if (id == e2 && k + 2 < ids.size() && ids[k + 1] == x96 && ids[k + 2] == x81) {
      out.push_back(byte_ids_[' ']);
      k += 2;
      continue;
    }
    out.push_back(id);
  }
  if (cacheable) cache.ids.emplace(cache.key, std::vector<int>(out.begin() + first, out.end()));
}

std::string Tokenizer::decode(const std::vector<int>& ids, bool show_tags) const {
  return decode_impl(ids, show_tags, false);
}

std::string Tokenizer::decode_start(const std::vector<int>& ids, bool show_tags) const {
  return decode_impl(ids, show_tags, add_dummy_prefix_);
}

// strip_prefix: drop the leading space of the first token that has text (tags
// and specials have none), as SentencePiece's decoder does under add_dummy_prefix.
std::string Tokenizer::decode_impl(const std::vector<int>& ids, bool show_tags, bool strip_prefix) const {
  std::string out;
  const int n = vocab_size();
  for (int id : ids) {
    if (id < 0 || id >= n)
      fail("token " + std::to_string(id), "id outside the vocabulary (0.." + std::to_string(n - 1) + ")",
           "ids must come from this tokenizer");
    if (show_tags && !id_to_tag_[id].empty()) {
      out += id_to_tag_[id];
      continue;
    }
    const std::string& bytes = id_bytes_[id];
    if (strip_prefix && !bytes.empty()) {
      strip_prefix = false;
      if (bytes[0] == ' ') {
        out.append(bytes, 1, std::string::npos);
        continue;
      }
    }
    out += bytes;
  }
  return out;
}

std::string Tokenizer::token_bytes(int id) const {
  if (id < 0 || id >= vocab_size())
    fail("token " + std::to_string(id), "id outside the vocabulary (0.." + std::to_string(vocab_size() - 1) + ")");
  return id_bytes_[id];
}

std::string Tokenizer::piece(int id) const {
  if (id < 0 || id >= vocab_size())
    fail("token " + std::to_string(id), "id outside the vocabulary (0.." + std::to_string(vocab_size() - 1) + ")");
  return sp_->id_to_piece(id);
}

int Tokenizer::vocab_size() const { return static_cast<int>(id_bytes_.size()); }

bool Tokenizer::is_tag(int id) const { return id >= 0 && id < vocab_size() && !id_to_tag_[id].empty(); }

bool Tokenizer::is_special(int id) const {
  return id == kUnk || id == kBos || id == kEos || (pad_id_ >= 0 && id == pad_id_);
}

int Tokenizer::tag_id(std::string_view name) const {
  const auto& tags = tagset_.tags();
  for (size_t i = 0; i < tags.size(); ++i)
    if (tags[i].name == name) return tag_ids_[i];
  tagset_.get(name, "tag " + std::string(name));  // throws, listing the known tags
  fail("tag " + std::string(name), "unknown tag");
}

const std::string& Tokenizer::tag_name(int id) const {
  if (!is_tag(id)) fail("token " + std::to_string(id), "not a tag id of this tokenizer");
  return id_to_tag_[id];
}

}  // namespace prealign
