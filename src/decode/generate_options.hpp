// What a generation may be asked for: length, sampling settings, seed. Apart
// from the generator so that request parsers (serve/openai_request.hpp) and
// their fuzz targets need no libtorch.
#pragma once
#include <cstdint>

namespace prealign {

struct GenerateOptions {
  int max_new_tokens = 128;
  double temperature = 1.0;
  int top_k = 0;        // 0 = off
  double top_p = 1.0;   // 1 = off
  bool greedy = false;
  uint64_t seed = 0;
  // Alternatives recorded per token: the most likely tokens of the raw
  // distribution (TokenRecord::top_raw). Not a flag of `generate`: the
  // server's logprobs ask for it.
  int top_raw = 0;
  // Lengths that count the whole sequence, context (BOS, tags, prompt) included,
  // as Hugging Face's generate counts them (PHF's scenarios are given this way);
  // 0 = off. EOS cannot be chosen before min_length; max_length ends the
  // sequence like max_new_tokens, whichever comes first.
  int min_length = 0;
  int max_length = 0;

  template <class V>
  void visit(V& v) {
    v("max_new_tokens", max_new_tokens, "tokens to generate at most");
    v("temperature", temperature, "softmax temperature");
    v("top_k", top_k, "keep the k most likely tokens (0 = off)");
    v("top_p", top_p, "keep the smallest set with this much probability (1 = off)");
    v("greedy", greedy, "always take the most likely token");
    v("seed", seed, "sampling seed");
    v("min_length", min_length, "no EOS before the sequence, context included, is this long (0 = off)");
    v("max_length", max_length, "end when the sequence, context included, is this long (0 = off)");
  }
};

}  // namespace prealign
