/*
 * dns_wire — DNS messages: parse bytes into a struct dns_msg, write queries and whole
 * messages, and format types, rcodes and RDATA in presentation form.
 *
 * dns_msg_parse() is pure: it copies the bytes into msg->wire (owned by the msg, freed by
 * dns_msg_clear) and reads them only through a struct buf_rd, whose sticky error lets each
 * structure be read whole and checked once. dns_msg_parse_borrow() is the same parse
 * without the copy, for a caller whose buffer outlives the msg (dns_match() on the
 * resolver's receive buffer). Both are strict, because a resolver that cannot be spoofed
 * must first agree with itself about what a packet says:
 *   - RFC 1035 §4.1.1: a 12-octet header; QDCOUNT 0 or 1 (more is an error);
 *   - every record announced by ANCOUNT/NSCOUNT/ARCOUNT must be present, and nothing may
 *     follow the last one;
 *   - RDATA of the types we use is decoded and must fill RDLENGTH exactly (A 4 octets,
 *     AAAA 16, names, MX, SOA, TXT strings, TLSA >= 3); other types are kept raw;
 *   - RFC 6891 §6.1.1: at most one OPT, in the additional section, owned by the root;
 *   - RFC 7873 §4: a COOKIE option is 8 octets (client) or 16..40 (client + server).
 * On any error the msg is left empty and *why names the reason (a static string).
 *
 * Cost: the records go to msg->rr_fixed when they fit, else to an array allocated for
 * them; neither is zeroed (a struct dns_rr is 816 octets, nearly all of it names that are
 * mostly unused). rr_parse() sets every field a record has: owner, type, class, TTL,
 * section, RDLENGTH, rdata, and the union member of its kind (for raw and TXT data, the
 * first 16 octets of the union are zeroed so u.a/u.aaaa read as zeros). A struct dns_name
 * holds len octets; the octets after them are never read.
 *
 * Names in RDATA may be compressed for CNAME, NS, PTR, MX and SOA (RFC 3597 §4 allows it
 * only for the RFC 1035 types); names themselves are read by dns_name.c, the one place
 * name rules live.
 *
 * Writers never compress: they are for queries, tests, fuzzers and fake servers. They
 * write through a struct buf_wr and return 0 when the message does not fit.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/dns.h"

enum rr_kind { K_RAW, K_A, K_AAAA, K_NAME, K_MX, K_SOA, K_TXT, K_TLSA };

/* Which RDATA we decode. A and AAAA are Internet-class formats (RFC 1035 §3.4.1). */
static enum rr_kind
rr_kind(uint16_t type, uint16_t class)
{
	switch (type) {
	case DNS_T_A:
		return class == DNS_C_IN ? K_A : K_RAW;
	case DNS_T_AAAA:
		return class == DNS_C_IN ? K_AAAA : K_RAW;
	case DNS_T_CNAME:
	case DNS_T_NS:
	case DNS_T_PTR:
		return K_NAME;
	case DNS_T_MX:
		return K_MX;
	case DNS_T_SOA:
		return K_SOA;
	case DNS_T_TXT:
		return K_TXT;
	case DNS_T_TLSA:
		return K_TLSA;
	default:
		return K_RAW;
	}
}

/* Why dns_name_read() failed, from the errno it sets. */
static const char *
name_why(int e)
{
	switch (e) {
	case EPROTO:
		return "name: bad label type";
	case ERANGE:
		return "name: forward pointer";
	case ELOOP:
		return "name: pointer loop";
	case EMSGSIZE:
		return "name: too long";
	default:
		return "name: truncated";
	}
}

/*
 * Decodes the RDATA of rr, which sits at wire[start .. start + rr->rdlen). The cursor
 * spans the message up to the end of the RDATA: compression pointers reach back into
 * the message, and nothing can be read past the RDATA.
 */
