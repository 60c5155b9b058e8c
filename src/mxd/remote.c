/*
 * remote — an outbound delivery worker ("mxd/smtp"). The queue manager forks
 * max_deliveries of them and hands each one job at a time: one message, one destination
 * domain, up to IPC_RCPT_MAX of its recipients. The worker routes the job (relayhost, or
 * the MX delivery plan from our own resolver, src/dns), delivers it with the SMTP client
 * (src/queue/queue_smtp.c), logs one line per recipient and answers with one result per
 * recipient. Workers block on their one session, so a slow or hostile MX holds only its
 * own worker; the queue manager never waits.
 *
 * Routing (RFC 5321 §5.1, RFC 7505, DESIGN §2):
 *   - relayhost "[host]:port" or "[addr]:port": that host's addresses, no MX lookup;
 *     "host:port" (no brackets): the host's MX plan, as Postfix does.
 *   - else the domain's MX plan: hosts in preference order, each address in turn; the next
 *     one on connect failure, timeout, TLS failure or a 4xx/5xx greeting.
 *   - A DNS temporary error defers (4.4.3) and never bounces; NXDOMAIN (5.1.2) and null MX
 *     (5.1.10, RFC 7505 §4.2) bounce at once.
 *   - Mail loop (RFC 5321 §5.1): hosts from the first one that is ourselves (our hostname,
 *     or the address and port of one of our listeners) on are dropped; when that leaves
 *     none, the recipients bounce with 5.4.6 "mail for DOMAIN loops back to myself".
 *
 * DANE (RFC 7672): with `dane = auto`, when the MX RRset and a host's address records are
 * DNSSEC-secure (AD from a trusted resolver), the host's TLSA RRset at _25._tcp.HOST is
 * fetched: records that are secure make TLS mandatory and authenticated by them (usages 2
 * and 3; the client ignores the rest); a secure denial means opportunistic TLS; a lookup
 * that fails (SERVFAIL, timeout, an insecure answer for a secure host) makes the host
 * unusable (§2.2: never treated as "no TLSA") and the next host is tried.
 *
 * Connection reuse: after a transaction the session stays open for REUSE_IDLE_MS; a job
 * for the same destination takes it if it is still usable (the queue manager prefers to
 * send a destination's jobs to the worker that reports a cached session for it).
 */
#include <sys/socket.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "ipc/ipc.h"
#include "mxd/mxd.h"
#include "queue/queue.h"
#include "queue/smtpc.h"
#include "tls/tls.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/net.h"

#define REUSE_IDLE_MS 2000
#define TLSA_MAX      16
/* Addresses tried per job: a hostile domain with dozens of dead MX addresses must not
   hold a worker for hours (Postfix's smtp_mx_address_limit is 5 too). */
#define ROUTE_ADDR_MAX 5

struct remote {
	const struct conf *conf;
	struct dns_resolver *res;
	SSL_CTX *ssl;
	/* The cached session: its destination and the relay it is connected to. */
	struct smtpc *sc;
	char sc_dest[256];
	char sc_relay[NET_ADDR_STRLEN + 300];
	char sc_host[256];
	uint64_t sc_idle_since;
	/* Our own addresses (getifaddrs) for the mail loop check of wildcard listeners. */
	struct net_addr *ifaddrs;
	size_t nifaddrs;
};

/* One address to try, with what the delivery there needs. */
struct route {
	char host[256];       /* presentation form, no trailing dot */
	struct net_addr addr; /* with port */
	bool dane_ok;         /* MX and host secure: look up TLSA */
	uint16_t tlsa_port;   /* _PORT._tcp.HOST */
};

static void
res_set(struct deliver_result *r, enum deliver_status st, const char *dsn, const char *text)
{
	r->status = st;
	strlcpy(r->dsn, dsn, sizeof(r->dsn));
	strlcpy(r->text, text, sizeof(r->text));
}

