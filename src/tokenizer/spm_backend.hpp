// SentencePiece behind a wall. Debian's libsentencepiece carries its own copy
// of protobuf-lite (3.14) while libtorch links the system libprotobuf (3.21);
// linked into one process they crash before main(). So SentencePiece lives in
// a small shared library (libprealign_spm.so, src/tokenizer/shim/) that is
// dlopen()ed with RTLD_DEEPBIND: inside it, SentencePiece binds to its own
// protobuf, and nothing of it enters the global symbol scope.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace prealign::spm {

struct Status {
  bool ok = true;
  std::string message;
};

// The few SentencePieceProcessor calls prealign makes.
class Processor {
 public:
  virtual ~Processor() = default;
  virtual Status load(const std::string& serialized_model) = 0;
  virtual int piece_size() const = 0;
  virtual int unk_id() const = 0;
  virtual int bos_id() const = 0;
  virtual int eos_id() const = 0;
  virtual int pad_id() const = 0;
  virtual bool is_control(int id) const = 0;
  virtual bool is_unknown(int id) const = 0;
  virtual bool is_unused(int id) const = 0;
  virtual bool is_byte(int id) const = 0;
  virtual const std::string& id_to_piece(int id) const = 0;
  virtual int piece_to_id(const std::string& piece) const = 0;
  virtual Status encode(std::string_view text, std::vector<int>* ids) const = 0;
};

class Library {
 public:
  virtual ~Library() = default;
  virtual std::unique_ptr<Processor> new_processor() = 0;
  // SentencePieceTrainer::Train(kwargs, sentences) -> serialized model.
  virtual Status train(const std::unordered_map<std::string, std::string>& args,
                       const std::vector<std::string>& sentences, std::string* model) = 0;
  virtual void set_random_seed(unsigned seed) = 0;
};

// Loads libprealign_spm.so on first use (Error naming the paths tried if it cannot).
Library& library();

}  // namespace prealign::spm

// The shim's one exported symbol.
extern "C" prealign::spm::Library* prealign_spm_library();
