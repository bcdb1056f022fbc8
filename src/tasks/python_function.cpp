// The python family: write a small function; hidden tests check it. Each
// template knows its answer twice: a C++ implementation computes the expected
// results of the hidden cases, and a Python reference solution (kept in the
// verifier spec, never in the prompt) lets the tests confirm both agree.
#include "tasks/python_function.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include "core/error.hpp"
#include "tasks/generators.hpp"

namespace prealign {
namespace {

struct Template {
  const char* name;      // variant and function name
  const char* params;    // the parameter list
  std::function<int64_t(Rng&)> constant;  // the template's parameter K
  std::function<std::string(int64_t)> describe;   // what the function returns
  std::function<std::string(int64_t)> reference;  // a Python solution
  std::function<json(Rng&)> input;                // arguments of one call
  std::function<json(const json&, int64_t)> solve;  // expected result
};

json int_list(Rng& rng, int max_len = 8) {
  json xs = json::array();
  for (int64_t n = uniform(rng, 0, max_len); n > 0; --n) xs.push_back(uniform(rng, -50, 50));
  return xs;
}

json word_string(Rng& rng) {
  std::string s;
  for (int64_t n = uniform(rng, 0, 5); n > 0; --n) {
    const auto& w = task_words();
    s += (s.empty() ? "" : " ") + w[static_cast<size_t>(uniform(rng, 0, static_cast<int64_t>(w.size()) - 1))];
  }
  return json::array({s});
}

const std::vector<Template>& templates() {
  static const std::vector<Template> t = {
      {"sum_divisible", "xs", [](Rng& r) { return uniform(r, 2, 9); },
       [](int64_t k) { return "the sum of the integers in the list xs that are divisible by " + std::to_string(k); },
       [](int64_t k) { return "def sum_divisible(xs):\n    return sum(x for x in xs if x % " + std::to_string(k) + " == 0)\n"; },
       [](Rng& r) { return json::array({int_list(r)}); },
       [](const json& a, int64_t k) {
         int64_t s = 0;
         for (const auto& x : a[0]) if (x.get<int64_t>() % k == 0) s += x.get<int64_t>();
         return json(s);
       }},
      {"count_long_words", "s", [](Rng& r) { return uniform(r, 3, 7); },
       [](int64_t k) { return "the number of space-separated words in the string s that have more than " + std::to_string(k) + " letters"; },
       [](int64_t k) { return "def count_long_words(s):\n    return sum(1 for w in s.split() if len(w) > " + std::to_string(k) + ")\n"; },
       word_string,
       [](const json& a, int64_t k) {
         int64_t n = 0, len = 0;
         for (char c : a[0].get<std::string>() + " ") {
           if (c == ' ') n += len > k, len = 0;
           else ++len;
         }
         return json(n);
       }},
      {"running_max", "xs", [](Rng&) { return int64_t(0); },
       [](int64_t) { return std::string("the list of running maxima of the list xs (element i is max(xs[:i+1]); [] for []"); },
       [](int64_t) { return std::string("def running_max(xs):\n    out = []\n    for x in xs:\n        out.append(x if not out else max(out[-1], x))\n    return out\n"); },
       [](Rng& r) { return json::array({int_list(r)}); },
       [](const json& a, int64_t) {
         json out = json::array();
         for (const auto& x : a[0]) out.push_back(out.empty() ? x.get<int64_t>() : std::max(out.back().get<int64_t>(), x.get<int64_t>()));
         return out;
       }},
      {"clamp_all", "xs", [](Rng& r) { return uniform(r, 5, 30); },
       [](int64_t k) { return "the list xs with every value below -" + std::to_string(k) + " replaced by -" + std::to_string(k) +
                              " and every value above " + std::to_string(k) + " replaced by " + std::to_string(k); },
       [](int64_t k) { const std::string K = std::to_string(k);
                       return "def clamp_all(xs):\n    return [min(max(x, -" + K + "), " + K + ") for x in xs]\n"; },
       [](Rng& r) { return json::array({int_list(r)}); },
       [](const json& a, int64_t k) {
         json out = json::array();
         for (const auto& x : a[0]) out.push_back(std::min(std::max(x.get<int64_t>(), -k), k));
         return out;
       }},
      {"rotate_left", "xs", [](Rng& r) { return uniform(r, 1, 5); },
       [](int64_t k) { return "the list xs rotated left by " + std::to_string(k) +
                              " positions (the first element moves to the end, " + std::to_string(k) + " times; [] for [])"; },
       [](int64_t k) { return "def rotate_left(xs):\n    if not xs:\n        return []\n    k = " + std::to_string(k) +
                              " % len(xs)\n    return xs[k:] + xs[:k]\n"; },
       [](Rng& r) { return json::array({int_list(r)}); },
       [](const json& a, int64_t k) {
         std::vector<int64_t> v = a[0].get<std::vector<int64_t>>();
         if (!v.empty()) std::rotate(v.begin(), v.begin() + static_cast<long>(k % static_cast<int64_t>(v.size())), v.end());
         return json(v);
       }},
      {"replace_vowels", "s", [](Rng& r) { return uniform(r, 0, 3); },
       [](int64_t k) { return std::string("the string s with every vowel (a, e, i, o, u) replaced by '") + "*#-+"[k] + "'"; },
       [](int64_t k) { return std::string("def replace_vowels(s):\n    return ''.join('") + "*#-+"[k] + "' if c in 'aeiou' else c for c in s)\n"; },
       word_string,
       [](const json& a, int64_t k) {
         std::string s = a[0].get<std::string>();
         for (char& c : s) if (std::string("aeiou").find(c) != std::string::npos) c = "*#-+"[k];
         return json(s);
       }},
  };
  return t;
}

constexpr int kHiddenCases = 8;

}  // namespace

Question python_question(Rng& rng) {
  const auto& all = templates();
  const Template& t = all[static_cast<size_t>(uniform(rng, 0, static_cast<int64_t>(all.size()) - 1))];
  const int64_t k = t.constant(rng);
  const std::string call_name = std::string(t.name);
  json example = t.input(rng);
  // Hidden cases with at least four different expected values, so that no
  // constant (return 0, return []) passes them.
  json cases = json::array(), expected = json::array();
  std::set<std::string> distinct;
  int repeats_left = kHiddenCases - 4;
  for (int tries = 0; static_cast<int>(cases.size()) < kHiddenCases && tries < 400; ++tries) {
    json args = t.input(rng);
    if (args == example) continue;  // the example shown is not a hidden case
    json result = t.solve(args, k);
    if (!distinct.insert(result.dump()).second && (tries < 300 && repeats_left-- <= 0)) continue;
    cases.push_back(args);
    expected.push_back(result);
  }
  std::string example_call = call_name + "(";
  for (size_t i = 0; i < example.size(); ++i) example_call += (i ? ", " : "") + example[i].dump();
  example_call += ")";
  Question q;
  q.variant = t.name;
  q.text = "Write a Python function `" + call_name + "(" + t.params + ")` that returns " + t.describe(k) +
           ".\nFor example, " + example_call + " returns " + t.solve(example, k).dump() +
           ".\nReply with the complete function in a ```python code block.";
  q.verifier = {{"type", "python"}, {"function", call_name}, {"cases", cases}, {"expected", expected},
                {"reference", t.reference(k)}};
  return q;
}

const char* python_harness_source() {
  return R"PY(import json, os, sys
# The result channel is a private copy of stdout; the solution's own output goes to /dev/null.
results = os.fdopen(os.dup(1), "w")
null = open(os.devnull, "w")
os.dup2(null.fileno(), 1)
sys.stdout = sys.__stdout__ = null
with open("cases.json") as f:
    request = json.load(f)
PLAIN = (int, float, str, bool, type(None))
def plain(v, depth=0):
    # only plain values count: no subclass with a forged __eq__ or __repr__
    if depth > 20:
        raise TypeError("result nested too deeply")
    if type(v) in PLAIN:
        return v
    if type(v) in (list, tuple):
        return [plain(x, depth + 1) for x in v]
    if type(v) is dict and all(type(k) is str for k in v):
        return {k: plain(x, depth + 1) for k, x in v.items()}
    raise TypeError("returned a value of type " + type(v).__name__)
def emit(record):
    results.write(json.dumps(record) + "\n")
    results.flush()
namespace = {"__name__": "solution"}
try:
    with open("solution.py") as f:
        source = f.read()
    exec(compile(source, "solution.py", "exec"), namespace)
    fn = namespace[request["function"]]
except BaseException as e:
    emit({"load_error": type(e).__name__ + ": " + str(e)[:300]})
    sys.exit(0)
for i, args in enumerate(request["cases"]):
    try:
        emit({"i": i, "result": plain(fn(*args))})
    except BaseException as e:
        emit({"i": i, "error": type(e).__name__ + ": " + str(e)[:300]})
        break  # the first failure decides; the rest would only cost time
)PY";
}

