/*
 * t_audit_stats — audit_stats.c on synthetic sequences with known answers: kernel-random IDs
 * and ports (no flag, full bits), and one generator per weakness the detectors name
 * (constant, sequential, stepped, time-derived, pid-derived, 15-bit window, small range,
 * bias), each with the bits it must leave; then 0x20 counting, the flag and name strings,
 * and audit_judge() on synthetic runs.
 *
 * The rows that must raise no flag draw from getrandom(2) and are repeated: a detector's
 * false alarm on random data is rarer than 1e-4 per sequence (measured over 10^5 runs).
 * The rows that must raise one draw from a fixed-seed splitmix64, so the test is
 * reproducible: the statistical detectors miss about once in 10^3 to 10^4 runs.
 */
#include <sys/random.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "audit/audit.h"
#include "tap.h"

#define ALLF                                                                                       \
	(AUDIT_F_CONSTANT | AUDIT_F_SEQUENTIAL | AUDIT_F_STEPPED | AUDIT_F_TIME | AUDIT_F_PID |    \
	    AUDIT_F_WINDOW15 | AUDIT_F_SMALLRANGE | AUDIT_F_BIAS | AUDIT_F_FEW)

static bool rnd_kernel = true; /* getrandom, or the seeded generator */
static uint64_t rnd_state;

static uint32_t
rnd32(void)
{
	uint32_t x;
	uint64_t z;

	if (rnd_kernel) {
		if (getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x))
			abort();
		return x;
	}
	/* splitmix64 */
	z = (rnd_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Uniform in lo..hi, by rejection. */
static uint32_t
rnd_in(uint32_t lo, uint32_t hi)
{
	uint32_t span = hi - lo + 1, lim = UINT32_MAX - UINT32_MAX % span, x;

	do
		x = rnd32();
	while (x >= lim);
	return lo + x % span;
}

/* Arrival times: 2023 in microseconds, 50 ms to 2 s apart. */
static void
timeline(uint64_t *t, size_t n)
{
	uint64_t now = 1700000000000000ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		now += rnd_in(50000, 2000000);
		t[i] = now;
	}
}

static void
g_random(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)rnd32();
	(void)t;
}

static void
g_const(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = 0x1234;
	(void)t;
}

static void
g_seq_wrap(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)(65500 + i);
	(void)t;
}

static void
g_seq_down(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)(30 - i);
	(void)t;
}

/* A counter shared with queries we do not see: steps of 1 to 5. */
static void
g_small_steps(uint16_t *v, uint64_t *t, size_t n)
{
	uint16_t c = (uint16_t)rnd32();

	for (size_t i = 0; i < n; i++) {
		c = (uint16_t)(c + rnd_in(1, 5));
		v[i] = c;
	}
	(void)t;
}

static void
g_step7(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)(1000 + 7 * i);
	(void)t;
}

/* ID = send time in ms mod 2^16; it arrives 0.1 to 3 ms later. */
static void
g_time_ms(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		v[i] = (uint16_t)(t[i] / 1000);
		t[i] += rnd_in(100, 3000);
	}
}

/* ID = send time in us mod 2^16; it arrives 0 to 40 us later. */
static void
g_time_us(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		v[i] = (uint16_t)t[i];
		t[i] += rnd_in(0, 40);
	}
}

/* 0x4200 | counter & 0xff, the counter wrapping its low byte. */
static void
g_pid_or(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)(0x4200 | ((200 + i) & 0xff));
	(void)t;
}

/* A counter under an XOR key. */
static void
g_pid_xor(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)((1000 + i) ^ 0x5a5a);
	(void)t;
}

/* The high byte fixed (a pid), the low byte random. */
static void
g_pid_low(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)(0x4200 | rnd_in(0, 255));
	(void)t;
}

/* One constant per worker process, four workers. */
static void
g_pid_set(uint16_t *v, uint64_t *t, size_t n)
{
	static const uint16_t w[] = {0x1a2b, 0x9c01, 0x5e77, 0xe0f3};

	for (size_t i = 0; i < n; i++)
		v[i] = w[rnd_in(0, 3)];
	(void)t;
}

static void
g_win15(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)(rnd32() & 0x7fff);
	(void)t;
}

