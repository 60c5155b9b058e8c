/*
 * dns — mxd's stub resolver for mail: wire format, names, spoof-resistant transport,
 * cache, and MX delivery plans.
 *
 * Threat model: an off-path attacker who can send any packet to us with any source address
 * (Kaminsky, SAD DNS, fragment tricks) and who may see nothing we send. Defences, each
 * enforced in one place:
 *   - dns_query.c: a fresh connect()ed UDP socket per attempt (the kernel drops packets
 *     from any other address/port), ID and 0x20 case from the kernel CSPRNG, EDNS0 1232
 *     (no fragmentation), RFC 7873 cookies, TCP on TC=1 and on suspicion.
 *   - dns_match.c: a reply is used only if it is exactly the answer to the question asked.
 *   - dns_cache.c: only answer-section records on the qname's CNAME chain are ever kept.
 * Parsers are pure (bytes in, structs out) and read through util/buf's bounded cursor.
 *
 * Errors: lookups end in a classified struct dns_result (enum dns_status), never a bare
 * boolean. Only NXDOMAIN and a null MX are permanent; everything uncertain is DNS_RETRY.
 */
#ifndef DNS_DNS_H
#define DNS_DNS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/net.h"

/* RFC 1035 §2.3.4 */
#define DNS_LABEL_MAX         63
#define DNS_NAME_MAX          255  /* wire octets, root label included */
#define DNS_NAME_STRLEN       1025 /* presentation form: every octet may be \DDD */
#define DNS_PTR_HOPS          64   /* compression pointers followed in one name */
#define DNS_HDR_LEN           12
#define DNS_EDNS_BUFSIZE      1232 /* advertised UDP size: no IP fragmentation */
#define DNS_MSG_MAX           65535
#define DNS_RR_MAX            1024 /* records accepted in one message */
#define DNS_COOKIE_CLIENT     8    /* RFC 7873 §4 */
#define DNS_COOKIE_SERVER_MIN 8
#define DNS_COOKIE_SERVER_MAX 32
#define DNS_MAX_SERVERS       8
#define DNS_CNAME_MAX         8 /* links followed from a qname */

enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_OPT = 41,
	DNS_T_DS = 43,
	DNS_T_RRSIG = 46,
	DNS_T_NSEC = 47,
	DNS_T_DNSKEY = 48,
	DNS_T_TLSA = 52,
	DNS_T_ANY = 255
};
#define DNS_C_IN 1

enum dns_rcode {
	DNS_R_NOERROR = 0,
	DNS_R_FORMERR = 1,
	DNS_R_SERVFAIL = 2,
	DNS_R_NXDOMAIN = 3,
	DNS_R_NOTIMP = 4,
	DNS_R_REFUSED = 5,
	DNS_R_BADCOOKIE = 23 /* RFC 7873 §8 */
};

/* Header flag bits (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD/CD). */
#define DNS_F_QR            0x8000
#define DNS_F_OPMASK        0x7800
#define DNS_F_AA            0x0400
#define DNS_F_TC            0x0200
#define DNS_F_RD            0x0100
#define DNS_F_RA            0x0080
#define DNS_F_AD            0x0020
#define DNS_F_CD            0x0010
#define DNS_F_RCMASK        0x000f
#define DNS_EDNS_OPT_COOKIE 10
#define DNS_EDNS_DO         0x8000

/* A name in uncompressed wire form: length-prefixed labels ending with the root label. */
struct dns_name {
	uint8_t len; /* octets used in wire, 1..255 */
	uint8_t wire[DNS_NAME_MAX];
};

enum dns_section { DNS_S_AN, DNS_S_NS, DNS_S_AR };

struct dns_rr {
	struct dns_name owner;
	uint16_t type;
	uint16_t class;
	uint32_t ttl;
	uint8_t section; /* enum dns_section */
	uint16_t rdlen;
	const uint8_t *rdata; /* points into the owning message's copy */
	union {
		uint8_t a[4];
		uint8_t aaaa[16];
		struct dns_name name; /* CNAME, NS, PTR */
		struct {
			uint16_t pref;
			struct dns_name host;
		} mx;
		struct {
			struct dns_name mname, rname;
			uint32_t serial, refresh, retry, expire, minimum;
		} soa;
		struct {
			uint8_t usage, selector, mtype;
		} tlsa; /* association data: rdata + 3 */
	} u;
};

