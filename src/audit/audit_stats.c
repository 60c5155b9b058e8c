/*
 * audit_stats — how guessable a target's DNS transaction IDs and source ports are, and the
 * judgement of a whole audit run. See audit.h.
 *
 * The question every number here answers: how many bits does an off-path attacker, who can
 * make the target look up a name of his choosing (send it mail) and see the queries for his
 * own zone, still have to guess for the next query? Estimating entropy from ~100 samples of
 * a 16-bit value is the hard part: the plug-in Shannon estimate of the values can never
 * exceed log2(n) (6.6 bits at n = 100) however random the source, so it is reported but
 * never used as the estimate on its own. The main estimate is the sum of the per-bit binary
 * entropies (unbiased enough at n = 100: each bit's frequency is well estimated), which is
 * then cut down by everything that shows structure:
 *   - detectors for the known weak generators (constant, sequential, stepped, time-derived,
 *     process-derived, the 15-bit window of old BIND/Windows-style generators, a small port
 *     range), each with the bits it leaves;
 *   - the plug-in entropy of the values, of their arithmetic steps and of their XOR steps,
 *     but only when the sample covers the distribution (few values seen once: Good-Turing),
 *     i.e. when the plug-in estimate is not just log2(n);
 *   - the observed range, when its empty arc is too large to be chance;
 *   - simple predictors (enum audit_pred): one right with rate p leaves -log2 p bits, applied
 *     only when it was right at least twice and clearly more often than chance.
 *
 * Ownership: pure functions over caller arrays; scratch memory is allocated and freed per
 * call. Errors: none reported; out of memory is fatal (exit 70), as for the rest of
 * mxaudit. Limits: cost is O(n log n) per sort, about twenty sorts per call; n up to
 * AUDIT_QUERIES_MAX is milliseconds. No libm: the build links none, so log2 is computed
 * here (st_log2). Security: the values come from the audited (untrusted) target but are
 * only counted; every index is a 16-bit value into a 65536-entry table or below n.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "util/log.h"

#define ST_LN2 0.69314718055994530942
#define ST_E   2.71828182845904523536

/* A range of at most 2^12 values is "small": the old BSD 1024..5000 ephemeral ports are;
   the Linux default 32768..60999 (14.8 bits) and Windows 49152..65535 (14 bits) are not. */
#define ST_SMALLRANGE_MAX 4096
/* Time-derived: the residual of the ID against a clock spans at most 2^10 values and at
   least 6 bits less than the IDs themselves. */
#define ST_TIME_MAX_BITS 10.0
#define ST_TIME_MARGIN   6.0
/* A plug-in estimate is trusted when at most this fraction of the sample was seen once. */
#define ST_COVER_SINGLES 0.2
/* 0x20 counts for at most this many bits: the attacker picks the victim's domain, and a
   typical one (example.com) has about ten letters; mxaudit's long random labels would
   otherwise overstate it. */
#define ST_X20_MAX_BITS 10.0

/* log2 without libm: x = m * 2^e with m in [1, 2), ln m = 2 atanh((m-1)/(m+1)). */
static double
st_log2(double x)
{
	double z, z2, term, sum;
	int e = 0, k;

	if (!(x > 0.0))
		return 0.0;
	while (x >= 2.0 && e < 2100) {
		x /= 2.0;
		e++;
	}
	while (x < 1.0 && e > -2100) {
		x *= 2.0;
		e--;
	}
	z = (x - 1.0) / (x + 1.0); /* 0 <= z < 1/3 */
	z2 = z * z;
	term = z;
	sum = 0.0;
	for (k = 1; k < 60; k += 2) {
		sum += term / k;
		term *= z2;
	}
	return e + 2.0 * sum / ST_LN2;
}

/* Binary entropy of a bit that is one with probability p. */
static double
st_h2(double p)
{
	if (p <= 0.0 || p >= 1.0)
		return 0.0;
	return -p * st_log2(p) - (1.0 - p) * st_log2(1.0 - p);
}

static double
st_min(double a, double b)
{
	return a < b ? a : b;
}

static int
st_cmp16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

static void
st_sort(uint16_t *s, size_t n)
{
	if (n > 1)
		qsort(s, n, sizeof(*s), st_cmp16);
}

/* The distribution of a sorted sample. */
struct st_dist {
	size_t distinct;
	size_t maxc;    /* count of the most common value */
	size_t singles; /* values seen exactly once */
	uint16_t mode;  /* the smallest most common value */
	double shannon; /* plug-in entropy, bits */
};

