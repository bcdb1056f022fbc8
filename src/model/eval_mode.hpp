// Puts a model in eval mode for a scope and gives it back in the mode it had,
// also when the scope is left by an exception: a measurement taken in the middle
// of training must leave the model training.
#pragma once
#include "model/llama.hpp"

namespace prealign {

class EvalModeScope {
 public:
  explicit EvalModeScope(LlamaModel& model) : model_(model), was_training_(model->is_training()) { model_->eval(); }
  ~EvalModeScope() {
    if (was_training_) model_->train();
  }
  EvalModeScope(const EvalModeScope&) = delete;
  EvalModeScope& operator=(const EvalModeScope&) = delete;

 private:
  LlamaModel& model_;
  bool was_training_;
};

}  // namespace prealign
