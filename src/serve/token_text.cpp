#include "serve/token_text.hpp"

#include <algorithm>

#include "core/utf8.hpp"

namespace prealign {

size_t count_characters(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string token_display(const std::string& bytes) {
  if (is_valid_utf8(bytes)) return bytes;
  static const char* const hex = "0123456789abcdef";
  std::string out = "bytes:";
  for (unsigned char c : bytes) out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
  return out;
}

std::string Utf8Stream::push(const std::string& bytes) {
  pending_ += bytes;
  // Hold back a lead byte (and its continuations) still waiting for the rest of its character.
  size_t ready = pending_.size();
  for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
    const unsigned char c = static_cast<unsigned char>(pending_[pending_.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    if (utf8_sequence_length(c) > back) ready = pending_.size() - back;
    break;
  }
  std::string out = replace_invalid_utf8(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string Utf8Stream::flush() {
  std::string out = replace_invalid_utf8(pending_);
  pending_.clear();
  return out;
}

void TokenTextAligner::add(const TokenRecord& token) {
  const size_t begin = text_.size();
  if (!token.is_tag) text_ += token.text;
  queue_.push_back({AlignedToken{added_++, token, "", 0}, begin, text_.size()});
}

void TokenTextAligner::emit(Pending p, size_t until, std::vector<AlignedToken>& out) {
  AlignedToken& t = p.token;
  if (!t.record.is_tag) {
    t.piece = utf8_.push(text_.substr(p.begin, std::min(p.end, until) - p.begin));
    // This token's bytes settle whatever the held ones were waiting for.
    out.insert(out.end(), held_.begin(), held_.end());
    held_.clear();
  }
  t.text_offset = characters_;
  characters_ += count_characters(t.piece);
  if (!held_.empty() || (!t.record.is_tag && utf8_.holding())) {
    held_.push_back(std::move(t));
  } else {
    out.push_back(std::move(t));
  }
}

std::vector<AlignedToken> TokenTextAligner::release(size_t until) {
  std::vector<AlignedToken> out;
  while (!queue_.empty() && queue_.front().end <= until) {
    emit(std::move(queue_.front()), until, out);
    queue_.pop_front();
  }
  return out;
}

std::vector<AlignedToken> TokenTextAligner::finish(size_t end) {
  std::vector<AlignedToken> out;
  for (Pending& p : queue_) {
    const bool kept = p.begin < end || (p.begin == end && p.end == end);
    if (kept) emit(std::move(p), end, out);
  }
  queue_.clear();
  const std::string tail = utf8_.flush();
  if (!held_.empty()) {
    held_.front().piece += tail;  // the text token whose bytes ended inside the character
    const size_t n = count_characters(tail);
    for (size_t i = 1; i < held_.size(); ++i) held_[i].text_offset += n;
    characters_ += n;
  }
  out.insert(out.end(), held_.begin(), held_.end());
  held_.clear();
  return out;
}

std::vector<AlignedToken> align_tokens(const Generation& g) {
  TokenTextAligner a;
  for (const TokenRecord& r : g.tokens) a.add(r);
  return a.finish();
}

}  // namespace prealign
