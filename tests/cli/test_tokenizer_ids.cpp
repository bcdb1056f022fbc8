// `tokenizer decode` reads ids a user typed or piped: an id beyond int's range
// must be refused, not wrapped into a valid-looking id (4294967297 -> 1).
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_run.hpp"
#include "core/files.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

TEST(TokenizerIds, AnIdBeyondIntIsRefusedNotWrapped) {
  if (!fs::exists(PREALIGN_BINARY) || !fs::is_directory("/usr/lib/python3.11/json"))
    GTEST_SKIP() << "needs the built binary and /usr/lib/python3.11";
  const std::string dir = temp_dir();
  ASSERT_EQ(run_prealign("tokenizer train /usr/lib/python3.11/json --glob '*.py' --vocab-size 512 --tagset good_bad -o tok/", dir).status, 0);
  // JSON on stdin, as `tokenizer encode --json` prints it.
  auto decode = [&](const std::string& ids_json) {
    write_file_atomic(dir + "/ids.json", ids_json);
    return run_prealign("tokenizer decode --tokenizer tok < ids.json", dir);
  };
  const CliResult ok = decode("{\"ids\": [40, 41, 42]}");
  EXPECT_EQ(ok.status, 0) << ok.output;
  for (const char* bad : {"[4294967297]", "[-4294967295]", "{\"ids\": [18446744073709551615]}", "[2.5]"}) {
    const CliResult r = decode(bad);
    EXPECT_NE(r.status, 0) << bad << " was accepted: " << r.output;
    EXPECT_NE(r.output.find("is not a token id"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("ids[0]"), std::string::npos) << r.output;
  }
}
