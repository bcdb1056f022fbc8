// What every evaluation loads: a checkpoint with its tokenizer, the options it
// was trained with (objective, dataset), and the decoding policy to use.
#pragma once
#include <memory>
#include <string>

#include "decode/policy.hpp"
#include "model/checkpoint.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/trainer.hpp"

namespace prealign {

struct EvalModel {
  LoadedCheckpoint checkpoint;
  std::unique_ptr<Tokenizer> tokenizer;
  TrainOptions trained;  // options in train_state.json (objective, dataset, ...)
};

// On `device` ("cpu", "cuda", "cuda:N"): evaluation runs where the model is.
EvalModel load_eval_model(const std::string& dir, const std::string& device = "cpu");

// "" = the checkpoint's policy.json, "none" = no restrictions, else a file or a
// shipped name (configs/policies/<name>.json).
Policy resolve_eval_policy(const std::string& name, const EvalModel& m);

// {"checkpoint", "step", "tokens", "objective"}: the first fields of every report.
ordered_json report_header(const std::string& kind, const EvalModel& m);

// Creates the directory `path` is in (for reports and their side files).
void make_parent_directory(const std::string& path);

// Writes the report atomically and prints where.
void write_report(const std::string& path, const ordered_json& report);

}  // namespace prealign
