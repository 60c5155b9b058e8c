/*
 * audit_report — mxaudit's three renderings of one struct audit_run: a text summary a
 * security engineer pastes into a ticket, JSON with every field and every query for
 * machines, and one self-contained HTML file for people (inline CSS, three inline SVG
 * plots drawn here, no script, no external resource of any kind).
 *
 * Ownership: the renderers only read the run (and run->q[0..nq)) and write to the caller's
 * FILE; they allocate nothing. Errors: a failed write stays in the FILE's error indicator,
 * for the caller's ferror()/fclose() to report. A run that audit_judge() has not filled is
 * still rendered (a NULL rating reads "unrated").
 *
 * Limits: at most AUDIT_QUERIES_MAX queries are read even if nq says more, and q == NULL
 * reads as no query; strings are read at most up to their array size, so a field that is
 * not NUL-terminated cannot run the renderer past it. Each SVG plot draws at most PLOT_MAX
 * points: beyond that the points are subsampled evenly over the whole run and the caption
 * says so, which bounds the HTML at a few hundred kilobytes for the largest run. The HTML
 * query table shows the first HTML_QROWS queries and the text the first TEXT_QROWS; the
 * JSON has them all.
 *
 * Security: qnames come from the audited server and the evidence strings quote them; the
 * target string comes from the user. All are untrusted. One rule is applied first in every
 * format: a byte outside printable ASCII becomes \DDD, the presentation escape of RFC 1035
 * §5.1 that qnames already use. So no report carries control characters (a terminal escape
 * in the text report), invalid UTF-8 (RFC 8259 §8.1) or bytes a browser might decode in
 * surprising ways. Then JSON escapes quote and backslash (RFC 8259 §7), and HTML escapes
 * & < > " ' everywhere, attribute values included. CSS class names come from fixed tables
 * indexed by enums, never from data. The HTML also carries a Content-Security-Policy that
 * forbids every script and fetch, a second wall should an escape ever be missed.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "audit/audit.h"
#include "dns/dns.h"
#include "util/net.h"

#define PLOT_MAX   5000 /* points per SVG plot */
#define PATH_PTS   400  /* points per <path> element, to keep lines short */
#define HIST_BINS  64   /* port histogram bars over the whole port space */
#define HTML_QROWS 100  /* queries listed in the HTML table */
#define TEXT_QROWS 5    /* queries listed in the text summary */
#define HOT_MAX    4    /* phase-space points annotated when all fall on so few */
#define ADDRS_MAX  8    /* distinct source addresses counted */
#define WHY_LEN    768  /* the verdict's sentence */
#define JW_DEPTH   8    /* JSON nesting: our document needs 4 */

enum esc { ESC_TEXT, ESC_JSON, ESC_HTML };

static const char *const pred_name[AP_NPRED] = {
    "next = last",
    "next = last + 1",
    "next = last + last step",
    "next = last + most common step",
};

static const char *const pred_key[AP_NPRED] = {"same", "inc", "delta", "common"};

/* Indexed by enum audit_verdict; CSS classes in the HTML. */
static const char *const verdict_class[] = {"untested", "rejected", "accepted", "inconclusive"};

/* ---- common helpers --------------------------------------------------------------------- */

static size_t
run_nq(const struct audit_run *r)
{
	if (r->q == NULL)
		return 0;
	return r->nq < AUDIT_QUERIES_MAX ? r->nq : AUDIT_QUERIES_MAX;
}

static bool
printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/*
 * Writes s (at most max bytes, stopping at NUL) escaped for the format: first the \DDD
 * rule of the module comment, then the format's own escapes.
 */
static void
put_esc(FILE *f, const char *s, size_t max, enum esc e)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!printable(c)) {
			if (e == ESC_JSON)
				fprintf(f, "\\\\%03u", c); /* a JSON string holding \DDD */
			else
				fprintf(f, "\\%03u", c);
			continue;
		}
		if (e == ESC_JSON && (c == '"' || c == '\\'))
			fputc('\\', f);
		if (e == ESC_HTML) {
			switch (c) {
			case '&':
				fputs("&amp;", f);
				continue;
			case '<':
				fputs("&lt;", f);
				continue;
			case '>':
				fputs("&gt;", f);
				continue;
			case '"':
				fputs("&quot;", f);
				continue;
			case '\'':
				fputs("&#39;", f);
				continue;
			default:
				break;
			}
		}
		fputc(c, f);
	}
}

/* The \DDD rule into buf (always NUL-terminated, cut at a whole escape); returns buf. */
static const char *
safe(const char *s, size_t max, char *buf, size_t len)
{
	size_t i, o = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (s == NULL)
		return buf;
	for (i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (printable(c)) {
			if (o + 1 >= len)
				break;
			buf[o++] = (char)c;
		} else {
			if (o + 4 >= len)
				break;
			(void)snprintf(buf + o, len - o, "\\%03u", c);
			o += 4;
		}
	}
	buf[o] = '\0';
	return buf;
}

static const char *
nn(const char *s, const char *dflt)
{
	return s != NULL && s[0] != '\0' ? s : dflt;
}

static const char *
rating_of(const struct audit_run *r)
{
	return nn(r->rating, "unrated");
}

/* A CSS class for the rating: only these four names ever reach the markup. */
static const char *
rating_class(const struct audit_run *r)
{
	static const char *const known[] = {"excellent", "good", "fair", "poor"};
	size_t i;

	if (r->rating == NULL)
		return "unrated";
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(r->rating, known[i]) == 0)
			return known[i];
	return "unrated";
}

static const char *
verdict_cls(enum audit_verdict v)
{
	if ((unsigned)v < sizeof(verdict_class) / sizeof(verdict_class[0]))
		return verdict_class[v];
	return "untested";
}

static const char *
verdict_name(enum audit_verdict v)
{
	return nn(audit_verdict_str(v), "?");
}

static const char *
flags_text(unsigned flags, char *buf, size_t len)
{
	if (flags == 0 || len == 0)
		return "none";
	buf[0] = '\0';
	return nn(audit_flags_str(flags, buf, len), "none");
}

/* A value for "%.1f": non-finite as 0, and no "-0.0" from a tiny negative estimate. */
static double
fin(double v)
{
	if (!isfinite(v) || (v > -0.05 && v <= 0.0))
		return 0.0;
	return v;
}

