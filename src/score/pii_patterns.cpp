// The PII patterns (what Hyperscan looks for) and the validators (what a
// candidate must satisfy to count). Patterns are deliberately loose; the
// validators carry the rules, so both engines (Hyperscan here, Python `re` in
// bench/pii_reference.py) share the patterns and implement the same checks.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "score/pii.hpp"

namespace prealign {

namespace {
constexpr std::array<const char*, kPiiKinds> kKindNames = {"url_credentials", "email", "iban", "credit_card",   "ssn",
                                                           "phone",           "ipv6",  "ipv4", "street_address"};
}

const char* to_string(PiiKind k) { return kKindNames[static_cast<int>(k)]; }

std::optional<PiiKind> parse_pii_kind(std::string_view name) {
  for (int i = 0; i < kPiiKinds; ++i)
    if (name == kKindNames[i]) return static_cast<PiiKind>(i);
  return std::nullopt;
}

std::vector<PiiKind> all_pii_kinds() {
  std::vector<PiiKind> out;
  for (int i = 0; i < kPiiKinds; ++i) out.push_back(static_cast<PiiKind>(i));
  return out;
}

// Patterns use only syntax Hyperscan and Python `re` read the same way.
const std::vector<PiiPattern>& pii_patterns() {
  // Repeats are bounded and the e-mail pattern starts at "@": unbounded or
  // left-open patterns make Hyperscan's start-of-match tracking ~20x slower.
  static const std::vector<PiiPattern> patterns = {
      {PiiKind::UrlCredentials,
       R"(\b[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s/?#@:]{0,64}:[^\s/?#@]{1,128}@[A-Za-z0-9.-]{1,253})"},
      // The local part is added by the validator (it walks left from "@").
      {PiiKind::Email, R"(@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,6}\.[A-Za-z]{2,24}\b)"},
      {PiiKind::Iban, R"(\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b)"},
      {PiiKind::CreditCard, R"(\b(?:[0-9][ -]?){12,18}[0-9]\b)"},
      {PiiKind::Ssn, R"(\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b)"},
      // North American: (212) 555-0123, 212.555.0123, +1 212 555 0123, 1-212-555-0123.
      {PiiKind::Phone, R"((?:\([0-9]{3}\)[ .-]?|\b[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}\b)"},
      {PiiKind::Phone, R"(\b1[ .-](?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}\b)"},
      // International: a plus, a country code, then digits with spaces, dots, dashes, "(0)".
      {PiiKind::Phone, R"(\+[1-9][0-9 .()-]{6,22}[0-9]\b)"},
      // Full form (8 groups, or 6 and a dotted quad) or any form with "::"; the dotted
      // quad comes first so a leftmost-first engine (Python re) also takes the longer form.
      {PiiKind::Ipv6, R"((?:[0-9A-Fa-f]{1,4}:){6}(?:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|[0-9]{1,3}(?:\.[0-9]{1,3}){3}))"},
      {PiiKind::Ipv6, R"((?:[0-9A-Fa-f]{1,4}:){0,6}(?:[0-9A-Fa-f]{1,4})?::(?:[0-9A-Fa-f]{1,4}:){0,6})"
                      R"((?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?)"},
      {PiiKind::Ipv4, R"(\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b)"},
      {PiiKind::StreetAddress,
       R"(\b[1-9][0-9]{0,5}[A-Za-z]? (?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.? )?)"
       R"((?:(?:[A-Z][a-z]{1,20}|[0-9]{1,3}(?:st|nd|rd|th)) ){1,3})"
       R"((?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Terrace|Way)"
       R"(|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|Close|Crescent|Gardens|Grove|Mews|Row)\b)"
       R"((?:\.? (?:NW|NE|SW|SE|N|S|E|W)\b)?(?:,? (?:Apt|Suite|Ste|Unit|Flat)\.? ?#?[0-9A-Za-z]{1,5}\b)?)"},
  };
  return patterns;
}

namespace {

using Opt = std::optional<ByteSpan>;

unsigned char at(std::string_view t, uint64_t i) { return i < t.size() ? t[i] : 0; }
unsigned char before(std::string_view t, uint64_t i) { return i > 0 && i <= t.size() ? t[i - 1] : 0; }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_alnum(unsigned char c) { return std::isalnum(c) != 0; }
bool is_word(unsigned char c) { return is_alnum(c) || c == '_'; }

std::string digits_of(std::string_view s) {
  std::string d;
  for (unsigned char c : s)
    if (is_digit(c)) d += static_cast<char>(c);
  return d;
}

// The candidate is glued to a longer number on the left ("10.212.555.0123")
// or the right ("212-555-0123-45", "1.2.3.4-1", "1.2.3.4.5").
bool glued_left(std::string_view t, uint64_t b) {
  unsigned char c = before(t, b);
  if (is_alnum(c)) return true;
  return (c == '.' || c == '-' || c == '/') && is_alnum(before(t, b - 1));
}
bool glued_right(std::string_view t, uint64_t e, const char* joiners = ".-/") {
  unsigned char c = at(t, e);
  if (is_alnum(c)) return true;
  return c && std::strchr(joiners, c) && is_alnum(at(t, e + 1));
}

bool nanp_valid(std::string_view ten) {  // area and exchange codes start with 2-9
  return ten.size() == 10 && ten[0] >= '2' && ten[3] >= '2';
}

// The word before `b` (skipping spaces, ':' and '-'), lower-cased.
std::string word_before(std::string_view t, uint64_t b) {
  uint64_t e = b;
  while (e > 0 && (t[e - 1] == ' ' || t[e - 1] == ':' || t[e - 1] == '-' || t[e - 1] == '(')) --e;
  uint64_t s = e;
  while (s > 0 && e - s < 24 && std::isalpha(static_cast<unsigned char>(t[s - 1]))) --s;
  std::string w(t.substr(s, e - s));
  for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return w;
}

Opt check_phone_na(std::string_view t, uint64_t b, uint64_t e) {
  std::string_view s = t.substr(b, e - b);
  std::string d = digits_of(s);
  if (d.size() == 11 && d[0] == '1') d.erase(0, 1);
  if (!nanp_valid(d)) return std::nullopt;
  // "212-555-0123" but not "252.227-7013" (a clause number): without
  // parentheses both separators around the exchange are the same.
  if (s.find('(') == std::string_view::npos) {
    size_t last = s.size() - 5;  // separator before the line number
    if (!is_digit(s[last + 1]) || is_digit(s[last]) || s[last] != s[last - 4]) return std::nullopt;
  }
  return ByteSpan{b, e};
}

Opt check_phone(std::string_view t, uint64_t b, uint64_t e) {
  std::string_view s = t.substr(b, e - b);
  if (glued_left(t, b) || glued_right(t, e, ".-/+") || before(t, b) == '+' || before(t, b) == '~') return std::nullopt;
  if (s[0] != '+') return check_phone_na(t, b, e);
  // International: 8-15 digits (E.164), separators single, "(...)" once with 1-4 digits.
  std::string d = digits_of(s);
  size_t seps = 0, run = 0, parens = 0;
  for (size_t i = 1; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (is_digit(c)) {
      run = 0;
      continue;
    }
    ++seps;
    if (++run > 2) return std::nullopt;
    if (c == '(') {
      size_t close = s.find(')', i);
      if (++parens > 1 || close == std::string_view::npos || close - i - 1 < 1 || close - i - 1 > 4)
        return std::nullopt;
    }
  }
  if (std::count(s.begin(), s.end(), '(') != std::count(s.begin(), s.end(), ')')) return std::nullopt;
  if (d.size() < 8 || d.size() > 15) return std::nullopt;
  // Unseparated runs of 14+ digits after a plus are timestamps ("~+20191229111838").
  if (seps == 0 && (d.size() < 10 || d.size() > 13)) return std::nullopt;
  if (d[0] == '1' && (d.size() != 11 || !nanp_valid(d.substr(1)))) return std::nullopt;
  return ByteSpan{b, e};
}

Opt check_email(std::string_view t, uint64_t b, uint64_t e) {
  // The match starts at "@"; the local part is the run of [A-Za-z0-9._%+-] before it.
  auto local_char = [](unsigned char c) { return is_alnum(c) || (c && std::strchr("._%+-", c)); };
  uint64_t run = b;
  while (run > 0 && b - run <= 64 && local_char(t[run - 1])) --run;
  if (b - run > 64) return std::nullopt;       // a longer run is not an address
  while (run < b && !is_alnum(t[run])) ++run;  // "...john@" or "-john@"
  b = run;
  size_t a = t.find('@', b);
  if (a == std::string_view::npos || a >= e) return std::nullopt;
  std::string_view local = t.substr(b, a - b), domain = t.substr(a + 1, e - a - 1);
  if (local.empty() || local.size() > 64 || local.back() == '.' || local.find("..") != std::string_view::npos)
    return std::nullopt;
  if (e - b > 254 || at(t, e) == '-' || (at(t, e) == '.' && is_alnum(at(t, e + 1)))) return std::nullopt;
  size_t start = 0;
  while (true) {
    size_t dot = domain.find('.', start);
    std::string_view label = domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return std::nullopt;
    if (dot == std::string_view::npos) {
      for (unsigned char c : label)
        if (!std::isalpha(c)) return std::nullopt;
      break;
    }
    start = dot + 1;
  }
  // userinfo of a URL ("https://user@host") is not an e-mail address
  for (uint64_t i = b; i > 0 && b - i < 256 && !std::isspace(static_cast<unsigned char>(t[i - 1])); --i)
    if (t[i - 1] == '/') return std::nullopt;
  return ByteSpan{b, e};
}

Opt check_url_credentials(std::string_view t, uint64_t b, uint64_t e) {
  std::string_view s = t.substr(b, e - b);
  size_t scheme_end = s.find("://"), atp = s.find('@');
  if (scheme_end == std::string_view::npos || atp == std::string_view::npos) return std::nullopt;
  std::string_view userinfo = s.substr(scheme_end + 3, atp - scheme_end - 3), host = s.substr(atp + 1);
  size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos || colon + 1 >= userinfo.size()) return std::nullopt;
  // "cvs://:pserver:anoncvs@host" names an access method, not a password.
  if (userinfo.find(':', colon + 1) != std::string_view::npos) return std::nullopt;
  if (host.empty() || !is_alnum(host.front()) || !is_alnum(host.back())) return std::nullopt;
  return ByteSpan{b, e};
}

bool iin_valid(const std::string& d) {
  size_t n = d.size();
  int p2 = std::stoi(d.substr(0, 2)), p3 = std::stoi(d.substr(0, 3)), p4 = std::stoi(d.substr(0, 4));
  if (d[0] == '4') return n == 13 || n == 16 || n == 19;                     // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;  // Mastercard
  if (p2 == 34 || p2 == 37) return n == 15;                                  // Amex
  bool long_ok = n >= 16 && n <= 19;
  if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65) return long_ok;                       // Discover
  if (p4 >= 3528 && p4 <= 3589) return long_ok;                                                 // JCB
  if (p2 == 62) return long_ok;                                                                 // UnionPay
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) return n >= 14 && n <= 19;  // Diners
  return false;
}

