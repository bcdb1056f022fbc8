// libprealign_spm.so: the only code that touches SentencePiece directly.
// See src/tokenizer/spm_backend.hpp for why it is a separate shared library.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include "tokenizer/spm_backend.hpp"

namespace prealign::spm {
namespace {

Status convert(const sentencepiece::util::Status& s) { return {s.ok(), s.ok() ? "" : std::string(s.message())}; }

class SpmProcessor : public Processor {
 public:
  Status load(const std::string& bytes) override { return convert(sp_.LoadFromSerializedProto(bytes)); }
  int piece_size() const override { return sp_.GetPieceSize(); }
  int unk_id() const override { return sp_.unk_id(); }
  int bos_id() const override { return sp_.bos_id(); }
  int eos_id() const override { return sp_.eos_id(); }
  int pad_id() const override { return sp_.pad_id(); }
  bool is_control(int id) const override { return sp_.IsControl(id); }
  bool is_unknown(int id) const override { return sp_.IsUnknown(id); }
  bool is_unused(int id) const override { return sp_.IsUnused(id); }
  bool is_byte(int id) const override { return sp_.IsByte(id); }
  const std::string& id_to_piece(int id) const override { return sp_.IdToPiece(id); }
  int piece_to_id(const std::string& piece) const override { return sp_.PieceToId(piece); }
  Status encode(std::string_view text, std::vector<int>* ids) const override {
    return convert(sp_.Encode(absl::string_view(text.data(), text.size()), ids));
  }

 private:
  sentencepiece::SentencePieceProcessor sp_;
};

class Sentences : public sentencepiece::SentenceIterator {
 public:
  explicit Sentences(const std::vector<std::string>& lines) : lines_(lines) {}
  bool done() const override { return i_ >= lines_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return lines_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& lines_;
  size_t i_ = 0;
};

class SpmLibrary : public Library {
 public:
  std::unique_ptr<Processor> new_processor() override { return std::make_unique<SpmProcessor>(); }
  Status train(const std::unordered_map<std::string, std::string>& args, const std::vector<std::string>& sentences,
               std::string* model) override {
    Sentences it(sentences);
    return convert(sentencepiece::SentencePieceTrainer::Train(args, &it, model));
  }
  void set_random_seed(unsigned seed) override { sentencepiece::SetRandomGeneratorSeed(seed); }
};

}  // namespace
}  // namespace prealign::spm

extern "C" __attribute__((visibility("default"))) prealign::spm::Library* prealign_spm_library() {
  static prealign::spm::SpmLibrary library;
  return &library;
}