static void
st_dist(const uint16_t *s, size_t n, struct st_dist *d)
{
	size_t i, j, c;
	double p;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && s[j] == s[i]; j++)
			continue;
		c = j - i;
		d->distinct++;
		if (c == 1)
			d->singles++;
		if (c > d->maxc) {
			d->maxc = c;
			d->mode = s[i];
		}
		p = (double)c / (double)n;
		d->shannon -= p * st_log2(p);
	}
}

/*
 * The plug-in entropy of d, if the sample covers the distribution (few values seen once,
 * so unseen mass is small), with the Miller-Madow correction (k-1)/(2n ln 2) for its
 * downward bias; otherwise 16 (no information).
 */
static double
st_cover_cap(const struct st_dist *d, size_t n)
{
	if (n < 4 || (double)d->singles > ST_COVER_SINGLES * (double)n)
		return 16.0;
	return d->shannon + (double)(d->distinct - 1) / (2.0 * (double)n * ST_LN2);
}

/*
 * Width (number of values) of the narrowest arc of the circle 0..mod-1 holding k points of
 * the sorted sample s[0..n). k = n gives the whole sample: mod minus the largest gap.
 */
static uint32_t
st_arc(const uint16_t *s, size_t n, size_t k, uint32_t mod)
{
	uint32_t best = mod, w;
	size_t i, j;

	if (n == 0 || k == 0)
		return 0;
	if (k > n)
		k = n;
	for (i = 0; i < n; i++) {
		j = i + k - 1;
		if (j < n)
			w = (uint32_t)s[j] - s[i] + 1;
		else
			w = (uint32_t)s[j - n] + mod - s[i] + 1;
		if (w < best)
			best = w;
	}
	return best;
}

/* Bits of the narrowest arc holding pct% of the sorted sample. */
static double
st_arc_bits(const uint16_t *s, size_t n, unsigned pct)
{
	size_t k = (n * pct + 99) / 100;

	return st_log2((double)st_arc(s, n, k, 65536));
}

/*
 * Is a largest empty gap of frac of the circle more than chance? For n uniform points,
 * P(largest gap > g) <= n (1-g)^(n-1) ~ n e^(-gn), which is e^-8 (0.03%) at
 * g = (ln n + 8)/n. (At n = 100 that is 12.6% of the circle: the 13.8% the Linux port
 * range 32768..60999 leaves empty of its half is significant.)
 */
static bool
st_gap_significant(double frac, size_t n)
{
	double g;

	if (n < 2)
		return false;
	g = (st_log2((double)n) * ST_LN2 + 8.0) / (double)n;
	return g < 0.5 && frac > g;
}

/* Fraction of values in lo..hi (inclusive) with bit b set, if uniform over that range. */
static double
st_bit_expect(unsigned b, uint32_t lo, uint32_t hi)
{
	uint32_t period = 2u << b, half = 1u << b;
	uint32_t ones_hi, ones_lo;

	/* ones(x) = values in [0, x) with bit b set. */
	ones_hi =
	    ((hi + 1) / period) * half + ((hi + 1) % period > half ? (hi + 1) % period - half : 0);
	ones_lo = (lo / period) * half + (lo % period > half ? lo % period - half : 0);
	return (double)(ones_hi - ones_lo) / (double)(hi - lo + 1);
}

/*
 * Were k hits in m tries clearly more than chance p0 gives? Hits are rare events, so the
 * Chernoff bound of the Poisson tail: P(X >= k) <= e^-l (e l / k)^k with l = m p0; the
 * hits count when k >= 2 and that bound is below 2^-20 (a random source, four predictors,
 * is then capped about once in 10^5 runs).
 */
static bool
st_above_chance(size_t k, size_t m, double p0)
{
	double l = (double)m * p0;

	if (k < 2 || m == 0 || l >= (double)k)
		return false;
	return (double)k * st_log2(l * ST_E / (double)k) - l / ST_LN2 < -20.0;
}

/*
 * Time detector. For each clock unit u, T_i = floor(t_i / u) mod 2^16; the ID is
 * time-derived if either the residual (v_i - T_i) or the step error (dv_i - dT_i) mod 2^16
 * is confined to a narrow arc (90% of the sample). The arc's bits are what is left to
 * guess. Returns the smallest, or 16.
 */