// Digit groups of a card candidate, with the separator before each group.
struct Group {
  uint64_t begin, end;
  char sep;
};

// One separator style, and a printed layout cards use (or no separators at all).
bool card_groups_ok(const std::vector<Group>& g, size_t from, size_t to) {
  static const std::vector<std::vector<size_t>> layouts = {{4, 4, 4, 4}, {4, 4, 4, 4, 3}, {4, 6, 5}, {4, 6, 4}};
  size_t n = to - from;
  if (n == 1) return true;
  for (const auto& layout : layouts) {
    if (layout.size() != n) continue;
    bool ok = true;
    for (size_t i = 0; i < n && ok; ++i)
      ok = g[from + i].end - g[from + i].begin == layout[i] && (i == 0 || g[from + i].sep == g[from + 1].sep);
    if (ok) return true;
  }
  return false;
}

Opt check_card(std::string_view t, uint64_t b, uint64_t e) {
  std::vector<Group> g;
  for (uint64_t i = b; i < e;) {
    char sep = 0;
    if (!is_digit(t[i])) sep = t[i++];
    uint64_t s = i;
    while (i < e && is_digit(t[i])) ++i;
    g.push_back({s, i, sep});
  }
  // Try whole groups, earliest start and longest run first: "Order 12 4111 1111 1111 1111".
  std::string d;
  for (size_t from = 0; from < g.size(); ++from)
    for (size_t to = g.size(); to > from; --to) {
      if (!card_groups_ok(g, from, to)) continue;
      d = digits_of(t.substr(g[from].begin, g[to - 1].end - g[from].begin));
      if (d.size() < 13 || d.size() > 19 || !iin_valid(d) || !luhn_valid(d)) continue;
      if (from == 0 && glued_left(t, g[0].begin)) continue;
      if (to == g.size() && glued_right(t, g[to - 1].end, ".,")) continue;
      return ByteSpan{g[from].begin, g[to - 1].end};
    }
  return std::nullopt;
}

