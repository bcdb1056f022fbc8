#include "data/shard.hpp"
#include "data/tokenize.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "shards are little-endian; add byte swapping");

namespace prealign {
namespace {

constexpr char kMagic[8] = {'P', 'A', 'L', 'S', 'H', 'A', 'R', 'D'};
constexpr char kEndMagic[8] = {'P', 'A', 'L', 'S', 'E', 'N', 'D', '!'};
constexpr uint64_t kPrefixBytes = 16, kTrailerBytes = 16;
const char* const kHint = "re-run prealign tokenize";

uint64_t pad8(uint64_t x) { return (x + 7) & ~uint64_t(7); }

int token_width(int vocab_size) { return vocab_size <= 65535 ? 2 : 4; }

// Byte offsets of every section, from the counts in the header. Writer and
// reader share this, so they cannot disagree about the layout.
struct Layout {
  uint64_t tokens, doc_tokens, doc_segments, segment_tokens, scores, doc_info, trailer, total;
  Layout(uint64_t header_bytes, int token_bytes, uint64_t n_tokens, uint64_t n_docs, uint64_t n_segments,
         uint64_t n_categories, uint64_t doc_info_bytes) {
    tokens = pad8(kPrefixBytes + header_bytes);
    doc_tokens = pad8(tokens + n_tokens * token_bytes);
    doc_segments = doc_tokens + (n_docs + 1) * 8;
    segment_tokens = doc_segments + (n_docs + 1) * 8;
    scores = segment_tokens + (n_segments + 1) * 8;
    doc_info = scores + n_segments * n_categories * 4;
    trailer = pad8(doc_info + doc_info_bytes);
    total = trailer + kTrailerBytes;
  }
};

uint32_t crc32_of(uint32_t crc, const void* data, uint64_t n) {
  const auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {  // zlib takes uInt lengths
    uInt chunk = static_cast<uInt>(std::min<uint64_t>(n, uint64_t(1) << 30));
    crc = static_cast<uint32_t>(::crc32(crc, p, chunk));
    p += chunk;
    n -= chunk;
  }
  return crc;
}

// An AtomicFile that keeps a running CRC32 of everything written.
struct CrcWriter {
  AtomicFile file;
  uint32_t crc = static_cast<uint32_t>(::crc32(0, nullptr, 0));
  explicit CrcWriter(const std::string& path) : file(path) {}
  void write(const void* data, uint64_t n) {
    crc = crc32_of(crc, data, n);
    file.write(data, n);
  }
  void pad_to(uint64_t offset) {
    static const char zeros[8] = {};
    if (file.bytes_written() < offset) write(zeros, offset - file.bytes_written());
  }
};

}  // namespace

// ---------------------------------------------------------------- writer

ShardWriter::ShardWriter(std::string path, int vocab_size, std::vector<std::string> categories)
    : path_(std::move(path)), vocab_size_(vocab_size), categories_(std::move(categories)) {
  if (vocab_size_ <= 0) fail(path_, "vocab_size must be positive");
}

void ShardWriter::add_document(const std::string& id, const json& meta, const std::vector<int32_t>& tokens,
                               const std::vector<uint64_t>& segment_starts, const std::vector<float>& scores) {
  std::string where = path_ + " (document \"" + id + "\")";
  if (committed_) fail(where, "add_document after commit");
  if (segment_starts.empty() || segment_starts[0] != 0) fail(where, "segment_starts must begin with 0");
  for (size_t i = 1; i < segment_starts.size(); ++i)
    if (segment_starts[i] < segment_starts[i - 1]) fail(where, "segment_starts must not decrease");
  if (segment_starts.back() > tokens.size()) fail(where, "a segment starts past the document's tokens");
  if (scores.size() != segment_starts.size() * categories_.size())
    fail(where, "expected " + std::to_string(segment_starts.size() * categories_.size()) + " scores, got " +
                    std::to_string(scores.size()));
  for (int32_t t : tokens)
    if (t < 0 || t >= vocab_size_) fail(where, "token id " + std::to_string(t) + " outside the vocabulary");
  for (float s : scores)
    if (!std::isfinite(s)) fail(where, "score is not finite");

  const uint64_t base = tokens_.size();
  segment_tokens_.pop_back();  // the running end, == base == this document's first segment start
  for (uint64_t s : segment_starts) segment_tokens_.push_back(base + s);
  segment_tokens_.push_back(base + tokens.size());
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  scores_.insert(scores_.end(), scores.begin(), scores.end());
  doc_tokens_.push_back(tokens_.size());
  doc_segments_.push_back(segment_tokens_.size() - 1);
  json info = {{"id", id}, {"meta", meta}};
  doc_info_ += info.dump(-1, ' ', false, json::error_handler_t::replace);
  doc_info_ += '\n';
}

void ShardWriter::commit() {
  if (committed_) fail(path_, "shard committed twice");
  const int tb = token_width(vocab_size_);
  const uint64_t n_segments = segment_tokens_.size() - 1;
  ordered_json header = {{"format", "prealign-shard"},
                         {"version", kShardVersion},
                         {"vocab_size", vocab_size_},
                         {"token_bytes", tb},
                         {"n_tokens", tokens_.size()},
                         {"n_docs", documents()},
                         {"n_segments", n_segments},
                         {"categories", categories_},
                         {"doc_info_bytes", doc_info_.size()},
                         {"created_by", "prealign tokenize"}};
  const std::string h = header.dump();
  Layout L(h.size(), tb, tokens_.size(), documents(), n_segments, categories_.size(), doc_info_.size());

  CrcWriter w(path_);
  uint32_t prefix[2] = {kShardVersion, static_cast<uint32_t>(h.size())};
  w.write(kMagic, 8);
  w.write(prefix, 8);
  w.write(h.data(), h.size());
  w.pad_to(L.tokens);
  if (tb == 2) {  // narrow in chunks rather than doubling the memory
    std::vector<uint16_t> chunk;
    for (size_t i = 0; i < tokens_.size(); i += 65536) {
      size_t n = std::min<size_t>(65536, tokens_.size() - i);
      chunk.assign(tokens_.begin() + i, tokens_.begin() + i + n);
      w.write(chunk.data(), n * 2);
    }
  } else {
    w.write(tokens_.data(), tokens_.size() * 4);
  }
  w.pad_to(L.doc_tokens);
  w.write(doc_tokens_.data(), doc_tokens_.size() * 8);
  w.write(doc_segments_.data(), doc_segments_.size() * 8);
  w.write(segment_tokens_.data(), segment_tokens_.size() * 8);
  w.write(scores_.data(), scores_.size() * 4);
  w.write(doc_info_.data(), doc_info_.size());
  w.pad_to(L.trailer);
  uint32_t trailer[2] = {w.crc, 0};
  w.file.write(trailer, 8);
  w.file.write(kEndMagic, 8);
  if (w.file.bytes_written() != L.total) fail(path_, "internal error: shard size does not match its layout");
  w.file.commit();
  committed_ = true;
}

// ---------------------------------------------------------------- reader

Shard::~Shard() {
  if (map_) ::munmap(map_, map_size_);
}

static void* map_file(const std::string& path, size_t& size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open shard: ") + std::strerror(errno), "check the dataset directory");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    fail(path, std::string("cannot stat shard: ") + std::strerror(errno));
  }
  size = static_cast<size_t>(st.st_size);
  if (size < kPrefixBytes + kTrailerBytes) {
    ::close(fd);
    fail(path, "truncated shard: only " + std::to_string(size) + " bytes", kHint);
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) fail(path, std::string("cannot map shard: ") + std::strerror(errno));
  return p;
}

