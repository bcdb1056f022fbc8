// Task files and their verifiers (tasks/task.hpp, tasks/verifier.hpp): the
// input is a whole tasks JSONL file, read as `tasks verify` reads it; every
// record read is verified against completions taken from the input itself.
// Checks: bad input ends only in prealign::Error; a verdict's reward is 1
// exactly when it is correct (format weight 0); a number or exact answer
// written as "Answer: <stored answer>" verifies as correct.
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "tasks/answer.hpp"
#include "tasks/task.hpp"
#include "tasks/verifier.hpp"

using namespace prealign;

namespace {

// The stored answer in the form the prompts ask for, when the extraction rules
// can read it back unchanged (answer.hpp); empty otherwise.
std::string answer_line(const json& spec) {
  const json& a = spec.contains("answer") ? spec.at("answer") : json();
  if (spec.at("type") == "number" && a.is_number_integer() && !a.is_number_unsigned()) {
    const int64_t v = a.get<int64_t>();
    if (v > -1000000000000000000LL && v < 1000000000000000000LL) return "Answer: " + std::to_string(v);
  }
  if (spec.at("type") == "exact" && a.is_string()) {
    const std::string s = a.get<std::string>();
    if (!s.empty() && exact_answer(s) == s && s.find('\n') == std::string::npos &&
        to_lower_ascii(s).find("answer:") == std::string::npos)
      return "Answer: " + s;
  }
  return "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::MemFile file(data, size);
  const std::string raw(reinterpret_cast<const char*>(data), size);
  fuzz::refusing_is_fine([&] {
    const std::vector<TaskRecord> tasks = read_tasks(file.path());
    const Verifier verifier;
    for (const TaskRecord& t : tasks) {
      if (t.verifier.at("type") == "python") continue;  // a sandboxed python3 per input: tests/tasks covers it
      for (const std::string* completion : {&t.prompt, &t.system, &raw})
        fuzz::refusing_is_fine([&] {
          const Verdict v = verifier.verify(t, *completion);
          fuzz::check((v.reward == 1.0) == v.correct && (v.reward == 0.0) == !v.correct);
        });
      const std::string line = answer_line(t.verifier);
      if (!line.empty()) fuzz::check(verifier.verify(t, line).correct);
    }
  });
  return 0;
}