static const char *
rdata_parse(const struct dns_msg *m, struct dns_rr *rr, size_t start)
{
	struct buf_rd rd;
	size_t end = start + rr->rdlen;
	uint8_t l;

	buf_rd_init(&rd, m->wire, end);
	buf_seek(&rd, start);
	switch (rr_kind(rr->type, rr->class)) {
	case K_A:
		if (rr->rdlen != 4)
			return "A: rdlen not 4";
		buf_get(&rd, rr->u.a, 4);
		break;
	case K_AAAA:
		if (rr->rdlen != 16)
			return "AAAA: rdlen not 16";
		buf_get(&rd, rr->u.aaaa, 16);
		break;
	case K_NAME:
		if (dns_name_read(&rd, &rr->u.name) == -1)
			return name_why(errno);
		break;
	case K_MX:
		rr->u.mx.pref = buf_get16(&rd);
		if (!buf_rd_ok(&rd))
			return "MX: truncated";
		if (dns_name_read(&rd, &rr->u.mx.host) == -1)
			return name_why(errno);
		break;
	case K_SOA:
		if (dns_name_read(&rd, &rr->u.soa.mname) == -1 ||
		    dns_name_read(&rd, &rr->u.soa.rname) == -1)
			return name_why(errno);
		rr->u.soa.serial = buf_get32(&rd);
		rr->u.soa.refresh = buf_get32(&rd);
		rr->u.soa.retry = buf_get32(&rd);
		rr->u.soa.expire = buf_get32(&rd);
		rr->u.soa.minimum = buf_get32(&rd);
		if (!buf_rd_ok(&rd))
			return "SOA: truncated";
		break;
	case K_TXT:
		memset(rr->u.aaaa, 0, sizeof(rr->u.aaaa));
		/* RFC 1035 §3.3.14: one or more <character-string>s filling RDATA. */
		if (rr->rdlen == 0)
			return "TXT: empty";
		while (buf_left(&rd) > 0) {
			l = buf_get8(&rd);
			buf_skip(&rd, l);
		}
		if (!buf_rd_ok(&rd))
			return "TXT: string past rdata";
		break;
	case K_TLSA:
		/* RFC 6698 §2.1: usage, selector, matching type, then the data. */
		if (rr->rdlen < 3)
			return "TLSA: truncated";
		rr->u.tlsa.usage = buf_get8(&rd);
		rr->u.tlsa.selector = buf_get8(&rd);
		rr->u.tlsa.mtype = buf_get8(&rd);
		buf_skip(&rd, buf_left(&rd));
		break;
	case K_RAW:
		memset(rr->u.aaaa, 0, sizeof(rr->u.aaaa));
		buf_skip(&rd, rr->rdlen);
		break;
	}
	if (!buf_rd_ok(&rd))
		return "rdata truncated";
	if (rd.off != end)
		return "rdlen mismatch";
	return NULL;
}

/* RFC 6891 §6.1.2 and RFC 7873 §4: the OPT pseudo-RR and its options. */
static const char *
opt_parse(struct dns_msg *m, const struct dns_rr *rr, size_t start)
{
	struct dns_edns *e = &m->edns;
	struct buf_rd rd;
	uint16_t code, olen;

	/* RFC 6891 §6.1.1: one OPT at most, in the additional section, owner the root. */
	if (rr->section != DNS_S_AR)
		return "OPT not in additional";
	if (rr->owner.len != 1)
		return "OPT owner not root";
	if (e->present)
		return "two OPT records";
	e->present = true;
	e->udp_size = rr->class;
	e->ext_rcode = (uint8_t)(rr->ttl >> 24);
	e->version = (uint8_t)(rr->ttl >> 16);
	e->do_bit = (rr->ttl & DNS_EDNS_DO) != 0;

	buf_rd_init(&rd, m->wire + start, rr->rdlen);
	while (buf_left(&rd) > 0) {
		code = buf_get16(&rd);
		olen = buf_get16(&rd);
		if (!buf_rd_ok(&rd) || olen > buf_left(&rd))
			return "OPT option truncated";
		if (code != DNS_EDNS_OPT_COOKIE) {
			buf_skip(&rd, olen);
			continue;
		}
		if (e->has_cookie)
			return "OPT: two cookies";
		/* RFC 7873 §4: client cookie 8 octets, server cookie 8 to 32. */
		if (olen != DNS_COOKIE_CLIENT &&
		    (olen < DNS_COOKIE_CLIENT + DNS_COOKIE_SERVER_MIN ||
			olen > DNS_COOKIE_CLIENT + DNS_COOKIE_SERVER_MAX))
			return "bad cookie length";
		e->has_cookie = true;
		buf_get(&rd, e->ccookie, DNS_COOKIE_CLIENT);
		e->scookie_len = (uint8_t)(olen - DNS_COOKIE_CLIENT);
		buf_get(&rd, e->scookie, e->scookie_len);
	}
	if (!buf_rd_ok(&rd))
		return "OPT option truncated";
	return NULL;
}