template <class T>
static T field(const json& h, const char* key, const std::string& where) {
  return json_required<T>(h, key, where);
}

std::shared_ptr<Shard> Shard::open(const std::string& path, bool verify_checksum) {
  std::shared_ptr<Shard> s(new Shard());
  s->path_ = path;
  s->map_ = map_file(path, s->map_size_);
  const char* base = static_cast<const char*>(s->map_);
  const uint64_t size = s->map_size_;

  if (std::memcmp(base, kMagic, 8) != 0) fail(path, "not a prealign shard (bad magic)", kHint);
  uint32_t version, header_bytes;
  std::memcpy(&version, base + 8, 4);
  std::memcpy(&header_bytes, base + 12, 4);
  if (version != kShardVersion)
    fail(path, "shard format version " + std::to_string(version) + "; this prealign reads version " +
                   std::to_string(kShardVersion), kHint);
  if (std::memcmp(base + size - 8, kEndMagic, 8) != 0)
    fail(path, "truncated or incomplete shard: the end marker is missing", kHint);
  if (header_bytes > size - kPrefixBytes - kTrailerBytes)
    fail(path, "truncated shard: header of " + std::to_string(header_bytes) + " bytes does not fit", kHint);
  s->header_ = parse_json(std::string_view(base + kPrefixBytes, header_bytes), path + " (header)");
  s->read_header(size, header_bytes);
  if (verify_checksum) {
    uint32_t stored;
    std::memcpy(&stored, base + size - kTrailerBytes, 4);
    uint32_t actual = crc32_of(static_cast<uint32_t>(::crc32(0, nullptr, 0)), base, size - kTrailerBytes);
    if (stored != actual) fail(path, "corrupt shard: CRC32 mismatch", kHint);
  }
  s->check_contents(verify_checksum);
  s->release_pages();  // the checks touched every page; training reads only what it needs
  return s;
}

