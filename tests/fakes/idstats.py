#!/usr/bin/env python3
"""idstats — are a resolver's DNS IDs, source ports and 0x20 letter case random?

Reads the query log of tests/fakes/dnsforge.py (--log: one line per UDP query,
"id sport qname-as-received qtype") and tests the triples against what independent
uniform random values would give. Prints one line per check for the calling shell
script to turn into TAP:  PASS<TAB>description  or  FAIL<TAB>description<TAB>detail.

Every bound is 5 standard deviations of the statistic under the hypothesis of uniform
random values (or a Poisson tail below 3e-6 for rare events), so an honest resolver fails
one of these checks about once in 100,000 runs, while the generators of the 2010
advisories (sequential IDs, a fixed port, a constant step, a weak seed) fail by far.
The numbers quoted below are for n = 10,000 queries; the code computes them from n.

Queries are kept in the order the server received them, which is the order the resolver
sent them to within the ~50 queries it keeps in flight.
"""

import argparse
import math
import sys

SIGMA = 5.0
ID_SPACE = 65536


def distinct_bounds(n, m, slack):
    """Balls in bins: n values uniform over m. E[distinct] = m(1-(1-1/m)^n) and
    Var = m(m-1)(1-2/m)^n + m(1-1/m)^n - m^2(1-1/m)^2n. For n=10,000, m=65,536:
    E = 9274.5 (not 9278), sd = 24.3, so [9153, 9396] before slack. Two-sided: a counter (IDs that
    never repeat) gives n distinct values, far above the bound. slack widens the upper
    bound: a resolver keeps in-flight IDs unique and the kernel never hands out a port
    in use, which removes up to n*inflight/m collisions."""
    q1 = (1 - 1 / m) ** n
    e = m * (1 - q1)
    var = m * (m - 1) * (1 - 2 / m) ** n + m * q1 - m * m * q1 * q1
    sd = math.sqrt(max(var, 0.0))
    return e, sd, e - SIGMA * sd, e + SIGMA * sd + slack


def chi2_bounds(df):
    """Wilson-Hilferty: (X/k)^(1/3) is nearly normal with mean 1-2/(9k) and variance
    2/(9k). 5 sigma either side; for k = 255: [157, 385]. Too even a spread is as
    suspicious as too uneven a one (a counter fills every bucket equally)."""
    mu = 1 - 2 / (9 * df)
    s = math.sqrt(2 / (9 * df))
    return df * (mu - SIGMA * s) ** 3, df * (mu + SIGMA * s) ** 3


def chi2(values, lo, hi):
    """Chi-square of the low byte of values uniform over [lo, hi]: the expected count of
    bucket b is n times the share of [lo, hi] whose low byte is b."""
    m = hi - lo + 1
    share = [0] * 256
    full, rest = divmod(m, 256)
    for b in range(256):
        share[b] = full
    for v in range(lo + full * 256, hi + 1):
        share[v & 0xFF] += 1
    seen = [0] * 256
    for v in values:
        seen[v & 0xFF] += 1
    n = len(values)
    x = 0.0
    df = -1
    for b in range(256):
        e = n * share[b] / m
        if e > 0:
            x += (seen[b] - e) ** 2 / e
            df += 1
    return x, df


def deltas(values, mod):
    return [(values[i + 1] - values[i]) % mod for i in range(len(values) - 1)]


class Report:
    def __init__(self):
        self.failed = 0

    def check(self, cond, desc, detail=""):
        if cond:
            print("PASS\t%s" % desc)
        else:
            self.failed += 1
            print("FAIL\t%s\t%s" % (desc, detail))