static const char *
rr_parse(struct dns_msg *m, struct buf_rd *b, uint8_t section)
{
	struct dns_rr *rr = &m->rr[m->nrr];
	const char *err;
	size_t start;

	/* The smallest record is 11 octets: root owner, type, class, TTL, RDLENGTH. */
	if (buf_left(b) < 11)
		return "rr truncated";
	if (dns_name_read(b, &rr->owner) == -1)
		return name_why(errno);
	rr->type = buf_get16(b);
	rr->class = buf_get16(b);
	rr->ttl = buf_get32(b);
	rr->rdlen = buf_get16(b);
	rr->section = section;
	if (!buf_rd_ok(b))
		return "rr truncated";
	if (rr->rdlen > buf_left(b))
		return "rdata truncated";
	start = b->off;
	buf_skip(b, rr->rdlen);
	/* The OPT is not a record: its slot is reused (nrr does not move). */
	if (rr->type == DNS_T_OPT)
		return opt_parse(m, rr, start);
	rr->rdata = m->wire + start;
	err = rdata_parse(m, rr, start);
	if (err != NULL)
		return err;
	m->nrr++;
	return NULL;
}

/* Parses m->wire (m->wire_len octets, already checked to hold a header). */
static const char *
msg_parse(struct dns_msg *m)
{
	struct buf_rd b;
	const char *err;
	size_t total, i, an_end, ns_end;

	buf_rd_init(&b, m->wire, m->wire_len);

	/* RFC 1035 §4.1.1 */
	m->id = buf_get16(&b);
	m->flags = buf_get16(&b);
	m->qdcount = buf_get16(&b);
	m->ancount = buf_get16(&b);
	m->nscount = buf_get16(&b);
	m->arcount = buf_get16(&b);
	m->rcode = m->flags & DNS_F_RCMASK;
	if (m->qdcount > 1)
		return "qdcount";
	if (m->qdcount == 1) {
		if (dns_name_read(&b, &m->qname) == -1)
			return name_why(errno);
		m->qtype = buf_get16(&b);
		m->qclass = buf_get16(&b);
		if (!buf_rd_ok(&b))
			return "question truncated";
	}

	an_end = m->ancount;
	ns_end = an_end + m->nscount;
	total = ns_end + m->arcount;
	if (total > DNS_RR_MAX)
		return "too many records";
	/* Every RR takes at least 11 octets: refuse absurd counts before allocating. */
	if (total * 11 > buf_left(&b))
		return "rr truncated";
	/* Not zeroed: rr_parse() sets every field of each record it keeps. */
	if (total == 0) {
		m->rr = NULL;
	} else if (total <= DNS_MSG_RR_FIXED) {
		m->rr = m->rr_fixed;
	} else {
		m->rr = m->rr_heap = reallocarray(NULL, total, sizeof(*m->rr));
		if (m->rr == NULL)
			return "out of memory";
	}
	for (i = 0; i < total; i++) {
		err = rr_parse(m, &b, i < an_end ? DNS_S_AN : i < ns_end ? DNS_S_NS : DNS_S_AR);
		if (err != NULL)
			return err;
	}
	if (buf_left(&b) != 0)
		return "trailing bytes";
	/* RFC 6891 §6.1.3: the OPT carries the upper 8 bits of a 12-bit rcode. */
	m->rcode |= (uint16_t)(m->edns.ext_rcode << 4);
	return NULL;
}

