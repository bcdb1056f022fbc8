// safetensors: round trips, the byte layout computed independently here, and
// every kind of damage refused with an Error naming the file.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "model/safetensors.hpp"
#include "model/safetensors_header.hpp"
#include "test_util.hpp"

using namespace prealign;
using torch::Tensor;

namespace {

// Bitwise CRC-32 (IEEE, reflected, as zlib's crc32), written independently of zlib.
uint32_t reference_crc32(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

std::string le_bytes(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(char((v >> (8 * i)) & 0xFF));
  return s;
}

std::string float_bytes(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return le_bytes(u, 4);
}

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// A safetensors file assembled by hand from a header JSON text and a data section.
std::string assemble(const std::string& header, const std::string& data) {
  return le_bytes(header.size(), 8) + header + data;
}

void expect_load_error(const std::string& path, const std::string& needle) {
  try {
    load_safetensors(path);
    ADD_FAILURE() << "loaded a damaged file (" << needle << ")";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "wanted \"" << needle << "\" in: " << msg;
  }
}

std::vector<std::pair<std::string, Tensor>> sample_tensors() {
  torch::manual_seed(4);
  return {
      {"f32", torch::randn({3, 5})},
      {"f16", torch::randn({7}).to(torch::kFloat16)},
      {"bf16", torch::randn({2, 2, 3}).to(torch::kBFloat16)},
      {"f64", torch::randn({4}, torch::kFloat64)},
      {"i64", torch::tensor({int64_t(-1), int64_t(1) << 40, int64_t(7)})},
      {"i32", torch::tensor({-5, 0, 2147483647}, torch::kInt32)},
      {"u8", torch::tensor({0, 255, 17}, torch::kUInt8)},
      {"scalar", torch::tensor(3.5f)},
      {"empty", torch::zeros({0, 4})},
      {"strided", torch::arange(12, torch::kFloat32).view({3, 4}).t()},  // non-contiguous input
  };
}

}  // namespace

TEST(Safetensors, RoundTripsEveryDtype) {
  std::string path = prealign::testing::temp_dir() + "/t.safetensors";
  auto tensors = sample_tensors();
  save_safetensors(path, tensors, {{"note", "hello"}});
  SafetensorsFile f = load_safetensors(path);
  ASSERT_EQ(f.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const Tensor& got = f.tensors.at(name);
    EXPECT_EQ(got.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), t.sizes()) << name;
    EXPECT_TRUE(torch::equal(got, t)) << name;
  }
  EXPECT_EQ(f.metadata.at("note"), "hello");
  EXPECT_TRUE(f.metadata.count("prealign.crc32"));
}

TEST(Safetensors, ByteLayoutMatchesTheSpecification) {
  std::string path = prealign::testing::temp_dir() + "/layout.safetensors";
  Tensor a = torch::tensor({1.0f, -2.0f, 0.5f});                     // 12 bytes
  Tensor b = torch::tensor({int64_t(258)}).view({1, 1});             // 8 bytes
  Tensor c = torch::tensor({7, 9}, torch::kUInt8);                   // 2 bytes
  save_safetensors(path, {{"a", a}, {"b", b}, {"c", c}});
  std::string bytes = read_file(path);

  // The expected data section, byte by byte, in the order given.
  std::string data = float_bytes(1.0f) + float_bytes(-2.0f) + float_bytes(0.5f) + le_bytes(258, 8) +
                     std::string("\x07\x09", 2);
  ASSERT_EQ(std::string(float_bytes(1.0f)), std::string("\x00\x00\x80\x3f", 4));  // IEEE-754 LE sanity

  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(bytes[i])) << (8 * i);
  EXPECT_EQ(n % 8, 0u) << "header padded to a multiple of 8";
  ASSERT_EQ(bytes.size(), 8 + n + data.size());
  std::string header_text = bytes.substr(8, n);
  EXPECT_EQ(header_text[0], '{');
  size_t last = header_text.find_last_not_of(' ');
  EXPECT_EQ(header_text[last], '}');
  EXPECT_LT(header_text.size() - last - 1, 8u) << "only the padding follows the JSON";
  EXPECT_EQ(bytes.substr(8 + n), data);

  json h = json::parse(header_text);
  EXPECT_EQ(h["a"], json::parse(R"({"dtype":"F32","shape":[3],"data_offsets":[0,12]})"));
  EXPECT_EQ(h["b"], json::parse(R"({"dtype":"I64","shape":[1,1],"data_offsets":[12,20]})"));
  EXPECT_EQ(h["c"], json::parse(R"({"dtype":"U8","shape":[2],"data_offsets":[20,22]})"));
  EXPECT_EQ(h["__metadata__"]["prealign.crc32"], std::to_string(reference_crc32(data)));
}

TEST(Safetensors, ReadsAHandWrittenFileWithoutChecksum) {
  // Files from other writers have no prealign.crc32 and may order tensors freely.
  std::string path = prealign::testing::temp_dir() + "/foreign.safetensors";
  std::string header = R"({"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                       R"("x":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})";
  write_raw(path, assemble(header, le_bytes(42, 4) + float_bytes(2.5f)));
  auto f = load_safetensors(path);
  EXPECT_EQ(f.tensors.at("x").item<int>(), 42);
  EXPECT_EQ(f.tensors.at("y").item<float>(), 2.5f);
  EXPECT_TRUE(f.metadata.empty());
}