/* The predictor that guessed most often; its index. */
static int
best_pred(const struct audit_stats *s)
{
	int i, best = 0;

	for (i = 1; i < AP_NPRED; i++)
		if (fin(s->predict[i]) > fin(s->predict[best]))
			best = i;
	return best;
}

static const char *
time_utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* Counts up to ADDRS_MAX distinct source addresses (ports ignored); the first in first. */
static size_t
source_addrs(const struct audit_run *r, size_t nq, char *first, size_t len)
{
	struct net_addr seen[ADDRS_MAX];
	size_t i, j, n = 0;

	if (len > 0)
		first[0] = '\0';
	for (i = 0; i < nq; i++) {
		struct net_addr a = r->q[i].src;

		/* Compare hosts only: zero the port in the copy. */
		if (a.ss.ss_family == AF_INET)
			((struct sockaddr_in *)&a.ss)->sin_port = 0;
		else if (a.ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&a.ss)->sin6_port = 0;
		else
			continue;
		for (j = 0; j < n; j++)
			if (net_addr_eq(&seen[j], &a))
				break;
		if (j < n)
			continue;
		if (n == 0)
			net_addr_host(&a, first, len);
		if (n == ADDRS_MAX)
			return n + 1; /* "more than ADDRS_MAX" */
		seen[n++] = a;
	}
	return n;
}

static void
udp_sizes(const struct audit_run *r, size_t nq, unsigned *lo, unsigned *hi)
{
	size_t i;

	*lo = 0;
	*hi = 0;
	for (i = 0; i < nq; i++) {
		if (!r->q[i].edns)
			continue;
		if (*hi == 0 || r->q[i].udp_size < *lo)
			*lo = r->q[i].udp_size;
		if (r->q[i].udp_size > *hi)
			*hi = r->q[i].udp_size;
	}
}

/* Appends to a bounded sentence buffer; a cut sentence stays NUL-terminated. */
static void __attribute__((format(printf, 3, 4)))
why_cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t o = strnlen(buf, len);
	va_list ap;

	if (o + 1 >= len)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf + o, len - o, fmt, ap);
	va_end(ap);
}

/* Detectors that make a field guessable, as opposed to "few samples" or a mild bias. */
#define GUESSABLE                                                                                  \
	(AUDIT_F_CONSTANT | AUDIT_F_SEQUENTIAL | AUDIT_F_STEPPED | AUDIT_F_TIME | AUDIT_F_PID |    \
	    AUDIT_F_WINDOW15 | AUDIT_F_SMALLRANGE)

/*
 * One sentence of why the run got its rating, from the strongest evidence down: a blind
 * race won, forgeries believed, guessable IDs or ports; otherwise where the bits came from.
 * Printable ASCII plus whatever the stats module's names hold; escaped by the callers.
 */
static void
why(const struct audit_run *r, char *buf, size_t len)
{
	char fl[256];
	size_t nq = run_nq(r);
	int parts = 0, k;
	bool idflag, portflag, quiet_matrix, quiet_race;

	buf[0] = '\0';
	if (nq < AUDIT_MIN_SAMPLES) {
		why_cat(buf, len,
		    "Only %zu quer%s seen, fewer than the %d needed to judge "
		    "the randomness",
		    nq, nq == 1 ? "y was" : "ies were", AUDIT_MIN_SAMPLES);
		parts++;
	}
	if (r->race.run && r->race.successes > 0) {
		why_cat(buf, len, "%sa blind off-path burst poisoned %u of %u lookups",
		    parts ? "; " : "", r->race.successes, r->race.rounds);
		parts++;
	}
	if (r->matrix_run && r->accepted > 0) {
		int listed = 0;

		why_cat(buf, len, "%sthe target believed %u forged answer%s (", parts ? "; " : "",
		    r->accepted, r->accepted == 1 ? "" : "s");
		for (k = 0; k < AF_NKINDS; k++) {
			if (r->acc[k].verdict != AV_ACCEPTED)
				continue;
			why_cat(buf, len, "%s%s", listed ? ", " : "",
			    nn(audit_forge_str((enum audit_forge)k), "?"));
			listed++;
		}
		why_cat(buf, len, ")");
		parts++;
	}
	idflag = nq >= AUDIT_MIN_SAMPLES && (r->ids.flags & GUESSABLE) != 0;
	portflag = nq >= AUDIT_MIN_SAMPLES && (r->ports.flags & GUESSABLE) != 0;
	if (idflag) {
		why_cat(buf, len, "%sits transaction IDs are %s (%.1f bits left)",
		    parts ? "; " : "", flags_text(r->ids.flags & GUESSABLE, fl, sizeof(fl)),
		    fin(r->ids.effective_bits));
		parts++;
	}
	if (portflag) {
		if (r->ports.distinct == 1)
			why_cat(buf, len, "%severy query left from one source port (%u)",
			    parts ? "; " : "", r->ports.min);
		else
			why_cat(buf, len, "%sits source ports are %s (%.1f bits left)",
			    parts ? "; " : "",
			    flags_text(r->ports.flags & GUESSABLE, fl, sizeof(fl)),
			    fin(r->ports.effective_bits));
		parts++;
	}
	if (nq >= AUDIT_MIN_SAMPLES && !idflag && !portflag) {
		why_cat(buf, len, "%sIDs and source ports look random (%.1f + %.1f bits",
		    parts ? "; " : "", fin(r->ids.effective_bits), fin(r->ports.effective_bits));
		if (r->x20_bits > 0.0)
			why_cat(buf, len, ", and 0x20 adds %.1f", fin(r->x20_bits));
		why_cat(buf, len, ")");
		parts++;
	}
	quiet_matrix = r->matrix_run && r->accepted == 0;
	quiet_race = r->race.run && r->race.successes == 0;
	if (quiet_matrix && quiet_race)
		why_cat(buf, len, "%sno forged answer was believed and the blind race failed",
		    parts ? "; " : "");
	else if (quiet_matrix)
		why_cat(buf, len, "%sno forged answer was believed", parts ? "; " : "");
	else if (quiet_race)
		why_cat(buf, len, "%sthe blind race failed", parts ? "; " : "");
	why_cat(buf, len, ".");
	if (buf[0] >= 'a' && buf[0] <= 'z')
		buf[0] = (char)(buf[0] - 'a' + 'A');
}

/* "1234" below a million, "2.98e+09" above. */
static const char *
count_str(double v, char *buf, size_t len)
{
	v = fin(v);
	if (v < 1e6)
		(void)snprintf(buf, len, "%.0f", v);
	else
		(void)snprintf(buf, len, "%.3g", v);
	return buf;
}

