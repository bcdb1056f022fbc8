// prealign dataset merge: the parts a job array tokenized, as one dataset.
#include <cstdio>

#include "cli/commands.hpp"
#include "core/progress.hpp"
#include "data/dataset_merge.hpp"

namespace prealign {

void register_dataset_command(CLI::App& app) {
  auto* dataset = app.add_subcommand("dataset", "work with dataset directories (prealign tokenize --out)");
  dataset->require_subcommand(1);
  auto* merge = dataset->add_subcommand(
      "merge", "join the parts written by `tokenize --shard i/n` jobs into one dataset, without copying shards\n"
               "(the new dataset.json names the parts' shard files by relative path). docs/scale.md.");
  auto parts = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  merge->add_option("parts", *parts, "the part directories")->required();
  merge->add_option("--out,-o", *out, "the merged dataset directory (must not exist)")->required();
  merge->callback([parts, out] {
    MergeResult r = merge_datasets(*parts, *out);
    std::printf("merged %zu parts: %llu documents | train %llu shards, %s tokens | val %llu shards, %s tokens\n"
                "dataset: %s\n",
                parts->size(), (unsigned long long)r.documents, (unsigned long long)r.train_shards,
                human_count(double(r.train_tokens)).c_str(), (unsigned long long)r.val_shards,
                human_count(double(r.val_tokens)).c_str(), out->c_str());
  });
}

}  // namespace prealign
