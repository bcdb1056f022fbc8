// The page `prealign serve` shows at /: a prompt box, and the completion with
// every token shaded by its temptation (hover for the per-tag numbers).
#pragma once
#include <string>

namespace prealign {

std::string web_page(const std::string& model_name, const std::string& policy_name);

}  // namespace prealign