static double
st_time_bits(const uint16_t *v, const uint64_t *t, size_t n, uint16_t *s)
{
	static const uint64_t units[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
	double best = 16.0, b;
	size_t i, u, moved;
	uint16_t T, Tp;

	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		moved = 0;
		for (i = 0; i < n; i++) {
			T = (uint16_t)(t[i] / units[u]);
			s[i] = (uint16_t)(v[i] - T);
			if (i > 0 && T != (uint16_t)(t[i - 1] / units[u]))
				moved++;
		}
		/* A clock that did not move in this unit explains nothing. */
		if (moved < n / 4)
			continue;
		st_sort(s, n);
		b = st_arc_bits(s, n, 90);
		best = st_min(best, b);
		for (i = 1; i < n; i++) {
			T = (uint16_t)(t[i] / units[u]);
			Tp = (uint16_t)(t[i - 1] / units[u]);
			s[i - 1] = (uint16_t)((uint16_t)(v[i] - v[i - 1]) - (uint16_t)(T - Tp));
		}
		st_sort(s, n - 1);
		b = st_arc_bits(s, n - 1, 90);
		best = st_min(best, b);
	}
	return best;
}

/*
 * The 15-bit window of old generators: exactly one bit (usually the top) constant, or
 * sticky (kept across at least 90% of consecutive queries, so it is known for a window),
 * while the other 15 bits are balanced and cover their 2^15 values without a gap larger
 * than chance (which tells it from a port range like 32768..60999). Returns the bit, or -1.
 */
static int
st_window15(const uint16_t *v, size_t n, const double *ones, const size_t *flips, uint16_t *s)
{
	int w = -1;
	unsigned b;
	size_t i;
	double d, gap;
	bool sticky;

	/* A sticky bit needs 100 values: at n = 20, one of 16 random bits flips at most
	   once about once in 2000 runs. */
	for (b = 0; b < 16; b++) {
		sticky = ones[b] == 0.0 || ones[b] == 1.0 ||
		    (n >= 100 && (double)flips[b] <= 0.1 * (double)(n - 1));
		if (sticky) {
			if (w >= 0)
				return -1;
			w = (int)b;
			continue;
		}
		/* Balanced: within 4.5 standard deviations (0.5/sqrt n) of 1/2. */
		d = ones[b] - 0.5;
		if (d * d > 20.25 * 0.25 / (double)n)
			return -1;
	}
	if (w < 0)
		return -1;
	for (i = 0; i < n; i++)
		s[i] = (uint16_t)(((v[i] >> (w + 1)) << w) | (v[i] & ((1u << w) - 1)));
	st_sort(s, n);
	gap = (double)(32768 - st_arc(s, n, n, 32768)) / 32768.0;
	if (st_gap_significant(gap, n))
		return -1;
	return w;
}