Opt check_ssn(std::string_view t, uint64_t b, uint64_t e) {
  if (glued_left(t, b) || glued_right(t, e)) return std::nullopt;
  if (!ssn_valid(t.substr(b, e - b))) return std::nullopt;
  return ByteSpan{b, e};
}

Opt check_iban(std::string_view t, uint64_t b, uint64_t e) {
  std::string_view s = t.substr(b, e - b);
  if (s.find(' ') != std::string_view::npos) {  // printed form: groups of four
    size_t start = 0;
    while (true) {
      size_t sp = s.find(' ', start);
      if (sp == std::string_view::npos) break;
      if (sp - start != 4) return std::nullopt;
      start = sp + 1;
    }
  }
  if (!iban_valid(s)) return std::nullopt;
  return ByteSpan{b, e};
}

Opt check_ipv4(std::string_view t, uint64_t b, uint64_t e) {
  std::string_view s = t.substr(b, e - b);
  if (!ipv4_valid(s)) return std::nullopt;
  if (glued_left(t, b) || glued_right(t, e, ".-~+")) return std::nullopt;
  // Quads of single digits ("2.3.0.1", "4.8.6.1") are version numbers in
  // practice; so is anything compared or introduced as one.
  if (s.size() == 7 || s[0] == '0') return std::nullopt;  // 0.x.x.x is never a host either
  uint64_t k = b;
  while (k > 0 && (t[k - 1] == ' ' || t[k - 1] == ':')) --k;
  // Version constraints "(>= 1.2.99.3)", "== 2.1.0.4", not assignments "ip=203.0.113.9".
  if (k > 0 && std::strchr("<>~", t[k - 1])) return std::nullopt;
  if (k > 1 && t[k - 1] == '=' && std::strchr("<>=!", t[k - 2])) return std::nullopt;
  static const char* const version_words[] = {"version", "versions", "release", "since",    "section",  "policy",
                                              "v",       "ver",      "rev",     "revision", "firmware", "build"};
  std::string w = word_before(t, b);
  for (const char* v : version_words)
    if (w == v) return std::nullopt;
  return ByteSpan{b, e};
}

