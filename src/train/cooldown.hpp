// MeCo's cooldown (Gao et al. 2025, "Metadata conditioning accelerates language
// model pre-training"): train with the metadata tags for the first 1 - F of the
// steps and on plain text for the last F, so the model is a normal language
// model at the end and conditioning still steers it. Here the "metadata" is
// whatever the objective's plan inserts (conditional: <|good|>/<|bad|>, context
// tags); tags that are part of the corpus text (AI-mode markup) stay.
#pragma once
#include <cstdint>

#include "data/batch_stream.hpp"

namespace prealign {

// The first step (0-based) without inserted tags; `steps` when fraction is 0.
int64_t cooldown_start(int64_t steps, double fraction);

// The plan without the tags it inserts; scores and labels stay (the loss of
// unlikelihood/AWR still reads them).
void strip_inserted_tags(DocumentPlan& plan);

// `base`, then stripped when *step >= start. Plans are made as batches fill,
// so the switch falls on the first document planned at the cooldown's first
// step (a document planned before keeps its tags for the rest of its tokens).
DocumentPlanner with_cooldown(DocumentPlanner base, const int64_t* step, int64_t start);

}  // namespace prealign
