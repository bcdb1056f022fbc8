#!/usr/bin/python3
"""Python `re` reference for the pii scorer, for bench/score_pii.sh.

Same patterns (read from `pii_bench --patterns`), same validators (a port of
src/score/pii_patterns.cpp), same overlap rules and the same per-line score
(detections per code point), on the same NUL-separated input. Prints one JSON
line like pii_bench does.

    pii_reference.py PATTERNS.json INPUT [--runs N]
"""
import bisect
import ipaddress
import json
import re
import sys
import time

KINDS = ["url_credentials", "email", "iban", "credit_card", "ssn", "phone", "ipv6", "ipv4", "street_address"]
PRIORITY = {k: i for i, k in enumerate(KINDS)}

IBAN_LENGTHS = dict(
    (s[:2], int(s[2:]))
    for s in re.findall(
        r"[A-Z]{2}\d\d",
        "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BR29BY28CH21CR22CY28CZ24DE22DK18DO28EE20EG29ES24FI18FO18"
        "FR27GB22GE22GI23GL18GR27GT28HR21HU28IE22IL23IQ23IS26IT27JO30KW30KZ20LB28LC32LI21LT20LU20LV21"
        "MC27MD24ME22MK19MR27MT31MU30NL18NO15PK24PL28PS29PT25QA29RO24RS22SA24SC31SE24SI19SK24SM27ST25"
        "SV28TL23TN24TR26UA29VA22VG24XK20",
    )
)
CARD_LAYOUTS = [[4, 4, 4, 4], [4, 4, 4, 4, 3], [4, 6, 5], [4, 6, 4]]
VERSION_WORDS = {"version", "versions", "release", "since", "section", "policy", "v", "ver", "rev", "revision",
                 "firmware", "build"}


def isdigit(c):
    return 48 <= c <= 57


def isalnum(c):
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122


def isalpha(c):
    return 65 <= c <= 90 or 97 <= c <= 122


def at(t, i):
    return t[i] if 0 <= i < len(t) else 0


def before(t, i):
    return t[i - 1] if 0 < i <= len(t) else 0


def digits_of(s):
    return bytes(c for c in s if isdigit(c))


def glued_left(t, b):
    c = before(t, b)
    if isalnum(c):
        return True
    return c in b".-/" and c != 0 and isalnum(before(t, b - 1))


def glued_right(t, e, joiners=b".-/"):
    c = at(t, e)
    if isalnum(c):
        return True
    return c != 0 and c in joiners and isalnum(at(t, e + 1))


def nanp_valid(ten):
    return len(ten) == 10 and ten[0] >= 50 and ten[3] >= 50


def word_before(t, b):
    e = b
    while e > 0 and t[e - 1] in b" :-(":
        e -= 1
    s = e
    while s > 0 and e - s < 24 and isalpha(t[s - 1]):
        s -= 1
    return t[s:e].lower()


def luhn_valid(d):
    if not d:
        return False
    total, twice = 0, False
    for c in reversed(d):
        v = c - 48
        if twice:
            v *= 2
            if v > 9:
                v -= 9
        total += v
        twice = not twice
    return total % 10 == 0


def iin_valid(d):
    n = len(d)
    p2, p3, p4 = int(d[:2]), int(d[:3]), int(d[:4])
    if d[0] == 52:  # '4'
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    long_ok = 16 <= n <= 19
    if p4 == 6011 or 644 <= p3 <= 649 or p2 == 65:
        return long_ok
    if 3528 <= p4 <= 3589:
        return long_ok
    if p2 == 62:
        return long_ok
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):
        return 14 <= n <= 19
    return False


def ssn_valid(s):
    if len(s) != 11 or s[3] != 45 or s[6] != 45:
        return False
    d = digits_of(s)
    if len(d) != 9:
        return False
    area, group, serial = d[:3], d[3:5], d[5:]
    return area != b"000" and area != b"666" and area[0] != 57 and group != b"00" and serial != b"0000"


def iban_valid(s):
    s = s.replace(b" ", b"")
    if not (15 <= len(s) <= 34) or not re.fullmatch(rb"[A-Z]{2}[0-9]{2}[A-Z0-9]+", s):
        return False
    if IBAN_LENGTHS.get(s[:2].decode()) != len(s):
        return False
    r = s[4:] + s[:4]
    return int("".join(str(int(chr(c), 36)) for c in r)) % 97 == 1