Opt check_ipv6(std::string_view t, uint64_t b, uint64_t e) {
  std::string s(t.substr(b, e - b));
  unsigned char prev = before(t, b), next = at(t, e);
  if (is_word(prev) || prev == ':' || prev == '.' || is_word(next) || next == ':') return std::nullopt;
  if (next == '.' && is_alnum(at(t, e + 1))) return std::nullopt;
  unsigned char buf[16];
  if (inet_pton(AF_INET6, s.c_str(), buf) != 1) return std::nullopt;
  // Code such as "abc::def" or "Abc::Def" parses too: demand a decimal digit,
  // one letter case, and for short compressed forms a group of 3+ hex digits.
  bool lower = false, upper = false, digit = false;
  size_t groups = 0, longest = 0, run = 0;
  for (unsigned char c : s) {
    lower |= c >= 'a' && c <= 'f';
    upper |= c >= 'A' && c <= 'F';
    digit |= is_digit(c);
    if (c == ':') {
      run = 0;
    } else if (run++ == 0) {
      ++groups;
    }
    longest = std::max(longest, run);
  }
  if (!digit || (lower && upper)) return std::nullopt;
  if (groups < 3 && longest < 3) return std::nullopt;
  return ByteSpan{b, e};
}

Opt check_address(std::string_view t, uint64_t b, uint64_t e) {
  if (glued_left(t, b) || before(t, b) == '$' || before(t, b) == '#') return std::nullopt;
  return ByteSpan{b, e};
}

}  // namespace

