// Reference replies (the responses of `tasks pairs`): every one built for a
// generated task passes that task's verifier, for every family that has an
// answer in its spec; python tasks get none.
#include <gtest/gtest.h>

#include <map>

#include "tasks/reference_reply.hpp"
#include "tasks/system_rules.hpp"
#include "tasks_helpers.hpp"

using namespace prealign;
using namespace prealign::testing;

TEST(ReferenceReply, EveryReplyBuiltPassesItsVerifier) {
  std::map<std::string, int> built, passed;
  for (const char* kind : {"arithmetic", "strings", "system-rules"})
    for (const TaskRecord& t : make_family(kind, 60, 21)) {
      const auto reply = reference_reply(t);
      ASSERT_TRUE(reply.has_value()) << t.id;
      built[t.family]++;
      const Verdict v = verify(t, *reply);
      passed[t.family] += v.correct;
      EXPECT_TRUE(v.correct) << t.id << ": " << v.reason << "\nreply: " << *reply;
      EXPECT_TRUE(v.format_ok) << t.id;  // the format the verifier asks for, not just the answer
    }
  EXPECT_EQ(built.size(), 2 + system_rule_families().size());
  for (const auto& [family, n] : built) EXPECT_EQ(passed[family], n) << family;
}

TEST(ReferenceReply, PythonTasksHaveNone) {
  for (const TaskRecord& t : make_family("python", 6)) EXPECT_FALSE(reference_reply(t).has_value()) << t.id;
}

TEST(ReferenceReply, IsNotBuiltFromAnythingButTheSpec) {
  TaskRecord t = make_family("arithmetic", 1).front();
  const auto right = reference_reply(t);
  t.verifier["answer"] = t.verifier["answer"].get<int64_t>() + 1;
  const auto changed = reference_reply(t);
  ASSERT_TRUE(right && changed);
  EXPECT_NE(*right, *changed);
  EXPECT_TRUE(verify(t, *changed).correct);
  EXPECT_FALSE(verify(t, *right).correct);
}
