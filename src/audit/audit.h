/*
 * audit — what mxaudit measures and how it is judged: the record of every DNS query a
 * target mail server sent us (audit_query), the statistics of its transaction IDs and
 * source ports (audit_stats.c, pure functions over arrays: unit-tested on synthetic
 * sequences with known answers), the acceptance matrix of forged answers and the blind
 * race (filled by the mxaudit program, src/mxaudit/), and the report renderers (text,
 * JSON, self-contained HTML with SVG plots: audit_report.c).
 *
 * Nothing here does I/O except the renderers, which write to a FILE the caller owns.
 */
#ifndef AUDIT_AUDIT_H
#define AUDIT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "dns/dns.h"
#include "util/net.h"

#define AUDIT_QUERIES_MAX 100000 /* records kept per run */

/* One query as it arrived. */
struct audit_query {
	uint64_t t_us; /* arrival, CLOCK_REALTIME microseconds */
	uint16_t id;
	struct net_addr src; /* source address and port */
	uint16_t sport;
	char qname[DNS_NAME_STRLEN]; /* as sent: 0x20 case kept, no final dot */
	uint16_t qtype;
	bool tcp;
	bool edns;
	uint16_t udp_size; /* EDNS buffer size, 0 without EDNS */
	bool do_bit;
	bool cookie; /* carried an RFC 7873 client cookie */
};

/* --- statistics of one 16-bit sequence (IDs or ports), audit_stats.c ------------------- */

/* Detectors: what makes a sequence guessable. */
#define AUDIT_F_CONSTANT   0x001 /* one value */
#define AUDIT_F_SEQUENTIAL 0x002 /* mostly +1 (or -1) steps */
#define AUDIT_F_STEPPED    0x004 /* mostly one constant step other than ±1 */
#define AUDIT_F_TIME       0x008 /* follows the arrival clock */
#define AUDIT_F_PID        0x010 /* process-derived: high bits (or an XOR key) constant */
#define AUDIT_F_WINDOW15   0x020 /* 15 bits per window: one bit constant, the rest vary */
#define AUDIT_F_SMALLRANGE 0x040 /* values confined to a small range */
#define AUDIT_F_BIAS       0x080 /* some bit far from balanced */
#define AUDIT_F_FEW        0x100 /* too few samples to judge (n < AUDIT_MIN_SAMPLES) */
#define AUDIT_MIN_SAMPLES  20

enum audit_pred {
	AP_SAME,   /* next = last */
	AP_INC,    /* next = last + 1 */
	AP_DELTA,  /* next = last + (last - previous) */
	AP_COMMON, /* next = last + the most common step so far */
	AP_NPRED
};

struct audit_stats {
	size_t n;
	size_t distinct;
	uint16_t min, max;
	double shannon_bits;     /* plug-in entropy of the values (<= log2 n) */
	double min_entropy_bits; /* -log2(highest value frequency) */
	double bit_ones[16];     /* fraction of ones per bit, bit 0 = LSB */
	double bit_entropy;      /* sum over bits of the binary entropy of bit_ones */
	double delta_entropy;    /* plug-in entropy of consecutive steps mod 2^16 */
	int32_t common_delta;    /* the most common step, as -32768..32767 */
	double common_delta_frac;
	double predict[AP_NPRED]; /* fraction of values each predictor guessed */
	unsigned flags;           /* AUDIT_F_* */
	/*
	 * What an off-path attacker faces for this field: the bit entropy, cut down by what
	 * the detectors and predictors show (a predictor right with probability p leaves at
	 * most -log2 p bits). 0..16.
	 */
	double effective_bits;
};

/*
 * Analyses v[0..n). t_us (may be NULL) is each value's arrival time, for the time
 * detector. Any n is fine (0 gives zeros and AUDIT_F_FEW).
 */
void audit_stats_analyze(const uint16_t *v, size_t n, const uint64_t *t_us, struct audit_stats *);
/* "constant, sequential" etc. for the flags set, "" for none; into buf. Returns buf. */
const char *audit_flags_str(unsigned flags, char *buf, size_t len);

/* 0x20: over the queries' names, the fraction whose letters were not all of one case, and
   the mean number of letters (each a random bit when 0x20 is used). */
void audit_x20(const struct audit_query *, size_t n, double *mixed_frac, double *letters_mean);

/* --- the acceptance matrix and the blind race (filled by mxaudit) ---------------------- */

enum audit_forge {
	AF_WRONG_ID,       /* right everything but the ID */
	AF_WRONG_SRC_ADDR, /* right ID, from another address */
	AF_WRONG_SRC_PORT, /* right ID, from the right address but another port */
	AF_OTHER_QNAME,    /* right ID, another question */
	AF_QCASE,          /* right ID, the question in another letter case */
	AF_QR0,            /* right ID, QR=0 */
	AF_NXDOMAIN,       /* right ID, no question, NXDOMAIN: does the target bounce? */
	AF_SERVFAIL,       /* right ID, no question, SERVFAIL: does the target give up? */
	AF_ADDITIONAL,     /* true answer plus out-of-bailiwick records in additional */
	AF_TC,             /* TC=1 on UDP: does the target retry over TCP? */
	AF_NKINDS
};
const char *audit_forge_str(enum audit_forge);  /* "wrong-id", ... */
const char *audit_forge_desc(enum audit_forge); /* one sentence */

enum audit_verdict {
	AV_UNTESTED,
	AV_REJECTED,    /* the forgery had no effect: mail reached the true MX */
	AV_ACCEPTED,    /* believed: mail went to the attacker, or was bounced/deferred
				   on a forged error, or the poisoned name was used */
	AV_INCONCLUSIVE /* nothing decisive happened within the time bound */
};
const char *audit_verdict_str(enum audit_verdict);

struct audit_accept {
	enum audit_verdict verdict;
	char domain[256];   /* the fresh domain used */
	char evidence[256]; /* "mail for u@x.audit.test arrived at the attacker" */
};

struct audit_race {
	bool run;
	unsigned rounds;      /* lookups triggered */
	uint64_t forged_sent; /* blind answers sent in all */
	unsigned successes;   /* rounds whose mail reached the attacker */
	/* At the measured entropy: packets for a 50% chance of one success. */
	double expected_packets;
};

struct audit_run {
	char tool_version[32];
	char target[128]; /* what the user said it is ("postfix 3.7.11", ...) */
	char mode[16];    /* relay, bounce, passive */
	char zone[256];
	time_t started;
	double duration_s;
	struct audit_query *q; /* owned by the caller */
	size_t nq;
	struct audit_stats ids, ports;
	double x20_mixed_frac, x20_letters_mean;
	double x20_bits; /* 0x20 bits counted in effective_bits (audit_judge) */
	unsigned edns_queries, do_queries, cookie_queries, tcp_queries;
	bool matrix_run;
	struct audit_accept acc[AF_NKINDS];
	struct audit_race race;
	/* The judgement (audit_judge): effective bits an off-path attacker faces. */
	double effective_bits; /* ID + port + 0x20, capped by the evidence */
	const char *rating;    /* "excellent", "good", "fair", "poor" */
	unsigned accepted;     /* forgeries believed */
};

/* Fills run->ids, ports, x20, counters, effective_bits, rating, accepted from q[]. */
void audit_judge(struct audit_run *);

/* --- reports, audit_report.c ------------------------------------------------------------ */
void audit_report_text(FILE *, const struct audit_run *);
void audit_report_json(FILE *, const struct audit_run *);
/* Self-contained HTML: inline CSS and SVG, no scripts, no external resources. */
void audit_report_html(FILE *, const struct audit_run *);

#endif