/* The top bit changes every 50 queries (per window), the rest random. */
static void
g_win_sticky(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)((rnd32() & 0x7fff) | ((i / 50) % 2 ? 0x8000 : 0));
	(void)t;
}

static void
g_ports_small(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)rnd_in(1024, 1100);
	(void)t;
}

static void
g_ports_linux(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)rnd_in(32768, 60999);
	(void)t;
}

/* Bit 3 set 90% of the time. */
static void
g_bias(uint16_t *v, uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		v[i] = (uint16_t)(rnd32() & ~8u);
		if (rnd_in(0, 9) < 9)
			v[i] |= 8;
	}
	(void)t;
}

struct seq_case {
	const char *what;
	void (*gen)(uint16_t *, uint64_t *, size_t);
	size_t n;
	bool times;        /* pass arrival times */
	unsigned must;     /* flags that must be set */
	unsigned mustnot;  /* flags that must be clear */
	double emin, emax; /* effective bits */
	int reps;
	bool kernel; /* getrandom (else seeded) */
};

static const struct seq_case seq_cases[] = {
    {"kernel random n=100", g_random, 100, true, 0, ALLF, 15.0, 16.0, 20, true},
    {"kernel random n=1000", g_random, 1000, true, 0, ALLF, 15.5, 16.0, 20, true},
    {"kernel random n=20", g_random, 20, true, 0, ALLF, 14.0, 16.0, 10, true},
    {"constant", g_const, 100, true, AUDIT_F_CONSTANT, ALLF & ~AUDIT_F_CONSTANT, 0, 0, 1, false},
    {"+1 sequential, wrapping", g_seq_wrap, 100, true, AUDIT_F_SEQUENTIAL,
	ALLF & ~(AUDIT_F_SEQUENTIAL), 0, 0, 1, false},
    {"-1 sequential, wrapping", g_seq_down, 100, true, AUDIT_F_SEQUENTIAL,
	ALLF & ~(AUDIT_F_SEQUENTIAL), 0, 0, 1, false},
    {"counter with steps 1..5", g_small_steps, 200, true, AUDIT_F_SEQUENTIAL,
	AUDIT_F_FEW | AUDIT_F_TIME, 0, 2.6, 5, false},
    {"step 7", g_step7, 100, true, AUDIT_F_STEPPED, ALLF & ~AUDIT_F_STEPPED, 0, 0, 1, false},
    {"time-derived, ms", g_time_ms, 100, true, AUDIT_F_TIME,
	AUDIT_F_SEQUENTIAL | AUDIT_F_STEPPED | AUDIT_F_CONSTANT | AUDIT_F_FEW, 0, 3.0, 5, false},
    {"time-derived, us", g_time_us, 100, true, AUDIT_F_TIME,
	AUDIT_F_SEQUENTIAL | AUDIT_F_STEPPED | AUDIT_F_CONSTANT | AUDIT_F_FEW, 0, 6.0, 5, false},
    /* Without times, a clock-derived ID of ms looks random: nothing to see. */
    {"time-derived, ms, no times given", g_time_ms, 100, false, 0, AUDIT_F_TIME, 14.5, 16.0, 5,
	true},
    {"pid: 0x4200 | counter & 0xff", g_pid_or, 100, true, AUDIT_F_PID | AUDIT_F_SEQUENTIAL,
	AUDIT_F_FEW | AUDIT_F_WINDOW15, 0, 0.5, 1, false},
    {"pid: counter ^ 0x5a5a", g_pid_xor, 100, true, AUDIT_F_PID,
	AUDIT_F_SEQUENTIAL | AUDIT_F_FEW | AUDIT_F_WINDOW15, 0, 3.0, 1, false},
    {"pid: 0x42 then a random byte", g_pid_low, 100, true, AUDIT_F_PID,
	AUDIT_F_SEQUENTIAL | AUDIT_F_WINDOW15 | AUDIT_F_SMALLRANGE, 7.0, 8.2, 5, false},
    {"pid: four worker constants", g_pid_set, 100, true, AUDIT_F_PID,
	AUDIT_F_CONSTANT | AUDIT_F_SEQUENTIAL, 1.5, 2.2, 5, false},
    {"window15 n=100", g_win15, 100, true, AUDIT_F_WINDOW15, ALLF & ~AUDIT_F_WINDOW15, 14.5, 15.0,
	10, false},
    {"window15 n=1000", g_win15, 1000, true, AUDIT_F_WINDOW15, ALLF & ~AUDIT_F_WINDOW15, 14.8, 15.0,
	10, false},
    {"window15, top bit per window of 50", g_win_sticky, 1000, true, AUDIT_F_WINDOW15,
	ALLF & ~AUDIT_F_WINDOW15, 14.8, 15.2, 5, false},
    {"ports 1024..1100", g_ports_small, 100, true, AUDIT_F_SMALLRANGE, ALLF & ~AUDIT_F_SMALLRANGE,
	5.5, 6.5, 10, false},
    {"ports 1024..1100 n=1000", g_ports_small, 1000, true, AUDIT_F_SMALLRANGE,
	ALLF & ~AUDIT_F_SMALLRANGE, 6.1, 6.4, 5, false},
    {"ports 32768..60999 n=100", g_ports_linux, 100, true, 0, ALLF, 14.5, 15.0, 20, true},
    {"ports 32768..60999 n=1000", g_ports_linux, 1000, true, 0, ALLF, 14.7, 14.9, 20, true},
    {"bias: bit 3 set 90%", g_bias, 1000, true, AUDIT_F_BIAS, ALLF & ~AUDIT_F_BIAS, 15.2, 15.6, 5,
	false},
    {"n=10: too few", g_random, 10, true, AUDIT_F_FEW, 0, 0, 16.0, 1, false},
    {"n=1: too few", g_random, 1, true, AUDIT_F_FEW, 0, 0, 0, 1, false},
    {"n=0: too few", g_random, 0, true, AUDIT_F_FEW, ALLF & ~AUDIT_F_FEW, 0, 0, 1, false},
};

