// The request fields added for OpenAI conformance and per-request control:
// logprobs and top_logprobs, stream_options, text-part contents, logit_bias,
// policy and temptation shapes, and the rule that no field is ignored.
#include <gtest/gtest.h>

#include "serve/openai_request.hpp"

namespace prealign {
namespace {

ServeLimits limits() {
  ServeLimits l;
  l.max_tokens = 256;
  l.max_choices = 8;
  l.max_prompt_bytes = 1000;
  l.vocab_size = 400;
  return l;
}

// The RequestError a body gets from the completion (or chat) parser.
RequestError refusal(const std::string& body, bool chat = false) {
  try {
    if (chat) {
      parse_chat_request(json::parse(body), limits());
    } else {
      parse_completion_request(json::parse(body), limits());
    }
  } catch (const RequestError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted " << body;
  return RequestError(0, "");
}

const char* const kUser = R"("messages": [{"role": "user", "content": "hi"}])";

TEST(OpenAiFields, LogprobsAndTopLogprobs) {
  CompletionRequest c = parse_completion_request(json::parse(R"({"prompt": "x", "logprobs": 3})"), limits());
  EXPECT_TRUE(c.sampling.logprobs);
  EXPECT_EQ(c.sampling.top_logprobs, 3);
  c = parse_completion_request(json::parse(R"({"prompt": "x", "logprobs": 0})"), limits());
  EXPECT_TRUE(c.sampling.logprobs);  // the chosen tokens' logprobs, no alternatives
  EXPECT_EQ(c.sampling.top_logprobs, 0);
  EXPECT_EQ(refusal(R"({"prompt": "x", "logprobs": 6})").param, "logprobs");  // OpenAI's limit is 5
  ChatRequest r = parse_chat_request(
      json::parse(std::string("{") + kUser + R"(, "logprobs": true, "top_logprobs": 20})"), limits());
  EXPECT_TRUE(r.sampling.logprobs);
  EXPECT_EQ(r.sampling.top_logprobs, 20);
  EXPECT_EQ(refusal(std::string("{") + kUser + R"(, "top_logprobs": 2})", true).param, "top_logprobs");
  EXPECT_EQ(refusal(std::string("{") + kUser + R"(, "logprobs": true, "top_logprobs": 21})", true).param,
            "top_logprobs");
}

TEST(OpenAiFields, StreamOptionsIncludeUsage) {
  CompletionRequest c = parse_completion_request(
      json::parse(R"({"prompt": "x", "stream": true, "stream_options": {"include_usage": true}})"), limits());
  EXPECT_TRUE(c.sampling.include_usage);
  EXPECT_EQ(refusal(R"({"prompt": "x", "stream_options": {"include_usage": true}})").param, "stream_options");
  EXPECT_EQ(refusal(R"({"prompt": "x", "stream": true, "stream_options": {"include_usage": 1}})").param,
            "stream_options.include_usage");
  EXPECT_EQ(refusal(R"({"prompt": "x", "stream": true, "stream_options": {"continuous": true}})").param,
            "stream_options.continuous");
}

TEST(OpenAiFields, ContentAsTextPartsIsJoined) {
  ChatRequest r = parse_chat_request(json::parse(R"({"messages": [
      {"role": "developer", "content": [{"type": "text", "text": "be brief"}, {"type": "text", "text": "please"}]},
      {"role": "user", "content": [{"type": "text", "text": "hi"}], "name": null}]})"), limits());
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");  // OpenAI's newer name for it
  EXPECT_EQ(r.messages[0].content, "be brief\nplease");
  EXPECT_EQ(r.messages[1].content, "hi");
  // The field named is the one that is wrong, down to the part.
  RequestError e = refusal(R"({"messages": [{"role": "user", "content": "a"},
      {"role": "user", "content": [{"type": "text", "text": "b"}, {"type": "image_url", "image_url": {"url": "u"}}]}]})",
                           true);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.param, "messages[1].content[1].type");
  EXPECT_NE(std::string(e.what()).find("only text parts"), std::string::npos) << e.what();
  EXPECT_EQ(refusal(R"({"messages": [{"role": "user", "content": 5}]})", true).param, "messages[0].content");
  EXPECT_EQ(refusal(R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})", true).param,
            "messages[0].content[0].text");
  EXPECT_EQ(refusal(R"({"messages": [{"role": "tool", "content": "x"}]})", true).param, "messages[0].role");
  EXPECT_EQ(refusal(R"({"messages": [{"role": "user", "content": "x", "name": "bob"}]})", true).param,
            "messages[0].name");
  const std::string big(600, 'a');
  EXPECT_EQ(refusal(R"({"messages": [{"role": "user", "content": [{"type": "text", "text": ")" + big +
                        R"("}, {"type": "text", "text": ")" + big + R"("}]}]})", true).status, 413);
}