static void
load_ifaddrs(struct remote *rm)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) == -1) {
		log_warn("getifaddrs: mail loops through a wildcard listener are found by "
			 "loopback and our hostname only");
		return;
	}
	for (i = ifa; i != NULL; i = i->ifa_next)
		if (i->ifa_addr != NULL &&
		    (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
			n++;
	rm->ifaddrs = calloc(n > 0 ? n : 1, sizeof(*rm->ifaddrs));
	if (rm->ifaddrs != NULL)
		for (i = ifa; i != NULL; i = i->ifa_next) {
			const struct sockaddr *sa = i->ifa_addr;

			if (sa == NULL)
				continue;
			if (sa->sa_family == AF_INET)
				net_addr_from_raw(&rm->ifaddrs[rm->nifaddrs++], AF_INET,
				    &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 0);
			else if (sa->sa_family == AF_INET6)
				net_addr_from_raw(&rm->ifaddrs[rm->nifaddrs++], AF_INET6,
				    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 0);
		}
	freeifaddrs(ifa);
}

static void
addr_set_port(struct net_addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)(void *)&a->ss)->sin_port = htons(port);
	else if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)&a->ss)->sin6_port = htons(port);
}

static bool
addr_is_wildcard(const struct net_addr *a)
{
	static const uint8_t zero[16];

	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)&a->ss)->sin_addr.s_addr == 0;
	if (a->ss.ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_addr, zero,
			   16) == 0;
	return false;
}

/* Same address, ports ignored. */
static bool
addr_same_host(const struct net_addr *a, const struct net_addr *b)
{
	struct net_addr x = *a, y = *b;

	addr_set_port(&x, 0);
	addr_set_port(&y, 0);
	return net_addr_eq(&x, &y);
}

/* An MX host that is ourselves: our name, or one of our MX listeners' address and port. */
static bool
is_self(const struct remote *rm, const char *host, const struct net_addr *addr, uint16_t port)
{
	const struct conf *c = rm->conf;

	if (strcasecmp(host, c->hostname) == 0)
		return true;
	for (size_t i = 0; i < c->nlisten; i++) {
		if (net_addr_port(&c->listen[i]) != port)
			continue;
		if (addr_same_host(&c->listen[i], addr))
			return true;
		if (!addr_is_wildcard(&c->listen[i]))
			continue;
		/* A wildcard listener is every local address: all of loopback included. */
		if (net_addr_is_loopback(addr) || addr_is_wildcard(addr))
			return true;
		for (size_t j = 0; j < rm->nifaddrs; j++)
			if (addr_same_host(&rm->ifaddrs[j], addr))
				return true;
	}
	return false;
}

static void
name_str(const struct dns_name *n, char *out, size_t len)
{
	size_t l;

	(void)dns_name_to_str(n, out, len);
	l = strlen(out);
	if (l > 1 && out[l - 1] == '.')
		out[l - 1] = '\0';
}

/* relayhost: "[host]:port" (no MX), "host:port" (MX of host), port 25 when absent. */
static void
relayhost_split(const char *s, char *host, size_t hlen, uint16_t *port, bool *mx)
{
	const char *end, *colon;
	const char *e;
	long long p;

	*port = 25;
	*mx = s[0] != '[';
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			end = s + strlen(s);
		(void)snprintf(host, hlen, "%.*s", (int)(end - s - 1), s + 1);
		colon = *end == ']' && end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strchr(s, ':');
		(void)snprintf(host, hlen, "%.*s", (int)(colon ? colon - s : (long)strlen(s)), s);
	}
	if (colon != NULL) {
		p = strtonum(colon + 1, 1, 65535, &e);
		if (e == NULL)
			*port = (uint16_t)p;
	}
}

/*
 * Appends the plan's usable addresses: hosts refused by the resolver (IP literals,
 * loopback, unusable addresses, no address) are skipped (DESIGN §2), and so is everything
 * from the first host that is ourselves on (RFC 5321 §5.1). *loop says we were found;
 * *retry_ahead that a more preferred host could not be resolved just now.
 */