/* Both parsers: the length checks, then msg_parse() over wire (copy: the msg's own). */
static int
msg_parse_wire(struct dns_msg *m, const uint8_t *p, size_t len, bool copy, const char **why)
{
	const char *err = NULL;

	dns_msg_init(m);
	if (why != NULL)
		*why = NULL;
	if (len < DNS_HDR_LEN) {
		err = "short header";
		goto fail;
	}
	if (len > DNS_MSG_MAX) {
		err = "message too long";
		goto fail;
	}
	if (copy) {
		m->wire_copy = malloc(len);
		if (m->wire_copy == NULL) {
			err = "out of memory";
			goto fail;
		}
		memcpy(m->wire_copy, p, len);
		p = m->wire_copy;
	}
	m->wire = p;
	m->wire_len = len;
	err = msg_parse(m);
	if (err == NULL)
		return 0;

fail:
	dns_msg_clear(m);
	if (why != NULL)
		*why = err;
	return -1;
}

int
dns_msg_parse(struct dns_msg *m, const void *p, size_t len, const char **why)
{
	return msg_parse_wire(m, p, len, true, why);
}

int
dns_msg_parse_borrow(struct dns_msg *m, const void *p, size_t len, const char **why)
{
	return msg_parse_wire(m, p, len, false, why);
}

/* Everything but rr_fixed: zeroing 6.5 KB of records per message is what used to cost. */
void
dns_msg_init(struct dns_msg *m)
{
	memset(m, 0, offsetof(struct dns_msg, rr_fixed));
}

void
dns_msg_clear(struct dns_msg *m)
{
	free(m->rr_heap);
	free(m->wire_copy);
	dns_msg_init(m);
}

/* Writers. */

static void
opt_write(struct buf_wr *w, const struct dns_edns *e, uint8_t ext_rcode)
{
	uint16_t udp = e->udp_size;

	if (e->has_cookie &&
	    (e->scookie_len > DNS_COOKIE_SERVER_MAX ||
		(e->scookie_len > 0 && e->scookie_len < DNS_COOKIE_SERVER_MIN))) {
		w->err = true;
		return;
	}
	buf_put8(w, 0); /* owner: the root */
	buf_put16(w, DNS_T_OPT);
	buf_put16(w, udp);
	buf_put32(w,
	    (uint32_t)ext_rcode << 24 | (uint32_t)e->version << 16 | (e->do_bit ? DNS_EDNS_DO : 0));
	if (!e->has_cookie) {
		buf_put16(w, 0);
		return;
	}
	buf_put16(w, (uint16_t)(4 + DNS_COOKIE_CLIENT + e->scookie_len));
	buf_put16(w, DNS_EDNS_OPT_COOKIE);
	buf_put16(w, (uint16_t)(DNS_COOKIE_CLIENT + e->scookie_len));
	buf_put(w, e->ccookie, DNS_COOKIE_CLIENT);
	buf_put(w, e->scookie, e->scookie_len);
}

/*
 * RFC 1035 §4.1.1 query: RD set, one question of class IN. With edns present, an OPT
 * (RFC 6891 §6.1.2) with edns->udp_size (0 means DNS_EDNS_BUFSIZE), the DO bit, and the
 * COOKIE option (RFC 7873 §4) when has_cookie: the client cookie, then the server cookie
 * we were last given, if any.
 */
size_t
dns_query_write(uint8_t *out, size_t cap, uint16_t id, const struct dns_name *qname, uint16_t qtype,
    const struct dns_edns *edns)
{
	struct buf_wr w;
	struct dns_edns e;
	bool opt = edns != NULL && edns->present;

	buf_wr_init(&w, out, cap);
	buf_put16(&w, id);
	buf_put16(&w, DNS_F_RD);
	buf_put16(&w, 1);
	buf_put16(&w, 0);
	buf_put16(&w, 0);
	buf_put16(&w, opt ? 1 : 0);
	dns_name_write(&w, qname);
	buf_put16(&w, qtype);
	buf_put16(&w, DNS_C_IN);
	if (opt) {
		e = *edns;
		if (e.udp_size == 0)
			e.udp_size = DNS_EDNS_BUFSIZE;
		opt_write(&w, &e, 0);
	}
	return buf_wr_ok(&w) ? w.len : 0;
}

