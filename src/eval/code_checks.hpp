// What a Python sample gets wrong, code by code: each sample is checked whole
// by pycodestyle (the scorer's defaults, so the codes are the ones the pep8
// score counts) and by Python's compile(). PHF reports the share of samples
// that compile next to the pep8 score; issue 13 asks which codes conditional
// training switches off. Torch-free: a python3 subprocess does the checking.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace prealign {

struct CodeCheck {
  bool checked = false;  // false: the checker failed on this text (error says why); left out of every rate
  bool compiles = false;
  uint64_t chars = 0;    // code points, as the pep8 score counts them
  std::map<std::string, uint64_t> codes;  // pycodestyle code -> violations in the text
  std::string error;
};

// One CodeCheck per text. `python` "" = /usr/bin/python3 if present, else
// python3 from PATH. `ignore`: codes ignored on top of pycodestyle's defaults
// (as in a pep8 score config's "ignore"). A text the checker cannot handle in
// `timeout_ms` is marked unchecked and the checker restarted. Error when
// pycodestyle is missing.
std::vector<CodeCheck> check_python_texts(const std::vector<std::string>& texts,
                                          const std::vector<std::string>& ignore = {}, const std::string& python = "",
                                          int timeout_ms = 60000);

// The group a code is reported in (issue 13): "style" (E2xx whitespace, E3xx
// blank lines, E501 line length, W29x trailing whitespace and end of file),
// "structure" (E1xx indentation, E9xx syntax and I/O errors) or "other".
std::string code_group(const std::string& code);

}  // namespace prealign
