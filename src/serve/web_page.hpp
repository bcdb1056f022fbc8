// The page `prealign serve` shows at /: a prompt, a policy picker and editor,
// the completion streamed token by token and shaded by its temptation (hover a
// token for its state and the raw probability of each banned tag; flag and
// policy rules that fired are marked inline), and the run's training curves.
// Plain HTML, CSS and script, no external resources (the machine serving it may
// have no network). Everything it shows from the model or the server goes in
// through textContent, never as HTML. Tested in Chromium by
// tests/serve/test_web_page_browser.cpp.
#pragma once
#include <string>

namespace prealign {

// The whole page; `model_name` is shown in its title (escaped).
std::string web_page(const std::string& model_name);

// The page's script (web_page_script.cpp): it talks to /v1/completions
// (streamed), /v1/prealign/policy and /v1/prealign/metrics.
const char* web_page_script();

}  // namespace prealign