static void
rr_write(struct buf_wr *w, const struct dns_rr *rr)
{
	size_t lenpos, start;

	dns_name_write(w, &rr->owner);
	buf_put16(w, rr->type);
	buf_put16(w, rr->class);
	buf_put32(w, rr->ttl);
	lenpos = w->len;
	buf_put16(w, 0);
	start = w->len;
	switch (rr_kind(rr->type, rr->class)) {
	case K_A:
		buf_put(w, rr->u.a, 4);
		break;
	case K_AAAA:
		buf_put(w, rr->u.aaaa, 16);
		break;
	case K_NAME:
		dns_name_write(w, &rr->u.name);
		break;
	case K_MX:
		buf_put16(w, rr->u.mx.pref);
		dns_name_write(w, &rr->u.mx.host);
		break;
	case K_SOA:
		dns_name_write(w, &rr->u.soa.mname);
		dns_name_write(w, &rr->u.soa.rname);
		buf_put32(w, rr->u.soa.serial);
		buf_put32(w, rr->u.soa.refresh);
		buf_put32(w, rr->u.soa.retry);
		buf_put32(w, rr->u.soa.expire);
		buf_put32(w, rr->u.soa.minimum);
		break;
	case K_TLSA:
		buf_put8(w, rr->u.tlsa.usage);
		buf_put8(w, rr->u.tlsa.selector);
		buf_put8(w, rr->u.tlsa.mtype);
		if (rr->rdlen > 3) {
			if (rr->rdata == NULL)
				w->err = true;
			else
				buf_put(w, rr->rdata + 3, rr->rdlen - 3u);
		}
		break;
	case K_TXT:
	case K_RAW:
		if (rr->rdlen > 0 && rr->rdata == NULL)
			w->err = true;
		else
			buf_put(w, rr->rdata, rr->rdlen);
		break;
	}
	if (w->err || w->len - start > UINT16_MAX) {
		w->err = true;
		return;
	}
	buf_patch16(w, lenpos, (uint16_t)(w->len - start));
}

/*
 * Writes m without compression: QDCOUNT 1 if m->qdcount is set, the other counts from
 * m->rr (whose sections may come in any order) plus the OPT when m->edns.present. Known
 * types are written from their decoded fields, others from rdata/rdlen.
 */
size_t
dns_msg_write(uint8_t *out, size_t cap, const struct dns_msg *m)
{
	struct buf_wr w;
	size_t count[3] = {0, 0, 0}, i;
	uint16_t rc;
	uint8_t s;

	for (i = 0; i < m->nrr; i++) {
		if (m->rr[i].section > DNS_S_AR)
			return 0;
		count[m->rr[i].section]++;
	}
	if (m->edns.present)
		count[DNS_S_AR]++;
	if (count[0] > UINT16_MAX || count[1] > UINT16_MAX || count[2] > UINT16_MAX)
		return 0;
	/*
	 * The 12-bit msg->rcode rules when set; otherwise the header's rcode bits and the
	 * OPT's extended rcode are written as they are.
	 */
	rc = m->rcode;
	if (rc == 0)
		rc = (uint16_t)((m->flags & DNS_F_RCMASK) | m->edns.ext_rcode << 4);

	buf_wr_init(&w, out, cap);
	buf_put16(&w, m->id);
	buf_put16(&w, (uint16_t)((m->flags & ~DNS_F_RCMASK) | (rc & DNS_F_RCMASK)));
	buf_put16(&w, m->qdcount != 0 ? 1 : 0);
	buf_put16(&w, (uint16_t)count[0]);
	buf_put16(&w, (uint16_t)count[1]);
	buf_put16(&w, (uint16_t)count[2]);
	if (m->qdcount != 0) {
		dns_name_write(&w, &m->qname);
		buf_put16(&w, m->qtype);
		buf_put16(&w, m->qclass);
	}
	/* Sections in order, whatever the order of msg->rr. */
	for (s = DNS_S_AN; s <= DNS_S_AR; s++)
		for (i = 0; i < m->nrr; i++)
			if (m->rr[i].section == s)
				rr_write(&w, &m->rr[i]);
	if (m->edns.present)
		opt_write(&w, &m->edns, (uint8_t)(rc >> 4));
	return buf_wr_ok(&w) ? w.len : 0;
}

