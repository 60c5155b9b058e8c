/*
 * dns_stub — the resolver object: configuration (our keys or /etc/resolv.conf), servers
 * with their cookies, lookups with in-flight coalescing and the cache in front, and a
 * poll(2) driver for programs without an event loop of their own.
 *
 * Coalescing: a lookup for a (name, type) that is already on the network waits on that
 * query instead of sending another. Besides saving work, this closes the "birthday"
 * attack on duplicate queries (RFC 5452 §5): an attacker never gets two of our
 * outstanding IDs for the same question to aim at.
 *
 * Callbacks: exactly once per lookup; possibly before dns_lookup() returns (cache hit,
 * invalid name, or every server failing at once), in which case it returns NULL.
 */
#include <bsd/stdlib.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"

#define DNS_PORT        53
#define DNS_RESOLV_LINE 1024

void
dns_conf_init(struct dns_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->timeout_ms = 2000;
	c->attempts = 2;
	c->dnssec = DNS_DNSSEC_AUTO;
	c->cache = true;
	c->cache_max = 10000;
	c->ttl_max = 86400;
	c->neg_ttl_max = 3600;
	c->x20 = true;
	c->cookies = true;
	c->edns = true;
	c->tcp_on_suspicion = true;
}

int
dns_conf_add_server(struct dns_conf *c, const char *s)
{
	if (c->nservers == DNS_MAX_SERVERS)
		return -1;
	if (net_addr_parse(s, DNS_PORT, &c->servers[c->nservers]) == -1)
		return -1;
	c->nservers++;
	return 0;
}

/* One "options" word of resolv.conf(5); others are ignored as the libc ignores them. */
static void
dns_conf_option(struct dns_conf *c, const char *opt)
{
	const char *errstr;
	long long v;

	if (strncmp(opt, "timeout:", 8) == 0) {
		v = strtonum(opt + 8, 1, 30, &errstr);
		if (errstr == NULL)
			c->timeout_ms = (unsigned)v * 1000;
	} else if (strncmp(opt, "attempts:", 9) == 0) {
		v = strtonum(opt + 9, 1, 5, &errstr);
		if (errstr == NULL)
			c->attempts = (unsigned)v;
	} else if (strcmp(opt, "rotate") == 0)
		c->rotate = true;
}

int
dns_conf_resolv_text(struct dns_conf *c, const char *text, size_t len)
{
	char line[DNS_RESOLV_LINE];
	char *word, *save;
	size_t i = 0, n;

	while (i < len) {
		n = 0;
		while (i < len && text[i] != '\n') {
			if (n < sizeof(line) - 1)
				line[n++] = text[i];
			i++;
		}
		i++;
		line[n] = '\0';
		word = strtok_r(line, " \t\r", &save);
		if (word == NULL || word[0] == '#' || word[0] == ';')
			continue;
		if (strcmp(word, "nameserver") == 0) {
			word = strtok_r(NULL, " \t\r", &save);
			/* Unparsable or surplus entries are skipped, as the libc does. */
			if (word != NULL)
				(void)dns_conf_add_server(c, word);
		} else if (strcmp(word, "options") == 0) {
			while ((word = strtok_r(NULL, " \t\r", &save)) != NULL)
				dns_conf_option(c, word);
		}
	}
	return c->nservers > 0 ? 0 : -1;
}

int
dns_conf_resolv(struct dns_conf *c, const char *path)
{
	char buf[16384];
	size_t n;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return dns_conf_resolv_text(c, buf, n);
}

/* The ephemeral port range our random source ports are drawn from. */
static void
dns_port_range(struct dns_resolver *res)
{
	FILE *f;
	unsigned lo = 32768, hi = 60999, a, b;
	char line[64], *end;

	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (f != NULL) {
		if (fgets(line, sizeof(line), f) != NULL) {
			a = (unsigned)strtoul(line, &end, 10);
			b = (unsigned)strtoul(end, NULL, 10);
			if (a >= 1024 && b <= 65535 && a < b) {
				lo = a;
				hi = b;
			}
		}
		fclose(f);
	}
	res->port_lo = (uint16_t)lo;
	res->port_hi = (uint16_t)hi;
}