bool luhn_valid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    if (!is_digit(digits[i])) return false;
    int d = digits[i] - '0';
    if (twice && (d *= 2) > 9) d -= 9;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool ssn_valid(std::string_view s) {
  if (s.size() != 11 || s[3] != '-' || s[6] != '-') return false;
  std::string d = digits_of(s);
  if (d.size() != 9) return false;
  std::string_view area(d.data(), 3), group(d.data() + 3, 2), serial(d.data() + 5, 4);
  return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000";
}

bool iban_valid(std::string_view written) {
  static const char* lengths =
      "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BR29BY28CH21CR22CY28CZ24DE22DK18DO28EE20EG29ES24FI18FO18"
      "FR27GB22GE22GI23GL18GR27GT28HR21HU28IE22IL23IQ23IS26IT27JO30KW30KZ20LB28LC32LI21LT20LU20LV21"
      "MC27MD24ME22MK19MR27MT31MU30NL18NO15PK24PL28PS29PT25QA29RO24RS22SA24SC31SE24SI19SK24SM27ST25"
      "SV28TL23TN24TR26UA29VA22VG24XK20";
  std::string s;
  for (char c : written)
    if (c != ' ') s += c;
  if (s.size() < 15 || s.size() > 34 || !std::isupper(static_cast<unsigned char>(s[0])) ||
      !std::isupper(static_cast<unsigned char>(s[1])) || !is_digit(s[2]) || !is_digit(s[3]))
    return false;
  size_t expected = 0;
  for (const char* p = lengths; *p; p += 4)
    if (p[0] == s[0] && p[1] == s[1]) expected = (p[2] - '0') * 10 + (p[3] - '0');
  if (expected != s.size()) return false;
  // Move the first four characters to the end, letters become 10..35, remainder mod 97 must be 1.
  std::string r = s.substr(4) + s.substr(0, 4);
  int mod = 0;
  for (unsigned char c : r) {
    if (is_digit(c)) {
      mod = (mod * 10 + (c - '0')) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      mod = (mod * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return mod == 1;
}

bool ipv4_valid(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = i;
    while (j < s.size() && is_digit(s[j])) ++j;
    size_t n = j - i;
    if (n == 0 || n > 3 || (n > 1 && s[i] == '0')) return false;  // no leading zeros
    if (std::stoi(std::string(s.substr(i, n))) > 255) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

std::optional<ByteSpan> validate_pii(PiiKind kind, std::string_view t, uint64_t b, uint64_t e) {
  if (b >= e || e > t.size()) return std::nullopt;
  switch (kind) {
    case PiiKind::UrlCredentials:
      return check_url_credentials(t, b, e);
    case PiiKind::Email:
      return check_email(t, b, e);
    case PiiKind::Iban:
      return check_iban(t, b, e);
    case PiiKind::CreditCard:
      return check_card(t, b, e);
    case PiiKind::Ssn:
      return check_ssn(t, b, e);
    case PiiKind::Phone:
      return check_phone(t, b, e);
    case PiiKind::Ipv6:
      return check_ipv6(t, b, e);
    case PiiKind::Ipv4:
      return check_ipv4(t, b, e);
    case PiiKind::StreetAddress:
      return check_address(t, b, e);
  }
  return std::nullopt;
}

}  // namespace prealign
