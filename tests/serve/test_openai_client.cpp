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
#include "tokenizer/tokenizer.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;
namespace fs = std::filesystem;

// 6.x runs on Debian's Node 20 (7.x asks for Node 22).
constexpr const char* kOpenAiVersion = "6.49.0";

// `prealign serve` as a child process on a free port, stopped with SIGTERM.
class ServeProcess {
 public:
  ServeProcess(const std::vector<std::string>& args, const std::string& api_key, const std::string& stderr_file) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      const int err = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(err, 2);
      ::setenv("PREALIGN_API_KEY", api_key.c_str(), 1);
      std::vector<char*> argv{const_cast<char*>(PREALIGN_BINARY)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(PREALIGN_BINARY, argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string banner;
    char c;
    while (banner.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1) banner += c;
    ::close(out[0]);
    const size_t colon = banner.rfind(':');
    if (banner.find("listening") != std::string::npos && colon != std::string::npos)
      port_ = std::atoi(banner.c_str() + colon + 1);
  }
  ~ServeProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST(OpenAiClient, TheOfficialNodeClientWorks) {
  const std::string& ckpt = shared_serve_checkpoint();
  const std::string scratch = fs::path(ckpt).parent_path().string();  // the test's own folder
  std::string why;
  const std::string package = npm_package("openai", kOpenAiVersion, scratch, &why);
  if (package.empty()) GTEST_SKIP() << why;
  const Tokenizer tok = Tokenizer::load_dir(ckpt);
  const std::string key = "sk-prealign-test-3f9c2a";
  const std::string log = scratch + "/serve.stderr";
  ServeProcess server({"serve", "--model", ckpt, "--port", "0", "--max-tokens", "64", "--lock-policy"}, key, log);
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
