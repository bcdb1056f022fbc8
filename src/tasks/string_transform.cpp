// The string family: reverse a string, sort words, count a letter. Inputs are
// lowercase ASCII words, so the answers are unambiguous byte strings.
#include <algorithm>

#include "tasks/generators.hpp"

namespace prealign {

const std::vector<std::string>& task_words() {
  static const std::vector<std::string> words = {
      "apple", "banana", "cherry", "delta", "ember", "forest", "garden", "harbor", "island", "jungle",
      "kettle", "lemon", "marble", "needle", "orange", "pepper", "quartz", "river", "salmon", "tiger",
      "umbrella", "violin", "walnut", "yellow", "zebra", "anchor", "basket", "candle", "dragon", "engine",
      "falcon", "guitar", "hammer", "igloo", "jacket", "kitten", "ladder", "mirror", "nectar", "otter",
      "parrot", "rabbit", "saddle", "tunnel", "velvet", "window", "barrel", "cactus", "donkey", "pillow",
      "meadow", "copper", "silver", "planet", "rocket", "summer", "winter", "canyon", "bridge", "castle"};
  return words;
}

static std::string pick_word(Rng& rng) {
  const auto& w = task_words();
  return w[static_cast<size_t>(uniform(rng, 0, static_cast<int64_t>(w.size()) - 1))];
}

Question string_question(Rng& rng) {
  Question q;
  const int kind = static_cast<int>(uniform(rng, 0, 2));
  if (kind == 0) {
    std::string s = pick_word(rng);
    if (uniform(rng, 0, 1)) s += pick_word(rng);
    q.variant = "reverse";
    q.text = "Reverse the characters of the string \"" + s + "\".";
    q.verifier = {{"type", "exact"}, {"answer", std::string(s.rbegin(), s.rend())}};
  } else if (kind == 1) {
    std::vector<std::string> words;
    const int n = static_cast<int>(uniform(rng, 3, 7));
    while (static_cast<int>(words.size()) < n) {
      std::string w = pick_word(rng);
      if (std::find(words.begin(), words.end(), w) == words.end()) words.push_back(w);
    }
    std::string shown, sorted_text;
    for (const auto& w : words) shown += (shown.empty() ? "" : " ") + w;
    std::sort(words.begin(), words.end());
    for (const auto& w : words) sorted_text += (sorted_text.empty() ? "" : " ") + w;
    q.variant = "sort";
    q.text = "Sort these words alphabetically and give them separated by single spaces: " + shown;
    q.verifier = {{"type", "exact"}, {"answer", sorted_text}};
  } else {
    std::string s = pick_word(rng);
    if (uniform(rng, 0, 1)) s += " " + pick_word(rng);
    // a letter of the text (mostly) or one that may be absent
    const char letter = uniform(rng, 0, 3) ? s[static_cast<size_t>(uniform(rng, 0, static_cast<int64_t>(s.size()) - 1))]
                                           : static_cast<char>('a' + uniform(rng, 0, 25));
    const char use = letter == ' ' ? 'e' : letter;
    q.variant = "count";
    q.text = std::string("How many times does the letter '") + use + "' occur in \"" + s + "\"?";
    q.verifier = {{"type", "number"}, {"answer", static_cast<int64_t>(std::count(s.begin(), s.end(), use))}};
  }
  return q;
}

}  // namespace prealign