def ipv4_valid(s):
    parts = s.split(b".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not (1 <= len(p) <= 3) or not p.isdigit() or (len(p) > 1 and p[0] == 48) or int(p) > 255:
            return False
    return True


def check_phone(t, b, e):
    s = t[b:e]
    if glued_left(t, b) or glued_right(t, e, b".-/+") or before(t, b) in (43, 126):  # '+', '~'
        return None
    if s[0] != 43:
        d = digits_of(s)
        if len(d) == 11 and d[0] == 49:
            d = d[1:]
        if not nanp_valid(d):
            return None
        if b"(" not in s:
            last = len(s) - 5
            if not isdigit(s[last + 1]) or isdigit(s[last]) or s[last] != s[last - 4]:
                return None
        return (b, e)
    d = digits_of(s)
    seps = run = parens = 0
    for i in range(1, len(s)):
        c = s[i]
        if isdigit(c):
            run = 0
            continue
        seps += 1
        run += 1
        if run > 2:
            return None
        if c == 40:  # '('
            close = s.find(b")", i)
            parens += 1
            if parens > 1 or close < 0 or not (1 <= close - i - 1 <= 4):
                return None
    if s.count(b"(") != s.count(b")"):
        return None
    if not (8 <= len(d) <= 15):
        return None
    if seps == 0 and not (10 <= len(d) <= 13):
        return None
    if d[0] == 49 and (len(d) != 11 or not nanp_valid(d[1:])):
        return None
    return (b, e)


def check_email(t, b, e):
    run = b
    while run > 0 and b - run <= 64 and (isalnum(t[run - 1]) or t[run - 1] in b"._%+-"):
        run -= 1
    if b - run > 64:
        return None
    while run < b and not isalnum(t[run]):
        run += 1
    b = run
    a = t.find(b"@", b)
    if a < 0 or a >= e:
        return None
    local, domain = t[b:a], t[a + 1:e]
    if not local or len(local) > 64 or local.endswith(b".") or b".." in local:
        return None
    if e - b > 254 or at(t, e) == 45 or (at(t, e) == 46 and isalnum(at(t, e + 1))):
        return None
    labels = domain.split(b".")
    for lab in labels:
        if not lab or len(lab) > 63 or lab[0] == 45 or lab[-1] == 45:
            return None
    if not labels[-1].isalpha():
        return None
    i = b
    while i > 0 and b - i < 256 and t[i - 1] not in b" \t\n\r\v\f":
        if t[i - 1] == 47:
            return None
        i -= 1
    return (b, e)


def check_url_credentials(t, b, e):
    s = t[b:e]
    scheme_end, atp = s.find(b"://"), s.find(b"@")
    if scheme_end < 0 or atp < 0:
        return None
    userinfo, host = s[scheme_end + 3:atp], s[atp + 1:]
    colon = userinfo.find(b":")
    if colon < 0 or colon + 1 >= len(userinfo) or b":" in userinfo[colon + 1:]:
        return None
    if not host or not isalnum(host[0]) or not isalnum(host[-1]):
        return None
    return (b, e)


def check_card(t, b, e):
    groups = []
    i = b
    while i < e:
        sep = 0
        if not isdigit(t[i]):
            sep = t[i]
            i += 1
        s = i
        while i < e and isdigit(t[i]):
            i += 1
        groups.append((s, i, sep))

    def layout_ok(lo, hi):
        n = hi - lo
        if n == 1:
            return True
        for layout in CARD_LAYOUTS:
            if len(layout) == n and all(groups[lo + k][1] - groups[lo + k][0] == layout[k] and
                                        (k == 0 or groups[lo + k][2] == groups[lo + 1][2]) for k in range(n)):
                return True
        return False

    for lo in range(len(groups)):
        for hi in range(len(groups), lo, -1):
            if not layout_ok(lo, hi):
                continue
            d = digits_of(t[groups[lo][0]:groups[hi - 1][1]])
            if not (13 <= len(d) <= 19) or not iin_valid(d) or not luhn_valid(d):
                continue
            if lo == 0 and glued_left(t, groups[0][0]):
                continue
            if hi == len(groups) and glued_right(t, groups[hi - 1][1], b".,"):
                continue
            return (groups[lo][0], groups[hi - 1][1])
    return None


def check_ssn(t, b, e):
    if glued_left(t, b) or glued_right(t, e) or not ssn_valid(t[b:e]):
        return None
    return (b, e)


def check_iban(t, b, e):
    s = t[b:e]
    if b" " in s and any(len(g) != 4 for g in s.split(b" ")[:-1]):
        return None
    return (b, e) if iban_valid(s) else None


def check_ipv4(t, b, e):
    s = t[b:e]
    if not ipv4_valid(s) or glued_left(t, b) or glued_right(t, e, b".-~+"):
        return None
    if len(s) == 7 or s[0] == 48:
        return None
    k = b
    while k > 0 and t[k - 1] in b" :":
        k -= 1
    if k > 0 and t[k - 1] in b"<>~":
        return None
    if k > 1 and t[k - 1] == 61 and t[k - 2] in b"<>=!":
        return None
    if word_before(t, b).decode() in VERSION_WORDS:
        return None
    return (b, e)


def check_ipv6(t, b, e):
    s = t[b:e]
    prev, nxt = before(t, b), at(t, e)
    word = lambda c: isalnum(c) or c == 95
    if word(prev) or prev in (58, 46) or word(nxt) or nxt == 58:
        return None
    if nxt == 46 and isalnum(at(t, e + 1)):
        return None
    try:
        ipaddress.IPv6Address(s.decode("ascii"))
    except ValueError:
        return None
    lower = any(97 <= c <= 102 for c in s)
    upper = any(65 <= c <= 70 for c in s)
    if not any(isdigit(c) for c in s) or (lower and upper):
        return None
    pieces = [p for p in re.split(rb":", s) if p]
    if len(pieces) < 3 and max((len(p) for p in pieces), default=0) < 3:
        return None
    return (b, e)


def check_address(t, b, e):
    if glued_left(t, b) or before(t, b) in (36, 35):  # '$', '#'
        return None
    return (b, e)


VALIDATORS = {"url_credentials": check_url_credentials, "email": check_email, "iban": check_iban,
              "credit_card": check_card, "ssn": check_ssn, "phone": check_phone, "ipv6": check_ipv6,
              "ipv4": check_ipv4, "street_address": check_address}


def detect(t, compiled):
    found = []
    for kind, pats in compiled:
        cands = sorted({(m.start(), m.end()) for p in pats for m in p.finditer(t)}, key=lambda x: (x[0], -x[1]))
        last_end, validate = -1, VALIDATORS[kind]
        for b, e in cands:
            if b < last_end:
                continue
            v = validate(t, b, e)
            if v and v[0] >= last_end:
                found.append((PRIORITY[kind], v[0], v[1]))
                last_end = v[1]
    found.sort()
    taken, out = [], []  # accepted spans, kept sorted by start
    for kind, b, e in found:
        i = bisect.bisect_left(taken, (b, -1))
        if (i < len(taken) and taken[i][0] < e) or (i > 0 and taken[i - 1][1] > b):
            continue
        taken.insert(i, (b, e))
        out.append((kind, b, e))
    return out


def score_document(t, compiled, per_kind):
    dets = detect(t, compiled)
    starts = [m.end() for m in re.finditer(rb"\n", t)]  # line i ends at starts[i]
    counts = {}
    for kind, b, e in dets:
        per_kind[KINDS[kind]] = per_kind.get(KINDS[kind], 0) + 1
        line = bisect.bisect_right(starts, b)
        counts[line] = counts.get(line, 0) + 1
    total, begin = 0.0, 0
    for i, end in enumerate(starts + ([len(t)] if not starts or starts[-1] != len(t) else [])):
        if counts.get(i):
            total += counts[i] / len(t[begin:end].decode("utf-8", "surrogateescape"))
        begin = end
    return total, len(dets)


def main():
    patterns_path, input_path = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 1
    by_kind = {}
    for p in json.load(open(patterns_path)):
        by_kind.setdefault(p["kind"], []).append(re.compile(p["regex"].encode()))
    compiled = [(k, by_kind[k]) for k in KINDS if k in by_kind]
    data = open(input_path, "rb").read()
    docs = [d for d in data.split(b"\0") if d]
    nbytes = sum(len(d) for d in docs)
    best_cpu = best_wall = float("inf")
    for _ in range(runs):
        per_kind, total_score, detections = {}, 0.0, 0
        c0, w0 = time.thread_time(), time.perf_counter()
        for d in docs:
            s, n = score_document(d, compiled, per_kind)
            total_score += s
            detections += n
        best_cpu = min(best_cpu, time.thread_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    print(json.dumps({"engine": "python-re", "what": "pii", "bytes": nbytes, "documents": len(docs), "runs": runs,
                      "seconds_cpu": best_cpu, "seconds_wall": best_wall, "mb_per_s_cpu": nbytes / best_cpu / 1e6,
                      "mb_per_s_wall": nbytes / best_wall / 1e6, "detections": detections,
                      "by_kind": dict(sorted(per_kind.items())), "score_sum": total_score}))


if __name__ == "__main__":
    main()
