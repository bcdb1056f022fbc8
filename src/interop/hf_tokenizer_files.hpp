// The JSON files beside tokenizer.model that make Hugging Face transformers load
// a prealign tokenizer as a LlamaTokenizer giving prealign's own ids:
//   tokenizer_config.json    class, special tokens, the tags as added special
//                            tokens, and the whitespace behaviour (see below)
//   special_tokens_map.json  bos/eos/unk/pad and the tags as additional special tokens
//
// Whitespace: "legacy": true makes LlamaTokenizer encode each run of text between
// special tokens with the SentencePiece model exactly as stored, whose own
// add_dummy_prefix then decides the leading space: none for prealign's
// tokenizers, one before a text for an imported Llama tokenizer that has it —
// prealign's encode_start() in both cases. "add_prefix_space" repeats the model's
// setting for LlamaTokenizerFast, whose conversion reads it instead.
#pragma once
#include "core/json_io.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

ordered_json hf_tokenizer_config(const Tokenizer& tok, int model_max_length);
ordered_json hf_special_tokens_map(const Tokenizer& tok);

}  // namespace prealign
