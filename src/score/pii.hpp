// PII detection: one Hyperscan database holds every pattern, the text is
// scanned once, and each candidate match is checked in C++ (Luhn, SSN rules,
// IBAN mod-97, octet ranges, inet_pton, digit counts, context). What counts as
// each kind is documented in docs/scoring.md "PII scorer".
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace prealign {

// In priority order: when detections of different kinds overlap, the earlier
// kind wins ("ftp://u:pw@example.com" is one url_credentials, not an e-mail too).
enum class PiiKind { UrlCredentials, Email, Iban, CreditCard, Ssn, Phone, Ipv6, Ipv4, StreetAddress };
constexpr int kPiiKinds = 9;

const char* to_string(PiiKind k);
std::optional<PiiKind> parse_pii_kind(std::string_view name);
std::vector<PiiKind> all_pii_kinds();

struct PiiDetection {
  PiiKind kind;
  uint64_t begin = 0, end = 0;  // byte offsets into the scanned text
};

// A candidate pattern. The same strings drive bench/pii_reference.py (Python `re`).
struct PiiPattern {
  PiiKind kind;
  const char* regex;
};
const std::vector<PiiPattern>& pii_patterns();

// Checks a candidate [begin, end) of `text` for `kind`. May narrow it (e.g. drop
// words glued to a card number); returns the accepted span, or nothing.
struct ByteSpan {
  uint64_t begin = 0, end = 0;
};
std::optional<ByteSpan> validate_pii(PiiKind kind, std::string_view text, uint64_t begin, uint64_t end);

// The number checks on their own (digits only / the written form), for tests.
bool luhn_valid(std::string_view digits);
bool ssn_valid(std::string_view ddd_dd_dddd);
bool iban_valid(std::string_view iban);  // spaces allowed between groups
bool ipv4_valid(std::string_view dotted);

// A compiled pattern set plus its own Hyperscan scratch. Copying shares the
// (immutable) database and clones the scratch, so each copy serves one thread.
class PiiDetector {
 public:
  explicit PiiDetector(const std::vector<PiiKind>& kinds = all_pii_kinds());
  PiiDetector(const PiiDetector& other);
  PiiDetector& operator=(const PiiDetector&) = delete;
  ~PiiDetector();

  // Detections sorted by start; never two overlapping ones.
  std::vector<PiiDetection> detect(std::string_view text);

 private:
  struct Database;
  std::shared_ptr<const Database> db_;
  void* scratch_ = nullptr;  // hs_scratch_t*
  std::vector<bool> enabled_;
};

}  // namespace prealign