static void
test_sequences(void)
{
	struct audit_stats st;
	uint16_t *v;
	uint64_t *t;
	char fb[128];
	size_t c;
	int r, bad;
	bool good;

	v = calloc(2000, sizeof(*v));
	t = calloc(2000, sizeof(*t));
	if (v == NULL || t == NULL)
		abort();
	for (c = 0; c < sizeof(seq_cases) / sizeof(seq_cases[0]); c++) {
		const struct seq_case *k = &seq_cases[c];

		bad = 0;
		rnd_kernel = k->kernel;
		rnd_state = 0x5eed0000 + c;
		for (r = 0; r < k->reps; r++) {
			timeline(t, k->n);
			k->gen(v, t, k->n);
			audit_stats_analyze(v, k->n, k->times ? t : NULL, &st);
			good = (st.flags & k->must) == k->must && (st.flags & k->mustnot) == 0 &&
			    st.effective_bits >= k->emin - 1e-9 &&
			    st.effective_bits <= k->emax + 1e-9 && st.n == k->n;
			if (!good) {
				if (bad++ == 0)
					diag("%s: flags \"%s\", effective %.3f bits, shannon %.2f, "
					     "bits %.2f, delta %.2f",
					    k->what, audit_flags_str(st.flags, fb, sizeof(fb)),
					    st.effective_bits, st.shannon_bits, st.bit_entropy,
					    st.delta_entropy);
			}
		}
		ok(bad == 0, "%s: flags and %.1f..%.1f bits (%d of %d runs wrong)", k->what,
		    k->emin, k->emax, bad, k->reps);
	}
	free(v);
	free(t);
	rnd_kernel = true;
}