// Reads the header's counts, checks the layout against the file size and sets the section pointers.
void Shard::read_header(uint64_t size, uint32_t header_bytes) {
  const std::string where = path_ + " (header)";
  const json& h = header_;
  if (field<uint32_t>(h, "version", where) != kShardVersion) fail(where, "header version disagrees with the file");
  vocab_size_ = field<int>(h, "vocab_size", where);
  int tb = field<int>(h, "token_bytes", where);
  n_tokens_ = field<uint64_t>(h, "n_tokens", where);
  n_docs_ = field<uint64_t>(h, "n_docs", where);
  n_segments_ = field<uint64_t>(h, "n_segments", where);
  categories_ = field<std::vector<std::string>>(h, "categories", where);
  uint64_t info_bytes = field<uint64_t>(h, "doc_info_bytes", where);
  if (vocab_size_ <= 0 || tb != token_width(vocab_size_))
    fail(where, "bad vocab_size/token_bytes (" + std::to_string(vocab_size_) + "/" + std::to_string(tb) + ")", kHint);
  // Bound every count by the file size first, so the layout arithmetic cannot overflow.
  if (n_tokens_ > size || n_docs_ > size || n_segments_ > size || info_bytes > size || categories_.size() > size)
    fail(path_, "truncated shard: the header counts do not fit in " + std::to_string(size) + " bytes", kHint);
  Layout L(header_bytes, tb, n_tokens_, n_docs_, n_segments_, categories_.size(), info_bytes);
  if (L.total != size)
    fail(path_, (L.total > size ? "truncated shard: " : "corrupt shard: ") + std::to_string(size) +
                    " bytes, the header describes " + std::to_string(L.total), kHint);
  const char* base = static_cast<const char*>(map_);
  if (tb == 2) tok16_ = reinterpret_cast<const uint16_t*>(base + L.tokens);
  else tok32_ = reinterpret_cast<const uint32_t*>(base + L.tokens);
  doc_tokens_ = reinterpret_cast<const uint64_t*>(base + L.doc_tokens);
  doc_segments_ = reinterpret_cast<const uint64_t*>(base + L.doc_segments);
  segment_tokens_ = reinterpret_cast<const uint64_t*>(base + L.segment_tokens);
  scores_ = reinterpret_cast<const float*>(base + L.scores);
  doc_info_ = base + L.doc_info;
  doc_info_bytes_ = info_bytes;
}

static bool monotone(const uint64_t* a, uint64_t n, uint64_t last, bool strict) {
  if (a[0] != 0 || a[n] != last) return false;
  for (uint64_t i = 0; i < n; ++i)
    if (strict ? a[i + 1] <= a[i] : a[i + 1] < a[i]) return false;
  return true;
}

// Offsets monotone and consistent, token ids in the vocabulary, doc_info has one line per document.
void Shard::check_contents(bool full) {
  auto bad = [&](const std::string& what) { fail(path_, "corrupt shard: " + what, kHint); };
  if (!monotone(doc_tokens_, n_docs_, n_tokens_, false)) bad("document token offsets are not monotone");
  if (!monotone(doc_segments_, n_docs_, n_segments_, true)) bad("document segment offsets are not increasing");
  if (!monotone(segment_tokens_, n_segments_, n_tokens_, false)) bad("segment token offsets are not monotone");
  for (uint64_t d = 0; d < n_docs_; ++d)
    if (segment_tokens_[doc_segments_[d]] != doc_tokens_[d])
      bad("document " + std::to_string(d) + " does not begin at its first segment");
  for (uint64_t i = 0; i < n_tokens_; ++i)  // always: an id past the vocabulary would crash the model
    if (static_cast<uint64_t>(token(i)) >= static_cast<uint64_t>(vocab_size_))
      bad("token " + std::to_string(i) + " is outside the vocabulary");
  if (full)
    for (uint64_t i = 0; i < n_segments_ * categories_.size(); ++i)
      if (!std::isfinite(scores_[i])) bad("a segment score is not finite");
  uint64_t lines = 0;
  for (uint64_t i = 0; i < doc_info_bytes_; ++i) lines += doc_info_[i] == '\n';
  if (lines != n_docs_ || (doc_info_bytes_ > 0 && doc_info_[doc_info_bytes_ - 1] != '\n'))
    bad("document info has " + std::to_string(lines) + " lines for " + std::to_string(n_docs_) + " documents");
}

