#include "eval/code_checks.hpp"

#include <unistd.h>

#include <memory>

#include "core/error.hpp"
#include "core/json_io.hpp"
#include "core/subprocess.hpp"
#include "core/utf8.hpp"

namespace prealign {
namespace {

// Reads {"text"} per line, answers {"compiles", "chars", "codes"} or {"error"}.
// The text is checked as one file, split into lines as the pep8 worker splits
// them, with pycodestyle's default ignore list plus argv[1:]. compile() only
// parses: nothing in a sample runs.
const char* kWorker = R"PY(
import json, sys
import pycodestyle

class Count(pycodestyle.BaseReport):
    def __init__(self, options):
        super().__init__(options)
        self.codes = {}
    def error(self, line_number, offset, text, check):
        code = super().error(line_number, offset, text, check)
        if code:
            self.codes[code] = self.codes.get(code, 0) + 1
        return code

style = pycodestyle.StyleGuide(quiet=True, reporter=Count,
                               ignore=pycodestyle.DEFAULT_IGNORE.split(",") + sys.argv[1:])
sys.stdout.write("ready\n")
sys.stdout.flush()
for raw in sys.stdin.buffer:
    try:
        text = json.loads(raw)["text"]
        parts = text.split("\n")
        lines = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
        report = Count(style.options)
        pycodestyle.Checker(lines=list(lines), options=style.options, report=report).check_all()
        try:
            compile(text, "<sample>", "exec", dont_inherit=True)
            compiles = True
        except Exception:  # SyntaxError, and the parser's own limits (deep nesting)
            compiles = False
        out = {"compiles": compiles, "chars": len(text), "codes": report.codes}
    except Exception as e:
        out = {"error": "%s: %s" % (type(e).__name__, e)}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
)PY";

class Checker {
 public:
  Checker(std::string python, std::vector<std::string> ignore) : python_(std::move(python)), ignore_(std::move(ignore)) {
    start();
  }
  CodeCheck check(const std::string& text, int timeout_ms) {
    CodeCheck c;
    std::string line;
    bool timed_out = false;
    proc_->write_line(json({{"text", text}}).dump(-1, ' ', false, json::error_handler_t::replace));
    if (!proc_->read_line(line, timeout_ms, &timed_out)) {
      c.error = timed_out ? "the checker took longer than " + std::to_string(timeout_ms / 1000) + " s"
                          : "the checker exited";
      proc_->kill();
      start();
      return c;
    }
    json r = json::parse(line, nullptr, false);
    if (!r.is_object()) fail("python checker", "answered with something that is not JSON: " + line.substr(0, 200));
    if (r.contains("error")) {
      c.error = r["error"].get<std::string>();
      return c;
    }
    c.checked = true;
    c.compiles = r.at("compiles").get<bool>();
    c.chars = r.at("chars").get<uint64_t>();
    for (const auto& [code, n] : r.at("codes").items()) c.codes[code] = n.get<uint64_t>();
    return c;
  }

 private:
  void start() {
    std::vector<std::string> argv{python_, "-c", kWorker};
    argv.insert(argv.end(), ignore_.begin(), ignore_.end());
    proc_ = std::make_unique<Subprocess>(argv);
    std::string line;
    if (!proc_->read_line(line, 60000) || line != "ready")
      fail("python checker (" + python_ + ")", "did not start: is pycodestyle installed?",
           "apt-get install python3-pycodestyle");
  }
  std::string python_;
  std::vector<std::string> ignore_;
  std::unique_ptr<Subprocess> proc_;
};

}  // namespace

std::vector<CodeCheck> check_python_texts(const std::vector<std::string>& texts, const std::vector<std::string>& ignore,
                                          const std::string& python, int timeout_ms) {
  std::string py = python;
  if (py.empty()) py = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  Checker checker(py, ignore);
  std::vector<CodeCheck> out;
  out.reserve(texts.size());
  // Invalid UTF-8 is replaced as in the samples file, so chars match what pycodestyle sees.
  for (const auto& t : texts) out.push_back(checker.check(replace_invalid_utf8(t), timeout_ms));
  return out;
}

std::string code_group(const std::string& code) {
  if (code.size() < 2) return "other";
  const char kind = code[0], first = code[1];
  if (kind == 'E' && (first == '2' || first == '3')) return "style";
  if (code == "E501" || (kind == 'W' && code.rfind("W29", 0) == 0)) return "style";
  if (kind == 'E' && (first == '1' || first == '9')) return "structure";
  return "other";
}

}  // namespace prealign