def read_log(path):
    ids, ports, names = [], [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4:
                continue
            ids.append(int(parts[0]))
            ports.append(int(parts[1]))
            names.append(parts[2])
    return ids, ports, names


def check_ids(r, ids, inflight):
    n = len(ids)
    e, sd, lo, hi = distinct_bounds(n, ID_SPACE, n * inflight / ID_SPACE)
    d = len(set(ids))
    r.check(lo <= d <= hi, "IDs: %d distinct of %d, uniform expects %.0f (sd %.1f): within "
            "[%.0f, %.0f]" % (d, n, e, sd, lo, hi), "outside the 5-sigma band")

    # Each bit is a fair coin: ones ~ Binomial(n, 1/2), sd = sqrt(n)/2 = 50 for n=10,000,
    # so 5000 +- 250.
    half, bsd = n / 2, math.sqrt(n) / 2
    ones = [sum((v >> b) & 1 for v in ids) for b in range(16)]
    worst = max(range(16), key=lambda b: abs(ones[b] - half))
    r.check(all(abs(c - half) <= SIGMA * bsd for c in ones),
            "IDs: each of the 16 bits set %.0f +- %.0f times (worst: bit %d, %d)"
            % (half, SIGMA * bsd, worst, ones[worst]),
            "ones per bit: %s" % ones)

    # A step that repeats (x, x+k, x+2k) has probability 1/65536 per pair of steps: for
    # n=10,000 about 0.15 expected; Poisson(0.15) reaches 6 with p ~ 1.5e-8. An LCG or a
    # counter repeats its step nearly every time.
    dl = deltas(ids, ID_SPACE)
    rep = sum(1 for i in range(1, len(dl)) if dl[i] == dl[i - 1])
    r.check(rep <= 5, "IDs: %d steps equal to the previous step (at most 5)" % rep)
    plus1 = sum(1 for x in dl if x == 1)
    run = any(dl[i] == 1 and dl[i - 1] == 1 for i in range(1, len(dl)))
    r.check(plus1 <= 5 and not run,
            "IDs: %d steps of +1 (at most 5), never two in a row" % plus1)

    for shift, what in ((0, "low"), (8, "high")):
        x, df = chi2([v >> shift for v in ids], 0, 255)
        clo, chi = chi2_bounds(df)
        r.check(clo <= x <= chi, "IDs: chi-square of the %s byte %.1f, df %d, within "
                "[%.0f, %.0f]" % (what, x, df, clo, chi))


def check_ports(r, ports, inflight):
    n = len(ports)
    lo, hi = min(ports), max(ports)
    m = hi - lo + 1
    # The observed range stands for the ephemeral range (32768-60999 by default:
    # m = 28232, E[distinct] = 8421, sd = 31.4 for n=10,000; fixed bit 0x8000).
    e, sd, dlo, dhi = distinct_bounds(n, m, n * inflight / m)
    d = len(set(ports))
    r.check(m >= 1024, "ports: observed range %d-%d spans %d ports (at least 1024)"
            % (lo, hi, m))
    r.check(dlo <= d <= dhi, "ports: %d distinct of %d over %d-%d, uniform expects %.0f "
            "(sd %.1f): within [%.0f, %.0f]" % (d, n, lo, hi, e, sd, dlo, dhi),
            "outside the 5-sigma band")

    # Bits above the highest bit where lo and hi differ are fixed by the range; every
    # other bit must take both values (with n=10,000 a free bit stays constant with
    # probability ~2^-10000).
    fixed_mask = 0xFFFF
    while fixed_mask and (lo & fixed_mask) != (hi & fixed_mask):
        fixed_mask = (fixed_mask << 1) & 0xFFFF
    all_and = ports[0]
    all_or = ports[0]
    for p in ports:
        all_and &= p
        all_or |= p
    constant = (~(all_or ^ all_and)) & 0xFFFF
    extra = constant & ~fixed_mask
    r.check(extra == 0, "ports: no constant bit below the range's fixed bits (mask %#06x)"
            % fixed_mask, "constant bits %#06x" % extra)

    # Steps over m values: a repeat has probability ~1/m per pair (0.35 expected for
    # m=28232); Poisson(0.35) reaches 6 with p ~ 2e-6. A +1 step likewise.
    dl = deltas(ports, 65536)
    rep = sum(1 for i in range(1, len(dl)) if dl[i] == dl[i - 1])
    r.check(rep <= 5, "ports: %d steps equal to the previous step (at most 5)" % rep)
    plus1 = sum(1 for x in dl if x == 1)
    run = any(dl[i] == 1 and dl[i - 1] == 1 for i in range(1, len(dl)))
    r.check(plus1 <= 5 and not run,
            "ports: %d steps of +1 (at most 5), never two in a row" % plus1)

    x, df = chi2(ports, lo, hi)
    clo, chi = chi2_bounds(df)
    r.check(clo <= x <= chi, "ports: chi-square of the low byte %.1f, df %d, within "
            "[%.0f, %.0f]" % (x, df, clo, chi))


def check_case(r, names):
    # draft-vixie-dnsext-dns0x20: every letter upper case with probability 1/2. Over L
    # letters (L = 250,000 for 10,000 names of 25 letters) the upper-case count is
    # Binomial(L, 1/2): L/2 +- 5*sqrt(L)/2, i.e. 50% +- 0.5%.
    letters = upper = 0
    pos_n, pos_up = {}, {}
    for name in names:
        for i, ch in enumerate(name):
            if ch.isascii() and ch.isalpha():
                letters += 1
                up = ch.isupper()
                upper += up
                pos_n[i] = pos_n.get(i, 0) + 1
                pos_up[i] = pos_up.get(i, 0) + up
    if letters == 0:
        r.check(False, "0x20: upper-case share of letters", "no letters logged")
        return
    frac = upper / letters
    tol = SIGMA * 0.5 / math.sqrt(letters)
    r.check(abs(frac - 0.5) <= tol, "0x20: %.2f%% of %d letters upper case (50%% +- %.2f%%)"
            % (100 * frac, letters, 100 * tol))
    # Each position alone (n letters at a position: 50% +- 5*sqrt(n)/2), so that a
    # resolver randomising only part of the name is caught.
    bad = [i for i in pos_n if pos_n[i] >= 100 and
           abs(pos_up[i] - pos_n[i] / 2) > SIGMA * math.sqrt(pos_n[i]) / 2]
    r.check(not bad, "0x20: every letter position upper case 50%% +- 5 sigma (%d positions)"
            % sum(1 for i in pos_n if pos_n[i] >= 100), "biased positions: %s" % bad[:10])


def main():
    ap = argparse.ArgumentParser(description="randomness checks over dnsforge's query log")
    ap.add_argument("log")
    ap.add_argument("--inflight", type=int, default=50,
                    help="queries the resolver kept in flight (widens distinct bounds)")
    ap.add_argument("--min", type=int, default=1000, help="fewest queries to judge")
    args = ap.parse_args()
    ids, ports, names = read_log(args.log)
    r = Report()
    r.check(len(ids) >= args.min, "log holds %d queries (at least %d)" % (len(ids), args.min))
    if len(ids) < args.min:
        return 1
    check_ids(r, ids, args.inflight)
    check_ports(r, ports, args.inflight)
    check_case(r, names)
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