void Shard::release_pages() const {
  if (map_) ::madvise(map_, map_size_, MADV_DONTNEED);
}

json Shard::doc_info(uint64_t d) const {
  if (d >= n_docs_) fail(path_, "document " + std::to_string(d) + " out of range");
  std::call_once(doc_info_index_once_, [this] {
    doc_info_offsets_.reserve(n_docs_ + 1);
    doc_info_offsets_.push_back(0);
    for (uint64_t i = 0; i < doc_info_bytes_; ++i)
      if (doc_info_[i] == '\n') doc_info_offsets_.push_back(i + 1);
  });
  uint64_t b = doc_info_offsets_[d], e = doc_info_offsets_[d + 1] - 1;
  return parse_json(std::string_view(doc_info_ + b, e - b), path_ + " (doc_info " + std::to_string(d) + ")");
}

// ---------------------------------------------------------------- dataset

static std::vector<std::shared_ptr<Shard>> open_split(const Dataset& ds, const char* split, int vocab_size) {
  std::vector<std::shared_ptr<Shard>> out;
  const std::string where = ds.dir + "/dataset.json";
  const json list = json_optional<json>(ds.manifest, split, json::array(), where);
  if (!list.is_array()) fail(where, std::string("\"") + split + "\" must be an array of shards");
  for (const json& entry : list) {
    std::string file = json_required<std::string>(entry, "file", where);
    auto shard = Shard::open(ds.dir + "/" + file);
    if (shard->n_tokens() != json_required<uint64_t>(entry, "tokens", where) ||
        shard->n_docs() != json_required<uint64_t>(entry, "documents", where) ||
        shard->n_segments() != json_required<uint64_t>(entry, "segments", where))
      fail(shard->path(), "shard does not match its entry in dataset.json", "re-run prealign tokenize");
    if (shard->categories() != ds.categories)
      fail(shard->path(), "shard categories differ from dataset.json", "re-run prealign tokenize");
    if (shard->vocab_size() != vocab_size)
      fail(shard->path(), "shard vocab_size differs from dataset.json", "re-run prealign tokenize");
    out.push_back(std::move(shard));
  }
  return out;
}

Dataset Dataset::open(const std::string& dir) {
  Dataset ds;
  ds.dir = dir;
  const std::string path = dir + "/dataset.json";
  if (!is_directory(dir)) fail(dir, "no such dataset directory", "create it with prealign tokenize --out " + dir);
  if (!file_exists(path))
    fail(dir, "incomplete dataset: dataset.json is missing (it is written last)", "re-run prealign tokenize");
  ds.manifest = read_json_file(path);
  if (json_optional<std::string>(ds.manifest, "format", "", path) != "prealign-dataset")
    fail(path, "not a prealign dataset manifest (\"format\" should be \"prealign-dataset\")");
  if (json_required<uint32_t>(ds.manifest, "version", path) != kShardVersion)
    fail(path, "unsupported dataset version", "re-run prealign tokenize");
  ds.categories = json_required<std::vector<std::string>>(ds.manifest, "categories", path);
  if (!ds.manifest.contains("tokenizer")) fail(path, "missing field \"tokenizer\"");
  int vocab_size = json_required<int>(ds.manifest.at("tokenizer"), "vocab_size", path);
  // The tokenizer stored beside the shards must be the one they were made with.
  const std::string model = dir + "/tokenizer.model";
  std::string want = json_optional<std::string>(ds.manifest.at("tokenizer"), "model_hash", "", path);
  if (!want.empty() && file_exists(model) && tokenizer_model_hash(read_file(model)) != want)
    fail(model, "this tokenizer is not the one the shards were made with (hash differs from dataset.json)",
         "re-run prealign tokenize");
  ds.train = open_split(ds, "train", vocab_size);
  ds.val = open_split(ds, "val", vocab_size);
  return ds;
}

uint64_t Dataset::train_tokens() const {
  uint64_t n = 0;
  for (const auto& s : train) n += s->n_tokens();
  return n;
}

uint64_t Dataset::val_tokens() const {
  uint64_t n = 0;
  for (const auto& s : val) n += s->n_tokens();
  return n;
}

}  // namespace prealign