/* Exact statistics on fixed sequences. */
static void
test_numbers(void)
{
	struct audit_stats st;
	uint16_t v[1000];
	uint64_t t[1000];
	size_t i;

	g_const(v, t, 100);
	audit_stats_analyze(v, 100, NULL, &st);
	is_int(st.distinct, 1, "constant: one value");
	ok(st.shannon_bits == 0.0 && st.min_entropy_bits == 0.0, "constant: 0 bits plug-in");
	ok(st.predict[AP_SAME] == 1.0, "constant: AP_SAME always right");
	is_int(st.min, 0x1234, "constant: min");
	is_int(st.max, 0x1234, "constant: max");

	g_seq_wrap(v, t, 100);
	audit_stats_analyze(v, 100, NULL, &st);
	is_int(st.distinct, 100, "+1: 100 values");
	is_int(st.common_delta, 1, "+1: common step 1");
	ok(st.common_delta_frac == 1.0, "+1: every step (the wrap too)");
	ok(st.predict[AP_INC] == 1.0 && st.predict[AP_DELTA] == 1.0 &&
		st.predict[AP_COMMON] == 1.0 && st.predict[AP_SAME] == 0.0,
	    "+1: AP_INC, AP_DELTA, AP_COMMON right, AP_SAME never");
	ok(st.shannon_bits > 6.64 && st.shannon_bits < 6.65, "+1: plug-in = log2 100 (%.4f)",
	    st.shannon_bits);
	ok(st.delta_entropy == 0.0, "+1: delta entropy 0");
	is_int(st.min, 0, "+1 wrapping: min 0");
	is_int(st.max, 65535, "+1 wrapping: max 65535");

	g_seq_down(v, t, 100);
	audit_stats_analyze(v, 100, NULL, &st);
	is_int(st.common_delta, -1, "-1: common step -1");

	g_step7(v, t, 100);
	audit_stats_analyze(v, 100, NULL, &st);
	is_int(st.common_delta, 7, "step 7: common step 7");
	ok(st.predict[AP_COMMON] == 1.0 && st.predict[AP_INC] == 0.0, "step 7: AP_COMMON right");

	/* Bits: 0x00ff repeated has the 8 low bits set, the 8 high clear. */
	for (i = 0; i < 50; i++)
		v[i] = (uint16_t)(i % 2 ? 0x00ff : 0x0f0f);
	audit_stats_analyze(v, 50, NULL, &st);
	ok(st.bit_ones[0] == 1.0 && st.bit_ones[4] == 0.5 && st.bit_ones[8] == 0.5 &&
		st.bit_ones[12] == 0.0,
	    "bit balance per bit");
	ok(st.bit_entropy > 7.999 && st.bit_entropy < 8.001, "bit entropy: 8 balanced bits");
	ok(st.shannon_bits > 0.999 && st.shannon_bits < 1.001 && st.min_entropy_bits > 0.999 &&
		st.min_entropy_bits < 1.001,
	    "two values half each: 1 bit plug-in and min-entropy");
	ok(st.effective_bits < 1.1, "...and about 1 effective bit (%.3f)", st.effective_bits);

	/* Small-sample bias: plug-in Shannon cannot exceed log2 n, bit entropy can. */
	g_random(v, t, 100);
	audit_stats_analyze(v, 100, NULL, &st);
	ok(st.shannon_bits <= 6.6439, "random n=100: plug-in %.3f <= log2 100", st.shannon_bits);
	ok(st.bit_entropy > 15.0, "random n=100: bit entropy %.3f > 15", st.bit_entropy);
	ok(st.min_entropy_bits <= 6.6439, "random n=100: min-entropy estimate <= log2 100");
	ok(st.predict[AP_SAME] < 0.03 && st.predict[AP_INC] < 0.03, "random: predictors miss");

	/* n = 1: no steps, no crash. */
	v[0] = 7;
	audit_stats_analyze(v, 1, t, &st);
	ok(st.n == 1 && st.distinct == 1 && st.predict[AP_SAME] == 0.0 && (st.flags & AUDIT_F_FEW),
	    "n=1: one value, no predictions, few");
	audit_stats_analyze(NULL, 0, NULL, &st);
	ok(st.n == 0 && st.flags == AUDIT_F_FEW && st.effective_bits == 0.0, "n=0: zeros, few");
}

static void
test_flags_str(void)
{
	char b[160], small[12];

	is_str(audit_flags_str(0, b, sizeof(b)), "", "no flags: empty");
	is_str(audit_flags_str(AUDIT_F_CONSTANT | AUDIT_F_SEQUENTIAL, b, sizeof(b)),
	    "constant, sequential", "two flags");
	is_str(audit_flags_str(ALLF, b, sizeof(b)),
	    "constant, sequential, stepped, time, pid, window15, smallrange, bias, few",
	    "every flag");
	is_str(audit_flags_str(AUDIT_F_CONSTANT | AUDIT_F_SEQUENTIAL, small, sizeof(small)),
	    "constant", "short buffer: whole names only");
	ok(audit_flags_str(AUDIT_F_PID, b, 0) == b, "zero length: buf returned");
}