void
audit_stats_analyze(const uint16_t *v, size_t n, const uint64_t *t_us, struct audit_stats *st)
{
	struct st_dist dv, dd, dx;
	uint16_t *s;
	uint32_t *dcount, bestc;
	size_t i, hits[AP_NPRED], tries[AP_NPRED], pm1, small_fwd, small_bwd;
	size_t masks, flips[16], ones[16], lowdist;
	uint16_t d, x, guess, best, hi0, lo_min, lo_max;
	uint8_t lowseen[256];
	unsigned b, sf;
	uint32_t arc_all;
	double eff, cap, gap, w_est, p, dev, tbits;
	bool hi_const, unbal;
	int w;

	memset(st, 0, sizeof(*st));
	st->n = n;
	if (n < AUDIT_MIN_SAMPLES)
		st->flags |= AUDIT_F_FEW;
	if (n == 0)
		return;

	s = malloc(n * sizeof(*s));
	dcount = calloc(65536, sizeof(*dcount));
	if (s == NULL || dcount == NULL)
		fatal("audit_stats_analyze");

	/* Values: range, bits, distribution. */
	st->min = st->max = v[0];
	memset(ones, 0, sizeof(ones));
	memset(flips, 0, sizeof(flips));
	for (i = 0; i < n; i++) {
		if (v[i] < st->min)
			st->min = v[i];
		if (v[i] > st->max)
			st->max = v[i];
		for (b = 0; b < 16; b++) {
			ones[b] += (v[i] >> b) & 1;
			if (i > 0)
				flips[b] += ((v[i] ^ v[i - 1]) >> b) & 1;
		}
	}
	for (b = 0; b < 16; b++) {
		st->bit_ones[b] = (double)ones[b] / (double)n;
		st->bit_entropy += st_h2(st->bit_ones[b]);
	}
	memcpy(s, v, n * sizeof(*s));
	st_sort(s, n);
	st_dist(s, n, &dv);
	arc_all = st_arc(s, n, n, 65536);
	st->distinct = dv.distinct;
	st->shannon_bits = dv.shannon;
	st->min_entropy_bits = -st_log2((double)dv.maxc / (double)n);

	/* Steps: arithmetic and XOR, and the predictors (which walk the steps in order). */
	memset(hits, 0, sizeof(hits));
	memset(tries, 0, sizeof(tries));
	memset(&dd, 0, sizeof(dd));
	memset(&dx, 0, sizeof(dx));
	pm1 = small_fwd = small_bwd = masks = 0;
	best = 0;
	bestc = 0;
	for (i = 1; i < n; i++) {
		d = (uint16_t)(v[i] - v[i - 1]);
		x = (uint16_t)(v[i] ^ v[i - 1]);
		if (d == 1 || d == 0xffff)
			pm1++;
		if (d >= 1 && d <= 16)
			small_fwd++;
		if (d >= 0xfff0)
			small_bwd++;
		/* x = 2^k - 1, k >= 1: a counter's carry chain, with or without an XOR key. */
		if (x != 0 && (x & (uint16_t)(x + 1)) == 0)
			masks++;
		tries[AP_SAME]++;
		hits[AP_SAME] += v[i] == v[i - 1];
		tries[AP_INC]++;
		hits[AP_INC] += v[i] == (uint16_t)(v[i - 1] + 1);
		if (i >= 2) {
			guess = (uint16_t)(v[i - 1] + (uint16_t)(v[i - 1] - v[i - 2]));
			tries[AP_DELTA]++;
			hits[AP_DELTA] += v[i] == guess;
			tries[AP_COMMON]++;
			hits[AP_COMMON] += v[i] == (uint16_t)(v[i - 1] + best);
		}
		/* The most common step so far; ties keep the one reached first. */
		if (++dcount[d] > bestc) {
			bestc = dcount[d];
			best = d;
		}
	}
	for (i = 0; i < AP_NPRED; i++)
		st->predict[i] = tries[i] > 0 ? (double)hits[i] / (double)tries[i] : 0.0;
	if (n >= 2) {
		for (i = 1; i < n; i++)
			s[i - 1] = (uint16_t)(v[i] - v[i - 1]);
		st_sort(s, n - 1);
		st_dist(s, n - 1, &dd);
		st->delta_entropy = dd.shannon;
		st->common_delta = dd.mode >= 32768 ? (int32_t)dd.mode - 65536 : dd.mode;
		st->common_delta_frac = (double)dd.maxc / (double)(n - 1);
		for (i = 1; i < n; i++)
			s[i - 1] = (uint16_t)(v[i] ^ v[i - 1]);
		st_sort(s, n - 1);
		st_dist(s, n - 1, &dx);
	}

	/*
	 * Structural detectors, from 3 values on. Sequential: at least 60% of the steps are
	 * +1 or -1; stepped: half the steps are one other (non-zero) step; sequential again:
	 * 80% are small steps of one sign (a counter shared with queries we do not see).
	 */
	if (n >= 2 && (double)dv.maxc >= 0.9 * (double)n)
		st->flags |= AUDIT_F_CONSTANT;
	if (n >= 3 && !(st->flags & AUDIT_F_CONSTANT)) {
		if ((double)pm1 >= 0.6 * (double)(n - 1))
			st->flags |= AUDIT_F_SEQUENTIAL;
		else if (st->common_delta_frac >= 0.5 && st->common_delta != 0 &&
		    st->common_delta != 1 && st->common_delta != -1)
			st->flags |= AUDIT_F_STEPPED;
		else if ((double)small_fwd >= 0.8 * (double)(n - 1) ||
		    (double)small_bwd >= 0.8 * (double)(n - 1))
			st->flags |= AUDIT_F_SEQUENTIAL;
	}
	sf = AUDIT_F_CONSTANT | AUDIT_F_SEQUENTIAL | AUDIT_F_STEPPED;

	/* Statistical detectors need AUDIT_MIN_SAMPLES values to be told from chance. */
	tbits = 16.0;
	w = -1;
	if (n >= AUDIT_MIN_SAMPLES) {
		if (t_us != NULL && !(st->flags & sf)) {
			tbits = st_time_bits(v, t_us, n, s);
			memcpy(s, v, n * sizeof(*s));
			st_sort(s, n);
			if (tbits > ST_TIME_MAX_BITS ||
			    tbits > st_arc_bits(s, n, 90) - ST_TIME_MARGIN)
				tbits = 16.0;
			else
				st->flags |= AUDIT_F_TIME;
		}
		/*
		 * Process-derived: (a) the high byte constant while the low byte runs over
		 * most of 0..255 (a counter or random byte under a pid-like prefix; a small
		 * range such as ports 1024..1100 leaves the low byte a narrow span); (b) XOR
		 * steps of the form 2^k-1 without +-1 steps: a counter under an XOR key;
		 * (c) a handful of scattered values repeated (one constant per worker).
		 */
		hi0 = (uint16_t)(v[0] >> 8);
		hi_const = true;
		lo_min = 255;
		lo_max = 0;
		memset(lowseen, 0, sizeof(lowseen));
		lowdist = 0;
		for (i = 0; i < n; i++) {
			if ((v[i] >> 8) != hi0)
				hi_const = false;
			x = v[i] & 0xff;
			if (x < lo_min)
				lo_min = x;
			if (x > lo_max)
				lo_max = x;
			if (!lowseen[x]) {
				lowseen[x] = 1;
				lowdist++;
			}
		}
		if (!(st->flags & AUDIT_F_CONSTANT)) {
			if (hi_const && lowdist >= 16 && lo_max - lo_min >= 192)
				st->flags |= AUDIT_F_PID;
			if ((double)masks >= 0.8 * (double)(n - 1) &&
			    !(st->flags & AUDIT_F_SEQUENTIAL))
				st->flags |= AUDIT_F_PID;
			if (dv.distinct >= 2 && dv.distinct <= 16 && dv.distinct * 4 <= n &&
			    arc_all > 4 * dv.distinct)
				st->flags |= AUDIT_F_PID;
		}
		/* From 40 values: at n = 20 one of 16 random bits is constant once in 3e4. */
		w = n >= 40 ? st_window15(v, n, st->bit_ones, flips, s) : -1;
		if (w >= 0 && !(st->flags & (sf | AUDIT_F_PID)))
			st->flags |= AUDIT_F_WINDOW15;
		else
			w = -1;
		if (dv.distinct > 1 && !(st->flags & (sf | AUDIT_F_TIME | AUDIT_F_PID)) &&
		    (double)arc_all * (double)(n + 1) / (double)(n - 1) <= ST_SMALLRANGE_MAX)
			st->flags |= AUDIT_F_SMALLRANGE;
		/* Bias: a bit >= 0.1 and 5 sd away from what a uniform draw over min..max
		   would give (so a port range's fixed high bits are not bias). 5 sd: with 16
		   bits, a random source is flagged about once in 10^5 runs. */
		unbal = false;
		for (b = 0; b < 16; b++) {
			p = st_bit_expect(b, st->min, st->max);
			dev = st->bit_ones[b] - p;
			if (p > 0.0 && p < 1.0 && (dev >= 0.1 || dev <= -0.1) &&
			    dev * dev >= 25.0 * p * (1.0 - p) / (double)n)
				unbal = true;
		}
		if (unbal && !(st->flags & sf))
			st->flags |= AUDIT_F_BIAS;
	}

	/*
	 * Effective bits. Start from the per-bit entropies, each with the Miller-Madow
	 * correction 1/(2n ln 2) for the downward bias of a plug-in estimate (capped at 1
	 * bit), then take the minimum with every cap the evidence supports.
	 */
	eff = 0.0;
	for (b = 0; b < 16; b++) {
		p = st->bit_ones[b];
		if (p > 0.0 && p < 1.0)
			eff += st_min(1.0, st_h2(p) + 1.0 / (2.0 * (double)n * ST_LN2));
	}
	if (st->flags & AUDIT_F_CONSTANT)
		eff = st_min(eff, st->min_entropy_bits);
	/* The plug-in entropies of values, steps and XOR steps, where the sample covers them:
	   an attacker who saw the last value guesses the next step. */
	eff = st_min(eff, st_cover_cap(&dv, n));
	if (n >= 2) {
		eff = st_min(eff, st_cover_cap(&dd, n - 1));
		eff = st_min(eff, st_cover_cap(&dx, n - 1));
	}
	/* The range, when the empty part of the circle is too large to be chance; the
	   sample's span is stretched by (n+1)/(n-1), the usual estimate of a uniform range. */
	gap = (double)(65536 - arc_all) / 65536.0;
	if (n >= 3 && st_gap_significant(gap, n)) {
		w_est = (double)arc_all * (double)(n + 1) / (double)(n - 1);
		eff = st_min(eff, st_log2(w_est < 65536.0 ? w_est : 65536.0));
	}
	eff = st_min(eff, tbits);
	/* A sticky window bit is known for the window: 15 bits plus how often it changes. */
	if (w >= 0)
		eff = st_min(eff, 15.0 + st_h2((double)flips[w] / (double)(n - 1)));
	/*
	 * Predictors: one right with rate p leaves -log2 p bits. A rate of 0 in n tries would
	 * only say "p < about 1/(n+1)", i.e. at most log2(n+1) bits - a bound from the sample
	 * size, not from the target - so never-right is taken as consistent with full
	 * entropy, and the cap applies only when a predictor was right at least twice and
	 * clearly more often than chance (2^-eff) would make it (st_above_chance).
	 */
	for (i = 0; i < AP_NPRED; i++) {
		cap = 1.0;
		for (b = 0; b < (unsigned)eff && cap > 1e-9; b++)
			cap /= 2.0; /* 2^-floor(eff): chance, rounded up */
		if (st_above_chance(hits[i], tries[i], cap))
			eff = st_min(eff, -st_log2(st->predict[i]));
	}
	if (eff < 0.0)
		eff = 0.0;
	if (eff > 16.0)
		eff = 16.0;
	st->effective_bits = eff;
	free(s);
	free(dcount);
}

