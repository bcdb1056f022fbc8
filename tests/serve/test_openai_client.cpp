// The official `openai` npm client against `prealign serve` (a real process,
// its key from PREALIGN_API_KEY, its policy locked): completions and chat,
// streamed and not, with n, stop, logprobs, seed, stream_options.include_usage
// and chat.completions.stream(...).finalChatCompletion(); streamed text equal
// to non-streamed text for the same seed; per-request logit_bias, temptation
// and policy through the client's extra body (tests/serve/openai_client.cjs).
// The package is installed by this test on first use into a cache folder;
// without node, npm or the registry the test is skipped, saying why.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json_io.hpp"
#include "npm_package.hpp"
#include "serve_fixture.hpp"
#include "serve_process.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;
namespace fs = std::filesystem;

// 6.x runs on Debian's Node 20 (7.x asks for Node 22).
constexpr const char* kOpenAiVersion = "6.49.0";


TEST(OpenAiClient, TheOfficialNodeClientWorks) {
  const std::string& ckpt = shared_serve_checkpoint();
  const std::string scratch = fs::path(ckpt).parent_path().string();  // the test's own folder
  std::string why;
  const std::string package = npm_package("openai", kOpenAiVersion, scratch, &why);
  if (package.empty()) GTEST_SKIP() << why;
  const Tokenizer tok = Tokenizer::load_dir(ckpt);
  const std::string key = "sk-prealign-test-3f9c2a";
  const std::string log = scratch + "/serve.stderr";
  ServeProcess server({"serve", "--model", ckpt, "--port", "0", "--max-tokens", "64", "--lock-policy"},
                     {{{"PREALIGN_API_KEY", key}}, log});
  ASSERT_GT(server.port(), 0) << "prealign serve did not start; its stderr is in " << log;
  int status = 0;
  const std::string command = "OPENAI_PACKAGE='" + package + "' BASE_URL='http://127.0.0.1:" +
                              std::to_string(server.port()) + "/v1' API_KEY='" + key +
                              "' BIAS_TOKEN=" + std::to_string(tok.encode("user").front()) +
                              " AI_TAG=" + std::to_string(tok.tag_id("<AI>")) + " timeout 120 node '" +
                              source_path("tests/serve/openai_client.cjs") + "' 2>&1";
  const std::string out = run_capture(command, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
  size_t passed = 0;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) passed += line.rfind("ok ", 0) == 0;
  EXPECT_EQ(passed, 22u) << out;  // every check of the script ran
  // The key was given, and nothing the server wrote to its log contains it.
  std::ifstream in(log);
  const std::string logged((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(logged.find("serve: options"), std::string::npos) << logged;
  EXPECT_EQ(logged.find(key), std::string::npos) << logged;
}

}  // namespace
}  // namespace prealign
