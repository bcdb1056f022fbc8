// The wire-level SentencePiece model reader/extender against SentencePiece
// itself (through prealign's tokenizer): every piece, its kind and the special
// ids must agree, and appended control pieces must load as never-from-text ids.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/files.hpp"
#include "interop/spm_model_proto.hpp"
#include "test_util.hpp"
#include "tokenizer/tagset.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace prealign;

namespace {

Tagset tagset_of(const std::vector<std::string>& names) {
  json tags = json::array();
  for (const auto& n : names) tags.push_back({{"name", n}, {"category", "alignment"}, {"kind", "marker"}});
  return Tagset::from_json({{"name", "t"}, {"tags", tags}}, "test tagset");
}

// One small trained model for the whole binary (training is the slow part).
const std::string& trained_model() {
  static const std::string bytes = [] {
    const std::string dir = prealign::testing::temp_dir();
    std::vector<std::string> docs;
    for (int i = 0; i < 200; ++i)
      docs.push_back("def f" + std::to_string(i) + "(x):\n    return x * " + std::to_string(i % 7) +
                     "  # the quick brown fox jumps over the lazy dog\n");
    size_t i = 0;
    TokenizerTrainOptions o;
    o.vocab_size = 360;
    Tokenizer::train([&](std::string& d) { return i < docs.size() ? (d = docs[i++], true) : false; },
                     tagset_of({"<|good|>", "<|bad|>"}), o, dir + "/tokenizer.model");
    return read_file(dir + "/tokenizer.model");
  }();
  return bytes;
}

}  // namespace

TEST(SpmModelProto, ReadsEveryPieceAsSentencePieceDoes) {
  const Tokenizer tok = Tokenizer::from_serialized(trained_model(), tagset_of({"<|good|>", "<|bad|>"}), "m");
  const SpmModelInfo info = parse_spm_model(trained_model(), "m");
  ASSERT_EQ(int(info.pieces.size()), tok.vocab_size());
  int controls = 0, bytes = 0;
  for (int id = 0; id < tok.vocab_size(); ++id) {
    EXPECT_EQ(info.pieces[id].piece, tok.piece(id)) << id;
    const bool control = info.pieces[id].type == SpmPieceType::kControl;
    controls += control;
    bytes += info.pieces[id].type == SpmPieceType::kByte;
    if (tok.is_tag(id)) {
      EXPECT_TRUE(control) << id;
    }
  }
  EXPECT_EQ(bytes, 256);  // byte fallback: one piece per byte value
  EXPECT_TRUE(info.byte_fallback);
  EXPECT_EQ(info.model_type, SpmModelType::kBpe);
  EXPECT_EQ(info.unk_id, Tokenizer::kUnk);
  EXPECT_EQ(info.bos_id, Tokenizer::kBos);
  EXPECT_EQ(info.eos_id, Tokenizer::kEos);
  EXPECT_EQ(info.pad_id, Tokenizer::kPad);
  EXPECT_FALSE(info.add_dummy_prefix);
  EXPECT_GE(controls, 2 + 3);  // the two tags, bos, eos, pad
  // Scores are what SentencePiece ranks merges by: BPE gives normal pieces
  // strictly falling scores in id order.
  float last = 1e30f;
  int normals = 0;
  for (const auto& p : info.pieces)
    if (p.type == SpmPieceType::kNormal) {
      EXPECT_LT(p.score, last) << p.piece;
      last = p.score;
      ++normals;
    }
  EXPECT_GT(normals, 50);
}

TEST(SpmModelProto, AppendedControlPiecesGetTheNextIdsAndNeverComeFromText) {
  const int before = int(parse_spm_model(trained_model(), "m").pieces.size());
  const std::string extended = append_control_pieces(trained_model(), {"<|toxic|>", "<|calm|>"}, "m");
  const Tokenizer tok =
      Tokenizer::from_serialized(extended, tagset_of({"<|good|>", "<|bad|>", "<|toxic|>", "<|calm|>"}), "m2");
  ASSERT_EQ(tok.vocab_size(), before + 2);
  EXPECT_EQ(tok.tag_id("<|toxic|>"), before);
  EXPECT_EQ(tok.tag_id("<|calm|>"), before + 1);
  EXPECT_TRUE(tok.is_tag(before) && tok.is_tag(before + 1));
  // Typed as text, the new tags' markup stays text (the injection rule).
  for (int id : tok.encode("say <|toxic|> and <|calm|> please")) {
    EXPECT_NE(id, before);
    EXPECT_NE(id, before + 1);
  }
  // The re-parsed model agrees, and old pieces keep their ids.
  const SpmModelInfo info = parse_spm_model(extended, "m2");
  ASSERT_EQ(int(info.pieces.size()), before + 2);
  EXPECT_EQ(info.pieces[before].piece, "<|toxic|>");
  EXPECT_EQ(info.pieces[before].type, SpmPieceType::kControl);
  EXPECT_EQ(info.pieces[5].piece, parse_spm_model(trained_model(), "m").pieces[5].piece);
}

TEST(SpmModelProto, RefusesDuplicatesAndBrokenInput) {
  EXPECT_THROW(append_control_pieces(trained_model(), {"<|good|>"}, "m"), Error);
  EXPECT_THROW(append_control_pieces(trained_model(), {"<|x|>", "<|x|>"}, "m"), Error);
  const std::string& m = trained_model();
  // Every truncation is refused or parses to a prefix; none crashes or reads past the end.
  for (size_t n : {size_t(0), size_t(1), size_t(3), m.size() / 3, m.size() / 2, m.size() - 1}) {
    try {
      const auto info = parse_spm_model(m.substr(0, n), "cut");
      EXPECT_LT(info.pieces.size(), parse_spm_model(m, "m").pieces.size() + 1);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cut"), std::string::npos);
    }
  }
  EXPECT_THROW(parse_spm_model("{\"model\": {\"type\": \"BPE\"}}", "tokenizer.json"), Error);
}
