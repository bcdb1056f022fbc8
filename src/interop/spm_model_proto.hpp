// A SentencePiece model file (`tokenizer.model`) read and extended at the
// protobuf wire level. Import adds the tagset's tags as CONTROL pieces to a
// model it did not train; GGUF export needs every piece's text, score and type.
// SentencePiece's own library cannot do either without its bundled protobuf
// (see tokenizer/spm_backend.hpp), and the format is small and stable:
//   ModelProto { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
//                NormalizerSpec normalizer_spec = 3; ... }
//   SentencePiece { string piece = 1; float score = 2; Type type = 3; }
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace prealign {

// SentencePiece's ModelProto.SentencePiece.Type values (also GGUF's token types).
enum class SpmPieceType : int { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct SpmPiece {
  std::string piece;
  float score = 0.0f;
  SpmPieceType type = SpmPieceType::kNormal;
};

// TrainerSpec.model_type values.
enum class SpmModelType : int { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };

struct SpmModelInfo {
  std::vector<SpmPiece> pieces;  // id order
  SpmModelType model_type = SpmModelType::kUnigram;
  int unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;  // SentencePiece's defaults
  bool byte_fallback = false;
  bool add_dummy_prefix = true;  // NormalizerSpec default
  std::string normalizer_name;   // e.g. "identity", "nmt_nfkc"
};

// Parses a serialized ModelProto; `where` names the file in errors. Refuses
// (Error) truncated or malformed input and a model with no pieces.
SpmModelInfo parse_spm_model(const std::string& bytes, const std::string& where);

// Returns the model with `pieces` appended as CONTROL pieces (score 0), which
// SentencePiece gives the next ids in order and never produces from text.
// Refuses a piece that already exists in the model.
std::string append_control_pieces(const std::string& bytes, const std::vector<std::string>& pieces,
                                  const std::string& where);

}  // namespace prealign
