// Held-out loss: cross-entropy on the validation shards with tag tokens
// excluded, so models trained with and without tags compare fairly.
#pragma once
#include <cstdint>

#include "data/batch_stream.hpp"
#include "model/llama.hpp"
#include "train/objective.hpp"

namespace prealign {

class ProcessGroup;  // dist/process_group.hpp

struct HeldoutLoss {
  double loss = 0;       // mean CE over text (non-tag) targets
  double perplexity = 0;
  double tag_loss = 0;   // mean CE over tag targets (0 if none)
  uint64_t tokens = 0, tag_tokens = 0;
};

// Evaluates the first `batches` rounds of the validation stream, with documents
// planned by `planner` (the objective's plan: tags as in training). A round is
// batch_size sequences per rank: with a process group the ranks split each round
// of batch_size x world sequences between them and every rank gets the sums over
// all of them, so the same rows give the same figure at any world size.
HeldoutLoss heldout_loss(LlamaModel& model, const Dataset& data, const DocumentPlanner& planner, int batch_size,
                         int seq_len, int batches, const ProcessGroup* group = nullptr);

}  // namespace prealign
