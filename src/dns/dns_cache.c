/*
 * dns_cache — positive and negative answers (RFC 2308), keyed by (name, type, class IN).
 *
 * Why it cannot be poisoned: the only thing ever stored is a struct dns_result, and
 * dns_result.c builds those solely from answer-section records on the asked name's CNAME
 * chain, after dns_match.c accepted the reply. A reply therefore can only fill the entry
 * for the question it answers; no section of any reply can create or overwrite an entry
 * for another name (the Kaminsky attack needs exactly that). An entry is replaced only
 * after it expires. TTLs are capped (ttl_max, neg_ttl_max); RETRY results are never kept.
 *
 * Bounded: at most `max` entries; the least recently used goes first.
 */
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"

struct dns_centry {
	RB_ENTRY(dns_centry) node;
	TAILQ_ENTRY(dns_centry) lru;
	struct dns_name name; /* lower case */
	uint16_t type;
	uint64_t expires; /* clock_ms() */
	struct dns_result res;
};

static int
dns_centry_cmp(const struct dns_centry *a, const struct dns_centry *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->name.len != b->name.len)
		return a->name.len < b->name.len ? -1 : 1;
	return memcmp(a->name.wire, b->name.wire, a->name.len);
}

RB_HEAD(dns_ctree, dns_centry);
RB_PROTOTYPE(dns_ctree, dns_centry, node, dns_centry_cmp)
RB_GENERATE(dns_ctree, dns_centry, node, dns_centry_cmp)

struct dns_cache {
	struct dns_ctree tree;
	TAILQ_HEAD(dns_clru, dns_centry) lru;
	size_t n, max;
};

struct dns_cache *
dns_cache_new(size_t max)
{
	struct dns_cache *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	RB_INIT(&c->tree);
	TAILQ_INIT(&c->lru);
	c->max = max > 0 ? max : 1;
	return c;
}

static void
dns_cache_drop(struct dns_cache *c, struct dns_centry *e)
{
	RB_REMOVE(dns_ctree, &c->tree, e);
	TAILQ_REMOVE(&c->lru, e, lru);
	dns_result_clear(&e->res);
	free(e);
	c->n--;
}

void
dns_cache_flush(struct dns_cache *c)
{
	struct dns_centry *e;

	while ((e = TAILQ_FIRST(&c->lru)) != NULL)
		dns_cache_drop(c, e);
}

void
dns_cache_free(struct dns_cache *c)
{
	if (c == NULL)
		return;
	dns_cache_flush(c);
	free(c);
}

void
dns_cache_put(struct dns_cache *c, const struct dns_result *r, uint64_t now)
{
	struct dns_centry key, *e;

	if (r->ttl == 0 ||
	    (r->status != DNS_OK && r->status != DNS_NODATA && r->status != DNS_NXDOMAIN))
		return;
	key.name = r->qname;
	dns_name_lower(&key.name);
	key.type = r->qtype;
	e = RB_FIND(dns_ctree, &c->tree, &key);
	if (e != NULL) {
		if (e->expires > now)
			return; /* live entries are never overwritten */
		dns_cache_drop(c, e);
	}
	if (c->n >= c->max)
		dns_cache_drop(c, TAILQ_LAST(&c->lru, dns_clru));
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return;
	if (dns_result_copy(&e->res, r) == -1) {
		free(e);
		return;
	}
	e->name = key.name;
	e->type = key.type;
	e->expires = now + (uint64_t)r->ttl * 1000;
	RB_INSERT(dns_ctree, &c->tree, e);
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	c->n++;
}

bool
dns_cache_get(struct dns_cache *c, const struct dns_name *name, uint16_t type, uint64_t now,
    struct dns_result *out)
{
	struct dns_centry key, *e;
	uint32_t left;

	key.name = *name;
	dns_name_lower(&key.name);
	key.type = type;
	e = RB_FIND(dns_ctree, &c->tree, &key);
	if (e == NULL)
		return false;
	if (e->expires <= now) {
		dns_cache_drop(c, e);
		return false;
	}
	if (dns_result_copy(out, &e->res) == -1)
		return false;
	TAILQ_REMOVE(&c->lru, e, lru);
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	left = (uint32_t)((e->expires - now + 999) / 1000);
	out->ttl = left;
	for (size_t i = 0; i < out->nrr; i++)
		if (out->rr[i].ttl > left)
			out->rr[i].ttl = left;
	out->facts.from_cache = true;
	return true;
}
