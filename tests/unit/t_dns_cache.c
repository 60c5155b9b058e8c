/*
 * t_dns_cache — TTL expiry, no overwrite of live entries, LRU bound, what is cacheable.
 */
#include <string.h>

#include "dns/dns_int.h"
#include "tap.h"

static void
mk(struct dns_result *r, const char *name, enum dns_status st, uint32_t ttl, uint8_t last)
{
	static struct dns_rr rr;
	static uint8_t rd[4];

	memset(r, 0, sizeof(*r));
	dns_name_from_str(&r->qname, name);
	r->final = r->qname;
	r->qtype = DNS_T_A;
	r->status = st;
	r->ttl = ttl;
	if (st == DNS_OK) {
		memset(&rr, 0, sizeof(rr));
		rr.owner = r->qname;
		rr.type = DNS_T_A;
		rr.class = DNS_C_IN;
		rr.ttl = ttl;
		rd[3] = last;
		memcpy(rr.u.a, rd, 4);
		rr.rdata = rd;
		rr.rdlen = 4;
		r->rr = &rr;
		r->nrr = 1;
	}
}

int
main(void)
{
	struct dns_cache *c = dns_cache_new(3);
	struct dns_result r, out;
	struct dns_name n;

	mk(&r, "a.test", DNS_OK, 10, 1);
	dns_cache_put(c, &r, 1000);
	dns_name_from_str(&n, "A.TEST");
	ok(dns_cache_get(c, &n, DNS_T_A, 5000, &out), "hit, case-insensitive");
	is_int(out.rr[0].u.a[3], 1, "hit carries the record");
	is_int(out.ttl, 6, "remaining TTL");
	ok(out.facts.from_cache, "marked as from cache");
	dns_result_clear(&out);
	ok(!dns_cache_get(c, &n, DNS_T_AAAA, 5000, &out), "other type misses");

	mk(&r, "a.test", DNS_OK, 100, 2);
	dns_cache_put(c, &r, 6000);
	ok(dns_cache_get(c, &n, DNS_T_A, 7000, &out), "still a hit");
	is_int(out.rr[0].u.a[3], 1, "a live entry is never overwritten");
	dns_result_clear(&out);
	ok(!dns_cache_get(c, &n, DNS_T_A, 11000, &out), "expired at its TTL");
	dns_cache_put(c, &r, 11000);
	ok(dns_cache_get(c, &n, DNS_T_A, 12000, &out) && out.rr[0].u.a[3] == 2,
	    "replaced after expiry");
	dns_result_clear(&out);

	mk(&r, "retry.test", DNS_RETRY, 100, 0);
	dns_cache_put(c, &r, 0);
	dns_name_from_str(&n, "retry.test");
	ok(!dns_cache_get(c, &n, DNS_T_A, 1, &out), "RETRY is never cached");
	mk(&r, "zero.test", DNS_OK, 0, 0);
	dns_cache_put(c, &r, 0);
	dns_name_from_str(&n, "zero.test");
	ok(!dns_cache_get(c, &n, DNS_T_A, 0, &out), "TTL 0 is not cached");
	mk(&r, "nx.test", DNS_NXDOMAIN, 50, 0);
	dns_cache_put(c, &r, 12000);
	dns_name_from_str(&n, "nx.test");
	ok(dns_cache_get(c, &n, DNS_T_A, 13000, &out) && out.status == DNS_NXDOMAIN,
	    "negative answers cached");
	dns_result_clear(&out);

	/* Bound of 3: a.test, nx.test, then b and c push out the least recently used. */
	mk(&r, "b.test", DNS_OK, 100, 3);
	dns_cache_put(c, &r, 13000);
	mk(&r, "c.test", DNS_OK, 100, 4);
	dns_cache_put(c, &r, 13000);
	dns_name_from_str(&n, "a.test");
	ok(!dns_cache_get(c, &n, DNS_T_A, 13000, &out), "LRU entry evicted at the bound");
	dns_name_from_str(&n, "c.test");
	ok(dns_cache_get(c, &n, DNS_T_A, 13000, &out), "newest entry kept");
	dns_result_clear(&out);
	dns_cache_free(c);
	dns_cache_free(NULL);
	ok(1, "free(NULL) is fine");
	return done_testing();
}
