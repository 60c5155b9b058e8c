/*
 * dnsdrive — drives the resolver library (dns/dns.h) with many lookups at once, for the
 * end-to-end tests that try to spoof it (tests/e2e/dns_forge.sh, dns_stats.sh).
 *
 * It keeps PARALLEL lookups in flight with dns_lookup() and dns_resolver_run(), prints one
 * JSON line per finished lookup with the result and its security facts, then a summary
 * line and a last line with every counter of struct dns_stats. Names are random
 * ("<PREFIX><16 random lowercase letters>.ZONE") unless -N gives a fixed one; -A NAME
 * looks up extra names one by one after the main run, in the same resolver, so a test
 * can ask what the cache learnt.
 *
 * Bounds: the whole run stops after -W seconds (lookups still in flight are cancelled and
 * reported as "UNFINISHED"; lookups never started show only in the summary); counts and
 * parallelism are capped. Exit status: 0 when it ran, whatever the lookups' statuses; 64
 * on a usage error; 70 when the resolver could not be created. Never falls back to
 * /etc/resolv.conf: -s is required.
 */
#include <arpa/inet.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "dns/dns.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/net.h"
#include "util/rand.h"

#define DRIVE_LABEL     16 /* random letters in a generated label */
#define DRIVE_COUNT_MAX 10000000
#define DRIVE_PAR_MAX   10000
#define DRIVE_EXTRA_MAX 64
#define DRIVE_SLICE_MS  2 /* dns_resolver_run() slice between refills */
#define DRIVE_RDATA     2048

/* One lookup in flight; owned by the drive, lent to the callback as its argument. */
struct slot {
	struct drive *d;
	struct dns_lookup *l; /* NULL while the callback has not handed it out */
	bool busy;
	bool extra; /* from -A */
	char name[DNS_NAME_STRLEN];
};

struct drive {
	struct dns_resolver *res;
	uint16_t qtype;
	bool quiet;
	size_t started;
	size_t inflight;
	size_t done;
	size_t unfinished;
	size_t lost; /* dns_lookup() returned NULL without a callback */
	size_t status[DNS_INVAL + 1];
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: dnsdrive -s ADDR:PORT [-s ...] (-z ZONE [-P PREFIX] | -N NAME) [-n COUNT]\n"
	    "\t[-t TYPE] [-p PARALLEL] [-C] [-T] [-w TIMEOUT_MS] [-W SECONDS] [-q]\n"
	    "\t[-A NAME]... [--attempts N] [--no-suspicion-tcp] [--no-0x20] [--no-cookies]\n");
	exit(EX_USAGE);
}