static void
routes_from_plan(struct remote *rm, const struct dns_mx_plan *plan, uint16_t port, struct route *rt,
    size_t *nrt, bool *loop, bool *retry_ahead)
{
	char host[DNS_NAME_STRLEN];

	*loop = *retry_ahead = false;
	for (size_t h = 0; h < plan->nhosts; h++) {
		const struct dns_mx_host *mh = &plan->hosts[h];

		name_str(&mh->name, host, sizeof(host));
		for (size_t a = 0; a < mh->naddr; a++) {
			struct net_addr addr = mh->addr[a];

			addr_set_port(&addr, port);
			if (is_self(rm, host, &addr, port)) {
				*loop = true;
				return;
			}
		}
		if (strcasecmp(host, rm->conf->hostname) == 0) {
			*loop = true;
			return;
		}
		if (mh->refused != NULL) {
			if (mh->naddr == 0 &&
			    (mh->a_status == DNS_RETRY || mh->aaaa_status == DNS_RETRY))
				*retry_ahead = true;
			continue;
		}
		for (size_t a = 0; a < mh->naddr && *nrt < ROUTE_ADDR_MAX; a++) {
			struct route *r = &rt[(*nrt)++];

			strlcpy(r->host, host, sizeof(r->host));
			r->addr = mh->addr[a];
			addr_set_port(&r->addr, port);
			r->dane_ok = rm->conf->dane && plan->secure && mh->secure;
			r->tlsa_port = 25; /* delivery_port only stands in for 25 in tests */
		}
	}
}

/*
 * Finds where the job's mail goes. Returns 0 with routes, or -1 with *fail set (every
 * recipient gets it: a DNS error, NXDOMAIN, null MX, a loop).
 */
static int
route_job(struct remote *rm, const char *domain, struct route *rt, size_t *nrt,
    struct deliver_result *fail)
{
	const struct conf *c = rm->conf;
	struct dns_mx_plan plan;
	char host[300], text[512];
	uint16_t port = c->delivery_port;
	bool mx = true, loop = false, retry_ahead = false;
	unsigned flags = c->allow_loopback_mx ? DNS_MX_ALLOW_LOOPBACK : 0;
	const char *target = domain;

	*nrt = 0;
	memset(fail, 0, sizeof(*fail));
	if (c->relayhost[0] != '\0') {
		relayhost_split(c->relayhost, host, sizeof(host), &port, &mx);
		target = host;
		/* The admin chose this host: loopback is allowed. */
		flags |= DNS_MX_ALLOW_LOOPBACK;
		/* An address, bracketed or not, is used as it is: there is no MX to look up. */
		{
			struct route *r = &rt[0];

			if (net_addr_parse(host, port, &r->addr) == 0) {
				strlcpy(r->host, host, sizeof(r->host));
				r->dane_ok = false;
				r->tlsa_port = port;
				*nrt = 1;
				return 0;
			}
		}
	}
	if (rm->res == NULL) {
		res_set(fail, DELIVER_TEMP, "4.4.3", "no DNS resolver configured");
		return -1;
	}
	/* "[host]": its own addresses, no MX lookup (as Postfix reads the brackets). */
	(void)dns_mx_resolve(rm->res, target, flags | (mx ? 0 : DNS_MX_HOST_ONLY), &plan);
	switch (plan.status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
		(void)snprintf(
		    text, sizeof(text), "Host or domain name not found: %s (NXDOMAIN)", target);
		res_set(fail, DELIVER_PERM, "5.1.2", text);
		goto out;
	case DNS_NULLMX:
		/* RFC 7505 §4.2 */
		(void)snprintf(
		    text, sizeof(text), "Domain %s does not accept mail (null MX)", target);
		res_set(fail, DELIVER_PERM, "5.1.10", text);
		goto out;
	case DNS_INVAL:
		(void)snprintf(text, sizeof(text), "bad destination domain %s", target);
		res_set(fail, DELIVER_PERM, "5.1.2", text);
		goto out;
	default:
		(void)snprintf(text, sizeof(text), "DNS lookup for %s failed: %s", target,
		    plan.why != NULL ? plan.why : dns_status_str(plan.status));
		res_set(fail, DELIVER_TEMP, "4.4.3", text);
		goto out;
	}
	routes_from_plan(rm, &plan, port, rt, nrt, &loop, &retry_ahead);
	if (c->relayhost[0] != '\0')
		for (size_t i = 0; i < *nrt; i++)
			rt[i].tlsa_port = port;
	if (*nrt == 0 && loop && retry_ahead) {
		/* A better MX than us may exist but did not resolve: a DNS error defers. */
		(void)snprintf(text, sizeof(text),
		    "DNS lookup for a mail exchanger of %s "
		    "more preferred than this host failed",
		    target);
		res_set(fail, DELIVER_TEMP, "4.4.3", text);
		goto out;
	}
	if (*nrt == 0) {
		if (loop)
			(void)snprintf(
			    text, sizeof(text), "mail for %s loops back to myself", target);
		else
			(void)snprintf(text, sizeof(text), "no usable mail exchanger for %s: %s",
			    target, plan.why != NULL ? plan.why : "no address");
		res_set(fail, loop ? DELIVER_PERM : DELIVER_TEMP, loop ? "5.4.6" : "4.4.4", text);
		goto out;
	}
	dns_mx_plan_clear(&plan);
	return 0;
out:
	dns_mx_plan_clear(&plan);
	return -1;
}

