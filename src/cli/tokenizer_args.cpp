#include "cli/tokenizer_args.hpp"

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/paths.hpp"

namespace prealign {

Tagset load_tagsets(const std::vector<std::string>& names_or_paths) {
  std::vector<Tagset> sets;
  for (const std::string& t : names_or_paths) sets.push_back(Tagset::load(resolve_config(t, kTagsetFolder)));
  return Tagset::merge(sets);
}

Tokenizer open_tokenizer(const std::string& path, const std::vector<std::string>& tagsets) {
  const std::string model = is_directory(path) ? path + "/tokenizer.model" : path;
  if (!file_exists(model))
    fail(model, "no such tokenizer model",
         "give a directory from `prealign tokenizer train -o DIR/` or its .model file");
  if (!tagsets.empty()) return Tokenizer::load(model, load_tagsets(tagsets));
  const std::string beside = model.substr(0, model.find_last_of('/') + 1) + "tagset.json";
  if (!file_exists(beside))
    fail(model, "no tagset given and no tagset.json beside the model",
         "pass --tagset with the tagset it was trained with (a file or a shipped name)");
  return Tokenizer::load(model, Tagset::load(beside));
}

}  // namespace prealign