TEST(Safetensors, RefusesDamage) {
  std::string dir = prealign::testing::temp_dir();
  std::string good_path = dir + "/good.safetensors";
  save_safetensors(good_path, {{"w", torch::randn({16, 16})}, {"b", torch::randn({16})}});
  const std::string good = read_file(good_path);
  std::string p = dir + "/bad.safetensors";

  write_raw(p, good.substr(0, good.size() - 10));
  expect_load_error(p, "truncated");

  std::string flipped = good;
  flipped[flipped.size() - 100] ^= 0x10;
  write_raw(p, flipped);
  expect_load_error(p, "checksum");

  write_raw(p, good + "xxxx");
  expect_load_error(p, "trailing");

  write_raw(p, "abc");
  expect_load_error(p, "too short");

  write_raw(p, le_bytes(uint64_t(1) << 40, 8) + "{}");
  expect_load_error(p, "header length");

  write_raw(p, assemble("{\"w\": [1, 2", ""));
  expect_load_error(p, "invalid JSON");

  std::string data(16, '\0');
  write_raw(p, assemble(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,32]}})", data));
  expect_load_error(p, "\"w\"");  // out of range, names the tensor

  write_raw(p, assemble(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                        R"("v":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                        data));
  expect_load_error(p, "overlaps");

  write_raw(p, assemble(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", data));
  expect_load_error(p, "needs 12");

  write_raw(p, assemble(R"({"w":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})", data));
  expect_load_error(p, "unsupported dtype");

  write_raw(p, assemble(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", data));
  expect_load_error(p, "negative");

  write_raw(p, assemble(R"({"w":{"dtype":"F32","shape":[4]}})", data));
  expect_load_error(p, "data_offsets");

  expect_load_error(dir + "/missing.safetensors", "cannot open");
}

// The header alone (no torch, nothing allocated by the header's word): what a
// checkpoint's config is compared with before the model is built.
TEST(Safetensors, HeaderAloneDescribesTheTensors) {
  const std::string dir = prealign::testing::temp_dir();
  const std::string path = dir + "/t.safetensors";
  save_safetensors(path, {{"b", torch::zeros({3}, torch::kFloat16)}, {"a", torch::zeros({2, 5})}});
  const SafetensorsHeader h = read_safetensors_header(path);
  ASSERT_EQ(h.entries.size(), 2u);  // in file order
  EXPECT_EQ(h.entries[0].name, "b");
  EXPECT_EQ(h.entries[0].dtype, "F16");
  EXPECT_EQ(h.entries[0].end - h.entries[0].begin, 3u * 2);
  EXPECT_EQ(h.entries[1].shape, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(h.data_size, 3u * 2 + 10 * 4);
  EXPECT_EQ(h.data_offset + h.data_size, file_size(path));
  // the same bytes parsed from memory
  const std::string bytes = read_file(path);
  EXPECT_EQ(parse_safetensors_header(bytes, bytes.size(), "mem").entries[1].name, "a");
  // deep nesting in the header is refused like everywhere else
  write_raw(path, assemble(std::string(70000, '['), ""));
  expect_load_error(path, "nested");
}

TEST(Safetensors, WriteIsAtomicAndRefusesBadInput) {
  std::string dir = prealign::testing::temp_dir();
  std::string path = dir + "/w.safetensors";
  save_safetensors(path, {{"x", torch::ones({2})}});
  EXPECT_THROW(save_safetensors(path, {{"x", torch::ones({2})}, {"y", torch::ones({2}, torch::kBool)}}), Error);
  EXPECT_THROW(save_safetensors(path, {{"x", torch::ones({2})}, {"x", torch::ones({2})}}), Error);
  EXPECT_THROW(save_safetensors(path, {{"__metadata__", torch::ones({2})}}), Error);
  // The earlier file is intact and no temporary file was left behind.
  EXPECT_TRUE(torch::equal(load_safetensors(path).tensors.at("x"), torch::ones({2})));
  EXPECT_EQ(list_files(dir).size(), 1u);
}

// Interoperability with an independent reader/writer: Debian's python3-torch,
// when installed, parses our file by the specification and writes one for us.
TEST(Safetensors, InteroperatesWithPython) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-torch not installed (scripts/test.sh installs it: PREALIGN_TEST_DEPS=1 scripts/setup.sh)";
  std::string dir = prealign::testing::temp_dir();
  save_safetensors(dir + "/ours.safetensors", {{"a", torch::arange(6, torch::kFloat32).view({2, 3})},
                                               {"b", torch::tensor({-3, 4}, torch::kInt64)},
                                               {"c", torch::tensor({1.5, -0.25}).to(torch::kBFloat16)}});
  std::string script = dir + "/check.py";
  std::ofstream(script) << R"(import json, struct, sys, torch
d = sys.argv[1]
raw = open(d + "/ours.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
data = raw[8 + n:]
kinds = {"F32": torch.float32, "I64": torch.int64, "BF16": torch.bfloat16}
got = {}
for k, v in hdr.items():
    if k == "__metadata__": continue
    b, e = v["data_offsets"]
    t = torch.frombuffer(bytearray(data[b:e]), dtype=kinds[v["dtype"]]).reshape(v["shape"])
    got[k] = t.float().flatten().tolist()
assert got == {"a": [0, 1, 2, 3, 4, 5], "b": [-3, 4], "c": [1.5, -0.25]}, got
t = torch.tensor([[1.25, -2.0]], dtype=torch.float16)
payload = t.numpy().tobytes()
h = json.dumps({"z": {"dtype": "F16", "shape": [1, 2], "data_offsets": [0, len(payload)]}}).encode()
open(d + "/theirs.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + payload)
)";
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + dir).c_str()), 0);
  auto f = load_safetensors(dir + "/theirs.safetensors");
  EXPECT_TRUE(torch::equal(f.tensors.at("z"), torch::tensor({{1.25, -2.0}}).to(torch::kFloat16)));
}