/*
 * The TLSA RRset of a secure host (RFC 7672 §2.2). Returns 1 with records (DANE), 0 when
 * securely absent or the host is not secure (opportunistic), -1 when the lookup failed
 * (the host must not be used: never read a failure as "no TLSA").
 */
static int
tlsa_fetch(struct remote *rm, const struct route *r, struct dns_result *tr, struct smtpc_tlsa *tlsa,
    size_t *ntlsa)
{
	char name[DNS_NAME_STRLEN + 16];
	enum dns_status st;

	*ntlsa = 0;
	if (!r->dane_ok || rm->res == NULL)
		return 0;
	(void)snprintf(name, sizeof(name), "_%u._tcp.%.255s", r->tlsa_port, r->host);
	st = dns_resolve(rm->res, name, DNS_T_TLSA, tr);
	if ((st == DNS_NXDOMAIN || st == DNS_NODATA) && tr->facts.ad)
		return 0;
	if (st != DNS_OK || !tr->facts.ad)
		return -1;
	for (size_t i = 0; i < tr->nrr && *ntlsa < TLSA_MAX; i++) {
		const struct dns_rr *rr = &tr->rr[i];

		if (rr->type != DNS_T_TLSA || rr->rdlen < 3)
			continue;
		tlsa[*ntlsa].usage = rr->u.tlsa.usage;
		tlsa[*ntlsa].selector = rr->u.tlsa.selector;
		tlsa[*ntlsa].mtype = rr->u.tlsa.mtype;
		tlsa[*ntlsa].data = rr->rdata + 3;
		tlsa[*ntlsa].len = (size_t)rr->rdlen - 3;
		(*ntlsa)++;
	}
	return *ntlsa > 0 ? 1 : -1;
}

static void
relay_str(const struct route *r, char *out, size_t len)
{
	char a[NET_ADDR_STRLEN];

	(void)snprintf(out, len, "%.255s[%s]:%u", r->host, net_addr_host(&r->addr, a, sizeof(a)),
	    net_addr_port(&r->addr));
}

static void
cache_drop(struct remote *rm, bool quit)
{
	smtpc_close(rm->sc, quit);
	rm->sc = NULL;
	rm->sc_dest[0] = '\0';
}

/*
 * Opens a session to the first route that takes one. Returns the session, or NULL with
 * *fail the last host's failure (PERM only when every host refused permanently).
 */
static struct smtpc *
session_open(struct remote *rm, const struct route *rt, size_t nrt, size_t *used,
    struct deliver_result *fail, char *reached, size_t reachedlen)
{
	struct smtpc_tlsa tlsa[TLSA_MAX];
	struct smtpc_opts o;
	struct dns_result tr;
	struct deliver_result f;
	struct smtpc *sc;
	bool all_perm = true;
	char relay[NET_ADDR_STRLEN + 300];
	int t;

