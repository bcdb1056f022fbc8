#include "interop/hf_tokenizer_import.hpp"

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "interop/spm_model_proto.hpp"

namespace prealign {

namespace {

const char* const kNeedSpm =
    "prealign's tokenizer is SentencePiece: the tags become control pieces of the model, which text can never "
    "produce. Import a model that ships a SentencePiece tokenizer.model (Llama 1/2, Mistral-style Llama "
    "fine-tunes, TinyLlama, ...)";

// No tokenizer.model: say what the directory has instead.
[[noreturn]] void refuse_other_tokenizer(const std::string& dir) {
  const std::string tj = dir + "/tokenizer.json";
  if (file_exists(tj)) {
    std::string kind = "a Hugging Face tokenizers model";
    try {
      const json j = read_json_file(tj);
      const json model = j.value("model", json::object());
      const std::string type = model.is_object() ? model.value("type", std::string()) : std::string();
      const std::string dump = j.value("pre_tokenizer", json()).dump() + j.value("decoder", json()).dump();
      const bool byte_level = dump.find("ByteLevel") != std::string::npos;
      kind = (byte_level ? "a byte-level " : "a ") + (type.empty() ? std::string("tokenizers") : type) + " tokenizer";
    } catch (const Error&) {
    }
    fail(dir + "/tokenizer.model",
         "missing: the model's tokenizer is tokenizer.json only (" + kind + " of the Hugging Face tokenizers "
         "library), which prealign cannot use",
         kNeedSpm);
  }
  if (file_exists(dir + "/vocab.json") || file_exists(dir + "/merges.txt"))
    fail(dir + "/tokenizer.model", "missing: the model's tokenizer is a GPT-2 style BPE (vocab.json + merges.txt)",
         kNeedSpm);
  fail(dir + "/tokenizer.model", "missing: the directory has no tokenizer", kNeedSpm);
}

const char* piece_kind(SpmPieceType t) {
  switch (t) {
    case SpmPieceType::kNormal: return "a normal piece";
    case SpmPieceType::kUnknown: return "the unknown piece";
    case SpmPieceType::kUserDefined: return "a user-defined piece (matched in text)";
    case SpmPieceType::kUnused: return "an unused piece";
    case SpmPieceType::kByte: return "a byte piece";
    case SpmPieceType::kControl: return "a control piece";
  }
  return "a piece";
}

}  // namespace

ImportedTokenizer import_hf_tokenizer(const std::string& dir, const Tagset& tagset, int vocab_size) {
  const std::string path = dir + "/tokenizer.model";
  if (!file_exists(path)) refuse_other_tokenizer(dir);
  const std::string bytes = read_file(path);
  const SpmModelInfo info = parse_spm_model(bytes, path);
  const int pieces = static_cast<int>(info.pieces.size());
  if (pieces != vocab_size)
    fail(path,
         "has " + std::to_string(pieces) + " pieces but config.json's vocab_size is " + std::to_string(vocab_size),
         "prealign needs one embedding row per SentencePiece piece; tokens added beside tokenizer.model "
         "(added_tokens.json, tokenizer.json's added_tokens) or embedding rows padded to a round size are not "
         "supported");
  if (info.unk_id != Tokenizer::kUnk || info.bos_id != Tokenizer::kBos || info.eos_id != Tokenizer::kEos)
    fail(path,
         "has <unk>, <s>, </s> at ids " + std::to_string(info.unk_id) + ", " + std::to_string(info.bos_id) + ", " +
             std::to_string(info.eos_id) + "; prealign needs 0, 1, 2",
         "prealign places BOS and EOS by these ids, as every Llama tokenizer.model does");

  ImportedTokenizer out;
  out.base_vocab = pieces;
  std::vector<std::string> append;
  for (const TagSpec& t : tagset.tags()) {
    int existing = -1;
    for (int id = 0; id < pieces && existing < 0; ++id)
      if (info.pieces[id].piece == t.name) existing = id;
    if (existing < 0) {
      out.appended_ids.push_back(pieces + static_cast<int>(append.size()));
      append.push_back(t.name);
    } else if (info.pieces[existing].type == SpmPieceType::kControl) {
      out.existing_ids.push_back(existing);  // already a tag (a model prealign exported)
    } else {
      fail(path,
           "tag \"" + t.name + "\" is already " + piece_kind(info.pieces[existing].type) + " of the model (id " +
               std::to_string(existing) + ")",
           "a tag must be a control piece that text can never produce; rename the tag in the tagset");
    }
  }
  out.model_bytes = append.empty() ? bytes : append_control_pieces(bytes, append, path);
  try {
    out.tokenizer = Tokenizer::from_serialized(out.model_bytes, tagset, path);
  } catch (const Error& e) {
    fail(path, "cannot be prealign's tokenizer: " + e.problem(),
         "prealign needs a SentencePiece model that reproduces every text exactly (byte fallback, identity "
         "normalization, no whitespace folding), as Llama's own tokenizer.model does");
  }
  return out;
}

}  // namespace prealign