/* Names of things. */

static const struct {
	uint16_t type;
	const char *name;
} types[] = {
    {DNS_T_A, "A"},
    {DNS_T_NS, "NS"},
    {DNS_T_CNAME, "CNAME"},
    {DNS_T_SOA, "SOA"},
    {DNS_T_PTR, "PTR"},
    {13, "HINFO"},
    {DNS_T_MX, "MX"},
    {DNS_T_TXT, "TXT"},
    {DNS_T_AAAA, "AAAA"},
    {33, "SRV"},
    {35, "NAPTR"},
    {39, "DNAME"},
    {DNS_T_OPT, "OPT"},
    {DNS_T_DS, "DS"},
    {DNS_T_RRSIG, "RRSIG"},
    {DNS_T_NSEC, "NSEC"},
    {DNS_T_DNSKEY, "DNSKEY"},
    {50, "NSEC3"},
    {51, "NSEC3PARAM"},
    {DNS_T_TLSA, "TLSA"},
    {64, "SVCB"},
    {65, "HTTPS"},
    {99, "SPF"},
    {251, "IXFR"},
    {252, "AXFR"},
    {DNS_T_ANY, "ANY"},
    {257, "CAA"},
};

static const char *const rcodes[] = {
    "NOERROR",
    "FORMERR",
    "SERVFAIL",
    "NXDOMAIN",
    "NOTIMP",
    "REFUSED",
    "YXDOMAIN",
    "YXRRSET",
    "NXRRSET",
    "NOTAUTH",
    "NOTZONE",
};

/*
 * Numbers without a name are formatted into a small per-thread ring of buffers, so a few
 * results can be used together (one printf); each stays valid for the next 3 calls.
 */
static const char *
ring_fmt(const char *prefix, unsigned v)
{
	static _Thread_local char ring[4][24];
	static _Thread_local unsigned next;
	char *p = ring[next++ % 4];

	snprintf(p, sizeof(ring[0]), "%s%u", prefix, v);
	return p;
}

const char *
dns_type_str(uint16_t t)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == t)
			return types[i].name;
	return ring_fmt("TYPE", t); /* RFC 3597 §5 */
}

int
dns_type_from_str(const char *s)
{
	size_t i;
	long v = 0;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0)
			return types[i].type;
	/* RFC 3597 §5: TYPEnnn, 1 to 5 digits, at most 65535. */
	if (strncasecmp(s, "TYPE", 4) != 0 || s[4] == '\0')
		return -1;
	for (i = 4; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 9)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= UINT16_MAX ? (int)v : -1;
}

const char *
dns_rcode_str(uint16_t rc)
{
	if (rc < sizeof(rcodes) / sizeof(rcodes[0]))
		return rcodes[rc];
	if (rc == 16)
		return "BADVERS"; /* RFC 6891 §9 */
	if (rc == DNS_R_BADCOOKIE)
		return "BADCOOKIE";
	return ring_fmt("RCODE", rc);
}

/* A bounded string builder: always NUL-terminated, silently cut when full. */
struct sb {
	char *p;
	size_t size;
	size_t len;
};

static void
sb_c(struct sb *b, char c)
{
	if (b->len + 1 < b->size) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
	}
}

static void
sb_s(struct sb *b, const char *s)
{
	while (*s != '\0')
		sb_c(b, *s++);
}

static void
sb_u(struct sb *b, unsigned long v)
{
	char t[24];

	snprintf(t, sizeof(t), "%lu", v);
	sb_s(b, t);
}

