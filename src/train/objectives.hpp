// Factories of the concrete objectives (one file each, or grouped by kinship).
#pragma once
#include <memory>

#include "train/objective.hpp"

namespace prealign {

std::unique_ptr<Objective> make_mle_objective(const ObjectiveOptions& o, const Dataset& data);
std::unique_ptr<Objective> make_conditional_objective(const ObjectiveOptions& o, const Dataset& data,
                                                      const Tokenizer& tokenizer);

}  // namespace prealign
