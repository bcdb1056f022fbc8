// Checkpoint directories: exact round trip, refusal of damaged ones, atomic publish.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "model/checkpoint.hpp"
#include "model/safetensors.hpp"
#include "test_util.hpp"

using namespace prealign;
using torch::Tensor;

namespace {

ModelConfig tiny_config() { return ModelConfig::parse("dim=32,layers=2,heads=4,kv_heads=2,hidden=48,ctx=32", 61); }

CheckpointContents contents_for(const LlamaModel& m) {
  CheckpointContents c;
  c.config = m->config();
  c.weights = m->hf_tensors();
  c.tokenizer_model = std::string("\x0a\x05piece\x00\xff", 9);  // arbitrary bytes, stored verbatim
  c.tagset = {{"tags", {{{"name", "<|good|>"}, {"kind", "marker"}}}}};
  c.policy = {{"name", "default"}};
  c.train_state = {{"step", 12}, {"tokens", 3072}};
  return c;
}

Tensor logits_of(LlamaModel m) {
  torch::NoGradGuard no_grad;
  return m->forward(torch::arange(20, torch::kLong).remainder(61).unsqueeze(0));
}

void expect_error_naming(const std::function<void()>& fn, const std::string& file) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one naming " << file;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Checkpoint, SaveLoadGivesIdenticalLogits) {
  std::string dir = prealign::testing::temp_dir() + "/ckpt";
  torch::manual_seed(1);
  LlamaModel m(tiny_config());
  auto c = contents_for(m);
  c.optimizer = {{"exp_avg.embed.weight", torch::randn({61, 32})}};
  c.extra = {{"value_head.weight", torch::randn({1, 32})}};
  save_checkpoint(dir, c);

  LoadedCheckpoint back = load_checkpoint(dir, torch::kCPU, /*load_optimizer=*/true);
  EXPECT_TRUE(torch::equal(logits_of(back.model), logits_of(m)));
  EXPECT_FALSE(back.model->is_training());
  EXPECT_EQ(back.config.to_hf_json(), m->config().to_hf_json());
  EXPECT_EQ(back.tagset, c.tagset);
  EXPECT_EQ(back.policy, c.policy);
  EXPECT_EQ(back.train_state, c.train_state);
  EXPECT_TRUE(torch::equal(back.optimizer.at("exp_avg.embed.weight"), c.optimizer[0].second));
  EXPECT_TRUE(torch::equal(back.extra.at("value_head.weight"), c.extra[0].second));
  EXPECT_EQ(read_file(dir + "/tokenizer.model"), c.tokenizer_model);
  // An HF-style config.json with our block.
  json config = read_json_file(dir + "/config.json");
  EXPECT_EQ(config["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(config["prealign"]["format_version"], 1);
  // Optimizer state only when asked for.
  EXPECT_TRUE(load_checkpoint(dir, torch::kCPU).optimizer.empty());
}

TEST(Checkpoint, RefusesMissingFiles) {
  std::string root = prealign::testing::temp_dir();
  LlamaModel m(tiny_config());
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.model", "tagset.json"}) {
    std::string dir = root + "/" + name;
    save_checkpoint(dir, contents_for(m));
    std::filesystem::remove(dir + "/" + name);
    expect_error_naming([&] { load_checkpoint(dir, torch::kCPU); }, dir + "/" + name);
  }
  expect_error_naming([&] { load_checkpoint(root + "/nothing-here", torch::kCPU); }, root + "/nothing-here");
}

TEST(Checkpoint, RefusesTruncatedOrCorruptedWeights) {
  std::string dir = prealign::testing::temp_dir() + "/ckpt";
  LlamaModel m(tiny_config());
  save_checkpoint(dir, contents_for(m));
  const std::string path = dir + "/model.safetensors";
  std::string bytes = read_file(path);
  std::filesystem::resize_file(path, bytes.size() / 2);
  expect_error_naming([&] { load_checkpoint(dir, torch::kCPU); }, path);
  bytes[bytes.size() - 5] ^= 1;
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  expect_error_naming([&] { load_checkpoint(dir, torch::kCPU); }, path);
}

TEST(Checkpoint, RefusesConfigWeightsMismatch) {
  std::string dir = prealign::testing::temp_dir() + "/ckpt";
  LlamaModel m(tiny_config());
  save_checkpoint(dir, contents_for(m));
  json config = read_json_file(dir + "/config.json");
  config["intermediate_size"] = 64;  // weights were saved with 48
  write_json_file(dir + "/config.json", config);
  expect_error_naming([&] { load_checkpoint(dir, torch::kCPU); }, dir + "/model.safetensors");

  config["intermediate_size"] = 48;
  config["num_hidden_layers"] = 1;  // an unexpected layer 1 in the weights
  write_json_file(dir + "/config.json", config);
  expect_error_naming([&] { load_checkpoint(dir, torch::kCPU); }, dir + "/model.safetensors");

  config["num_hidden_layers"] = "two";
  write_json_file(dir + "/config.json", config);
  expect_error_naming([&] { load_checkpoint(dir, torch::kCPU); }, dir + "/config.json");
}

// config.json is compared with the safetensors header before the model is
// built: sizes the tensors do not have are refused without allocating them
// (64 layers x 65,536 intermediate used to allocate 1.7 GB first).
TEST(Checkpoint, HugeConfigIsRefusedBeforeAnyAllocation) {
  const std::string dir = prealign::testing::temp_dir() + "/ckpt";
  LlamaModel m(tiny_config());
  save_checkpoint(dir, contents_for(m));
  const json good = read_json_file(dir + "/config.json");
  const std::vector<json> huge = {
      {{"num_hidden_layers", 64}, {"intermediate_size", 65536}},
      {{"vocab_size", 1 << 24}},
      {{"hidden_size", 4096}, {"num_attention_heads", 32}, {"num_key_value_heads", 32}}};
  for (const json& change : huge) {
    json config = good;
    config.update(change);
    write_json_file(dir + "/config.json", config);
    const uint64_t before = prealign::testing::reset_peak_rss();
    try {
      load_checkpoint(dir, torch::kCPU);
      ADD_FAILURE() << "loaded " << change.dump();
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(dir + "/model.safetensors"), std::string::npos) << what;
      EXPECT_NE(what.find(dir + "/config.json"), std::string::npos) << what;
    }
    EXPECT_LT(prealign::testing::peak_rss() - before, uint64_t(64) << 20) << change.dump();
  }
}

