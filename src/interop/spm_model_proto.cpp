#include "interop/spm_model_proto.hpp"

#include <cstring>
#include <set>

#include "core/error.hpp"

namespace prealign {
namespace {

// Protobuf wire types used by ModelProto.
constexpr int kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

// A bounds-checked cursor over one serialized message.
class WireReader {
 public:
  WireReader(const std::string& bytes, size_t begin, size_t end, const std::string& where)
      : b_(bytes), pos_(begin), end_(end), where_(where) {}
  bool done() const { return pos_ >= end_; }
  size_t pos() const { return pos_; }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      require(pos_ < end_, where_, "truncated SentencePiece model (a varint runs past the end)");
      const auto byte = static_cast<uint8_t>(b_[pos_++]);
      v |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
    fail(where_, "malformed SentencePiece model (a varint longer than 10 bytes)");
  }
  // Returns [begin, end) of a length-delimited field's payload and skips it.
  std::pair<size_t, size_t> bytes_field() {
    const uint64_t n = varint();
    require(n <= end_ - pos_, where_, "truncated SentencePiece model (a field is longer than what is left)");
    const size_t begin = pos_;
    pos_ += n;
    return {begin, pos_};
  }
  float fixed32_float() {
    require(end_ - pos_ >= 4, where_, "truncated SentencePiece model (a float runs past the end)");
    float f;
    std::memcpy(&f, b_.data() + pos_, 4);  // little-endian on every platform prealign builds for
    pos_ += 4;
    return f;
  }
  void skip(int wire_type) {
    switch (wire_type) {
      case kVarint: varint(); return;
      case kFixed64: advance(8); return;
      case kLengthDelimited: bytes_field(); return;
      case kFixed32: advance(4); return;
      default: fail(where_, "malformed SentencePiece model (wire type " + std::to_string(wire_type) + ")",
                    "is this a SentencePiece tokenizer.model?");
    }
  }

 private:
  void advance(size_t n) {
    require(end_ - pos_ >= n, where_, "truncated SentencePiece model");
    pos_ += n;
  }
  const std::string& b_;
  size_t pos_, end_;
  const std::string& where_;
};

SpmPiece parse_piece(const std::string& bytes, size_t begin, size_t end, const std::string& where) {
  SpmPiece p;
  WireReader r(bytes, begin, end, where);
  while (!r.done()) {
    const uint64_t key = r.varint();
    const int field = int(key >> 3), wt = int(key & 7);
    if (field == 1 && wt == kLengthDelimited) {
      auto [b, e] = r.bytes_field();
      p.piece = bytes.substr(b, e - b);
    } else if (field == 2 && wt == kFixed32) {
      p.score = r.fixed32_float();
    } else if (field == 3 && wt == kVarint) {
      const uint64_t t = r.varint();
      require(t >= 1 && t <= 6, where, "SentencePiece piece type " + std::to_string(t) + " is not one of 1..6");
      p.type = SpmPieceType(int(t));
    } else {
      r.skip(wt);
    }
  }
  return p;
}

// int32 fields are varints; negative values (pad_id = -1) are 10-byte two's complement.
int as_int32(uint64_t v) { return static_cast<int>(static_cast<int64_t>(v)); }

void parse_trainer_spec(const std::string& bytes, size_t begin, size_t end, const std::string& where,
                        SpmModelInfo& info) {
  WireReader r(bytes, begin, end, where);
  while (!r.done()) {
    const uint64_t key = r.varint();
    const int field = int(key >> 3), wt = int(key & 7);
    if (wt != kVarint) {
      r.skip(wt);
      continue;
    }
    const uint64_t v = r.varint();
    switch (field) {
      case 3: info.model_type = SpmModelType(int(v)); break;
      case 35: info.byte_fallback = v != 0; break;
      case 40: info.unk_id = as_int32(v); break;
      case 41: info.bos_id = as_int32(v); break;
      case 42: info.eos_id = as_int32(v); break;
      case 43: info.pad_id = as_int32(v); break;
      default: break;
    }
  }
}

void parse_normalizer_spec(const std::string& bytes, size_t begin, size_t end, const std::string& where,
                           SpmModelInfo& info) {
  WireReader r(bytes, begin, end, where);
  while (!r.done()) {
    const uint64_t key = r.varint();
    const int field = int(key >> 3), wt = int(key & 7);
    if (field == 1 && wt == kLengthDelimited) {
      auto [b, e] = r.bytes_field();
      info.normalizer_name = bytes.substr(b, e - b);
    } else if (field == 3 && wt == kVarint) {
      info.add_dummy_prefix = r.varint() != 0;
    } else {
      r.skip(wt);
    }
  }
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}

}  // namespace

SpmModelInfo parse_spm_model(const std::string& bytes, const std::string& where) {
  SpmModelInfo info;
  WireReader r(bytes, 0, bytes.size(), where);
  while (!r.done()) {
    const uint64_t key = r.varint();
    const int field = int(key >> 3), wt = int(key & 7);
    if (wt != kLengthDelimited) {
      r.skip(wt);
      continue;
    }
    auto [b, e] = r.bytes_field();
    if (field == 1) info.pieces.push_back(parse_piece(bytes, b, e, where));
    else if (field == 2) parse_trainer_spec(bytes, b, e, where, info);
    else if (field == 3) parse_normalizer_spec(bytes, b, e, where, info);
  }
  require(!info.pieces.empty(), where, "not a SentencePiece model: no pieces",
          "expected a SentencePiece tokenizer.model (a tokenizer.json alone is not supported)");
  return info;
}

std::string append_control_pieces(const std::string& bytes, const std::vector<std::string>& pieces,
                                  const std::string& where) {
  const SpmModelInfo info = parse_spm_model(bytes, where);
  std::set<std::string> existing;
  for (const auto& p : info.pieces) existing.insert(p.piece);
  std::string out = bytes;
  for (const auto& piece : pieces) {
    require(!piece.empty(), where, "an empty piece cannot be added");
    require(existing.insert(piece).second, where, "the model already has a piece '" + piece + "'",
            "choose tag names that are not pieces of the tokenizer");
    std::string msg;
    put_varint(msg, (1 << 3) | kLengthDelimited);  // piece
    put_varint(msg, piece.size());
    msg += piece;
    put_varint(msg, (2 << 3) | kFixed32);  // score 0
    msg.append(4, '\0');
    put_varint(msg, (3 << 3) | kVarint);  // type CONTROL
    put_varint(msg, uint64_t(SpmPieceType::kControl));
    // A repeated field may appear anywhere in a message; parsers append in order.
    put_varint(out, (1 << 3) | kLengthDelimited);
    put_varint(out, msg.size());
    out += msg;
  }
  return out;
}

}  // namespace prealign