/* ---- text ------------------------------------------------------------------------------- */

static void
text_stats(FILE *f, const char *label, const struct audit_stats *s, bool port)
{
	char fl[256];
	int b = best_pred(s);

	if (s->n == 0) {
		fprintf(f, "%-17s no samples\n", label);
		return;
	}
	fprintf(f,
	    "%-17s %zu distinct of %zu, entropy %.1f bits, min-entropy %.1f bits, "
	    "per-bit %.1f/16\n",
	    label, s->distinct, s->n, fin(s->shannon_bits), fin(s->min_entropy_bits),
	    fin(s->bit_entropy));
	fprintf(f, "%-17s flags: %s; best predictor \"%s\" right %.1f%%\n", "",
	    flags_text(s->flags, fl, sizeof(fl)), pred_name[b], 100.0 * fin(s->predict[b]));
	if (port)
		fprintf(f, "%-17s range %u..%u (%u value%s wide); effective %.1f bits\n", "",
		    s->min, s->max, (unsigned)(s->max - s->min) + 1, s->max == s->min ? "" : "s",
		    fin(s->effective_bits));
	else
		fprintf(f, "%-17s effective %.1f bits\n", "", fin(s->effective_bits));
}

void
audit_report_text(FILE *f, const struct audit_run *r)
{
	char b1[4 * 256 + 1], b2[4 * 256 + 1], host[INET6_ADDRSTRLEN], ts[64], sentence[WHY_LEN];
	char qn[4 * DNS_NAME_STRLEN + 1];
	size_t nq = run_nq(r), na, i;
	unsigned lo, hi;
	int k;

	fprintf(f, "mxaudit %s: DNS spoofing audit of %s\n",
	    nn(safe(r->tool_version, sizeof(r->tool_version), b1, sizeof(b1)), "?"),
	    nn(safe(r->target, sizeof(r->target), b2, sizeof(b2)), "(unnamed target)"));
	fprintf(f, "%-17s %s, zone %s\n",
	    "mode:", nn(safe(r->mode, sizeof(r->mode), b1, sizeof(b1)), "?"),
	    nn(safe(r->zone, sizeof(r->zone), b2, sizeof(b2)), "?"));
	fprintf(f, "%-17s %s, %.1f s\n", "started:", time_utc(r->started, ts, sizeof(ts)),
	    fin(r->duration_s));
	na = source_addrs(r, nq, host, sizeof(host));
	fprintf(f, "%-17s %zu (%zu UDP, %u TCP)", "queries:", nq,
	    nq - (r->tcp_queries <= nq ? r->tcp_queries : nq), r->tcp_queries);
	if (na == 1)
		fprintf(f, " from %s", host);
	else if (na > 1)
		fprintf(f, " from %s and %s%zu other address%s", host,
		    na > ADDRS_MAX ? "over " : "", na > ADDRS_MAX ? (size_t)ADDRS_MAX - 1 : na - 1,
		    na == 2 ? "" : "es");
	fputc('\n', f);
	for (i = 0; i < nq && i < TEXT_QROWS; i++)
		fprintf(f, "%-17s id 0x%04x port %5u %-4s %-5s %s\n",
		    i == 0 ? "first queries:" : "", r->q[i].id, r->q[i].sport,
		    r->q[i].tcp ? "tcp" : "udp", dns_type_str(r->q[i].qtype),
		    safe(r->q[i].qname, sizeof(r->q[i].qname), qn, sizeof(qn)));
	fputc('\n', f);

	text_stats(f, "transaction IDs:", &r->ids, false);
	text_stats(f, "source ports:", &r->ports, true);
	if (nq == 0)
		fprintf(f, "%-17s no names seen\n", "0x20:");
	else if (r->x20_mixed_frac > 0.0)
		fprintf(f,
		    "%-17s %.0f%% of names in mixed case, %.1f letters a name; counted "
		    "%.1f bits\n",
		    "0x20:", 100.0 * fin(r->x20_mixed_frac), fin(r->x20_letters_mean),
		    fin(r->x20_bits));
	else
		fprintf(f, "%-17s not used (every name in one case, %.1f letters a name)\n",
		    "0x20:", fin(r->x20_letters_mean));
	udp_sizes(r, nq, &lo, &hi);
	fprintf(f, "%-17s %u of %zu queries", "EDNS:", r->edns_queries, nq);
	if (hi > 0 && lo == hi)
		fprintf(f, " (buffer %u)", lo);
	else if (hi > 0)
		fprintf(f, " (buffer %u..%u)", lo, hi);
	fprintf(f, "; DO bit %u; cookies %u; TCP %u\n\n", r->do_queries, r->cookie_queries,
	    r->tcp_queries);

	if (!r->matrix_run)
		fprintf(f, "acceptance matrix: not run\n");
	else {
		fprintf(f, "acceptance matrix (on-path forgeries sent before the true answer):\n");
		for (k = 0; k < AF_NKINDS; k++) {
			const struct audit_accept *a = &r->acc[k];

			fprintf(f, "  %-17s %-13s %s\n",
			    nn(audit_forge_str((enum audit_forge)k), "?"), verdict_name(a->verdict),
			    nn(safe(a->evidence, sizeof(a->evidence), b1, sizeof(b1)),
				nn(safe(a->domain, sizeof(a->domain), b2, sizeof(b2)), "-")));
		}
		fprintf(
		    f, "  %u forged answer%s believed\n", r->accepted, r->accepted == 1 ? "" : "s");
	}
	if (!r->race.run)
		fprintf(f, "blind race: not run");
	else
		fprintf(f, "blind race: %u round%s, %llu forged answers, %u success%s",
		    r->race.rounds, r->race.rounds == 1 ? "" : "s",
		    (unsigned long long)r->race.forged_sent, r->race.successes,
		    r->race.successes == 1 ? "" : "es");
	fputc('\n', f);
	if (r->race.expected_packets > 0.0)
		fprintf(f,
		    "  at the measured entropy a blind attacker needs about %s forged "
		    "answer%s for a 50%% chance\n",
		    count_str(r->race.expected_packets, b1, sizeof(b1)),
		    r->race.expected_packets < 1.5 ? "" : "s");
	fputc('\n', f);

	why(r, sentence, sizeof(sentence));
	fprintf(f, "verdict: effective %.1f bits \xe2\x80\x94 %s\n", fin(r->effective_bits),
	    safe(rating_of(r), 64, b1, sizeof(b1)));
	fprintf(f, "%s\n", safe(sentence, sizeof(sentence), b2, sizeof(b2)));
}

