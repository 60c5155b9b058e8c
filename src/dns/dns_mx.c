/*
 * dns_mx — a domain's mail routing as a delivery plan: the hosts to try, in order, with
 * their addresses. This is the answer the 2010 attack forged, so nothing here trusts
 * more than dns_result.c hands it (answer records on the asked name's chain only).
 *
 * Rules, RFC 5321 §5.1 unless noted:
 *   - MX records sorted by preference, equal preferences in random order;
 *   - no MX records (NODATA) → the domain itself is the one host, preference 0;
 *   - RFC 7505: an MX whose exchange is the root (".") means the domain takes no mail:
 *     DNS_NULLMX, a permanent failure;
 *   - an exchange that is an IP literal is refused (§5.1: it must be a domain name);
 *   - A and AAAA are looked up for every host in parallel; a host whose addresses include
 *     loopback, unspecified or multicast is refused unless DNS_MX_ALLOW_LOOPBACK (tests),
 *     for loopback only — such an MX would make us deliver to ourselves or nowhere;
 *   - uncertainty is DNS_RETRY; only NXDOMAIN and null MX are permanent.
 *
 * Ownership: the plan passed to the callback is valid during the call only;
 * dns_mx_plan_copy() keeps it.
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"
#include "util/rand.h"

struct dns_mx_job;

struct dns_mx_ctx {
	struct dns_mx_job *job;
	size_t host;
	uint16_t type;
};

struct dns_mx_job {
	struct dns_resolver *res;
	unsigned flags;
	dns_mx_cb *cb;
	void *arg;
	struct dns_mx_plan plan;
	struct dns_mx_ctx *ctx;
	size_t pending;
	bool a_ad[DNS_MX_HOST_MAX], aaaa_ad[DNS_MX_HOST_MAX];
};

void
dns_mx_plan_clear(struct dns_mx_plan *p)
{
	free(p->hosts);
	p->hosts = NULL;
	p->nhosts = 0;
}

int
dns_mx_plan_copy(struct dns_mx_plan *dst, const struct dns_mx_plan *src)
{
	*dst = *src;
	dst->hosts = NULL;
	if (src->nhosts == 0)
		return 0;
	dst->hosts = calloc(src->nhosts, sizeof(*dst->hosts));
	if (dst->hosts == NULL) {
		dst->nhosts = 0;
		return -1;
	}
	memcpy(dst->hosts, src->hosts, src->nhosts * sizeof(*dst->hosts));
	return 0;
}

static void
dns_mx_done(struct dns_mx_job *job)
{
	job->cb(&job->plan, job->arg);
	dns_mx_plan_clear(&job->plan);
	free(job->ctx);
	free(job);
}

static void
dns_mx_fail(struct dns_mx_job *job, enum dns_status st, const char *why)
{
	job->plan.status = st;
	job->plan.why = why;
	dns_mx_done(job);
}

/* RFC 5321 §5.1: the exchange is a domain name, never an address. */
static bool
dns_mx_is_literal(const struct dns_name *n)
{
	char s[DNS_NAME_STRLEN];
	uint8_t a[16];
	size_t len;

	len = dns_name_to_str(n, s, sizeof(s));
	if (len > 1 && s[len - 1] == '.')
		s[len - 1] = '\0';
	return s[0] == '[' || inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Why an IPv4 address (network order octets) must not be delivered to, or NULL. */
static const char *
dns_mx_bad_v4(const uint8_t *b)
{
	if (b[0] == 0 || b[0] >= 224)
		return "MX host resolves to an unusable address";
	return NULL;
}

/* Why an address must not be delivered to, or NULL. */
static const char *
dns_mx_bad_addr(const struct net_addr *a, unsigned flags)
{
	const struct in6_addr *in6;

	if (net_addr_is_loopback(a)) /* v4, v6 and v4-mapped 127/8 */
		return (flags & DNS_MX_ALLOW_LOOPBACK) ? NULL : "MX host resolves to loopback";
	if (net_addr_family(a) == AF_INET)
		return dns_mx_bad_v4(
		    (const uint8_t *)&((const struct sockaddr_in *)&a->ss)->sin_addr);
	in6 = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
	/* ::ffff:a.b.c.d reaches a.b.c.d: judge it as that (::ffff:0.0.0.0 is "ourselves"). */
	if (IN6_IS_ADDR_V4MAPPED(in6))
		return dns_mx_bad_v4(in6->s6_addr + 12);
	if (IN6_IS_ADDR_UNSPECIFIED(in6) || IN6_IS_ADDR_MULTICAST(in6) || IN6_IS_ADDR_V4COMPAT(in6))
		return "MX host resolves to an unusable address";
	return NULL;
}

static void
dns_mx_finish(struct dns_mx_job *job)
{
	struct dns_mx_plan *p = &job->plan;
	bool retry = false, any_ok = false, refused = false;
	const char *first_refusal = NULL;

	for (size_t i = 0; i < p->nhosts; i++) {
		struct dns_mx_host *h = &p->hosts[i];

		if (h->refused != NULL) { /* an IP literal */
			refused = true;
			first_refusal = first_refusal ? first_refusal : h->refused;
			continue;
		}
		/*
		 * Secure when every address lookup that answered was secure: a lookup that
		 * failed (SERVFAIL, timeout) is no evidence of an insecure zone, and must not
		 * let an attacker who can make one fail turn DANE off (RFC 7672 §2.2.1).
		 */
		h->secure = (h->a_status != DNS_RETRY || h->aaaa_status != DNS_RETRY) &&
		    (h->a_status == DNS_RETRY || job->a_ad[i]) &&
		    (h->aaaa_status == DNS_RETRY || job->aaaa_ad[i]);
		for (size_t j = 0; j < h->naddr && h->refused == NULL; j++)
			h->refused = dns_mx_bad_addr(&h->addr[j], job->flags);
		if (h->refused != NULL) {
			refused = true;
			first_refusal = first_refusal ? first_refusal : h->refused;
			continue;
		}
		if (h->naddr == 0) {
			if (h->a_status == DNS_RETRY || h->aaaa_status == DNS_RETRY) {
				retry = true;
				h->refused = "address lookup failed temporarily";
			} else
				h->refused = "MX host has no address";
			continue;
		}
		any_ok = true;
	}
	if (any_ok)
		p->status = DNS_OK;
	else if (retry) {
		p->status = DNS_RETRY;
		p->why = "could not resolve the MX hosts' addresses";
	} else if (refused) {
		/* Every usable-looking host was refused: never deliver there. */
		p->status = DNS_INVAL;
		p->why = first_refusal;
	} else {
		p->status = DNS_NODATA;
		p->why =
		    p->implicit ? "domain has no MX and no address" : "no MX host has an address";
	}
	dns_mx_done(job);
}

static void
dns_mx_addr_cb(const struct dns_result *r, void *arg)
{
	struct dns_mx_ctx *c = arg;
	struct dns_mx_job *job = c->job;
	struct dns_mx_host *h = &job->plan.hosts[c->host];
	int fam = c->type == DNS_T_A ? AF_INET : AF_INET6;

	if (c->type == DNS_T_A) {
		h->a_status = r->status;
		job->a_ad[c->host] = r->facts.ad;
	} else {
		h->aaaa_status = r->status;
		job->aaaa_ad[c->host] = r->facts.ad;
	}
	for (size_t i = 0; r->status == DNS_OK && i < r->nrr; i++) {
		if (r->rr[i].type != c->type || h->naddr == DNS_MX_ADDR_MAX)
			continue;
		net_addr_from_raw(&h->addr[h->naddr++], fam,
		    c->type == DNS_T_A ? (const void *)r->rr[i].u.a : (const void *)r->rr[i].u.aaaa,
		    0);
	}
	if (--job->pending == 0)
		dns_mx_finish(job);
}

static int
dns_mx_pref_cmp(const void *a, const void *b)
{
	const struct dns_mx_host *x = a, *y = b;

	return (int)x->pref - (int)y->pref;
}

/* Sorts by preference and shuffles each run of equal preferences (RFC 5321 §5.1). */
static void
dns_mx_order(struct dns_mx_plan *p)
{
	size_t i, j, k;
	struct dns_mx_host tmp;

	qsort(p->hosts, p->nhosts, sizeof(*p->hosts), dns_mx_pref_cmp);
	for (i = 0; i < p->nhosts; i = j) {
		for (j = i + 1; j < p->nhosts && p->hosts[j].pref == p->hosts[i].pref; j++)
			;
		for (k = j - 1; k > i; k--) {
			size_t r = i + rand_uniform((uint32_t)(k - i + 1));

			tmp = p->hosts[k];
			p->hosts[k] = p->hosts[r];
			p->hosts[r] = tmp;
		}
	}
}

static void
dns_mx_mx_cb(const struct dns_result *r, void *arg)
{
	struct dns_mx_job *job = arg;
	struct dns_mx_plan *p = &job->plan;
	size_t n = 0;

	p->facts = r->facts;
	p->secure = r->facts.ad;
	switch (r->status) {
	case DNS_OK:
		break;
	case DNS_NODATA:
		/* RFC 5321 §5.1: no MX records, so the domain is its own exchange. */
		p->implicit = true;
		break;
	default:
		dns_mx_fail(job, r->status, r->why);
		return;
	}
	for (size_t i = 0; i < r->nrr; i++)
		if (r->rr[i].type == DNS_T_MX)
			n++;
	n = n == 0 ? 1 : n > DNS_MX_HOST_MAX ? DNS_MX_HOST_MAX : n;
	p->hosts = calloc(n, sizeof(*p->hosts));
	n = 0;
	if (p->hosts == NULL) {
		dns_mx_fail(job, DNS_RETRY, "out of memory");
		return;
	}
	if (p->implicit) {
		p->hosts[0].name = p->domain;
		n = 1;
	}
	/* RFC 7505 §3: a null MX, anywhere in the RRset, says the domain takes no mail. */
	for (size_t i = 0; !p->implicit && i < r->nrr; i++)
		if (r->rr[i].type == DNS_T_MX && r->rr[i].u.mx.host.len == 1) {
			dns_mx_fail(job, DNS_NULLMX, "domain accepts no mail (null MX)");
			return;
		}
	for (size_t i = 0; !p->implicit && i < r->nrr && n < DNS_MX_HOST_MAX; i++) {
		const struct dns_rr *rr = &r->rr[i];
		bool dup = false;

		if (rr->type != DNS_T_MX)
			continue;
		for (size_t j = 0; j < n; j++)
			if (dns_name_eq(&p->hosts[j].name, &rr->u.mx.host)) {
				dup = true;
				if (rr->u.mx.pref < p->hosts[j].pref)
					p->hosts[j].pref = rr->u.mx.pref;
			}
		if (dup)
			continue;
		p->hosts[n].name = rr->u.mx.host;
		dns_name_lower(&p->hosts[n].name);
		p->hosts[n].pref = rr->u.mx.pref;
		n++;
	}
	p->nhosts = n;
	dns_mx_order(p);
	job->ctx = calloc(2 * n, sizeof(*job->ctx));
	if (job->ctx == NULL) {
		dns_mx_fail(job, DNS_RETRY, "out of memory");
		return;
	}
	/* One token held while starting, so a synchronous (cached) answer cannot finish early. */
	job->pending = 1;
	for (size_t i = 0; i < n; i++) {
		struct dns_mx_host *h = &p->hosts[i];

		h->a_status = h->aaaa_status = DNS_NODATA;
		if (!p->implicit && dns_mx_is_literal(&h->name)) {
			h->refused = "MX target is an IP literal";
			continue;
		}
		for (int t = 0; t < 2; t++) {
			struct dns_mx_ctx *c = &job->ctx[2 * i + (size_t)t];

			c->job = job;
			c->host = i;
			c->type = t == 0 ? DNS_T_A : DNS_T_AAAA;
			job->pending++;
			(void)dns_lookup_name(job->res, &h->name, c->type, dns_mx_addr_cb, c);
		}
	}
	if (--job->pending == 0)
		dns_mx_finish(job);
}

int
dns_mx_start(struct dns_resolver *res, const char *domain, unsigned flags, dns_mx_cb *cb, void *arg)
{
	struct dns_mx_job *job;

	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return -1;
	job->res = res;
	job->flags = flags;
	job->cb = cb;
	job->arg = arg;
	if (dns_name_from_str(&job->plan.domain, domain) == -1 || job->plan.domain.len == 1) {
		dns_mx_fail(job, DNS_INVAL, "invalid domain name");
		return 0;
	}
	dns_name_lower(&job->plan.domain);
	if (flags & DNS_MX_HOST_ONLY) {
		/* A named host (a bracketed relayhost): its addresses, as for an implicit MX. */
		struct dns_result none;

		memset(&none, 0, sizeof(none));
		none.status = DNS_NODATA;
		dns_mx_mx_cb(&none, job);
		return 0;
	}
	(void)dns_lookup_name(res, &job->plan.domain, DNS_T_MX, dns_mx_mx_cb, job);
	return 0;
}

static void
dns_mx_sync_cb(const struct dns_mx_plan *p, void *arg)
{
	struct dns_mx_plan *out = arg;

	if (dns_mx_plan_copy(out, p) == -1) {
		out->status = DNS_RETRY;
		out->why = "out of memory";
	}
}

enum dns_status
dns_mx_resolve(
    struct dns_resolver *res, const char *domain, unsigned flags, struct dns_mx_plan *out)
{
	memset(out, 0, sizeof(*out));
	out->status = DNS_RETRY;
	if (dns_mx_start(res, domain, flags, dns_mx_sync_cb, out) == -1)
		return DNS_RETRY;
	dns_run_until_idle(res);
	return out->status;
}
