/*
 * dns_int.h — what the resolver's own modules share and nothing else may use.
 *
 * Ownership: a struct dns_resolver owns its servers, its in-flight queries (struct
 * dns_query, one per distinct question on the network), the lookups waiting on them
 * (struct dns_lookup) and its cache. A finished or cancelled query is moved to a "dead"
 * list and freed by dns_resolver_reap() at a safe point, so a caller iterating queries
 * never holds a dangling pointer while callbacks run.
 */
#ifndef DNS_DNS_INT_H
#define DNS_DNS_INT_H

/* Queries in flight at most: IDs must stay easy to find unused (dns_id_new). */
#define DNS_INFLIGHT_MAX 32768

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include "dns/dns.h"

struct dns_server {
	struct net_addr addr;
	uint8_t ccookie[DNS_COOKIE_CLIENT];     /* ours, random per server */
	uint8_t scookie[DNS_COOKIE_SERVER_MAX]; /* last one it gave us */
	uint8_t scookie_len;
	bool cookie_seen; /* it has answered with a server cookie */
	bool no0x20;      /* found over TCP not to preserve case */
};

struct dns_lookup {
	TAILQ_ENTRY(dns_lookup) entry;
	struct dns_query *q;
	dns_cb *cb;
	void *arg;
};
TAILQ_HEAD(dns_lookups, dns_lookup);

enum dns_qstate { DNS_QS_UDP, DNS_QS_TCP_CONNECT, DNS_QS_TCP_WRITE, DNS_QS_TCP_READ, DNS_QS_DONE };

struct dns_query {
	TAILQ_ENTRY(dns_query) entry; /* res->queries or res->dead */
	RB_ENTRY(dns_query) node;     /* res->inflight, by (qname, qtype) */
	struct dns_resolver *res;
	struct dns_name qname; /* lower case: the key */
	uint16_t qtype;
	struct dns_lookups waiters;

	/* The attempt in progress. */
	enum dns_qstate state;
	int fd;
	struct dns_server *srv;
	struct dns_name sent; /* qname as sent, 0x20 applied */
	bool x20;             /* sent carries random case */
	uint16_t id;
	bool id_held; /* id marked in res->ids */
	uint16_t sport;
	uint64_t deadline;
	uint64_t t_start;
	unsigned attempt; /* attempts started */
	unsigned server0; /* rotation start */
	bool tcp_mode;    /* sticky: TC=1 or suspicion */
	bool badcookie_retried;
	uint32_t dropped;
	const char *last_err;
	uint16_t last_rcode;  /* of the last accepted reply, for RETRY results */
	uint8_t out[2 + 512]; /* TCP length prefix, then the query */
	size_t out_len, out_off;
	uint8_t *in; /* TCP reply being read */
	size_t in_len, in_off, in_want;
};
TAILQ_HEAD(dns_queries, dns_query);
RB_HEAD(dns_inflight, dns_query);

struct dns_cache;

struct dns_resolver {
	struct dns_conf conf;
	struct dns_server srv[DNS_MAX_SERVERS];
	size_t nsrv;
	unsigned next_server; /* rotation */
	bool trust_ad;
	struct dns_queries queries;
	struct dns_queries dead;
	struct dns_inflight inflight;
	size_t nqueries;
	unsigned running;          /* dns_resolver_run() depth: reap only at 1 */
	uint8_t ids[65536 / 8];    /* IDs in flight */
	uint16_t port_lo, port_hi; /* ephemeral range */
	struct dns_stats stats;
	struct dns_cache *cache;
	uint8_t rbuf[DNS_MSG_MAX]; /* one reply at a time */
};

/* dns_match.c: is this reply exactly the answer to what q asked? */
struct dns_want {
	uint16_t id;
	const struct dns_name *qname; /* as sent */
	uint16_t qtype;
	uint16_t qclass;
	bool case_exact;        /* false: fold case (a server without 0x20) */
	const uint8_t *ccookie; /* NULL: we sent no cookie */
	bool need_scookie;      /* the server has shown it supports cookies */
};
/*
 * Returns true and fills msg when accepted; else sets *why, msg left cleared. An accepted
 * msg borrows pkt: keep it alive and unchanged until dns_msg_clear(msg).
 */
bool dns_match(
    const uint8_t *, size_t, const struct dns_want *, struct dns_msg *, enum dns_drop *why);

/* dns_result.c: turns an accepted message into a classified result. */
int dns_result_from_msg(struct dns_result *, const struct dns_msg *, const struct dns_name *,
    uint16_t, const struct dns_conf *, uint64_t *ignored);
void dns_result_fail(
    struct dns_result *, const struct dns_name *, uint16_t, enum dns_status, const char *);

/* dns_cache.c */
struct dns_cache *dns_cache_new(size_t max);
void dns_cache_free(struct dns_cache *);
void dns_cache_flush(struct dns_cache *);
/* Copies result in when cacheable (OK, NODATA, NXDOMAIN, with ttl > 0). */
void dns_cache_put(struct dns_cache *, const struct dns_result *, uint64_t now_ms);
/* Fills out (a deep copy with remaining TTL) and returns true on a live hit. */
bool dns_cache_get(
    struct dns_cache *, const struct dns_name *, uint16_t, uint64_t now_ms, struct dns_result *);

/* dns_stub.c: the synchronous wrappers' loop (fatal only if poll itself breaks). */
void dns_run_until_idle(struct dns_resolver *);

/* dns_query.c */
struct dns_query *dns_query_new(struct dns_resolver *, const struct dns_name *, uint16_t);
void dns_query_start(struct dns_query *);
void dns_query_kill(struct dns_query *); /* no callbacks */
int dns_query_cmp(const struct dns_query *, const struct dns_query *);
RB_PROTOTYPE(dns_inflight, dns_query, node, dns_query_cmp)

#endif