const char *
audit_flags_str(unsigned flags, char *buf, size_t len)
{
	static const struct {
		unsigned f;
		const char *name;
	} names[] = {
	    {AUDIT_F_CONSTANT, "constant"},
	    {AUDIT_F_SEQUENTIAL, "sequential"},
	    {AUDIT_F_STEPPED, "stepped"},
	    {AUDIT_F_TIME, "time"},
	    {AUDIT_F_PID, "pid"},
	    {AUDIT_F_WINDOW15, "window15"},
	    {AUDIT_F_SMALLRANGE, "smallrange"},
	    {AUDIT_F_BIAS, "bias"},
	    {AUDIT_F_FEW, "few"},
	};
	size_t i, off = 0;
	int r;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].f))
			continue;
		r = snprintf(buf + off, len - off, "%s%s", off > 0 ? ", " : "", names[i].name);
		if (r < 0 || (size_t)r >= len - off) {
			buf[off] = '\0'; /* whole names only */
			break;
		}
		off += (size_t)r;
	}
	return buf;
}

/* Letters in a name, and how many are upper case. */
static void
st_letters(const char *name, size_t *letters, size_t *upper)
{
	const char *p;

	*letters = *upper = 0;
	for (p = name; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			(*letters)++;
			(*upper)++;
		} else if (*p >= 'a' && *p <= 'z')
			(*letters)++;
	}
}