struct dns_resolver *
dns_resolver_new(const struct dns_conf *conf)
{
	struct dns_resolver *res;
	bool all_loopback = true;

	if (conf->nservers == 0 || conf->nservers > DNS_MAX_SERVERS) {
		errno = EINVAL;
		return NULL;
	}
	res = calloc(1, sizeof(*res));
	if (res == NULL)
		return NULL;
	res->conf = *conf;
	if (res->conf.attempts == 0)
		res->conf.attempts = 1;
	if (res->conf.timeout_ms == 0)
		res->conf.timeout_ms = 2000;
	res->nsrv = conf->nservers;
	for (size_t i = 0; i < res->nsrv; i++) {
		res->srv[i].addr = conf->servers[i];
		/* RFC 7873 §4.1: a client cookie that an off-path attacker cannot know. */
		rand_bytes(res->srv[i].ccookie, DNS_COOKIE_CLIENT);
		if (!net_addr_is_loopback(&conf->servers[i]))
			all_loopback = false;
	}
	switch (conf->dnssec) {
	case DNS_DNSSEC_AUTO:
		res->trust_ad = all_loopback;
		break;
	case DNS_DNSSEC_TRUST_AD:
		res->trust_ad = true;
		break;
	case DNS_DNSSEC_OFF:
		res->trust_ad = false;
		break;
	}
	TAILQ_INIT(&res->queries);
	TAILQ_INIT(&res->dead);
	RB_INIT(&res->inflight);
	dns_port_range(res);
	if (conf->cache) {
		res->cache = dns_cache_new(conf->cache_max);
		if (res->cache == NULL) {
			free(res);
			return NULL;
		}
	}
	return res;
}

void
dns_resolver_free(struct dns_resolver *res)
{
	struct dns_query *q;

	if (res == NULL)
		return;
	while ((q = TAILQ_FIRST(&res->queries)) != NULL)
		dns_query_kill(q);
	dns_resolver_reap(res);
	dns_cache_free(res->cache);
	explicit_bzero(res->srv, sizeof(res->srv));
	free(res);
}

const struct dns_stats *
dns_resolver_stats(const struct dns_resolver *res)
{
	return &res->stats;
}

void
dns_resolver_flush_cache(struct dns_resolver *res)
{
	if (res->cache != NULL)
		dns_cache_flush(res->cache);
}

bool
dns_resolver_busy(const struct dns_resolver *res)
{
	return res->nqueries > 0;
}

struct dns_lookup *
dns_lookup_name(
    struct dns_resolver *res, const struct dns_name *name, uint16_t qtype, dns_cb *cb, void *arg)
{
	struct dns_query key, *q;
	struct dns_lookup *l;
	struct dns_result r;