/* ---- JSON ------------------------------------------------------------------------------- */

/*
 * A small writer of our own: util/json.h has no numbers other than integers and passes
 * bytes >= 0x80 through, and the report needs fractions and must stay valid UTF-8. Objects
 * are indented; a container opened "flat" (each query) is written on one line.
 */
struct jw {
	FILE *f;
	int depth;
	bool first[JW_DEPTH];
	bool flat[JW_DEPTH];
};

static void
jw_sep(struct jw *j, const char *key)
{
	int i;

	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (j->depth > 0 && !j->flat[j->depth]) {
		fputc('\n', j->f);
		for (i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	if (key != NULL)
		fprintf(j->f, "\"%s\":", key); /* keys are our own literals */
}

static void
jw_open(struct jw *j, const char *key, char brace, bool flat)
{
	bool outer;

	jw_sep(j, key);
	fputc(brace, j->f);
	outer = j->flat[j->depth];
	if (j->depth + 1 < JW_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
	j->flat[j->depth] = flat || outer;
}

static void
jw_close(struct jw *j, char brace)
{
	int i;

	if (!j->flat[j->depth] && !j->first[j->depth]) {
		fputc('\n', j->f);
		for (i = 0; i < j->depth - 1; i++)
			fputs("  ", j->f);
	}
	fputc(brace, j->f);
	if (j->depth > 0)
		j->depth--;
}

static void
jw_str(struct jw *j, const char *key, const char *s, size_t max)
{
	jw_sep(j, key);
	if (s == NULL) {
		fputs("null", j->f);
		return;
	}
	fputc('"', j->f);
	put_esc(j->f, s, max, ESC_JSON);
	fputc('"', j->f);
}

static void
jw_int(struct jw *j, const char *key, long long v)
{
	jw_sep(j, key);
	fprintf(j->f, "%lld", v);
}

static void
jw_uint(struct jw *j, const char *key, unsigned long long v)
{
	jw_sep(j, key);
	fprintf(j->f, "%llu", v);
}

/* RFC 8259 §6 has no NaN or infinity: those are written as null. */
static void
jw_num(struct jw *j, const char *key, double v)
{
	jw_sep(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

static void
jw_bool(struct jw *j, const char *key, bool v)
{
	jw_sep(j, key);
	fputs(v ? "true" : "false", j->f);
}

static void
json_stats(struct jw *j, const char *key, const struct audit_stats *s)
{
	char fl[256];
	int i;

	jw_open(j, key, '{', false);
	jw_uint(j, "n", s->n);
	jw_uint(j, "distinct", s->distinct);
	jw_int(j, "min", s->min);
	jw_int(j, "max", s->max);
	jw_num(j, "shannon_bits", s->shannon_bits);
	jw_num(j, "min_entropy_bits", s->min_entropy_bits);
	jw_open(j, "bit_ones", '[', true);
	for (i = 0; i < 16; i++)
		jw_num(j, NULL, s->bit_ones[i]);
	jw_close(j, ']');
	jw_num(j, "bit_entropy", s->bit_entropy);
	jw_num(j, "delta_entropy", s->delta_entropy);
	jw_int(j, "common_delta", s->common_delta);
	jw_num(j, "common_delta_frac", s->common_delta_frac);
	jw_open(j, "predict", '{', true);
	for (i = 0; i < AP_NPRED; i++)
		jw_num(j, pred_key[i], s->predict[i]);
	jw_close(j, '}');
	jw_uint(j, "flags", s->flags);
	jw_str(
	    j, "flags_str", s->flags == 0 ? "" : flags_text(s->flags, fl, sizeof(fl)), sizeof(fl));
	jw_num(j, "effective_bits", s->effective_bits);
	jw_close(j, '}');
}

static void
json_query(struct jw *j, const struct audit_query *q)
{
	char a[NET_ADDR_STRLEN];
	int fam = net_addr_family(&q->src);

	jw_open(j, NULL, '{', true);
	jw_uint(j, "t_us", q->t_us);
	jw_int(j, "id", q->id);
	jw_str(j, "src",
	    fam == AF_INET || fam == AF_INET6 ? net_addr_str(&q->src, a, sizeof(a)) : NULL,
	    sizeof(a));
	jw_int(j, "sport", q->sport);
	jw_str(j, "qname", q->qname, sizeof(q->qname));
	jw_int(j, "qtype", q->qtype);
	jw_str(j, "qtype_str", dns_type_str(q->qtype), 32);
	jw_bool(j, "tcp", q->tcp);
	jw_bool(j, "edns", q->edns);
	jw_int(j, "udp_size", q->udp_size);
	jw_bool(j, "do_bit", q->do_bit);
	jw_bool(j, "cookie", q->cookie);
	jw_close(j, '}');
}

void
audit_report_json(FILE *f, const struct audit_run *r)
{
	struct jw j = {.f = f};
	char ts[64], sentence[WHY_LEN];
	size_t nq = run_nq(r), i;
	int k;

	j.first[0] = true;
	why(r, sentence, sizeof(sentence));
	jw_open(&j, NULL, '{', false);
	jw_str(&j, "tool", "mxaudit", 8);
	jw_str(&j, "tool_version", r->tool_version, sizeof(r->tool_version));
	jw_str(&j, "target", r->target, sizeof(r->target));
	jw_str(&j, "mode", r->mode, sizeof(r->mode));
	jw_str(&j, "zone", r->zone, sizeof(r->zone));
	jw_int(&j, "started", (long long)r->started);
	jw_str(&j, "started_utc", time_utc(r->started, ts, sizeof(ts)), sizeof(ts));
	jw_num(&j, "duration_s", r->duration_s);
	jw_num(&j, "effective_bits", r->effective_bits);
	jw_str(&j, "rating", r->rating, 64);
	jw_uint(&j, "accepted", r->accepted);
	jw_str(&j, "why", sentence, sizeof(sentence));
	jw_uint(&j, "nq", nq);
	json_stats(&j, "ids", &r->ids);
	json_stats(&j, "ports", &r->ports);
	jw_num(&j, "x20_mixed_frac", r->x20_mixed_frac);
	jw_num(&j, "x20_letters_mean", r->x20_letters_mean);
	jw_num(&j, "x20_bits", r->x20_bits);
	jw_uint(&j, "edns_queries", r->edns_queries);
	jw_uint(&j, "do_queries", r->do_queries);
	jw_uint(&j, "cookie_queries", r->cookie_queries);
	jw_uint(&j, "tcp_queries", r->tcp_queries);
	jw_bool(&j, "matrix_run", r->matrix_run);
	jw_open(&j, "acc", '[', false);
	for (k = 0; k < AF_NKINDS; k++) {
		const struct audit_accept *a = &r->acc[k];

		jw_open(&j, NULL, '{', true);
		jw_str(&j, "kind", audit_forge_str((enum audit_forge)k), 64);
		jw_str(&j, "desc", audit_forge_desc((enum audit_forge)k), 512);
		jw_str(&j, "verdict", audit_verdict_str(a->verdict), 64);
		jw_str(&j, "domain", a->domain, sizeof(a->domain));
		jw_str(&j, "evidence", a->evidence, sizeof(a->evidence));
		jw_close(&j, '}');
	}
	jw_close(&j, ']');
	jw_open(&j, "race", '{', false);
	jw_bool(&j, "run", r->race.run);
	jw_uint(&j, "rounds", r->race.rounds);
	jw_uint(&j, "forged_sent", r->race.forged_sent);
	jw_uint(&j, "successes", r->race.successes);
	jw_num(&j, "expected_packets", r->race.expected_packets);
	jw_close(&j, '}');
	jw_open(&j, "queries", '[', false);
	for (i = 0; i < nq; i++)
		json_query(&j, &r->q[i]);
	jw_close(&j, ']');
	jw_close(&j, '}');
	fputc('\n', f);
}

/* ---- HTML ------------------------------------------------------------------------------- */

static const char html_css[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:#1b1f24;background:#fff;max-width:1040px;margin:0 auto;padding:16px 28px}\n"
    "header{border-bottom:2px solid #d0d7de;padding-bottom:12px;margin-bottom:8px}\n"
    "h1{font-size:24px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px}\n"
    ".badge{display:inline-block;padding:4px 14px;border-radius:14px;font-weight:700;"
    "color:#fff;text-transform:uppercase;letter-spacing:.06em;margin-right:12px}\n"
    ".r-excellent{background:#1a7f37}.r-good{background:#2f81f7}"
    ".r-fair{background:#bf8700}.r-poor{background:#cf222e}.r-unrated{background:#6e7781}\n"
    ".eff{font-size:20px;font-weight:600}.why{margin:6px 0 0}\n"
    "table{border-collapse:collapse;margin:4px 0 8px}\n"
    "th,td{text-align:left;vertical-align:top;padding:4px 10px;border-bottom:1px solid #eaeef2}\n"
    "th{background:#f6f8fa;font-weight:600}\n"
    "table.kv th{width:190px}\n"
    "td.v{font-weight:700;text-transform:uppercase;font-size:13px;white-space:nowrap}\n"
    ".v-accepted{background:#ffebe9;color:#a40e26}.v-rejected{background:#dafbe1;color:#116329}\n"
    ".v-inconclusive{background:#fff8c5;color:#7d4e00}.v-untested{background:#f6f8fa;color:#57606a}"
    "\n"
    "code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}\n"
    "table.q td{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;padding:2px 8px}\n"
    "figure{margin:8px 0}figcaption{color:#57606a;font-size:13px;max-width:760px}\n"
    "svg{background:#fff;border:1px solid #d0d7de;max-width:100%;height:auto}\n"
    ".frame{fill:#fbfcfd;stroke:#8c959f;stroke-width:1}\n"
    ".grid{stroke:#eaeef2;stroke-width:1}\n"
    ".tick{font:11px ui-monospace,Menlo,monospace;fill:#57606a}\n"
    ".lab{font:12px system-ui,sans-serif;fill:#24292f}\n"
    ".pts{fill:none;stroke:#0969da;stroke-opacity:.65;stroke-width:2.6;stroke-linecap:round}\n"
    ".bar{fill:#0969da;fill-opacity:.8}\n"
    ".hot{fill:none;stroke:#cf222e;stroke-width:2}\n"
    ".empty{font:14px system-ui,sans-serif;fill:#8c959f}\n"
    "footer{margin-top:32px;color:#57606a;font-size:12px;border-top:1px solid #d0d7de;"
    "padding-top:8px}\n";

/* The plotting area of an SVG, in its own units. */
struct frame {
	double l, t, w, h;
};

static void
svg_begin(FILE *f, int w, int h, const char *label)
{
	fprintf(f,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n",
	    w, h, w, h, label);
}

/*
 * Frame, grid and five ticks per axis at even fractions of [lo, hi] (labelled as
 * integers), and the axis labels. Labels are our own literals.
 */
static void
svg_axes(FILE *f, const struct frame *fr, double xlo, double xhi, double ylo, double yhi,
    const char *xlab, const char *ylab)
{
	double lastx = -1, lasty = -1;
	int k;

	fprintf(f, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
	    fr->l, fr->t, fr->w, fr->h);
	for (k = 0; k <= 4; k++) {
		double x = fr->l + fr->w * k / 4.0, y = fr->t + fr->h - fr->h * k / 4.0;

		if (k > 0 && k < 4)
			fprintf(f,
			    "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			    "y2=\"%.1f\"/><line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			    "y2=\"%.1f\"/>\n",
			    x, fr->t, x, fr->t + fr->h, fr->l, y, fr->l + fr->w, y);
		/* A narrow range repeats rounded labels: write each value once. */
		double xv = (double)(long long)(xlo + (xhi - xlo) * k / 4.0 + 0.5);
		double yv = (double)(long long)(ylo + (yhi - ylo) * k / 4.0 + 0.5);

		if (xv != lastx)
			fprintf(f,
			    "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
			    "text-anchor=\"middle\">%.0f</text>\n",
			    x, fr->t + fr->h + 14, xv);
		if (yv != lasty)
			fprintf(f,
			    "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
			    "text-anchor=\"end\">%.0f</text>\n",
			    fr->l - 5, y + 4, yv);
		lastx = xv;
		lasty = yv;
	}
	fprintf(f, "<text class=\"lab\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
	    fr->l + fr->w / 2, fr->t + fr->h + 32, xlab);
	fprintf(f,
	    "<text class=\"lab\" transform=\"translate(14 %.1f) rotate(-90)\" "
	    "text-anchor=\"middle\">%s</text>\n",
	    fr->t + fr->h / 2, ylab);
}

static void
svg_empty(FILE *f, const struct frame *fr, const char *what)
{
	fprintf(f, "<text class=\"empty\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
	    fr->l + fr->w / 2, fr->t + fr->h / 2, what);
}

/*
 * Points as zero-length subpaths drawn with round caps (SVG 1.1 §11.4 renders those as
 * dots): about 14 bytes a point, against 40 for a <circle>.
 */
struct pts {
	FILE *f;
	size_t n;
};

static void
pts_add(struct pts *p, double x, double y)
{
	if (p->n % PATH_PTS == 0) {
		if (p->n > 0)
			fputs("\"/>\n", p->f);
		fputs("<path class=\"pts\" d=\"", p->f);
	}
	fprintf(p->f, "M%.1f %.1fh0", x, y);
	p->n++;
}

static void
pts_end(struct pts *p)
{
	if (p->n > 0)
		fputs("\"/>\n", p->f);
}

/* The index of the k-th of m points spread evenly over n (m <= n). */
static size_t
pick(size_t k, size_t m, size_t n)
{
	return m == n ? k : (size_t)((uint64_t)k * n / m);
}

static void
html_subsample_note(FILE *f, size_t m, size_t n)
{
	if (m < n)
		fprintf(f, " Showing %zu of %zu points, subsampled evenly over the run.", m, n);
}

static void
html_plot_ids(FILE *f, const struct audit_run *r, size_t nq)
{
	struct frame fr = {64, 12, 560, 300};
	struct pts p = {f, 0};
	size_t m = nq < PLOT_MAX ? nq : PLOT_MAX, k;

	fputs("<figure>\n", f);
	svg_begin(f, 640, 360, "transaction IDs in arrival order");
	svg_axes(
	    f, &fr, 0, nq > 0 ? (double)(nq - 1) : 0, 0, 65535, "query index", "transaction ID");
	if (nq == 0)
		svg_empty(f, &fr, "no queries");
	for (k = 0; k < m; k++) {
		size_t i = pick(k, m, nq);
		double x = fr.l + (nq > 1 ? fr.w * (double)i / (double)(nq - 1) : fr.w / 2);
		double y = fr.t + fr.h - fr.h * r->q[i].id / 65535.0;

		pts_add(&p, x, y);
	}
	pts_end(&p);
	fputs("</svg>\n<figcaption>Transaction IDs in the order the queries arrived. "
	      "Random IDs fill the box evenly; a counter draws a line or a sawtooth, a constant "
	      "a flat line.",
	    f);
	html_subsample_note(f, m, nq);
	fputs("</figcaption>\n</figure>\n", f);
}

static void
html_plot_phase(FILE *f, const struct audit_run *r, size_t nq)
{
	struct frame fr = {64, 12, 380, 380};
	struct pts p = {f, 0};
	size_t np = nq >= 3 ? nq - 2 : 0, m = np < PLOT_MAX ? np : PLOT_MAX, k, c, nhot = 0;
	struct hot {
		uint16_t d1, d2;
		size_t n;
	} hot[HOT_MAX];

	fputs("<figure>\n", f);
	svg_begin(f, 460, 440, "phase space of consecutive ID differences");
	svg_axes(f, &fr, 0, 65535, 0, 65535, "d[i-1] = ID[i-1] - ID[i-2] mod 65536",
	    "d[i] = ID[i] - ID[i-1] mod 65536");
	if (np == 0)
		svg_empty(f, &fr, "fewer than 3 queries");
	for (k = 0; k < m; k++) {
		size_t i = 2 + pick(k, m, np);
		uint16_t d1 = (uint16_t)(r->q[i - 1].id - r->q[i - 2].id);
		uint16_t d2 = (uint16_t)(r->q[i].id - r->q[i - 1].id);

		pts_add(&p, fr.l + fr.w * d1 / 65535.0, fr.t + fr.h - fr.h * d2 / 65535.0);
		if (nhot > HOT_MAX)
			continue; /* too many to be a collapse */
		for (c = 0; c < nhot; c++)
			if (hot[c].d1 == d1 && hot[c].d2 == d2)
				break;
		if (c < nhot)
			hot[c].n++;
		else if (nhot < HOT_MAX)
			hot[nhot++] = (struct hot){d1, d2, 1};
		else
			nhot = HOT_MAX + 1;
	}
	pts_end(&p);
	/*
	 * A collapsed plot is one dot in a corner, easy to miss: ring each of a few points
	 * and say where it is and how many pairs fell on it.
	 */
	for (c = 0; c < nhot && nhot <= HOT_MAX; c++) {
		double x = fr.l + fr.w * hot[c].d1 / 65535.0;
		double y = fr.t + fr.h - fr.h * hot[c].d2 / 65535.0;

		fprintf(f,
		    "<circle class=\"hot\" cx=\"%.1f\" cy=\"%.1f\" r=\"7\"/>\n"
		    "<text class=\"lab\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">(%u, %u) "
		    "&#215; %zu</text>\n",
		    x, y, x < fr.l + fr.w / 2 ? x + 10 : x - 10, y > fr.t + 24 ? y - 10 : y + 20,
		    x < fr.l + fr.w / 2 ? "start" : "end", hot[c].d1, hot[c].d2, hot[c].n);
	}
	fputs("</svg>\n<figcaption>Phase space: each point is a pair of consecutive ID "
	      "differences (d[i-1], d[i]), both mod 2<sup>16</sup>. Random IDs fill the square; "
	      "sequential IDs collapse to one point near the origin (1, 1); a generator with "
	      "structure draws lines or clusters.",
	    f);
	html_subsample_note(f, m, np);
	fputs("</figcaption>\n</figure>\n", f);
}

static void
html_plot_ports(FILE *f, const struct audit_run *r, size_t nq)
{
	struct frame fr = {64, 12, 560, 300};
	static const unsigned mant[4] = {10, 20, 25, 50};
	unsigned bins[HIST_BINS], lo = 65535, hi = 0, base, span, nb, maxc = 0, b, step, top;
	unsigned pw, k;
	size_t i;

	memset(bins, 0, sizeof(bins));
	for (i = 0; i < nq; i++) {
		if (r->q[i].sport < lo)
			lo = r->q[i].sport;
		if (r->q[i].sport > hi)
			hi = r->q[i].sport;
	}
	/*
	 * The whole port space in 64 bins of 1024 when the ports spread over at least an
	 * eighth of it; otherwise the observed range, in bins of one port when it is that
	 * narrow, so a fixed port shows as one full bar with its number under it.
	 */
	if (nq == 0 || hi - lo >= 8192) {
		base = 0;
		span = 65536;
	} else {
		base = lo;
		span = hi - lo + 1;
	}
	nb = span < HIST_BINS ? span : HIST_BINS;
	for (i = 0; i < nq; i++) {
		b = (unsigned)((uint64_t)(r->q[i].sport - base) * nb / span);
		bins[b]++;
		if (bins[b] > maxc)
			maxc = bins[b];
	}
	/* A count axis of four equal steps of 1, 2, 2.5 or 5 times a power of ten. */
	step = 1;
	for (pw = 1; step * 4 < maxc && pw <= 100000; pw *= 10)
		for (k = 0; k < 4 && step * 4 < maxc; k++)
			step = pw * mant[k] / 10 > 0 ? pw * mant[k] / 10 : 1;
	top = step * 4;
	fputs("<figure>\n", f);
	svg_begin(f, 640, 360, "source port histogram");
	svg_axes(f, &fr, base, base + span - 1, 0, top, "source port", "queries");
	if (nq == 0)
		svg_empty(f, &fr, "no queries");
	for (b = 0; b < nb; b++) {
		double bw = fr.w / nb, bh = fr.h * bins[b] / top;

		if (bins[b] == 0)
			continue;
		fprintf(f,
		    "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		    "height=\"%.1f\"/>\n",
		    fr.l + bw * b + (bw > 3 ? 0.5 : 0), fr.t + fr.h - bh, bw > 3 ? bw - 1 : bw, bh);
	}
	fputs("</svg>\n<figcaption>Source ports of the queries", f);
	if (nq > 0)
		fprintf(f,
		    " in %u bin%s over %u..%u (%.4g port%s a bin; observed %u..%u). A "
		    "randomising resolver spreads them over the whole range; one bar means one "
		    "fixed port.",
		    nb, nb == 1 ? "" : "s", base, base + span - 1, (double)span / nb,
		    span == nb ? "" : "s", lo, hi);
	else
		fputs(".", f);
	fputs("</figcaption>\n</figure>\n", f);
}

static void
html_row(FILE *f, const char *th)
{
	fprintf(f, "<tr><th>%s</th><td>", th);
}

static void
html_stats_row(FILE *f, const char *th, const struct audit_stats *s, bool port)
{
	char fl[256];
	int b = best_pred(s);

	html_row(f, th);
	if (s->n == 0) {
		fputs("no samples</td></tr>\n", f);
		return;
	}
	fprintf(f,
	    "<b>%.1f effective bits</b>; %zu distinct of %zu; entropy %.1f bits; "
	    "min-entropy %.1f bits; per-bit %.1f/16; flags: ",
	    fin(s->effective_bits), s->distinct, s->n, fin(s->shannon_bits),
	    fin(s->min_entropy_bits), fin(s->bit_entropy));
	put_esc(f, flags_text(s->flags, fl, sizeof(fl)), sizeof(fl), ESC_HTML);
	fprintf(f, "; best predictor &#8220;%s&#8221; right %.1f%%", pred_name[b],
	    100.0 * fin(s->predict[b]));
	if (port)
		fprintf(
		    f, "; range %u..%u (%u wide)", s->min, s->max, (unsigned)(s->max - s->min) + 1);
	fputs("</td></tr>\n", f);
}

static void
html_summary(FILE *f, const struct audit_run *r, size_t nq)
{
	char host[INET6_ADDRSTRLEN], ts[64], b[64];
	size_t na = source_addrs(r, nq, host, sizeof(host));
	unsigned lo, hi;

	fputs("<h2>Summary</h2>\n<table class=\"kv\">\n", f);
	html_row(f, "Target");
	put_esc(f, nn(r->target, "(unnamed)"), sizeof(r->target), ESC_HTML);
	fputs("</td></tr>\n", f);
	html_row(f, "Mode, zone");
	put_esc(f, nn(r->mode, "?"), sizeof(r->mode), ESC_HTML);
	fputs(", <code>", f);
	put_esc(f, nn(r->zone, "?"), sizeof(r->zone), ESC_HTML);
	fputs("</code></td></tr>\n", f);
	html_row(f, "Started, duration");
	fprintf(
	    f, "%s, %.1f s</td></tr>\n", time_utc(r->started, ts, sizeof(ts)), fin(r->duration_s));
	html_row(f, "Queries");
	fprintf(f, "%zu (%zu UDP, %u TCP)", nq, nq - (r->tcp_queries <= nq ? r->tcp_queries : nq),
	    r->tcp_queries);
	if (na == 1)
		fprintf(f, " from %s", host);
	else if (na > 1)
		fprintf(f, " from %s and %s%zu other addresses", host,
		    na > ADDRS_MAX ? "over " : "", na > ADDRS_MAX ? (size_t)ADDRS_MAX - 1 : na - 1);
	fputs("</td></tr>\n", f);
	html_stats_row(f, "Transaction IDs", &r->ids, false);
	html_stats_row(f, "Source ports", &r->ports, true);
	html_row(f, "0x20 (random case)");
	if (nq == 0)
		fputs("no names seen", f);
	else if (r->x20_mixed_frac > 0.0)
		fprintf(f, "%.0f%% of names in mixed case, %.1f letters a name; counted %.1f bits",
		    100.0 * fin(r->x20_mixed_frac), fin(r->x20_letters_mean), fin(r->x20_bits));
	else
		fprintf(f, "not used (%.1f letters a name)", fin(r->x20_letters_mean));
	fputs("</td></tr>\n", f);
	udp_sizes(r, nq, &lo, &hi);
	html_row(f, "EDNS, DO, cookies, TCP");
	fprintf(f, "EDNS %u of %zu", r->edns_queries, nq);
	if (hi > 0 && lo == hi)
		fprintf(f, " (buffer %u)", lo);
	else if (hi > 0)
		fprintf(f, " (buffer %u..%u)", lo, hi);
	fprintf(f, "; DO bit %u; cookies %u; TCP %u</td></tr>\n", r->do_queries, r->cookie_queries,
	    r->tcp_queries);
	html_row(f, "Blind race");
	if (!r->race.run)
		fputs("not run", f);
	else
		fprintf(f, "%u rounds, %llu forged answers, <b>%u successes</b>", r->race.rounds,
		    (unsigned long long)r->race.forged_sent, r->race.successes);
	if (r->race.expected_packets > 0.0)
		fprintf(f,
		    "; at the measured entropy a blind attacker needs about %s forged "
		    "answers for a 50%% chance",
		    count_str(r->race.expected_packets, b, sizeof(b)));
	fputs("</td></tr>\n", f);
	html_row(f, "Effective bits, rating");
	fprintf(f, "<b>%.1f bits</b> &#8212; <b>", fin(r->effective_bits));
	put_esc(f, rating_of(r), 64, ESC_HTML);
	fputs("</b></td></tr>\n</table>\n", f);
}

static void
html_matrix(FILE *f, const struct audit_run *r)
{
	int k;

	fputs("<h2>Acceptance matrix</h2>\n", f);
	if (!r->matrix_run) {
		fputs("<p>Not run.</p>\n", f);
		return;
	}
	fprintf(f,
	    "<p>Each forgery was sent on-path, just before the true answer, for a fresh "
	    "name. <b>Accepted</b> means the target believed it: the mail went to the attacker, "
	    "was bounced or deferred on a forged error, or the poisoned name was looked up. "
	    "%u of %d accepted.</p>\n",
	    r->accepted, AF_NKINDS);
	fputs("<table class=\"matrix\">\n<tr><th>Forgery</th><th>What was sent</th>"
	      "<th>Verdict</th><th>Evidence</th></tr>\n",
	    f);
	for (k = 0; k < AF_NKINDS; k++) {
		const struct audit_accept *a = &r->acc[k];

		fputs("<tr><td><code>", f);
		put_esc(f, nn(audit_forge_str((enum audit_forge)k), "?"), 64, ESC_HTML);
		fputs("</code></td><td>", f);
		put_esc(f, nn(audit_forge_desc((enum audit_forge)k), ""), 512, ESC_HTML);
		fprintf(f, "</td><td class=\"v v-%s\">", verdict_cls(a->verdict));
		put_esc(f, verdict_name(a->verdict), 64, ESC_HTML);
		fputs("</td><td>", f);
		put_esc(f, a->evidence, sizeof(a->evidence), ESC_HTML);
		if (a->domain[0] != '\0') {
			fputs(a->evidence[0] != '\0' ? "<br/><code>" : "<code>", f);
			put_esc(f, a->domain, sizeof(a->domain), ESC_HTML);
			fputs("</code>", f);
		}
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void
html_queries(FILE *f, const struct audit_run *r, size_t nq)
{
	char a[INET6_ADDRSTRLEN];
	size_t i, n = nq < HTML_QROWS ? nq : HTML_QROWS;

	fputs("<h2>Queries</h2>\n", f);
	if (nq == 0) {
		fputs("<p>No query was seen.</p>\n", f);
		return;
	}
	fprintf(f,
	    "<p>The first %zu of %zu queries, names as sent (0x20 case kept; bytes "
	    "outside printable ASCII as \\DDD). The JSON report lists every query.</p>\n",
	    n, nq);
	fputs("<table class=\"q\">\n<tr><th>#</th><th>+ms</th><th>ID</th><th>source</th>"
	      "<th>port</th><th>type</th><th>via</th><th>EDNS</th><th>DO</th><th>cookie</th>"
	      "<th>name</th></tr>\n",
	    f);
	for (i = 0; i < n; i++) {
		const struct audit_query *q = &r->q[i];
		double ms = q->t_us >= r->q[0].t_us ? (double)(q->t_us - r->q[0].t_us) / 1000.0 : 0;

		fprintf(f,
		    "<tr><td>%zu</td><td>%.1f</td><td>0x%04x</td><td>%s</td><td>%u</td>"
		    "<td>",
		    i, ms, q->id, net_addr_host(&q->src, a, sizeof(a)), q->sport);
		put_esc(f, dns_type_str(q->qtype), 32, ESC_HTML);
		fprintf(f, "</td><td>%s</td><td>", q->tcp ? "TCP" : "UDP");
		if (q->edns)
			fprintf(f, "%u", q->udp_size);
		else
			fputs("no", f);
		fprintf(f, "</td><td>%s</td><td>%s</td><td><code>", q->do_bit ? "yes" : "no",
		    q->cookie ? "yes" : "no");
		put_esc(f, q->qname, sizeof(q->qname), ESC_HTML);
		fputs("</code></td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

void
audit_report_html(FILE *f, const struct audit_run *r)
{
	char sentence[WHY_LEN], ts[64];
	size_t nq = run_nq(r);

	why(r, sentence, sizeof(sentence));
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\"/>\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
	      "<title>mxaudit: ",
	    f);
	put_esc(f, nn(r->target, "unnamed target"), sizeof(r->target), ESC_HTML);
	fputs(" &#8212; ", f);
	put_esc(f, rating_of(r), 64, ESC_HTML);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n", html_css);
	fputs("<h1>DNS spoofing audit: ", f);
	put_esc(f, nn(r->target, "unnamed target"), sizeof(r->target), ESC_HTML);
	fprintf(f, "</h1>\n<p><span class=\"badge r-%s\">", rating_class(r));
	put_esc(f, rating_of(r), 64, ESC_HTML);
	fprintf(f, "</span><span class=\"eff\">effective %.1f bits</span></p>\n<p class=\"why\">",
	    fin(r->effective_bits));
	put_esc(f, sentence, sizeof(sentence), ESC_HTML);
	fputs("</p>\n</header>\n", f);

	html_summary(f, r, nq);
	html_matrix(f, r);
	fputs("<h2>Transaction IDs in arrival order</h2>\n", f);
	html_plot_ids(f, r, nq);
	fputs("<h2>Phase space of consecutive ID differences</h2>\n", f);
	html_plot_phase(f, r, nq);
	fputs("<h2>Source ports</h2>\n", f);
	html_plot_ports(f, r, nq);
	html_queries(f, r, nq);

	fputs("<footer>Generated by mxaudit ", f);
	put_esc(f, nn(r->tool_version, "?"), sizeof(r->tool_version), ESC_HTML);
	fprintf(f,
	    " for a run started %s. A self-contained file: no script, no external "
	    "resource.</footer>\n</body>\n</html>\n",
	    time_utc(r->started, ts, sizeof(ts)));
}