void
audit_x20(const struct audit_query *q, size_t n, double *mixed_frac, double *letters_mean)
{
	size_t i, letters, upper, mixed = 0, total = 0;

	*mixed_frac = *letters_mean = 0.0;
	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		st_letters(q[i].qname, &letters, &upper);
		total += letters;
		if (upper > 0 && upper < letters)
			mixed++;
	}
	*mixed_frac = (double)mixed / (double)n;
	*letters_mean = (double)total / (double)n;
}

static const struct {
	const char *name;
	const char *desc;
} forge_names[AF_NKINDS] = {
    [AF_WRONG_ID] = {"wrong-id",
	"Everything right but the transaction ID: believing it makes the ID worthless."},
    [AF_WRONG_SRC_ADDR] = {"wrong-src-addr",
	"Right ID, sent from an address other than the server asked (RFC 5452 section 9.1)."},
    [AF_WRONG_SRC_PORT] = {"wrong-src-port",
	"Right ID, from the server's address but another port than the one asked."},
    [AF_OTHER_QNAME] = {"other-qname",
	"Right ID, answering another question than the one asked (CVE-2010-1690)."},
    [AF_QCASE] = {"qcase",
	"Right ID, the question in another letter case: believing it defeats 0x20."},
    [AF_QR0] = {"qr0", "Right ID with QR=0: a query, not a response, taken as the answer."},
    [AF_NXDOMAIN] = {"nxdomain",
	"Right ID but no question section, rcode NXDOMAIN: does the target bounce mail on it?"},
    [AF_SERVFAIL] = {"servfail",
	"Right ID but no question section, rcode SERVFAIL: does the target give up or defer?"},
    [AF_ADDITIONAL] = {"additional",
	"The true answer plus out-of-bailiwick records in the additional section: are they used?"},
    [AF_TC] = {"tc", "TC=1 over UDP: does the target retry the question over TCP?"},
};