	key.qname = *name;
	dns_name_lower(&key.qname);
	key.qtype = qtype;
	if (res->cache != NULL && dns_cache_get(res->cache, &key.qname, qtype, clock_ms(), &r)) {
		if (r.status == DNS_OK)
			res->stats.cache_hits++;
		else
			res->stats.cache_neg_hits++;
		cb(&r, arg);
		dns_result_clear(&r);
		return NULL;
	}
	if (res->nqueries >= DNS_INFLIGHT_MAX) {
		dns_result_fail(&r, name, qtype, DNS_RETRY, "too many queries in flight");
		cb(&r, arg);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		goto nomem;
	l->cb = cb;
	l->arg = arg;
	q = RB_FIND(dns_inflight, &res->inflight, &key);
	if (q != NULL) {
		res->stats.coalesced++;
		l->q = q;
		TAILQ_INSERT_TAIL(&q->waiters, l, entry);
		return l;
	}
	q = dns_query_new(res, &key.qname, qtype);
	if (q == NULL) {
		free(l);
		goto nomem;
	}
	l->q = q;
	TAILQ_INSERT_TAIL(&q->waiters, l, entry);
	dns_query_start(q);
	/* Every server failed at once: the callback has run and l is gone. */
	if (q->state == DNS_QS_DONE)
		return NULL;
	return l;
nomem:
	dns_result_fail(&r, name, qtype, DNS_RETRY, "out of memory");
	cb(&r, arg);
	return NULL;
}

struct dns_lookup *
dns_lookup(struct dns_resolver *res, const char *name, uint16_t qtype, dns_cb *cb, void *arg)
{
	struct dns_name n;
	struct dns_result r;

	if (dns_name_from_str(&n, name) == -1) {
		dns_result_fail(&r, NULL, qtype, DNS_INVAL, "invalid domain name");
		cb(&r, arg);
		return NULL;
	}
	return dns_lookup_name(res, &n, qtype, cb, arg);
}

void
dns_lookup_cancel(struct dns_lookup *l)
{
	struct dns_query *q;

	if (l == NULL)
		return;
	q = l->q;
	/* Cancelled from inside its own callback: the finishing query frees it. */
	if (q == NULL)
		return;
	TAILQ_REMOVE(&q->waiters, l, entry);
	/* Nobody else wants the answer: stop asking. */
	if (TAILQ_EMPTY(&q->waiters) && q->state != DNS_QS_DONE)
		dns_query_kill(q);
	free(l);
}

struct dns_query *
dns_resolver_queries(struct dns_resolver *res, struct dns_query *prev)
{
	return prev == NULL ? TAILQ_FIRST(&res->queries) : TAILQ_NEXT(prev, entry);
}

int
dns_resolver_run(struct dns_resolver *res, int timeout_ms)
{
	struct pollfd *pfd = NULL;
	struct dns_query **qs = NULL, *q;
	size_t cap = 0, n;
	uint64_t stop, now, next;
	int wait, rc = 0;

	stop = clock_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
	/*
	 * A callback may run a nested dns_resolver_run (dns_resolve from inside a callback):
	 * only the outermost one frees queries, whose pointers the outer frames still hold.
	 */
	res->running++;
	while (res->nqueries > 0) {
		if (res->running == 1)
			dns_resolver_reap(res);
		if (res->nqueries > cap) {
			cap = res->nqueries * 2;
			free(pfd);
			free(qs);
			pfd = calloc(cap, sizeof(*pfd));
			qs = calloc(cap, sizeof(*qs));
			if (pfd == NULL || qs == NULL) {
				rc = -1;
				break;
			}
		}
		n = 0;
		next = UINT64_MAX;
		TAILQ_FOREACH(q, &res->queries, entry)
		{
			qs[n] = q;
			pfd[n].fd = dns_query_fd(q);
			pfd[n].events = dns_query_events(q);
			pfd[n].revents = 0;
			if (q->deadline < next)
				next = q->deadline;
			n++;
		}
		now = clock_ms();
		if (now >= stop) {
			rc = -1;
			errno = ETIMEDOUT;
			break;
		}
		if (next > stop)
			next = stop;
		wait = next > now ? (int)(next - now) : 0;
		if (poll(pfd, n, wait) == -1 && errno != EINTR) {
			rc = -1;
			break;
		}
		/* Queries finished by callbacks stay on res->dead until the next reap. */
		for (size_t i = 0; i < n; i++)
			if (pfd[i].revents != 0 && dns_query_fd(qs[i]) == pfd[i].fd)
				dns_query_io(qs[i]);
		for (size_t i = 0; i < n; i++)
			dns_query_timeout(qs[i]);
	}
	if (--res->running == 0)
		dns_resolver_reap(res);
	free(pfd);
	free(qs);
	return rc;
}

static void
dns_resolve_cb(const struct dns_result *r, void *arg)
{
	struct dns_result *out = arg;

	if (dns_result_copy(out, r) == -1)
		dns_result_fail(out, &r->qname, r->qtype, DNS_RETRY, "out of memory");
}

/*
 * For the synchronous wrappers: runs until nothing is in flight. Every query gives up by
 * itself after its attempts, so this ends, and a result on the caller's stack is never
 * written after the wrapper returns (no lookup is left behind to be cancelled).
 */
void
dns_run_until_idle(struct dns_resolver *res)
{
	/* Worst case per round: every attempt times out; slack for TCP and MX's two steps. */
	uint64_t budget =
	    (uint64_t)res->conf.timeout_ms * res->conf.attempts * res->nsrv * 6 + 1000;

	while (dns_resolver_busy(res))
		if (dns_resolver_run(res, (int)(budget > 600000 ? 600000 : budget)) == -1 &&
		    errno != ETIMEDOUT && errno != EINTR)
			fatal("dns_resolver_run");
}

enum dns_status
dns_resolve(struct dns_resolver *res, const char *name, uint16_t qtype, struct dns_result *out)
{
	memset(out, 0, sizeof(*out));
	out->status = DNS_RETRY;
	(void)dns_lookup(res, name, qtype, dns_resolve_cb, out);
	dns_run_until_idle(res);
	return out->status;
}
