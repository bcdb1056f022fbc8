#include "interop/hf_tokenizer_files.hpp"

namespace prealign {

namespace {

// transformers' AddedToken, as tokenizer_config.json stores it.
ordered_json added_token(const std::string& content, bool special) {
  ordered_json t;
  t["content"] = content;
  t["lstrip"] = false;
  t["normalized"] = false;
  t["rstrip"] = false;
  t["single_word"] = false;
  if (special) t["special"] = true;
  return t;
}

}  // namespace

ordered_json hf_tokenizer_config(const Tokenizer& tok, int model_max_length) {
  ordered_json j;
  j["tokenizer_class"] = "LlamaTokenizer";
  j["add_bos_token"] = true;   // prealign starts every sequence with <s>
  j["add_eos_token"] = false;  // and never ends a prompt with </s>
  j["legacy"] = true;
  j["add_prefix_space"] = tok.add_dummy_prefix();
  j["bos_token"] = tok.piece(Tokenizer::kBos);
  j["eos_token"] = tok.piece(Tokenizer::kEos);
  j["unk_token"] = tok.piece(Tokenizer::kUnk);
  if (tok.pad_id() >= 0) j["pad_token"] = tok.piece(tok.pad_id());
  else j["pad_token"] = nullptr;
  j["clean_up_tokenization_spaces"] = false;
  j["spaces_between_special_tokens"] = false;
  j["model_max_length"] = model_max_length;
  j["sp_model_kwargs"] = ordered_json::object();
  ordered_json added = ordered_json::object();
  std::vector<int> specials = {Tokenizer::kUnk, Tokenizer::kBos, Tokenizer::kEos};
  if (tok.pad_id() >= 0) specials.push_back(tok.pad_id());
  for (int id : specials) added[std::to_string(id)] = added_token(tok.piece(id), true);
  ordered_json tags = ordered_json::array();
  for (int id : tok.tag_ids()) {
    added[std::to_string(id)] = added_token(tok.tag_name(id), true);
    tags.push_back(tok.tag_name(id));
  }
  j["added_tokens_decoder"] = added;
  j["additional_special_tokens"] = tags;
  return j;
}

ordered_json hf_special_tokens_map(const Tokenizer& tok) {
  ordered_json j;
  j["bos_token"] = added_token(tok.piece(Tokenizer::kBos), false);
  j["eos_token"] = added_token(tok.piece(Tokenizer::kEos), false);
  j["unk_token"] = added_token(tok.piece(Tokenizer::kUnk), false);
  if (tok.pad_id() >= 0) j["pad_token"] = added_token(tok.piece(tok.pad_id()), false);
  ordered_json tags = ordered_json::array();
  for (int id : tok.tag_ids()) tags.push_back(added_token(tok.tag_name(id), false));
  j["additional_special_tokens"] = tags;
  return j;
}

}  // namespace prealign