static void
test_strings(void)
{
	int i, j;
	bool good = true;

	for (i = 0; i < AF_NKINDS; i++) {
		if (audit_forge_str((enum audit_forge)i) == NULL ||
		    strlen(audit_forge_str((enum audit_forge)i)) == 0 ||
		    strlen(audit_forge_desc((enum audit_forge)i)) < 20)
			good = false;
		for (j = 0; j < i; j++)
			if (strcmp(audit_forge_str((enum audit_forge)i),
				audit_forge_str((enum audit_forge)j)) == 0)
				good = false;
	}
	ok(good, "every forgery has a distinct name and a description");
	is_str(audit_forge_str(AF_WRONG_ID), "wrong-id", "wrong-id");
	is_str(audit_forge_str(AF_WRONG_SRC_ADDR), "wrong-src-addr", "wrong-src-addr");
	is_str(audit_forge_str(AF_TC), "tc", "tc");
	is_str(audit_forge_str(AF_NKINDS), "unknown", "out of range forgery");
	is_str(audit_verdict_str(AV_UNTESTED), "untested", "untested");
	is_str(audit_verdict_str(AV_REJECTED), "rejected", "rejected");
	is_str(audit_verdict_str(AV_ACCEPTED), "accepted", "accepted");
	is_str(audit_verdict_str(AV_INCONCLUSIVE), "inconclusive", "inconclusive");
}

static const struct {
	const char *names[4];
	double mixed, letters;
} x20_cases[] = {
    {{"abc.audit.test", "xyz.audit.test", "q.audit.test", "b9.audit.test"}, 0.0, 11.0},
    {{"aBc.AuDiT.tESt", "abc.audit.test", "ABC.AUDIT.TEST", "123.4"}, 0.25, 9.0},
    {{"aB", "Ab", "ab", "AB"}, 0.5, 2.0},
};

static void
test_x20(void)
{
	struct audit_query *q;
	double mixed, letters;
	size_t c, i;

	q = calloc(4, sizeof(*q));
	if (q == NULL)
		abort();
	for (c = 0; c < sizeof(x20_cases) / sizeof(x20_cases[0]); c++) {
		for (i = 0; i < 4; i++)
			strlcpy(q[i].qname, x20_cases[c].names[i], sizeof(q[i].qname));
		audit_x20(q, 4, &mixed, &letters);
		ok(mixed == x20_cases[c].mixed && letters == x20_cases[c].letters,
		    "x20 case %zu: mixed %.2f letters %.2f", c, mixed, letters);
	}
	audit_x20(q, 0, &mixed, &letters);
	ok(mixed == 0.0 && letters == 0.0, "x20 of nothing: zeros");
	free(q);
}

/* Synthetic runs for audit_judge. */
enum idkind { ID_RANDOM, ID_SEQ };
enum portkind { PORT_LINUX, PORT_FIXED };
enum namekind { NAME_LOWER, NAME_X20, NAME_STATIC_MIXED };

static void
make_run(struct audit_run *run, struct audit_query *q, size_t n, enum idkind ik, enum portkind pk,
    enum namekind nk)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz";
	char label[9];
	size_t i, j;
	uint64_t now = 1700000000000000ULL;

	memset(run, 0, sizeof(*run));
	memset(q, 0, n * sizeof(*q));
	for (i = 0; i < n; i++) {
		now += rnd_in(50000, 900000);
		q[i].t_us = now;
		q[i].id = ik == ID_RANDOM ? (uint16_t)rnd32() : (uint16_t)(4000 + i);
		q[i].sport = pk == PORT_LINUX ? (uint16_t)rnd_in(32768, 60999) : 53000;
		if (net_addr_parse("127.0.0.1", q[i].sport, &q[i].src) != 0)
			abort();
		for (j = 0; j < 8; j++)
			label[j] = alpha[rnd_in(0, 25)];
		label[8] = '\0';
		if (nk == NAME_STATIC_MIXED)
			snprintf(q[i].qname, sizeof(q[i].qname), "%s.Audit.Test", label);
		else
			snprintf(q[i].qname, sizeof(q[i].qname), "%s.audit.test", label);
		if (nk == NAME_X20)
			for (j = 0; q[i].qname[j] != '\0'; j++)
				if (q[i].qname[j] >= 'a' && q[i].qname[j] <= 'z' && rnd_in(0, 1))
					q[i].qname[j] = (char)(q[i].qname[j] - 'a' + 'A');
		q[i].qtype = 15;
		q[i].edns = i % 2 == 0;
		q[i].do_bit = i % 4 == 0;
	}
	run->q = q;
	run->nq = n;
	strlcpy(run->zone, "audit.test", sizeof(run->zone));
}