/* Writes s as a JSON string: quotes, backslashes and control characters escaped. */
static void
json_str(const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static const char *
json_bool(bool b)
{
	return b ? "true" : "false";
}

static void
print_result(const struct slot *s, const struct dns_result *r)
{
	const struct dns_facts *f = &r->facts;
	char buf[DRIVE_RDATA], host[NET_ADDR_STRLEN];
	const char *sep;
	size_t i;

	fputs("{\"name\":", stdout);
	json_str(s->name);
	fputs(",\"type\":", stdout);
	json_str(dns_type_str(s->d->qtype));
	fputs(",\"status\":", stdout);
	json_str(dns_status_str(r->status));
	fputs(",\"why\":", stdout);
	json_str(r->why);
	fputs(",\"rcode\":", stdout);
	json_str(dns_rcode_str(r->rcode));
	fputs(",\"addrs\":[", stdout);
	sep = "";
	for (i = 0; i < r->nrr; i++) {
		const struct dns_rr *rr = &r->rr[i];

		if (rr->type == DNS_T_A && rr->rdlen == 4)
			inet_ntop(AF_INET, rr->u.a, buf, sizeof(buf));
		else if (rr->type == DNS_T_AAAA && rr->rdlen == 16)
			inet_ntop(AF_INET6, rr->u.aaaa, buf, sizeof(buf));
		else
			continue;
		fputs(sep, stdout);
		json_str(buf);
		sep = ",";
	}
	fputs("],\"data\":[", stdout);
	for (i = 0; i < r->nrr; i++) {
		if (i > 0)
			putchar(',');
		json_str(dns_rdata_str(&r->rr[i], buf, sizeof(buf)));
	}
	fputs("],\"server\":", stdout);
	if (f->server.len > 0)
		json_str(net_addr_str(&f->server, host, sizeof(host)));
	else
		json_str(NULL);
	printf(",\"id\":%u,\"sport\":%u,\"tcp\":%s,\"x20\":%s,\"cookie\":%s,\"ad\":%s"
	       ",\"cached\":%s,\"attempts\":%u,\"dropped\":%" PRIu32 ",\"rtt_ms\":%" PRIu32
	       ",\"extra\":%s}\n",
	    f->id, f->sport, json_bool(f->tcp), json_bool(f->x20), json_bool(f->cookie),
	    json_bool(f->ad), json_bool(f->from_cache), f->attempts, f->dropped, f->rtt_ms,
	    json_bool(s->extra));
}

/* The callback: runs exactly once per lookup, maybe before dns_lookup() returns. */
static void
lookup_done(const struct dns_result *r, void *arg)
{
	struct slot *s = arg;
	struct drive *d = s->d;

	if ((unsigned)r->status <= DNS_INVAL)
		d->status[r->status]++;
	if (!d->quiet || s->extra)
		print_result(s, r);
	s->busy = false;
	s->l = NULL;
	d->inflight--;
	d->done++;
}

/* Starts one lookup in s; the callback may already have run when this returns. */
static void
lookup_start(struct drive *d, struct slot *s)
{
	struct dns_lookup *l;

	s->d = d;
	s->busy = true;
	s->l = NULL;
	d->started++;
	d->inflight++;
	l = dns_lookup(d->res, s->name, d->qtype, lookup_done, s);
	if (!s->busy)
		return;
	if (l == NULL) {
		/* The contract says this cannot happen; count it rather than hang. */
		fprintf(stderr, "dnsdrive: %s: no handle and no callback\n", s->name);
		s->busy = false;
		d->inflight--;
		d->done++;
		d->lost++;
		return;
	}
	s->l = l;
}

static void
random_name(char *out, size_t outlen, const char *prefix, const char *zone)
{
	char label[DRIVE_LABEL + 1];
	size_t i;

	for (i = 0; i < DRIVE_LABEL; i++)
		label[i] = (char)('a' + rand_uniform(26));
	label[DRIVE_LABEL] = '\0';
	snprintf(out, outlen, "%s%s.%s", prefix, label, zone);
}

/* Cancels whatever is still in flight when time runs out. */
static void
cancel_all(struct drive *d, struct slot *slots, size_t nslots)
{
	size_t i;

	for (i = 0; i < nslots; i++) {
		if (!slots[i].busy)
			continue;
		dns_lookup_cancel(slots[i].l);
		slots[i].busy = false;
		slots[i].l = NULL;
		d->inflight--;
		d->unfinished++;
		if (!d->quiet || slots[i].extra) {
			fputs("{\"name\":", stdout);
			json_str(slots[i].name);
			fputs(",\"status\":\"UNFINISHED\",\"addrs\":[]}\n", stdout);
		}
	}
}

/* Runs the resolver until nothing is in flight or the deadline passes. */
static void
run_until(struct drive *d, uint64_t deadline)
{
	while (d->inflight > 0 && clock_ms() < deadline) {
		if (!dns_resolver_busy(d->res)) {
			fprintf(
			    stderr, "dnsdrive: %zu lookups waiting, resolver idle\n", d->inflight);
			return;
		}
		(void)dns_resolver_run(d->res, DRIVE_SLICE_MS);
	}
}

static void
print_stats(const struct drive *d, uint64_t elapsed_ms)
{
	const struct dns_stats *st = dns_resolver_stats(d->res);
	int i;

	printf("{\"summary\":{\"started\":%zu,\"done\":%zu,\"unfinished\":%zu,\"lost\":%zu"
	       ",\"elapsed_ms\":%" PRIu64 ",\"status\":{",
	    d->started, d->done, d->unfinished, d->lost, elapsed_ms);
	for (i = 0; i <= DNS_INVAL; i++)
		printf("%s\"%s\":%zu", i > 0 ? "," : "", dns_status_str((enum dns_status)i),
		    d->status[i]);
	printf("}}}\n");

	printf("{\"stats\":{\"queries\":%" PRIu64 ",\"udp_sent\":%" PRIu64 ",\"tcp_sent\":%" PRIu64
	       ",\"received\":%" PRIu64 ",\"accepted\":%" PRIu64 ",\"dropped\":{",
	    st->queries, st->udp_sent, st->tcp_sent, st->received, st->accepted);
	for (i = 0; i < DNS_DROP_NMAX; i++)
		printf("%s\"%s\":%" PRIu64, i > 0 ? "," : "", dns_drop_str((enum dns_drop)i),
		    st->dropped[i]);
	printf("},\"dropped_total\":%" PRIu64 ",\"tc_tcp\":%" PRIu64 ",\"suspect_tcp\":%" PRIu64
	       ",\"timeouts\":%" PRIu64 ",\"badcookie\":%" PRIu64 ",\"badcookie_tcp\":%" PRIu64
	       ",\"no0x20\":%" PRIu64 ",\"cache_hits\":%" PRIu64 ",\"cache_neg_hits\":%" PRIu64
	       ",\"coalesced\":%" PRIu64 ",\"ignored_rr\":%" PRIu64 "}}\n",
	    dns_stats_dropped(st), st->tc_tcp, st->suspect_tcp, st->timeouts, st->badcookie,
	    st->badcookie_tcp, st->no0x20, st->cache_hits, st->cache_neg_hits, st->coalesced,
	    st->ignored_rr);
}

static long long
number(const char *s, long long min, long long max, const char *what)
{
	const char *err;
	long long v;

	v = strtonum(s, min, max, &err);
	if (err != NULL) {
		fprintf(stderr, "dnsdrive: %s %s: %s\n", what, s, err);
		usage();
	}
	return v;
}

enum { OPT_NO_SUSPICION = 256, OPT_NO_0X20, OPT_NO_COOKIES, OPT_ATTEMPTS };

static const struct option longopts[] = {
    {"no-suspicion-tcp", no_argument, NULL, OPT_NO_SUSPICION},
    {"no-0x20", no_argument, NULL, OPT_NO_0X20},
    {"no-cookies", no_argument, NULL, OPT_NO_COOKIES},
    {"attempts", required_argument, NULL, OPT_ATTEMPTS},
    {NULL, 0, NULL, 0},
};

int
main(int argc, char *argv[])
{
	struct dns_conf conf;
	struct drive d;
	struct slot *slots, extra;
	const char *zone = NULL, *fixed = NULL, *prefix = "";
	const char *extras[DRIVE_EXTRA_MAX];
	size_t nextra = 0, count = 1, par = 50, started = 0, i;
	uint64_t t0, deadline;
	long long wait_s = 120;
	int ch, type;

	log_init("dnsdrive", false);
	memset(&d, 0, sizeof(d));
	d.qtype = DNS_T_A;
	dns_conf_init(&conf);
	conf.cache = false;
	while ((ch = getopt_long(argc, argv, "A:Cn:N:p:P:qs:t:Tw:W:z:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			if (nextra == DRIVE_EXTRA_MAX)
				usage();
			extras[nextra++] = optarg;
			break;
		case 'C':
			conf.cache = true;
			break;
		case 'n':
			count = (size_t)number(optarg, 0, DRIVE_COUNT_MAX, "count");
			break;
		case 'N':
			fixed = optarg;
			break;
		case 'p':
			par = (size_t)number(optarg, 1, DRIVE_PAR_MAX, "parallel");
			break;
		case 'P':
			prefix = optarg;
			break;
		case 'q':
			d.quiet = true;
			break;
		case 's':
			if (dns_conf_add_server(&conf, optarg) == -1) {
				fprintf(stderr, "dnsdrive: bad server %s\n", optarg);
				usage();
			}
			break;
		case 't':
			type = dns_type_from_str(optarg);
			if (type == -1) {
				fprintf(stderr, "dnsdrive: unknown type %s\n", optarg);
				usage();
			}
			d.qtype = (uint16_t)type;
			break;
		case 'T':
			conf.tcp_only = true;
			break;
		case 'w':
			conf.timeout_ms = (unsigned)number(optarg, 1, 600000, "timeout");
			break;
		case 'W':
			wait_s = number(optarg, 1, 3600, "seconds");
			break;
		case 'z':
			zone = optarg;
			break;
		case OPT_NO_SUSPICION:
			conf.tcp_on_suspicion = false;
			break;
		case OPT_NO_0X20:
			conf.x20 = false;
			break;
		case OPT_NO_COOKIES:
			conf.cookies = false;
			break;
		case OPT_ATTEMPTS:
			conf.attempts = (unsigned)number(optarg, 1, 16, "attempts");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || conf.nservers == 0 || (zone == NULL && fixed == NULL && count > 0))
		usage();
	if (fixed != NULL && strlen(fixed) >= DNS_NAME_STRLEN)
		usage();
	if (par > count && count > 0)
		par = count;

	d.res = dns_resolver_new(&conf);
	if (d.res == NULL) {
		fprintf(stderr, "dnsdrive: cannot create the resolver: %s\n", strerror(errno));
		return EX_SOFTWARE;
	}
	slots = calloc(par, sizeof(*slots));
	if (slots == NULL) {
		fprintf(stderr, "dnsdrive: out of memory\n");
		return EX_SOFTWARE;
	}

	t0 = clock_ms();
	deadline = t0 + (uint64_t)wait_s * 1000;
	while (d.done + d.unfinished < count && clock_ms() < deadline) {
		for (i = 0; i < par && started < count; i++) {
			if (slots[i].busy)
				continue;
			if (fixed != NULL)
				strlcpy(slots[i].name, fixed, sizeof(slots[i].name));
			else
				random_name(slots[i].name, sizeof(slots[i].name), prefix, zone);
			slots[i].extra = false;
			started++;
			lookup_start(&d, &slots[i]);
		}
		if (d.inflight == 0)
			continue;
		if (!dns_resolver_busy(d.res)) {
			fprintf(
			    stderr, "dnsdrive: %zu lookups waiting, resolver idle\n", d.inflight);
			break;
		}
		(void)dns_resolver_run(d.res, DRIVE_SLICE_MS);
	}
	cancel_all(&d, slots, par);

	/* The extra names, one at a time, after everything above has finished. */
	for (i = 0; i < nextra; i++) {
		memset(&extra, 0, sizeof(extra));
		strlcpy(extra.name, extras[i], sizeof(extra.name));
		extra.extra = true;
		lookup_start(&d, &extra);
		run_until(&d, deadline);
		cancel_all(&d, &extra, 1);
	}

	print_stats(&d, clock_ms() - t0);
	fflush(stdout);
	dns_resolver_free(d.res);
	free(slots);
	return 0;
}