/* EDNS0 (RFC 6891) as found in, or to put in, a message. */
struct dns_edns {
	bool present;
	uint16_t udp_size;
	uint8_t ext_rcode; /* upper 8 bits of the 12-bit rcode */
	uint8_t version;
	bool do_bit;
	bool has_cookie;
	uint8_t ccookie[DNS_COOKIE_CLIENT];
	uint8_t scookie[DNS_COOKIE_SERVER_MAX];
	uint8_t scookie_len; /* 0 when only a client cookie is present */
};

/*
 * A parsed message. dns_msg_parse() or dns_msg_parse_borrow() fills it; dns_msg_clear()
 * frees what it owns. Octets of a struct dns_name past its len, and union members of
 * another kind than the record's, are not set: read a record through its type.
 *
 * Up to DNS_MSG_RR_FIXED records (OPT included) are kept in rr_fixed, inside the msg, so
 * a common reply needs no allocation; rr then points there. A parsed msg must therefore
 * not be copied or moved by value. What dns_msg_clear() frees is said by wire_copy and
 * rr_heap, never inferred from rr.
 */
#define DNS_MSG_RR_FIXED 8

struct dns_msg {
	uint16_t id;
	uint16_t flags;
	uint16_t rcode; /* 12-bit: header rcode | ext_rcode << 4 */
	uint16_t qdcount, ancount, nscount, arcount;
	struct dns_name qname; /* valid when qdcount == 1 */
	uint16_t qtype, qclass;
	struct dns_rr *rr; /* an, then ns, then ar (OPT excluded) */
	size_t nrr;
	struct dns_edns edns;
	const uint8_t *wire; /* the message bytes; rdata points into them */
	size_t wire_len;
	uint8_t *wire_copy;     /* == wire when the msg owns them, else NULL */
	struct dns_rr *rr_heap; /* == rr when allocated (more than DNS_MSG_RR_FIXED) */
	struct dns_rr rr_fixed[DNS_MSG_RR_FIXED]; /* last: not zeroed */
};

/* dns_name.c — the one place name rules live. */
int dns_name_from_str(struct dns_name *, const char *); /* 0 or -1 */
/* Presentation form with a trailing dot ("." for the root); \. and \DDD escapes. */
size_t dns_name_to_str(const struct dns_name *, char *, size_t);
/* Reads a possibly compressed name; the cursor's buffer must be the whole message. */
int dns_name_read(struct buf_rd *, struct dns_name *);
void dns_name_write(struct buf_wr *, const struct dns_name *);
bool dns_name_eq(const struct dns_name *, const struct dns_name *);       /* ASCII case folded */
bool dns_name_eq_exact(const struct dns_name *, const struct dns_name *); /* byte for byte */
void dns_name_lower(struct dns_name *);
/* RFC draft-vixie-dnsext-dns0x20: random case on every letter; returns how many letters. */
int dns_name_0x20(struct dns_name *);
int dns_name_labels(const struct dns_name *);
/* True when a is b or below it. */
bool dns_name_under(const struct dns_name *, const struct dns_name *);

/* dns_wire.c — messages. */
/* 0, or -1 with *why (may be NULL) a static reason and the msg empty. Copies the bytes. */
int dns_msg_parse(struct dns_msg *, const void *, size_t, const char **why);
/*
 * The same parse and checks without the copy: msg->wire borrows the bytes, which must stay
 * alive and unchanged until dns_msg_clear(msg).
 */
int dns_msg_parse_borrow(struct dns_msg *, const void *, size_t, const char **why);
void dns_msg_clear(struct dns_msg *);
/* An empty msg, as dns_msg_clear() leaves it; rr_fixed is not touched. */
void dns_msg_init(struct dns_msg *);
/* Writes a query: RD set, one question, EDNS per edns (may be NULL). Returns bytes or 0. */
size_t dns_query_write(uint8_t *, size_t, uint16_t id, const struct dns_name *, uint16_t qtype,
    const struct dns_edns *);
/* Writes a whole message (no compression); used by tests, fuzzers and fakes. */
size_t dns_msg_write(uint8_t *, size_t, const struct dns_msg *);
const char *dns_type_str(uint16_t);
int dns_type_from_str(const char *); /* -1 unknown */
const char *dns_rcode_str(uint16_t);
/* Formats the RR's data in presentation form into buf; returns buf. */
const char *dns_rdata_str(const struct dns_rr *, char *, size_t);

