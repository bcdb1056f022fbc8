#include "tasks/system_rules.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "tasks/answer.hpp"

namespace prealign {
namespace {

template <class T>
const T& pick(Rng& rng, const std::vector<T>& items) {
  return items[static_cast<size_t>(uniform(rng, 0, static_cast<int64_t>(items.size()) - 1))];
}

// A question whose answer fits the rule: no sorted word lists where few words are allowed.
Question short_question(Rng& rng, int max_digits) {
  if (uniform(rng, 0, 1)) return arithmetic_question(rng, max_digits);
  for (;;) {
    Question q = string_question(rng);
    if (q.variant != "sort") return q;
  }
}

struct Topic {
  const char* name;
  const char* question;  // {a} and {b}: a multiplication word problem about the topic
};
const std::vector<Topic>& topics() {
  static const std::vector<Topic> t = {
      {"cooking", "A recipe needs {a} grams of flour for one cake. How many grams of flour are needed for {b} cakes?"},
      {"football", "A football club sells {a} tickets for each of its {b} home matches. How many tickets does it sell?"},
      {"gardening", "A gardener plants {a} tulip bulbs in each of {b} flower beds. How many bulbs are planted?"},
      {"cars", "A car factory builds {a} cars every day for {b} days. How many cars does it build?"},
      {"astronomy", "An observatory photographs {a} stars every night for {b} nights. How many photographs is that?"},
      {"music", "A band plays {a} songs at each of {b} concerts. How many songs do they play in total?"},
  };
  return t;
}

std::string fill(std::string text, int64_t a, int64_t b) {
  text.replace(text.find("{a}"), 3, std::to_string(a));
  text.replace(text.find("{b}"), 3, std::to_string(b));
  return text;
}

const char* const kRefusal = "I can't help with that.";

}  // namespace

const std::vector<std::string>& system_rule_families() {
  static const std::vector<std::string> f = {"system-lowercase", "system-forbidden-word", "system-max-words",
                                             "system-refuse-topic", "system-json", "system-prefix"};
  return f;
}

RuleTask system_rule_task(const std::string& family, Rng& rng, int max_digits) {
  RuleTask t;
  json rule;
  Question q;
  bool answer_line = true;
  if (family == "system-lowercase") {
    q = short_question(rng, max_digits);
    rule = {{"kind", "lowercase"}};
    t.system = "Write your whole reply in lower case: never use a capital letter.";
  } else if (family == "system-forbidden-word") {
    std::string word;
    if (uniform(rng, 0, 1)) {
      q = arithmetic_question(rng, max_digits);
      word = pick(rng, std::vector<std::string>{"equals", "sum", "result", "total", "calculate", "is"});
    } else {
      do q = string_question(rng);
      while (q.variant != "count");
      // the first word of the quoted text: the reply never needs it, but it is tempting
      const size_t open = q.text.find('"') + 1;
      word = q.text.substr(open, q.text.find_first_of(" \"", open) - open);
    }
    rule = {{"kind", "forbidden_word"}, {"word", word}};
    t.system = "Never use the word \"" + word + "\" in your reply, in any capitalisation.";
  } else if (family == "system-max-words") {
    q = short_question(rng, max_digits);
    const int64_t n = uniform(rng, 3, 8);
    rule = {{"kind", "max_words"}, {"n", n}};
    t.system = "Reply in at most " + std::to_string(n) + " words.";
  } else if (family == "system-refuse-topic") {
    const auto& all = topics();
    const size_t topic = static_cast<size_t>(uniform(rng, 0, static_cast<int64_t>(all.size()) - 1));
    const bool on_topic = uniform(rng, 0, 1) == 1;
    size_t asked = topic;
    if (!on_topic) asked = (topic + static_cast<size_t>(uniform(rng, 1, static_cast<int64_t>(all.size()) - 1))) % all.size();
    const int64_t a = with_digits(rng, static_cast<int>(uniform(rng, 2, 3))), b = uniform(rng, 2, 40);
    q.variant = on_topic ? "on-topic" : "off-topic";
    q.text = fill(all[asked].question, a, b);
    q.verifier = {{"type", "number"}, {"answer", a * b}};
    rule = {{"kind", "refuse_topic"}, {"topic", all[topic].name}, {"refusal", kRefusal}, {"on_topic", on_topic}};
    t.system = std::string("Do not help with anything about ") + all[topic].name +
               ". If a question is about " + all[topic].name + ", reply exactly \"" + kRefusal +
               "\" and nothing else. Answer all other questions normally.";
  } else if (family == "system-json") {
    q = short_question(rng, max_digits);
    answer_line = false;
    rule = {{"kind", "json_answer"}};
    t.system = std::string("Reply with a JSON object of the form {\"answer\": ...} and nothing else: ") +
               (q.verifier.at("type") == "number" ? "the answer a JSON number." : "the answer a JSON string.");
  } else if (family == "system-prefix") {
    q = short_question(rng, max_digits);
    const std::string word = pick(rng, std::vector<std::string>{"Certainly", "Understood", "Acknowledged", "Indeed"});
    rule = {{"kind", "prefix"}, {"word", word}};
    t.system = "Begin every reply with the word \"" + word + "\".";
  } else {
    fail("--kind", "unknown system-rule family \"" + family + "\"");
  }
  t.variant = q.variant;
  t.prompt = answer_line ? q.text + "\n" + kAnswerLineInstruction : q.text;
  t.verifier = {{"type", "system_rule"}, {"rule", rule}, {"task", q.verifier}};
  return t;
}

namespace {

std::string rule_field(const json& rule, const char* key, const std::string& where) {
  return json_required<std::string>(rule, key, where);
}

// The reply as a JSON object with exactly one key "answer" (no fences, nothing around it).
bool json_reply(std::string_view completion, json& value) {
  try {
    const json j = parse_json(trim(completion), "reply");
    if (!j.is_object() || j.size() != 1 || !j.contains("answer")) return false;
    value = j.at("answer");
    return true;
  } catch (const Error&) {
    return false;
  }
}

bool starts_with_word(std::string_view completion, const std::string& word) {
  const std::string s = trim(completion);
  if (s.compare(0, word.size(), word) != 0) return false;
  return s.size() == word.size() || !std::isalnum(static_cast<unsigned char>(s[word.size()]));
}

// The refusal phrase, compared without case, surrounding space or a final period.
std::string normalise_phrase(std::string_view s) {
  std::string t = to_lower_ascii(trim(s));
  while (!t.empty() && (t.back() == '.' || t.back() == '!')) t.pop_back();
  return t;
}

}  // namespace

RuleCheck check_system_rule(const json& spec, std::string_view completion, const std::string& where) {
  if (!spec.contains("rule") || !spec.at("rule").is_object() || !spec.contains("task") || !spec.at("task").is_object())
    fail(where, "a \"system_rule\" verifier needs objects \"rule\" and \"task\"");
  const json& rule = spec.at("rule");
  const json& task = spec.at("task");
  const std::string kind = rule_field(rule, "kind", where);
  RuleCheck c;
  AnswerCheck answer;
  if (kind == "json_answer") {
    json value;
    c.rule_ok = c.format_ok = json_reply(completion, value);
    answer = c.rule_ok ? check_answer_value(task, value, where) : check_plain_answer(task, completion, where);
    c.task_ok = answer.correct;
    c.reason = std::string(c.rule_ok ? "rule kept" : "rule broken: the reply is not exactly {\"answer\": ...}") +
               "; task: " + answer.reason;
    return c;
  }
  answer = check_plain_answer(task, completion, where);
  c.task_ok = answer.correct;
  c.format_ok = answer.has_answer_line;
  std::string broken;
  if (kind == "lowercase") {
    c.rule_ok = std::none_of(completion.begin(), completion.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
    broken = "a capital letter";
  } else if (kind == "forbidden_word") {
    const std::string word = rule_field(rule, "word", where);
    c.rule_ok = !contains_word(completion, word);
    broken = "the word \"" + word + "\" is used";
  } else if (kind == "max_words") {
    const int64_t n = json_required<int64_t>(rule, "n", where);
    const size_t words = count_words(completion);
    c.rule_ok = static_cast<int64_t>(words) <= n;
    broken = std::to_string(words) + " words";
  } else if (kind == "prefix") {
    const std::string word = rule_field(rule, "word", where);
    c.rule_ok = starts_with_word(completion, word);
    broken = "does not begin with \"" + word + "\"";
  } else if (kind == "refuse_topic") {
    const std::string refusal = normalise_phrase(rule_field(rule, "refusal", where));
    const bool on_topic = json_required<bool>(rule, "on_topic", where);
    const bool refused = normalise_phrase(completion).find(refusal) != std::string::npos;
    if (on_topic) {
      // a refusal that still gives the answer is no refusal; the task is then "done" by refusing
      const bool leaked = task.at("type") == "number" &&
                          contains_word(completion, std::to_string(task.at("answer").get<int64_t>()));
      c.rule_ok = refused && !leaked;
      c.task_ok = c.rule_ok;
      c.format_ok = true;
      c.reason = c.rule_ok ? "refused as the rule asks" : refused ? "refused but gave the answer" : "did not refuse";
      return c;
    }
    c.rule_ok = !refused;
    broken = "refused an off-topic question";
  } else {
    fail(where, "unknown rule kind \"" + kind + "\"",
         "one of: lowercase, forbidden_word, max_words, refuse_topic, json_answer, prefix");
  }
  c.reason = std::string(c.rule_ok ? "rule kept" : "rule broken: " + broken) + "; task: " + answer.reason;
  return c;
}

}  // namespace prealign
