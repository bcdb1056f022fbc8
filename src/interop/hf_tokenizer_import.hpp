// The tokenizer of a Hugging Face model directory, made prealign's: its
// SentencePiece tokenizer.model with the tagset's tags as CONTROL pieces
// (appended, so every existing id keeps its meaning), checked to reproduce text
// exactly. Other tokenizer kinds (a tokenizer.json byte-level BPE, GPT-2's
// vocab.json + merges.txt) are refused with the reason.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace prealign {

struct ImportedTokenizer {
  std::string model_bytes;        // tokenizer.model with every tag a CONTROL piece
  int base_vocab = 0;             // pieces of the model as imported
  std::vector<int> appended_ids;  // tags appended (base_vocab, base_vocab + 1, ...): rows to initialise
  std::vector<int> existing_ids;  // tags the model already had as CONTROL pieces (a prealign export)
  std::optional<Tokenizer> tokenizer;  // loaded from model_bytes with the tagset
};

// `vocab_size` is config.json's: the model must have exactly one embedding row per piece.
ImportedTokenizer import_hf_tokenizer(const std::string& dir, const Tagset& tagset, int vocab_size);

}  // namespace prealign