/* Results. */
enum dns_status {
	DNS_OK,       /* records of the type asked for */
	DNS_NODATA,   /* the name exists, no records of that type */
	DNS_NXDOMAIN, /* the name does not exist (permanent) */
	DNS_NULLMX,   /* RFC 7505: the domain accepts no mail (permanent) */
	DNS_RETRY,    /* SERVFAIL, REFUSED, timeout, malformed: try later */
	DNS_INVAL     /* the question itself is invalid */
};
const char *dns_status_str(enum dns_status);

/* What protected an answer: shown by mxlookup, logged by mxd. */
struct dns_facts {
	struct net_addr server;
	uint16_t id;
	uint16_t sport; /* our source port */
	bool tcp;
	bool x20;    /* 0x20 applied and the echo verified byte for byte */
	bool cookie; /* server cookie present and our client cookie echoed */
	bool ad;     /* AD set and trusted (dnssec policy) */
	bool from_cache;
	uint8_t attempts;
	uint32_t dropped; /* replies dropped while this query waited */
	uint32_t rtt_ms;
};

struct dns_result {
	enum dns_status status;
	const char *why; /* static text for RETRY/INVAL/NXDOMAIN */
	uint16_t rcode;
	struct dns_name qname; /* as asked (lower case) */
	uint16_t qtype;
	struct dns_name final; /* end of the CNAME chain */
	struct dns_rr *rr;     /* used answer records: chain CNAMEs, then data */
	size_t nrr;
	uint8_t *rdata; /* owned storage the rr point into */
	size_t rdata_len;
	uint32_t ttl; /* smallest TTL among used records, or negative TTL */
	struct dns_facts facts;
};
/* Deep copy; returns 0 or -1 (ENOMEM). */
int dns_result_copy(struct dns_result *, const struct dns_result *);
void dns_result_clear(struct dns_result *);

/* Every reason a reply can be dropped. Counted per resolver; none ends a query. */
enum dns_drop {
	DNS_DROP_SHORT,  /* shorter than a header */
	DNS_DROP_SOURCE, /* from an address or port we did not ask */
	DNS_DROP_ID,
	DNS_DROP_QR, /* QR=0: not a response */
	DNS_DROP_OPCODE,
	DNS_DROP_QDCOUNT,
	DNS_DROP_QNAME, /* another name */
	DNS_DROP_QCASE, /* our name with other letter case (0x20) */
	DNS_DROP_QTYPE,
	DNS_DROP_QCLASS,
	DNS_DROP_COOKIE,    /* missing or wrong cookie */
	DNS_DROP_MALFORMED, /* header matched, body did not parse */
	DNS_DROP_NMAX
};
const char *dns_drop_str(enum dns_drop);

struct dns_stats {
	uint64_t queries; /* questions sent to the network (after cache/coalescing) */
	uint64_t udp_sent, tcp_sent;
	uint64_t received; /* datagrams/segments read */
	uint64_t accepted;
	uint64_t dropped[DNS_DROP_NMAX];
	uint64_t tc_tcp;      /* TC=1 moved to TCP */
	uint64_t suspect_tcp; /* a mismatched reply moved the query to TCP */
	uint64_t timeouts;
	uint64_t badcookie;     /* BADCOOKIE retries with the new server cookie */
	uint64_t badcookie_tcp; /* a second BADCOOKIE moved the query to TCP */
	uint64_t no0x20;        /* servers found not to preserve case */
	uint64_t cache_hits, cache_neg_hits, coalesced;
	uint64_t ignored_rr; /* records not used: other sections, off the chain */
};
uint64_t dns_stats_dropped(const struct dns_stats *);

enum dns_dnssec { DNS_DNSSEC_AUTO, DNS_DNSSEC_TRUST_AD, DNS_DNSSEC_OFF };

struct dns_conf {
	struct net_addr servers[DNS_MAX_SERVERS];
	size_t nservers;
	unsigned timeout_ms; /* per attempt */
	unsigned attempts;   /* rounds over all servers */
	bool rotate;
	enum dns_dnssec dnssec;
	bool cache;
	size_t cache_max; /* entries */
	uint32_t ttl_max, neg_ttl_max;
	bool x20, cookies, edns;
	bool tcp_on_suspicion; /* off only in tests that count every forgery */
	bool tcp_only;
};
/* Defaults: no servers, 2000 ms, 2 attempts, cache on, every defence on. */
void dns_conf_init(struct dns_conf *);
/* Adds "ADDR[:PORT]"; 0 or -1. */
int dns_conf_add_server(struct dns_conf *, const char *);
/* Reads nameserver and options timeout:/attempts:/rotate from a resolv.conf. 0 or -1. */
int dns_conf_resolv(struct dns_conf *, const char *path);
int dns_conf_resolv_text(struct dns_conf *, const char *, size_t);

