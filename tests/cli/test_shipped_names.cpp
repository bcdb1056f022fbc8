// Shipped configs by name through the binary, run from a directory that is not
// the source tree: `--tagset good_bad` works wherever `--tagset
// configs/tagsets/good_bad.json` does, and a wrong name fails before any work,
// naming the flag and the names that exist.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_run.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

// A small corpus Debian ships: the json package of the standard library.
const char* const kCorpus = "/usr/lib/python3.11/json --glob '*.py'";

bool have_inputs() { return fs::exists(PREALIGN_BINARY) && fs::is_directory("/usr/lib/python3.11/json"); }

json json_file(const std::string& path) { return json::parse(read_file(path)); }

}  // namespace

TEST(ShippedNames, TokenizerTrainTakesATagsetByNameOrByItsPathFromElsewhere) {
  if (!have_inputs()) GTEST_SKIP() << "needs the built binary and /usr/lib/python3.11";
  const std::string dir = temp_dir();
  const std::string train = std::string("tokenizer train ") + kCorpus + " --vocab-size 512 ";
  const CliResult by_name = run_prealign(train + "--tagset good_bad -o by-name/", dir);
  ASSERT_EQ(by_name.status, 0) << by_name.output;
  const CliResult by_path = run_prealign(train + "--tagset configs/tagsets/good_bad.json -o by-path/", dir);
  ASSERT_EQ(by_path.status, 0) << by_path.output;
  const json tags = json_file(dir + "/by-name/tagset.json");
  EXPECT_EQ(tags, json_file(dir + "/by-path/tagset.json"));
  ASSERT_EQ(tags["tags"].size(), 2u);
  EXPECT_EQ(tags["tags"][0]["name"], "<|good|>");
  EXPECT_EQ(tags["tags"][1]["name"], "<|bad|>");

  // encode takes a name too
  const CliResult enc = run_prealign("tokenizer encode --tokenizer by-name --tagset good_bad --json 'x = 1'", dir);
  EXPECT_EQ(enc.status, 0) << enc.output;
}

TEST(ShippedNames, AWrongNameFailsBeforeAnyWorkAndListsTheNames) {
  if (!have_inputs()) GTEST_SKIP() << "needs the built binary and /usr/lib/python3.11";
  const std::string dir = temp_dir();
  const CliResult r = run_prealign(std::string("tokenizer train ") + kCorpus + " --tagset good_bda -o out/", dir);
  EXPECT_NE(r.status, 0);
  for (const char* part : {"--tagset", "good_bda", "good_bad", "ai_modes"})
    EXPECT_NE(r.output.find(part), std::string::npos) << part << " missing from: " << r.output;
  EXPECT_FALSE(fs::exists(dir + "/out")) << "the output directory was made before the check";

  // train checks --policy and --model before it opens the (missing) dataset
  const CliResult p = run_prealign("train --data no-such-data --policy good_onyl", dir);
  EXPECT_NE(p.status, 0);
  EXPECT_NE(p.output.find("--policy"), std::string::npos) << p.output;
  EXPECT_NE(p.output.find("good_only"), std::string::npos) << p.output;
  EXPECT_EQ(p.output.find("no-such-data"), std::string::npos) << p.output;
  const CliResult m = run_prealign("train --data no-such-data --model huge", dir);
  EXPECT_NE(m.status, 0);
  EXPECT_NE(m.output.find("tiny"), std::string::npos) << m.output;
}

// The trainer stores the named policy in the checkpoint (it used to read
// --policy as a path only); an mle run would otherwise store an unrestricted one.
TEST(ShippedNames, TrainStoresAPolicyGivenByName) {
  if (!have_inputs()) GTEST_SKIP() << "needs the built binary and /usr/lib/python3.11";
  const std::string dir = temp_dir();
  ASSERT_EQ(run_prealign(std::string("tokenizer train ") + kCorpus + " --vocab-size 512 --tagset good_bad -o tok/", dir)
                .status,
            0);
  const CliResult t =
      run_prealign(std::string("tokenize ") + kCorpus + " --tokenizer tok --out data --val-fraction 0.5 --seed 3", dir);
  ASSERT_EQ(t.status, 0) << t.output;
  ASSERT_NE(t.output.find("val 2 docs"), std::string::npos) << "train needs a validation split: " << t.output;
  const CliResult r = run_prealign(
      "train --data data --out run --model tiny --steps 2 --batch-size 2 --seq-len 32 --eval-batches 1 "
      "--policy good_only",
      dir);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(json_file(dir + "/run/checkpoint/policy.json"), json_file(source_path("configs/policies/good_only.json")));
}