TEST(Checkpoint, NonIntegralSizesAreRefused) {
  const std::string dir = prealign::testing::temp_dir() + "/ckpt";
  LlamaModel m(tiny_config());
  save_checkpoint(dir, contents_for(m));
  json config = read_json_file(dir + "/config.json");
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "vocab_size"}) {
    json bad = config;
    bad[key] = bad[key].get<double>() + 0.5;  // 32.5 and the like, once silently truncated
    write_json_file(dir + "/config.json", bad);
    try {
      load_checkpoint(dir, torch::kCPU);
      ADD_FAILURE() << key << " = " << bad[key].dump() << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(dir + "/config.json"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
  config["hidden_size"] = 32.0;  // an integral float is a size
  write_json_file(dir + "/config.json", config);
  EXPECT_EQ(load_checkpoint(dir, torch::kCPU).config.dim, 32);
}

TEST(Checkpoint, FailedSaveLeavesThePreviousCheckpoint) {
  std::string root = prealign::testing::temp_dir();
  std::string dir = root + "/ckpt";
  torch::manual_seed(2);
  LlamaModel old_model(tiny_config());
  save_checkpoint(dir, contents_for(old_model));
  Tensor old_logits = logits_of(old_model);

  // A new save that fails midway: config.json and model.safetensors are already
  // written to staging when the optimizer state turns out unwritable.
  torch::manual_seed(3);
  LlamaModel new_model(tiny_config());
  auto bad = contents_for(new_model);
  bad.optimizer = {{"flags", torch::ones({3}, torch::kBool)}};
  EXPECT_THROW(save_checkpoint(dir, bad), Error);
  EXPECT_TRUE(torch::equal(logits_of(load_checkpoint(dir, torch::kCPU).model), old_logits));

  // Weights that do not fit the config are refused before anything is written.
  auto wrong = contents_for(new_model);
  wrong.weights.pop_back();
  expect_error_naming([&] { save_checkpoint(dir, wrong); }, dir + "/model.safetensors");
  EXPECT_TRUE(torch::equal(logits_of(load_checkpoint(dir, torch::kCPU).model), old_logits));

  // No staging directory left behind; a good save then replaces the old one.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(root), {}), 1);
  save_checkpoint(dir, contents_for(new_model));
  EXPECT_TRUE(torch::equal(logits_of(load_checkpoint(dir, torch::kCPU).model), logits_of(new_model)));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(root), {}), 1);
}

TEST(Checkpoint, LoadsOntoTheRequestedDevice) {
  std::string dir = prealign::testing::temp_dir() + "/ckpt";
  LlamaModel m(tiny_config());
  save_checkpoint(dir, contents_for(m));
  auto back = load_checkpoint(dir, torch::Device(torch::kCPU));
  for (const auto& p : back.model->parameters()) EXPECT_TRUE(p.device().is_cpu());
  for (const auto& b : back.model->buffers()) EXPECT_TRUE(b.device().is_cpu());
  if (!torch::cuda::is_available()) return;
  auto gpu = load_checkpoint(dir, torch::Device(torch::kCUDA, 0));
  torch::NoGradGuard no_grad;
  Tensor tokens = torch::arange(20, torch::kLong).remainder(61).unsqueeze(0);
  EXPECT_LT((gpu.model->forward(tokens).cpu() - logits_of(m)).abs().max().item<double>(), 1e-4);
}