/*
 * Lookups as glibc makes them: MX for R.audit.test, then A and AAAA for mx.R.audit.test
 * in parallel on one socket (one port, two random IDs). fixed: every socket on one port.
 */
static size_t
make_glibc_run(struct audit_run *run, struct audit_query *q, size_t lookups, bool fixed)
{
	size_t i, j, k = 0;
	uint64_t now = 1700000000000000ULL;
	uint16_t port;

	memset(run, 0, sizeof(*run));
	for (i = 0; i < lookups; i++) {
		now += rnd_in(200000, 900000);
		for (j = 0; j < 3; j++) {
			memset(&q[k], 0, sizeof(q[k]));
			if (j < 2)
				port = fixed ? 40000 : (uint16_t)rnd_in(32768, 60999);
			q[k].sport = port;
			if (net_addr_parse("127.0.0.1", port, &q[k].src) != 0)
				abort();
			q[k].id = (uint16_t)rnd32();
			q[k].t_us = now + j * 300;
			snprintf(q[k].qname, sizeof(q[k].qname), "%sr%zu.audit.test",
			    j == 0 ? "" : "mx.", i);
			q[k].qtype = j == 0 ? 15 : j == 1 ? 1 : 28;
			k++;
		}
	}
	run->q = q;
	run->nq = k;
	return k;
}

