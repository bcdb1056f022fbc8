// SentencePiece tokenizer whose tags are *control symbols*: encoding text can
// never produce a tag id, whatever the text contains. Tag ids enter a token
// sequence only through trusted code (the corpus markup reader, the policy).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tagset.hpp"

namespace prealign::spm {
class Processor;
}

namespace prealign {

struct TokenizerTrainOptions {
  std::string model_type = "bpe";  // bpe | unigram
  int vocab_size = 4096;
  double character_coverage = 0.9995;
  int64_t max_sentences = 2000000;  // lines sampled for training
  int max_piece_length = 16;
  int threads = 2;
  uint64_t seed = 1234;
  bool verbose = false;  // let SentencePiece log its training steps

  template <class V>
  void visit(V& v) {
    v("model_type", model_type, "SentencePiece model type: bpe or unigram");
    v("vocab_size", vocab_size, "vocabulary size, tags and byte pieces included");
    v("character_coverage", character_coverage, "fraction of characters covered by pieces (rest: byte fallback)");
    v("max_sentences", max_sentences, "maximum number of lines used to train");
    v("max_piece_length", max_piece_length, "longest piece in characters");
    v("threads", threads, "trainer threads");
    v("seed", seed, "seed for sampling training lines");
    v("verbose", verbose, "print SentencePiece's training log");
  }
};

class Tokenizer {
 public:
  // Special ids. A tokenizer prealign trained has <unk>, <s>, </s>, <pad> at 0..3
  // and its tags from id 4 on. One imported with a Hugging Face Llama model
  // (src/interop/) has <unk>, <s>, </s> at 0..2 too, usually no <pad>, and its
  // tags appended after its own pieces. The rest of prealign places BOS and EOS
  // by these constants, so loading refuses a model whose ids differ.
  static constexpr int kUnk = 0, kBos = 1, kEos = 2, kPad = 3;

  // Trains on the documents yielded by `next_document` (return false when done)
  // and writes the model to `model_path` atomically.
  static void train(const std::function<bool(std::string&)>& next_document, const Tagset& tagset,
                    const TokenizerTrainOptions& options, const std::string& model_path);
  // Loads a model; every tag of `tagset` must be a control symbol of the model.
  static Tokenizer load(const std::string& model_path, const Tagset& tagset);
  static Tokenizer from_serialized(const std::string& model_bytes, const Tagset& tagset, const std::string& where);
  // Loads <dir>/tokenizer.model with <dir>/tagset.json (a checkpoint directory).
  static Tokenizer load_dir(const std::string& dir);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // The longest run of text SentencePiece sees at once: longer runs without a
  // word break are encoded in pieces of at most this size (memory stays bounded).
  static constexpr size_t kMaxRunBytes = 4096;

  // Untrusted text -> ids. Never yields a tag or special id. Invalid UTF-8 is an Error.
  // Exact and prefix-free: encode(a) then encode(b) decodes to a + b.
  std::vector<int> encode(std::string_view text) const;
  // SentencePiece's add_dummy_prefix: the model saw a space before the start of
  // every text it was trained on (Llama's tokenizers; never prealign's own).
  bool add_dummy_prefix() const { return add_dummy_prefix_; }
  // Untrusted text that starts a sequence (a document's first text, a prompt):
  // encode() after the space add_dummy_prefix puts there, as SentencePiece's own
  // encoding of the whole text. The same as encode() for prealign's tokenizers.
  std::vector<int> encode_start(std::string_view text) const;
  // The most bytes one token can stand for: a text of more than
  // max_token_bytes() * n bytes cannot encode to n tokens or fewer, so a length
  // limit in tokens can be checked before encoding.
  size_t max_token_bytes() const { return max_token_bytes_; }
  // ids -> text. Tags are dropped unless `show_tags`, then rendered by name.
  std::string decode(const std::vector<int>& ids, bool show_tags = false) const;
  // The inverse of encode_start(): decode() without the one leading space
  // add_dummy_prefix put before the first text token. The same as decode() for
  // prealign's tokenizers.
  std::string decode_start(const std::vector<int>& ids, bool show_tags = false) const;
  // The exact bytes one token contributes to decode() (may be part of a UTF-8
  // sequence for byte pieces; empty for tags and specials).
  std::string token_bytes(int id) const;
  std::string piece(int id) const;  // the SentencePiece piece, for inspection

  int vocab_size() const;
  bool is_tag(int id) const;
  bool is_special(int id) const;  // unk/bos/eos/pad
  int pad_id() const { return pad_id_; }  // kPad, or -1 when the model has no <pad>
  int tag_id(std::string_view name) const;  // Error for a name that is not a tag
  const std::string& tag_name(int id) const;
  const std::vector<int>& tag_ids() const { return tag_ids_; }
  const Tagset& tagset() const { return tagset_; }
  const std::string& serialized_model() const { return model_bytes_; }

 private:
  Tokenizer();
  void init(const std::string& where);
  void check_round_trip(const std::string& where) const;
  std::string decode_impl(const std::vector<int>& ids, bool show_tags, bool strip_prefix) const;
  // Encodes text free of NUL and U+2581, appending to `out`: split into words
  // no piece can span, each encoded by SentencePiece (through a per-thread cache).
  void encode_plain(std::string_view text, std::vector<int>& out) const;
  void encode_run(std::string_view run, std::vector<int>& out) const;  // in bounded pieces
  void encode_word(std::string_view word, std::vector<int>& out) const;
  std::unique_ptr<spm::Processor> sp_;  // SentencePiece, through the shim (spm_backend.hpp)
  std::string model_bytes_;
  Tagset tagset_;
  std::vector<int> tag_ids_;
  std::vector<std::string> id_to_tag_;   // empty string for non-tags
  std::vector<std::string> id_bytes_;    // precomputed token_bytes
  std::vector<uint8_t> is_text_;         // 1 for ids encode() may return (normal, user-defined, byte)
  std::vector<int> byte_ids_;            // byte value -> id of its <0xAB> piece
  bool split_words_ = false;             // no piece spans a word start or follows a newline
  bool add_dummy_prefix_ = false;        // of the model; sp_ itself always runs without it
  int pad_id_ = kPad;
  size_t max_token_bytes_ = 1;           // longest id_bytes_ entry
  uint64_t instance_id_ = 0;             // tells the per-thread word caches apart
};

}  // namespace prealign