static void
sb_hex(struct sb *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		sb_c(b, hex[p[i] >> 4]);
		sb_c(b, hex[p[i] & 15]);
	}
}

static void
sb_name(struct sb *b, const struct dns_name *n)
{
	char t[DNS_NAME_STRLEN];

	dns_name_to_str(n, t, sizeof(t));
	sb_s(b, t);
}

static void
sb_ddd(struct sb *b, uint8_t c)
{
	sb_c(b, '\\');
	sb_c(b, (char)('0' + c / 100));
	sb_c(b, (char)('0' + c / 10 % 10));
	sb_c(b, (char)('0' + c % 10));
}

/* RFC 1035 §5.1: TXT as quoted strings; " and \ escaped, non-printables as \DDD. */
static void
sb_txt(struct sb *b, const struct dns_rr *rr)
{
	struct buf_rd rd;
	uint8_t l, c;
	bool first = true;

	buf_rd_init(&rd, rr->rdata, rr->rdata != NULL ? rr->rdlen : 0);
	while (buf_left(&rd) > 0) {
		l = buf_get8(&rd);
		if (l > buf_left(&rd))
			break;
		if (!first)
			sb_c(b, ' ');
		first = false;
		sb_c(b, '"');
		while (l-- > 0) {
			c = buf_get8(&rd);
			if (c == '"' || c == '\\') {
				sb_c(b, '\\');
				sb_c(b, (char)c);
			} else if (c < 0x20 || c >= 0x7f) {
				sb_ddd(b, c);
			} else {
				sb_c(b, (char)c);
			}
		}
		sb_c(b, '"');
	}
}

const char *
dns_rdata_str(const struct dns_rr *rr, char *buf, size_t size)
{
	struct sb b = {buf, size, 0};
	char a[INET6_ADDRSTRLEN];
	size_t n;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	switch (rr_kind(rr->type, rr->class)) {
	case K_A:
		sb_s(&b, inet_ntop(AF_INET, rr->u.a, a, sizeof(a)) ? a : "?");
		break;
	case K_AAAA:
		sb_s(&b, inet_ntop(AF_INET6, rr->u.aaaa, a, sizeof(a)) ? a : "?");
		break;
	case K_NAME:
		sb_name(&b, &rr->u.name);
		break;
	case K_MX:
		sb_u(&b, rr->u.mx.pref);
		sb_c(&b, ' ');
		sb_name(&b, &rr->u.mx.host);
		break;
	case K_SOA:
		sb_name(&b, &rr->u.soa.mname);
		sb_c(&b, ' ');
		sb_name(&b, &rr->u.soa.rname);
		sb_c(&b, ' ');
		sb_u(&b, rr->u.soa.serial);
		sb_c(&b, ' ');
		sb_u(&b, rr->u.soa.refresh);
		sb_c(&b, ' ');
		sb_u(&b, rr->u.soa.retry);
		sb_c(&b, ' ');
		sb_u(&b, rr->u.soa.expire);
		sb_c(&b, ' ');
		sb_u(&b, rr->u.soa.minimum);
		break;
	case K_TXT:
		sb_txt(&b, rr);
		break;
	case K_TLSA:
		/* RFC 6698 §2.2: three numbers, then the data in hex. */
		sb_u(&b, rr->u.tlsa.usage);
		sb_c(&b, ' ');
		sb_u(&b, rr->u.tlsa.selector);
		sb_c(&b, ' ');
		sb_u(&b, rr->u.tlsa.mtype);
		if (rr->rdata != NULL && rr->rdlen > 3) {
			sb_c(&b, ' ');
			sb_hex(&b, rr->rdata + 3, rr->rdlen - 3u);
		}
		break;
	case K_RAW:
		/* RFC 3597 §5: \# length hex */
		n = rr->rdata != NULL ? rr->rdlen : 0;
		sb_s(&b, "\\# ");
		sb_u(&b, n);
		if (n > 0) {
			sb_c(&b, ' ');
			sb_hex(&b, rr->rdata, n);
		}
		break;
	}
	return buf;
}
