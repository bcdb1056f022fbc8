// prealign classifier train|eval: a fastText classifier from labeled JSONL (or
// from the segment scores of a scored corpus), measured on a held-out split.
#include <unistd.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/config.hpp"
#include "core/files.hpp"
#include "core/progress.hpp"
#include "score/classifier.hpp"

namespace prealign {

namespace {

struct ClassifierArgs {
  std::vector<std::string> inputs;
  std::string model, split = "valid", report;
  double threshold = 0.5;
  ClassifierDataOptions data;
  FastTextTrainOptions train;
};

// Example files beside the model, removed when done.
struct TempExamples {
  std::string train, valid;
  explicit TempExamples(const std::string& model)
      : train(model + ".train-" + std::to_string(::getpid()) + ".txt"),
        valid(model + ".valid-" + std::to_string(::getpid()) + ".txt") {}
  ~TempExamples() {
    std::remove(train.c_str());
    std::remove(valid.c_str());
  }
};

void print_counts(const ExampleCounts& c) {
  std::string labels;
  for (const auto& [l, n] : c.train_labels) labels += " " + l + "=" + std::to_string(n);
  std::printf("examples: train %llu (%s ) | held out %llu | skipped records %llu\n", (unsigned long long)c.train,
              labels.c_str(), (unsigned long long)c.valid, (unsigned long long)c.skipped);
}

void run_train(const ClassifierArgs& a) {
  note("classifier train: data " + config_to_json(const_cast<ClassifierDataOptions&>(a.data)).dump() + " fasttext " +
       config_to_json(const_cast<FastTextTrainOptions&>(a.train)).dump());
  TempExamples tmp(a.model);
  const ExampleCounts counts = write_examples(a.inputs, a.data, tmp.train, tmp.valid);
  print_counts(counts);
  FastTextModel::train(tmp.train, a.train, a.model);
  ordered_json meta;
  meta["model"] = a.model;
  meta["data"] = config_to_json(const_cast<ClassifierDataOptions&>(a.data));
  meta["fasttext"] = config_to_json(const_cast<FastTextTrainOptions&>(a.train));
  meta["examples"] = {{"train", counts.train},
                      {"valid", counts.valid},
                      {"train_labels", counts.train_labels},
                      {"valid_labels", counts.valid_labels}};
  if (counts.valid > 0) {
    auto model = FastTextModel::load(a.model);
    const Evaluation e = evaluate_classifier(*model, tmp.valid, a.data.bad_label, a.threshold);
    std::printf("%s", format_evaluation(e).c_str());
    meta["valid"] = e.to_json();
  } else {
    warn("no held-out examples: raise --valid-fraction to measure the classifier");
  }
  write_json_file(a.model + ".json", meta);
  std::printf("model: %s (training record %s.json)\n", a.model.c_str(), a.model.c_str());
}

void run_eval(const ClassifierArgs& a) {
  if (a.split != "valid" && a.split != "all") fail("--split", "must be valid or all");
  auto model = FastTextModel::load(a.model);
  TempExamples tmp(a.model);
  ClassifierDataOptions d = a.data;
  if (a.split == "all") d.valid_fraction = 0;  // everything lands in the "train" file
  const ExampleCounts counts =
      write_examples(a.inputs, d, a.split == "all" ? tmp.valid : "", a.split == "all" ? "" : tmp.valid);
  print_counts(counts);
  const Evaluation e = evaluate_classifier(*model, tmp.valid, a.data.bad_label, a.threshold);
  std::printf("%s", format_evaluation(e).c_str());
  if (!a.report.empty()) write_json_file(a.report, e.to_json());
}

}  // namespace

void register_classifier_command(CLI::App& app) {
  auto* group = app.add_subcommand(
      "classifier",
      "fastText classifiers as scorers: train one from labeled JSONL (or distil a scorer from a scored corpus\n"
      "with --from-scores), measure precision/recall/F1 of the bad label on a held-out split, then score with\n"
      "{\"type\": \"fasttext\", \"model\": ...}. docs/scoring.md \"fastText scorer\".");
  group->require_subcommand(1);
  auto a = std::make_shared<ClassifierArgs>();
  auto* train = group->add_subcommand("train", "train a fastText classifier and evaluate it on the held-out split");
  auto* eval = group->add_subcommand("eval", "evaluate a trained classifier on labeled JSONL");
  for (auto* cmd : {train, eval}) {
    cmd->add_option("inputs", a->inputs, "labeled JSONL (or scored JSONL with --from-scores)")->required();
    cmd->add_option("--model", a->model, "the model file (.bin)")->required();
    cmd->add_option("--decision-threshold", a->threshold, "predicted bad if P(bad) > this")->capture_default_str();
    add_options(*cmd, a->data);
  }
  add_options(*train, a->train);
  eval->add_option("--split", a->split,
                   "valid: the held-out split of training (same --valid-fraction, --split-seed); all")
      ->capture_default_str();
  eval->add_option("--report", a->report, "also write the evaluation as JSON here");
  train->callback([a] { run_train(*a); });
  eval->callback([a] { run_eval(*a); });
}

}  // namespace prealign