	for (size_t i = 0; i < nrt; i++) {
		memset(&tr, 0, sizeof(tr));
		memset(&o, 0, sizeof(o));
		memset(&f, 0, sizeof(f));
		relay_str(&rt[i], relay, sizeof(relay));
		o.helo = rm->conf->hostname;
		o.peer_name = rt[i].host;
		o.timeout_s = rm->conf->smtp_timeout;
		o.ssl_ctx = rm->ssl;
		o.tls = rm->ssl != NULL ? SMTPC_TLS_MAY : SMTPC_TLS_NONE;
		t = tlsa_fetch(rm, &rt[i], &tr, tlsa, &o.ntlsa);
		if (t == -1) {
			(void)snprintf(f.text, sizeof(f.text),
			    "TLSA lookup for _%u._tcp.%.255s failed or was not secure: %s",
			    rt[i].tlsa_port, rt[i].host,
			    tr.why != NULL ? tr.why : dns_status_str(tr.status));
			res_set(fail, DELIVER_TEMP, "4.7.5", f.text);
			log_info("%s: %s; trying the next host", relay, f.text);
			all_perm = false;
			dns_result_clear(&tr);
			continue;
		}
		if (t == 1) {
			o.tls = SMTPC_TLS_DANE;
			o.tlsa = tlsa;
		}
		sc = smtpc_open(&rt[i].addr, &o, &f);
		dns_result_clear(&tr);
		if (sc != NULL) {
			*used = i;
			return sc;
		}
		if (f.status != DELIVER_PERM)
			all_perm = false;
		log_info("%s: %s; trying the next host", relay, f.text);
		*fail = f;
		/* A session that failed after the connect (greeting, TLS) names its relay. */
		if (strcmp(f.dsn, "4.4.1") != 0 && strcmp(f.dsn, "4.3.0") != 0)
			strlcpy(reached, relay, reachedlen);
	}
	if (!all_perm)
		fail->status = DELIVER_TEMP;
	if (fail->dsn[0] == '5' && fail->status == DELIVER_TEMP)
		fail->dsn[0] = '4';
	return NULL;
}

static const char *
status_word(enum deliver_status s)
{
	return s == DELIVER_OK ? "sent" : s == DELIVER_TEMP ? "deferred" : "bounced";
}

static void
remote_job(struct remote *rm, int qsock, const struct ipc_deliver *d, int fd)
{
	struct ipc_delivered *out;
	struct queue_env env;
	struct deliver_result res[IPC_RCPT_MAX], fail;
	struct route rt[ROUTE_ADDR_MAX];
	const char *rcpts[IPC_RCPT_MAX];
	char relay[NET_ADDR_STRLEN + 300] = "none", host[256] = "";
	const char *tls = "none";
	bool dsn_taken = false;
	size_t nrt = 0, used = 0, n = 0;
	enum queue_read_res rr;
	char domain[sizeof(d->domain)];

	out = calloc(1, sizeof(*out));
	if (out == NULL)
		fatal("calloc");
	strlcpy(out->id, d->id, sizeof(out->id));
	strlcpy(domain, d->domain, sizeof(domain));
	memset(&env, 0, sizeof(env));
	memset(res, 0, sizeof(res));
	rr =
	    lseek(fd, 0, SEEK_SET) == -1 ? QUEUE_READ_IOERR : queue_file_read(fd, &env, NULL, NULL);
	for (uint32_t i = 0; i < d->n && i < IPC_RCPT_MAX; i++) {
		if (rr != QUEUE_READ_OK || d->idx[i] >= env.nrcpt) {
			rr = QUEUE_READ_BAD;
			break;
		}
		rcpts[n++] = env.rcpt[d->idx[i]].addr;
	}
	if (rr != QUEUE_READ_OK) {
		res_set(&fail, DELIVER_TEMP, "4.3.0", "queue file unreadable");
		for (uint32_t i = 0; i < d->n && i < IPC_RCPT_MAX; i++)
			res[i] = fail;
		n = d->n < IPC_RCPT_MAX ? d->n : IPC_RCPT_MAX;
		goto reply;
	}
	/* A cached session to this destination first. */
	if (rm->sc != NULL && (strcmp(rm->sc_dest, domain) != 0 || !smtpc_usable(rm->sc)))
		cache_drop(rm, strcmp(rm->sc_dest, domain) != 0);
	if (rm->sc == NULL) {
		if (route_job(rm, domain, rt, &nrt, &fail) == -1 ||
		    (rm->sc = session_open(rm, rt, nrt, &used, &fail, relay, sizeof(relay))) ==
			NULL) {
			for (size_t i = 0; i < n; i++)
				res[i] = fail;
			goto reply;
		}
		strlcpy(rm->sc_dest, domain, sizeof(rm->sc_dest));
		relay_str(&rt[used], rm->sc_relay, sizeof(rm->sc_relay));
		strlcpy(rm->sc_host, rt[used].host, sizeof(rm->sc_host));
	}
	strlcpy(relay, rm->sc_relay, sizeof(relay));
	strlcpy(host, rm->sc_host, sizeof(host));
	tls = smtpc_tls_state(rm->sc);
	dsn_taken = smtpc_dsn(rm->sc);
	if (smtpc_send(rm->sc, fd, &env, rcpts, n, res) == -1)
		cache_drop(rm, false);
	else
		rm->sc_idle_since = clock_ms();
reply:
	out->cached = rm->sc != NULL;
	for (size_t i = 0; i < n; i++) {
		struct ipc_rcpt_result *r = &out->r[out->n++];

		r->idx = d->idx[i];
		r->status = (uint8_t)res[i].status;
		r->success = res[i].status == DELIVER_OK && !dsn_taken ? IPC_SUCCESS_RELAYED
								       : IPC_SUCCESS_NONE;
		strlcpy(r->dsn, res[i].dsn, sizeof(r->dsn));
		strlcpy(r->text, res[i].text, sizeof(r->text));
		strlcpy(r->relay, host, sizeof(r->relay));
		/* Postfix's shape (pflogsumm parses it); tls= after the status text. */
		log_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, status=%s (%s), tls=%s", d->id,
		    i < n && rr == QUEUE_READ_OK ? rcpts[i] : "?", relay, clock_since(env.arrival),
		    res[i].dsn, status_word(res[i].status), res[i].text, tls);
	}
	queue_env_clear(&env);
	if (ipc_send(qsock, IPC_DELIVERED, 0, out, sizeof(*out), -1) == -1)
		fatal("send to the queue manager");
	free(out);
}