const char *
audit_forge_str(enum audit_forge f)
{
	if ((unsigned)f >= AF_NKINDS)
		return "unknown";
	return forge_names[f].name;
}

const char *
audit_forge_desc(enum audit_forge f)
{
	if ((unsigned)f >= AF_NKINDS)
		return "Unknown forgery.";
	return forge_names[f].desc;
}

const char *
audit_verdict_str(enum audit_verdict v)
{
	switch (v) {
	case AV_UNTESTED:
		return "untested";
	case AV_REJECTED:
		return "rejected";
	case AV_ACCEPTED:
		return "accepted";
	case AV_INCONCLUSIVE:
		return "inconclusive";
	}
	return "unknown";
}

/*
 * 0x20 counts only when it is really there: most names mixed, and about half of all letters
 * upper case (a random bit each). A zone the user wrote as "Audit.Test" makes every name
 * mixed without any 0x20, but leaves few letters upper case.
 */
static bool
st_x20_used(const struct audit_query *q, size_t n, double mixed_frac)
{
	size_t i, letters, upper, tl = 0, tu = 0;
	double f;

	if (n < 2 || mixed_frac < 0.5)
		return false;
	for (i = 0; i < n; i++) {
		st_letters(q[i].qname, &letters, &upper);
		tl += letters;
		tu += upper;
	}
	if (tl == 0)
		return false;
	f = (double)tu / (double)tl;
	return f >= 0.25 && f <= 0.75;
}

/*
 * Is q a follow-up of prev within one lookup: the same question (case aside) from the same
 * address and port within a second, like glibc's parallel A and AAAA on one socket or a
 * retransmission? Its port (and ID) are not a fresh draw an attacker could predict from
 * his own lookups, only a repeat of one he never saw, so it is not a separate sample:
 * counted, AP_SAME would call a kernel-random port 1.6 bits.
 */
/*
 * A query that repeats the one before within a second is the same lookup, not a new
 * sample: the same name from the same socket (glibc's A+AAAA pair), or the same name,
 * type and ID from another port (libasr and glibc resend that way after a bad reply).
 */
static bool
st_followup(const struct audit_query *prev, const struct audit_query *q)
{
	if (prev->tcp != q->tcp || q->t_us < prev->t_us || q->t_us - prev->t_us >= 1000000 ||
	    strcasecmp(prev->qname, q->qname) != 0)
		return false;
	return (prev->sport == q->sport && net_addr_eq(&prev->src, &q->src)) ||
	    (prev->id == q->id && prev->qtype == q->qtype);
}

static bool
st_accepted(const struct audit_run *run, enum audit_forge f)
{
	return run->acc[f].verdict == AV_ACCEPTED;
}

/*
 * Ratings, on the bits an off-path attacker must guess (ID + source port + 0x20):
 *   excellent >= 30: a kernel-random ephemeral port (~15 bits: Linux 32768..60999 is
 *                    14.8) and a random ID (16), with or without 0x20 on top (RFC 5452
 *                    §9.2: the port extends the ID space);
 *   good      >= 24: e.g. a random ID and a port from a pool of a few hundred, or a
 *                    short port range made up by 0x20;
 *   fair      >= 15: about one random 16-bit field (a random ID from a fixed port: the
 *                    pre-2008 state Kaminsky's attack broke in minutes). 15, not 16: a
 *                    perfect 16-bit source measures 15.9-16.0 from ~100 samples;
 *   poor      otherwise, and whatever the bits whenever the target believed a forgery
 *                    that spares an off-path attacker some guessing (a wrong ID, source
 *                    address or port, another question — CVE-2010-1690's class) or the
 *                    blind race landed mail at the attacker.
 * Evidence also removes bits: a wrong-ID forgery believed makes the ID worth 0, a wrong
 * port the port, and another case or another question the 0x20 bits. The other matrix
 * verdicts are counted in run->accepted and reported, but cost an attacker nothing he
 * must not already guess: another letter case only matters to a resolver that uses 0x20
 * (whose bits it then removes), QR=0 and forged NXDOMAIN/SERVFAIL, additional records or
 * TC all need the ID and port right first. They do not change the rating.
 * With fewer than AUDIT_MIN_SAMPLES UDP queries the numbers are still filled in, but
 * AUDIT_F_FEW marks them inconclusive (mxaudit exits 2).
 */