PythonCheck check_python_function(const json& spec, const std::string& code, const SandboxLimits& limits,
                                  const std::string& where) {
  if (!spec.contains("function") || !spec.at("function").is_string() || !spec.contains("cases") ||
      !spec.at("cases").is_array() || !spec.contains("expected") || !spec.at("expected").is_array() ||
      spec.at("cases").size() != spec.at("expected").size() || spec.at("cases").empty())
    fail(where, "python verifier needs \"function\", and \"cases\" and \"expected\" arrays of one equal, non-zero length");
  const json& cases = spec.at("cases");
  const json& expected = spec.at("expected");
  for (const auto& c : cases)
    if (!c.is_array()) fail(where, "each python case must be an array of arguments");
  PythonCheck check;
  check.cases = static_cast<int>(cases.size());
  const json request = {{"function", spec.at("function")}, {"cases", cases}};
  const SandboxResult run = run_python_sandboxed(
      {{"harness.py", python_harness_source()}, {"solution.py", code}, {"cases.json", request.dump()}}, "harness.py", limits);
  if (run.timed_out) return check.reason = "timed out after " + std::to_string(limits.wall_seconds) + " s", check;
  if (run.output_overflow) return check.reason = "output exceeded " + std::to_string(limits.max_output_bytes) + " bytes", check;
  // The channel must hold exactly one line per case, in order (or one load error).
  std::vector<json> lines;
  size_t begin = 0;
  while (begin < run.out.size()) {
    size_t nl = run.out.find('\n', begin);
    if (nl == std::string::npos) nl = run.out.size();
    try {
      lines.push_back(parse_json(std::string_view(run.out).substr(begin, nl - begin), "sandbox output"));
    } catch (const Error&) {
      return check.reason = "unexpected output from the sandbox", check;
    }
    begin = nl + 1;
  }
  if (lines.size() == 1 && lines[0].is_object() && lines[0].contains("load_error") && lines[0]["load_error"].is_string())
    return check.reason = "the code does not define " + spec.at("function").get<std::string>() + ": " +
                          lines[0]["load_error"].get<std::string>(), check;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (i >= lines.size()) {
      std::string tail = run.err.substr(run.err.size() > 300 ? run.err.size() - 300 : 0);
      check.reason = "stopped at hidden test " + std::to_string(i + 1) +
                     (run.signal ? " (signal " + std::to_string(run.signal) + ")" : "") +
                     (tail.empty() ? "" : ": " + tail);
      return check;
    }
    const json& line = lines[i];
    if (!line.is_object() || !line.contains("i") || line["i"] != json(i))
      return check.reason = "unexpected output from the sandbox", check;
    if (line.contains("error")) {
      check.reason = "hidden test " + std::to_string(i + 1) + " raised " + line["error"].dump();
      return check;
    }
    if (!line.contains("result") || line["result"] != expected[i]) {
      check.reason = "hidden test " + std::to_string(i + 1) + " returned a wrong value";
      return check;
    }
    ++check.cases_passed;
  }
  if (lines.size() != cases.size()) return check.reason = "unexpected output from the sandbox", check;
  check.passed = true;
  check.reason = "passed " + std::to_string(check.cases) + " hidden tests";
  return check;
}

}  // namespace prealign
