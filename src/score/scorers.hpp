// Factories of the concrete scorers; make_scorer (scorer.cpp) dispatches on "type".
#pragma once
#include <memory>

#include "score/scorer.hpp"

namespace prealign {

std::unique_ptr<Scorer> make_pii_scorer(const json& config, const std::string& where);
std::unique_ptr<Scorer> make_lexicon_scorer(const json& config, const std::string& where);
std::unique_ptr<Scorer> make_fasttext_scorer(const json& config, const std::string& where);
std::unique_ptr<Scorer> make_command_scorer(const json& config, const std::string& where);
std::unique_ptr<Scorer> make_cascade_scorer(const json& config, const std::string& where);

}  // namespace prealign
