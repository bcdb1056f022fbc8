// The --tokenizer and --tagset options that `tokenizer train|encode|decode` and
// `tokenize` share.
#pragma once
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace prealign {

// The --tagset values, each a file or a shipped name (core/paths.hpp), merged in order.
Tagset load_tagsets(const std::vector<std::string>& names_or_paths);

// --tokenizer names a directory (tokenizer.model + tagset.json) or a model file;
// --tagset (repeatable, merged) replaces the tagset stored beside the model.
Tokenizer open_tokenizer(const std::string& path, const std::vector<std::string>& tagsets);

}  // namespace prealign