static void
test_judge(void)
{
	struct audit_run run;
	struct audit_query *q;
	size_t n = 200, i;

	q = calloc(n + 10, sizeof(*q));
	if (q == NULL)
		abort();

	make_run(&run, q, n, ID_RANDOM, PORT_LINUX, NAME_LOWER);
	audit_judge(&run);
	is_str(run.rating, "excellent", "random ID + Linux port range: excellent (%.2f bits)",
	    run.effective_bits);
	ok(run.effective_bits >= 30.0 && run.effective_bits <= 31.0, "...30..31 bits");
	ok(run.x20_bits == 0.0, "...no 0x20 seen, no 0x20 bits");
	is_int(run.accepted, 0, "...nothing accepted");
	is_int(run.ids.n, n, "...IDs analysed");
	is_int(run.edns_queries, n / 2, "...EDNS counted");
	is_int(run.do_queries, n / 4, "...DO counted");

	make_run(&run, q, n, ID_RANDOM, PORT_LINUX, NAME_X20);
	audit_judge(&run);
	ok(run.x20_bits >= 9.9 && run.x20_bits <= 10.0,
	    "0x20 on 18-letter names: capped at 10 bits (%.2f)", run.x20_bits);
	ok(run.x20_mixed_frac > 0.99, "...mixed-case names");
	ok(run.effective_bits > 40.0, "...ID + port + 0x20 (%.2f)", run.effective_bits);
	is_str(run.rating, "excellent", "...excellent");

	make_run(&run, q, n, ID_RANDOM, PORT_LINUX, NAME_STATIC_MIXED);
	audit_judge(&run);
	ok(run.x20_mixed_frac > 0.99 && run.x20_bits == 0.0,
	    "a mixed-case zone without 0x20: no 0x20 bits");

	make_run(&run, q, n, ID_SEQ, PORT_FIXED, NAME_LOWER);
	audit_judge(&run);
	is_str(run.rating, "poor", "sequential ID + fixed port: poor");
	ok(run.effective_bits < 1.0, "...under 1 bit (%.2f)", run.effective_bits);
	ok((run.ids.flags & AUDIT_F_SEQUENTIAL) && (run.ports.flags & AUDIT_F_CONSTANT),
	    "...flags: sequential ID, constant port");

	make_run(&run, q, n, ID_RANDOM, PORT_FIXED, NAME_LOWER);
	audit_judge(&run);
	is_str(run.rating, "fair", "random ID + fixed port: fair (%.2f)", run.effective_bits);

	make_run(&run, q, n, ID_RANDOM, PORT_LINUX, NAME_LOWER);
	run.matrix_run = true;
	for (i = 0; i < AF_NKINDS; i++)
		run.acc[i].verdict = AV_REJECTED;
	run.acc[AF_WRONG_ID].verdict = AV_ACCEPTED;
	audit_judge(&run);
	is_str(run.rating, "poor", "random, but a wrong-id forgery accepted: poor");
	is_int(run.accepted, 1, "...one accepted");
	ok(run.effective_bits < 15.0, "...the ID counts 0 bits (%.2f)", run.effective_bits);

	make_run(&run, q, n, ID_RANDOM, PORT_LINUX, NAME_LOWER);
	run.acc[AF_TC].verdict = AV_ACCEPTED;
	run.acc[AF_NXDOMAIN].verdict = AV_ACCEPTED;
	audit_judge(&run);
	is_str(run.rating, "excellent", "TC and NXDOMAIN accepted alone do not force poor");
	is_int(run.accepted, 2, "...two accepted");

	make_run(&run, q, n, ID_RANDOM, PORT_LINUX, NAME_LOWER);
	run.acc[AF_QR0].verdict = AV_ACCEPTED;
	audit_judge(&run);
	is_str(
	    run.rating, "excellent", "QR=0 accepted alone does not force poor (needs ID and port)");
	is_int(run.accepted, 1, "...but is counted");

	make_run(&run, q, n, ID_RANDOM, PORT_LINUX, NAME_LOWER);
	run.acc[AF_OTHER_QNAME].verdict = AV_ACCEPTED;
	audit_judge(&run);
	is_str(run.rating, "poor", "another question accepted: poor (CVE-2010-1690)");

	/* A resend of the same lookup (same name, type and ID) from a new port is one sample. */
	make_run(&run, q, n, ID_RANDOM, PORT_LINUX, NAME_LOWER);
	for (i = 1; i < n; i += 2) {
		q[i].id = q[i - 1].id;
		q[i].qtype = q[i - 1].qtype;
		strlcpy(q[i].qname, q[i - 1].qname, sizeof(q[i].qname));
		q[i].t_us = q[i - 1].t_us + 1000;
	}
	audit_judge(&run);
	is_int(run.ids.n, (n + 1) / 2, "resends with the same ID from new ports: one sample each");
	ok(run.ids.predict[AP_SAME] < 0.05, "...so 'same as last' does not look right (%.3f)",
	    run.ids.predict[AP_SAME]);

	make_run(&run, q, n, ID_RANDOM, PORT_LINUX, NAME_LOWER);
	run.race.run = true;
	run.race.successes = 1;
	audit_judge(&run);
	is_str(run.rating, "poor", "blind race succeeded: poor");

	/* TCP queries are counted but left out of the spoofing statistics. */
	make_run(&run, q, n + 10, ID_RANDOM, PORT_LINUX, NAME_LOWER);
	for (i = n; i < n + 10; i++) {
		q[i].tcp = true;
		q[i].id = 0;
	}
	audit_judge(&run);
	is_int(run.tcp_queries, 10, "TCP queries counted");
	is_int(run.ids.n, n, "...and left out of the ID statistics");
	is_str(run.rating, "excellent", "...excellent still");

	make_run(&run, q, 10, ID_RANDOM, PORT_LINUX, NAME_LOWER);
	audit_judge(&run);
	ok(run.ids.flags & AUDIT_F_FEW, "10 queries: few");

	/* A and AAAA sharing one socket are one sample, not a repeated port. */
	make_glibc_run(&run, q, 70, false);
	audit_judge(&run);
	is_int(run.ports.n, 140, "glibc-style A+AAAA pairs: one port sample per socket");
	is_str(run.rating, "excellent", "...excellent (%.2f bits)", run.effective_bits);
	ok(run.ports.predict[AP_SAME] == 0.0, "...no port repeats left");
	make_glibc_run(&run, q, 70, true);
	audit_judge(&run);
	ok(run.ports.flags & AUDIT_F_CONSTANT, "the same with one fixed port: constant");
	is_str(run.rating, "fair", "...random ID from a fixed port: fair (%.2f bits)",
	    run.effective_bits);

	memset(&run, 0, sizeof(run));
	audit_judge(&run);
	is_str(run.rating, "poor", "no queries at all: poor");
	free(q);
}

int
main(void)
{
	test_sequences();
	test_numbers();
	test_flags_str();
	test_strings();
	test_x20();
	test_judge();
	return done_testing();
}