static volatile sig_atomic_t remote_stop;

static void
remote_on_term(int signo)
{
	if (signo != SIGHUP)
		remote_stop = 1;
}

int
remote_main(const struct conf *conf, int qsock)
{
	sigset_t waitmask;
	struct remote rm;
	struct ipc_msg *m;
	char err[256];
	int r;

	memset(&rm, 0, sizeof(rm));
	rm.conf = conf;
	log_init("mxd/smtp", false);
	if (conf->dns.nservers > 0) {
		rm.res = dns_resolver_new(&conf->dns);
		if (rm.res == NULL)
			fatal("resolver");
	}
	rm.ssl = tls_client_ctx(err, sizeof(err));
	if (rm.ssl == NULL)
		log_warnx("TLS client: %s; sending without STARTTLS", err);
	load_ifaddrs(&rm);
	mxd_worker_signals(remote_on_term, &waitmask);
	m = malloc(sizeof(*m));
	if (m == NULL)
		fatal("malloc");
	while (!remote_stop) {
		struct timespec ts, *tsp = NULL;

		if (rm.sc != NULL) {
			uint64_t idle = clock_ms() - rm.sc_idle_since;

			if (idle >= REUSE_IDLE_MS || !smtpc_usable(rm.sc)) {
				cache_drop(&rm, true);
				continue;
			}
			ts.tv_sec = (time_t)((REUSE_IDLE_MS - idle) / 1000);
			ts.tv_nsec = (long)((REUSE_IDLE_MS - idle) % 1000) * 1000000L;
			tsp = &ts;
		}
		if ((r = mxd_worker_next(qsock, m, tsp, &waitmask)) == -1)
			break; /* the queue manager is gone: so are we */
		if (r == 0)
			continue;
		remote_job(&rm, qsock, (const struct ipc_deliver *)m->data, m->fd);
		close(m->fd);
	}
	if (rm.sc != NULL)
		cache_drop(&rm, true);
	free(m);
	free(rm.ifaddrs);
	if (rm.ssl != NULL)
		SSL_CTX_free(rm.ssl);
	if (rm.res != NULL)
		dns_resolver_free(rm.res);
	return 0;
}