#define ST_EXCELLENT 30.0
#define ST_GOOD      24.0
#define ST_FAIR      15.0

void
audit_judge(struct audit_run *run)
{
	static const enum audit_forge offpath[] = {
	    AF_WRONG_ID, AF_WRONG_SRC_ADDR, AF_WRONG_SRC_PORT, AF_OTHER_QNAME};
	uint16_t *ids, *ports;
	uint64_t *t;
	const struct audit_query *prev;
	size_t i, k, nudp = 0;
	bool all, follow, forced = false;
	double idb, pb, xb;

	run->edns_queries = run->do_queries = run->cookie_queries = run->tcp_queries = 0;
	for (i = 0; i < run->nq; i++) {
		run->edns_queries += run->q[i].edns;
		run->do_queries += run->q[i].do_bit;
		run->cookie_queries += run->q[i].cookie;
		run->tcp_queries += run->q[i].tcp;
		nudp += !run->q[i].tcp;
	}
	/* Blind spoofing is a UDP attack: judge the UDP queries, or all if none was UDP; one
	   sample per lookup (st_followup). */
	all = nudp == 0;
	k = all ? run->nq : nudp;
	ids = malloc((k > 0 ? k : 1) * sizeof(*ids));
	ports = malloc((k > 0 ? k : 1) * sizeof(*ports));
	t = malloc((k > 0 ? k : 1) * sizeof(*t));
	if (ids == NULL || ports == NULL || t == NULL)
		fatal("audit_judge");
	k = 0;
	prev = NULL;
	for (i = 0; i < run->nq; i++) {
		if (!all && run->q[i].tcp)
			continue;
		follow = prev != NULL && st_followup(prev, &run->q[i]);
		prev = &run->q[i];
		if (follow)
			continue;
		ids[k] = run->q[i].id;
		ports[k] = run->q[i].sport;
		t[k] = run->q[i].t_us;
		k++;
	}
	audit_stats_analyze(ids, k, t, &run->ids);
	audit_stats_analyze(ports, k, t, &run->ports);
	/* One constant bit in ports is a range (32768..65535, or Linux's 32768..60999 from
	   under 100 samples), not the old ID generators' window; the bits already show it. */
	run->ports.flags &= ~(unsigned)AUDIT_F_WINDOW15;
	free(ids);
	free(ports);
	free(t);

	audit_x20(run->q, run->nq, &run->x20_mixed_frac, &run->x20_letters_mean);
	xb = 0.0;
	if (st_x20_used(run->q, run->nq, run->x20_mixed_frac))
		xb = st_min(ST_X20_MAX_BITS, run->x20_mixed_frac * run->x20_letters_mean);
	idb = run->ids.effective_bits;
	pb = run->ports.effective_bits;
	if (st_accepted(run, AF_WRONG_ID))
		idb = 0.0;
	if (st_accepted(run, AF_WRONG_SRC_PORT))
		pb = 0.0;
	if (st_accepted(run, AF_QCASE) || st_accepted(run, AF_OTHER_QNAME))
		xb = 0.0;
	run->x20_bits = xb;
	run->effective_bits = idb + pb + xb;

	run->accepted = 0;
	for (i = 0; i < AF_NKINDS; i++)
		run->accepted += run->acc[i].verdict == AV_ACCEPTED;
	for (i = 0; i < sizeof(offpath) / sizeof(offpath[0]); i++)
		if (st_accepted(run, offpath[i]))
			forced = true;
	if (run->race.run && run->race.successes > 0)
		forced = true;

	if (forced || run->effective_bits < ST_FAIR)
		run->rating = "poor";
	else if (run->effective_bits >= ST_EXCELLENT)
		run->rating = "excellent";
	else if (run->effective_bits >= ST_GOOD)
		run->rating = "good";
	else
		run->rating = "fair";
}