TEST(OpenAiFields, NoFieldIsIgnored) {
  for (const char* field : {"tools", "response_format", "min_p", "repetition_penalty", "logprob"}) {
    const RequestError e = refusal(std::string(R"({"prompt": "x", ")") + field + R"(": 1})");
    EXPECT_EQ(e.param, field);
    EXPECT_NE(std::string(e.what()).find("not a field prealign implements"), std::string::npos) << e.what();
  }
  // OpenAI's fields that change nothing here, and defaults that change nothing.
  EXPECT_NO_THROW(parse_completion_request(json::parse(R"({"prompt": "x", "model": "m", "user": "u", "metadata": {},
      "presence_penalty": 0, "frequency_penalty": 0.0, "echo": false, "suffix": null, "best_of": 2, "n": 2})"), limits()));
  EXPECT_EQ(refusal(R"({"prompt": "x", "frequency_penalty": 0.5})").param, "frequency_penalty");
  EXPECT_EQ(refusal(R"({"prompt": "x", "echo": true})").param, "echo");
  EXPECT_EQ(refusal(R"({"prompt": "x", "suffix": "}"})").param, "suffix");
  EXPECT_EQ(refusal(R"({"prompt": "x", "best_of": 3})").param, "best_of");
  EXPECT_EQ(refusal(R"({"prompt": "x", "max_completion_tokens": 3})").param, "max_completion_tokens");
  EXPECT_EQ(refusal(std::string("{") + kUser + R"(, "max_tokens": 3, "max_completion_tokens": 4})", true).param,
            "max_completion_tokens");
  EXPECT_EQ(refusal(R"({"prompt": "x", "model": 3})").param, "model");
}

TEST(OpenAiFields, LogitBiasPolicyAndTemptationShapes) {
  CompletionRequest c = parse_completion_request(json::parse(R"({"prompt": "x", "logit_bias": {"7": -100, "42": 2.5},
      "policy": "good_only", "temptation": [{"tag": "total", "threshold": 0.5}]})"), limits());
  EXPECT_EQ(c.sampling.control.logit_bias, (std::map<int, float>{{7, -100.f}, {42, 2.5f}}));
  EXPECT_EQ(c.sampling.control.policy, "good_only");
  EXPECT_TRUE(c.sampling.control.temptation.is_array());
  for (const char* bad : {R"({"a": 1})", R"({"-1": 1})", R"({"1.5": 1})", R"({"400": 1})", R"({"1": 101})",
                          R"({"1": "x"})", R"([1])", R"({"99999999999": 1})"}) {
    const RequestError e = refusal(std::string(R"({"prompt": "x", "logit_bias": )") + bad + "}");
    EXPECT_EQ(e.param, "logit_bias") << bad;
  }
  EXPECT_EQ(refusal(R"({"prompt": "x", "policy": 3})").param, "policy");
  EXPECT_EQ(refusal(R"({"prompt": "x", "policy": ""})").param, "policy");
  EXPECT_EQ(refusal(R"({"prompt": "x", "temptation": {"tag": "total"}})").param, "temptation");
}

}  // namespace
}  // namespace prealign