struct dns_resolver;
struct dns_lookup;
typedef void dns_cb(const struct dns_result *, void *arg);

/* Returns NULL on ENOMEM or when the conf has no servers (EINVAL). */
struct dns_resolver *dns_resolver_new(const struct dns_conf *);
void dns_resolver_free(struct dns_resolver *); /* cancels in-flight lookups */
const struct dns_stats *dns_resolver_stats(const struct dns_resolver *);
void dns_resolver_flush_cache(struct dns_resolver *);

/*
 * Starts a lookup. cb runs exactly once with the result, which is valid only during the
 * call; it may run before dns_lookup() returns (cache hit, invalid name), in which case
 * NULL is returned. Otherwise the handle stays valid until cb returns or it is
 * cancelled; cancelling it from inside its own callback is allowed and does nothing.
 */
struct dns_lookup *dns_lookup(struct dns_resolver *, const char *, uint16_t, dns_cb *, void *);
struct dns_lookup *dns_lookup_name(
    struct dns_resolver *, const struct dns_name *, uint16_t, dns_cb *, void *);
void dns_lookup_cancel(struct dns_lookup *);

/*
 * Driving the resolver from any event loop, c-ares style: each in-flight query owns at most
 * one socket at a time and a deadline. After dns_query_io()/dns_query_timeout() the fd may
 * have changed, so callers re-read them.
 */
struct dns_query;
struct dns_query *dns_resolver_queries(struct dns_resolver *, struct dns_query *prev);
int dns_query_fd(const struct dns_query *);            /* -1: none */
short dns_query_events(const struct dns_query *);      /* POLLIN / POLLOUT */
uint64_t dns_query_deadline(const struct dns_query *); /* clock_ms() */
void dns_query_io(struct dns_query *);
void dns_query_timeout(struct dns_query *);
/*
 * Runs a poll(2) loop until nothing is in flight (returns 0) or timeout_ms passes (-1,
 * ETIMEDOUT; queries stay in flight) or poll fails (-1, errno).
 */
int dns_resolver_run(struct dns_resolver *, int timeout_ms);
bool dns_resolver_busy(const struct dns_resolver *);
/*
 * Frees finished and cancelled queries. dns_resolver_run() does it itself; a caller with
 * its own event loop calls it once per round, outside any resolver callback.
 */
void dns_resolver_reap(struct dns_resolver *);

/* Synchronous convenience over dns_lookup + dns_resolver_run; result owned by caller. */
enum dns_status dns_resolve(struct dns_resolver *, const char *, uint16_t, struct dns_result *);

/* dns_mx.c — RFC 5321 §5.1 and RFC 7505. */
#define DNS_MX_ADDR_MAX       16
#define DNS_MX_HOST_MAX       32
#define DNS_MX_ALLOW_LOOPBACK 0x01
#define DNS_MX_HOST_ONLY      0x02 /* no MX query: the name is the host (implicit) */

struct dns_mx_host {
	struct dns_name name;
	uint16_t pref;
	struct net_addr addr[DNS_MX_ADDR_MAX]; /* port 0 */
	size_t naddr;
	enum dns_status a_status, aaaa_status;
	bool secure;         /* both address lookups DNSSEC-secure */
	const char *refused; /* why this host is not used, or NULL */
};

struct dns_mx_plan {
	enum dns_status status; /* OK when at least one host has an address */
	const char *why;
	struct dns_name domain;
	bool implicit;             /* no MX: the domain itself, preference 0 */
	bool secure;               /* MX RRset (or its absence) DNSSEC-secure */
	struct dns_facts facts;    /* of the MX answer */
	struct dns_mx_host *hosts; /* in delivery order */
	size_t nhosts;
};
typedef void dns_mx_cb(const struct dns_mx_plan *, void *arg);
/* Starts MX resolution; cb runs once (maybe before return). Returns 0, or -1 on ENOMEM. */
int dns_mx_start(struct dns_resolver *, const char *, unsigned flags, dns_mx_cb *, void *);
enum dns_status dns_mx_resolve(
    struct dns_resolver *, const char *, unsigned flags, struct dns_mx_plan *);
int dns_mx_plan_copy(struct dns_mx_plan *, const struct dns_mx_plan *);
void dns_mx_plan_clear(struct dns_mx_plan *);

#endif
