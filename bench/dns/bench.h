/*
 * bench.h — what the two resolver benchmark harnesses (cares_bench.c, mx_bench.c) share:
 * the command line, the workload's expected answers, the clocks, and the one result line
 * that bench/dns/run parses. Header-only (static functions) so that cares_bench builds
 * without libmx.
 *
 * Workload (bench/dns/zonegen writes the zone): domain i is dNNNNN.bench.test with
 * "MX 10 mx.dNNNNN.bench.test.", whose host has A 192.0.2.(i % 256) and
 * AAAA 2001:db8::(i >> 16):(i & 0xffff). A "resolution" is the MX query, then A and AAAA
 * for the MX host in parallel. P domains are kept in flight. Every answer is checked
 * against these values; a run with a single wrong or missing answer is void (exit 1).
 */
#ifndef BENCH_DNS_BENCH_H
#define BENCH_DNS_BENCH_H

#include <sys/resource.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define BENCH_ZONE        "bench.test"
#define BENCH_NAMELEN     64
#define BENCH_MAX_DOMAINS 1000000
#define BENCH_MAX_PAR     1000

struct bench_opt {
	const char *server; /* "ADDR:PORT" */
	long long domains;  /* D */
	long long par;      /* P */
	long long cap_s;    /* time cap of the measured part */
	const char *mode;   /* harness specific */
};

static inline void
bench_usage(const char *prog, const char *modes)
{
	fprintf(stderr,
	    "usage: %s -s ADDR:PORT [-n DOMAINS] [-p PARALLEL] [-T CAP_S] "
	    "[-m MODE]\n  modes: %s\n",
	    prog, modes);
	exit(64);
}

static inline void
bench_args(int argc, char **argv, const char *modes, struct bench_opt *o)
{
	const char *err;
	int c;

	o->server = NULL;
	o->domains = 2000;
	o->par = 10;
	o->cap_s = 60;
	o->mode = NULL;
	while ((c = getopt(argc, argv, "s:n:p:T:m:")) != -1) {
		switch (c) {
		case 's':
			o->server = optarg;
			break;
		case 'n':
			o->domains = strtonum(optarg, 1, BENCH_MAX_DOMAINS, &err);
			if (err != NULL)
				bench_usage(argv[0], modes);
			break;
		case 'p':
			o->par = strtonum(optarg, 1, BENCH_MAX_PAR, &err);
			if (err != NULL)
				bench_usage(argv[0], modes);
			break;
		case 'T':
			o->cap_s = strtonum(optarg, 1, 3600, &err);
			if (err != NULL)
				bench_usage(argv[0], modes);
			break;
		case 'm':
			o->mode = optarg;
			break;
		default:
			bench_usage(argv[0], modes);
		}
	}
	if (o->server == NULL || optind != argc)
		bench_usage(argv[0], modes);
}

static inline void
bench_domain(long long i, char *buf, size_t len)
{
	snprintf(buf, len, "d%05lld." BENCH_ZONE, i);
}

static inline void
bench_mxhost(long long i, char *buf, size_t len)
{
	snprintf(buf, len, "mx.d%05lld." BENCH_ZONE, i);
}

/* The host name as a resolver prints it may end in a dot; compare without it, any case. */
static inline bool
bench_mxhost_ok(long long i, const char *got)
{
	char want[BENCH_NAMELEN];
	size_t n, w;

	bench_mxhost(i, want, sizeof(want));
	n = strlen(got);
	if (n > 0 && got[n - 1] == '.')
		n--;
	w = strlen(want);
	return n == w && strncasecmp(got, want, n) == 0;
}

static inline void
bench_a(long long i, uint8_t a[4])
{
	a[0] = 192;
	a[1] = 0;
	a[2] = 2;
	a[3] = (uint8_t)(i & 0xff);
}

static inline void
bench_aaaa(long long i, uint8_t a[16])
{
	memset(a, 0, 16);
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	a[12] = (uint8_t)(i >> 24);
	a[13] = (uint8_t)(i >> 16);
	a[14] = (uint8_t)(i >> 8);
	a[15] = (uint8_t)i;
}

/* A domain is finished: count it as good or bad, one fewer in flight. */
static inline void
bench_done(bool bad, long long *ok, long long *fail, long long *active)
{
	if (bad)
		(*fail)++;
	else
		(*ok)++;
	(*active)--;
}

static inline double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* user + sys CPU seconds of this process (single-threaded harnesses). */
static inline double
bench_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/*
 * Prints the one result line bench/dns/run parses, plus `extra` (harness specific
 * key=value pairs), and returns the exit status: 0, 1 when any answer was wrong or
 * missing (the run is void), 2 when the time cap cut the run short.
 */
static inline int
bench_report(const char *impl, const struct bench_opt *o, long long ok, long long fail,
    long long queries, double wall, double cpu, bool capped, const char *extra)
{
	long long done = ok + fail;

	printf("impl=%s mode=%s P=%lld D=%lld ok=%lld fail=%lld capped=%d wall_s=%.4f "
	       "dom_s=%.1f q=%lld q_s=%.1f cpu_s=%.4f cpu_us_dom=%.2f cpu_us_q=%.2f %s\n",
	    impl, o->mode, o->par, o->domains, ok, fail, capped ? 1 : 0, wall,
	    wall > 0 ? (double)done / wall : 0, queries, wall > 0 ? (double)queries / wall : 0, cpu,
	    done > 0 ? cpu * 1e6 / (double)done : 0, queries > 0 ? cpu * 1e6 / (double)queries : 0,
	    extra);
	fflush(stdout);
	if (fail > 0 || ok != o->domains)
		return capped ? 2 : 1;
	return 0;
}

#endif
