/*
 * mxa_dns — the target's DNS server for the audit zone, and the forger.
 *
 * Answers (true): for every name D at or under the zone,
 *     D MX          10 mx.D
 *     mx.D A/AAAA   the legitimate receiver's address (-l)
 *     evil.D A/AAAA the attacker's address (-a): the attacker's host really is his
 *     ZONE SOA/NS   a plain SOA, ns.ZONE; ns.ZONE A the DNS address
 * and NODATA (with the SOA, RFC 2308 §2.2) for every other type; names outside the zone
 * are REFUSED. No answer carries a COOKIE option (RFC 7873 allows a server without
 * cookies): a forgery is then judged by the one check it is built to test, never by a
 * missing server cookie.
 *
 * Forgeries (the acceptance matrix, one kind per fresh domain): every UDP query for an MX
 * of the domain, or an A/AAAA of its mx host, gets first a forged answer naming the
 * attacker (MX evil.D, or the attacker's address) with exactly one defect, then the true
 * answer; see forge() for the kinds. The forged NXDOMAIN and SERVFAIL carry no question
 * (QDCOUNT 0, as some servers' errors do): a forged error that echoes everything right
 * cannot be told from a true one by anybody, so the test is whether the target ends a
 * lookup on a reply that only matches its ID (RFC 5452 §9.1 requires the question to
 * match as well). TC kind: the truncated answer (naming the attacker) is the only UDP
 * reply; the truth is there over TCP (RFC 2181 §9: truncated data must not be used).
 *
 * The race (mxa_race.c) holds the true answer of a race domain's first MX query for
 * MXA_RACE_HOLD_MS while its blind burst flies; held answers are sent from
 * mxa_dns_timers().
 *
 * TCP (RFC 1035 §4.2.2, RFC 7766): two-octet length prefix, several queries per
 * connection, always answered truthfully; at most MXA_DNS_TCP_MAX connections, idle ones
 * closed after MXA_DNS_TCP_IDLE_MS, unsent output capped at MXA_DNS_TCP_OUT_MAX.
 *
 * Every query is recorded (struct audit_query) up to AUDIT_QUERIES_MAX; later ones are
 * answered and counted but not kept. Malformed queries are counted and dropped.
 *
 * Security: everything read here comes from the target or anybody else who can reach our
 * port; parsing is dns_msg_parse()'s bounded cursor, and we only ever send to the peer
 * that asked (and, in the race, to the address that asked in phase 1).
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mxaudit/mxaudit.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"

#define TTL          300
#define NEG_TTL      60
#define UDP_BURST    64   /* datagrams read per wakeup */
#define ANS_MAX      1232 /* our answers are far smaller */
#define REPLY_RR_MAX 6

enum role { NR_OUT, NR_DOMAIN, NR_MX, NR_EVIL, NR_NS };

/* What a query's name is to us. */
struct qinfo {
	enum role role;
	bool apex;
	struct dns_name base; /* D, lower case: the name below "mx." / "evil." */
	struct mxa_domain *d; /* the fresh domain the name is in, if one of ours */
};

struct reply {
	struct dns_msg m;
	struct dns_rr rr[REPLY_RR_MAX];
};

static uint8_t udp_buf[DNS_MSG_MAX];

/* --- sockets ------------------------------------------------------------------------- */

static int
udp_socket(const struct net_addr *a, char *err, size_t errlen)
{
	char s[NET_ADDR_STRLEN];
	int fd, one = 1, rcv = 1 << 20;

	fd = socket(net_addr_family(a), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		snprintf(err, errlen, "bind %s (udp): %s", net_addr_str(a, s, sizeof(s)),
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
mxa_dns_open(struct mxa *m)
{
	char err[160], s[NET_ADDR_STRLEN];
	struct net_addr p2;
	int one = 1;
	size_t i;

	for (i = 0; i < MXA_DNS_TCP_MAX; i++)
		m->tcp[i].fd = -1;
	m->udp = udp_socket(&m->dns, err, sizeof(err));
	if (m->udp == -1) {
		log_warnx("%s", err);
		return -1;
	}
	m->tcp_listen =
	    socket(net_addr_family(&m->dns), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->tcp_listen == -1) {
		log_warn("socket");
		return -1;
	}
	(void)setsockopt(m->tcp_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->tcp_listen, (const struct sockaddr *)&m->dns.ss, m->dns.len) == -1 ||
	    listen(m->tcp_listen, 64) == -1) {
		log_warn("bind %s (tcp)", net_addr_str(&m->dns, s, sizeof(s)));
		return -1;
	}
	/* Wrong source port: the DNS address, a port the kernel picks. */
	p2 = m->dns;
	if (net_addr_family(&p2) == AF_INET)
		((struct sockaddr_in *)&p2.ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&p2.ss)->sin6_port = 0;
	m->udp_port2 = udp_socket(&p2, err, sizeof(err));
	if (m->udp_port2 == -1) {
		log_warnx("%s", err);
		return -1;
	}
	/* Wrong source address: optional, the kind is untested without it. */
	m->udp_alt = -1;
	if (m->alt_ok) {
		m->udp_alt = udp_socket(&m->alt, m->alt_err, sizeof(m->alt_err));
		if (m->udp_alt == -1)
			log_warnx("wrong-src-addr forgeries disabled: %s", m->alt_err);
	} else
		strlcpy(m->alt_err, "no second address (--alt-addr)", sizeof(m->alt_err));
	return 0;
}

void
mxa_dns_close(struct mxa *m)
{
	size_t i;

	for (i = 0; i < MXA_DNS_TCP_MAX; i++) {
		if (m->tcp[i].fd != -1)
			close(m->tcp[i].fd);
		free(m->tcp[i].in);
		free(m->tcp[i].out);
		m->tcp[i].fd = -1;
		m->tcp[i].in = m->tcp[i].out = NULL;
	}
	if (m->udp != -1)
		close(m->udp);
	if (m->tcp_listen != -1)
		close(m->tcp_listen);
	if (m->udp_alt != -1)
		close(m->udp_alt);
	if (m->udp_port2 != -1)
		close(m->udp_port2);
	m->udp = m->tcp_listen = m->udp_alt = m->udp_port2 = -1;
}

void
mxa_dns_send(struct mxa *m, int fd, const void *p, size_t len, const struct net_addr *to)
{
	if (len == 0)
		return;
	if (sendto(fd, p, len, 0, (const struct sockaddr *)&to->ss, to->len) == -1)
		m->send_errors++;
}

/* --- names --------------------------------------------------------------------------- */

/* out = label + "." + base; -1 when too long. */
static int
name_prepend(struct dns_name *out, const char *label, const struct dns_name *base)
{
	size_t l = strlen(label);

	if (l == 0 || l > DNS_LABEL_MAX || (size_t)base->len + l + 1 > DNS_NAME_MAX)
		return -1;
	out->wire[0] = (uint8_t)l;
	memcpy(out->wire + 1, label, l);
	memcpy(out->wire + 1 + l, base->wire, base->len);
	out->len = (uint8_t)(base->len + l + 1);
	return 0;
}

static bool
label_is(const uint8_t *w, const char *s)
{
	size_t l = strlen(s);

	return w[0] == l && memcmp(w + 1, s, l) == 0;
}

/* Classifies q's name (RFC 4343: case-insensitively) and finds our domain in it. */
static void
classify(struct mxa *m, const struct dns_msg *q, struct qinfo *qi)
{
	struct dns_name low = q->qname;
	int rel, i;
	size_t off;

	memset(qi, 0, sizeof(*qi));
	dns_name_lower(&low);
	if (q->qdcount != 1 || q->qclass != DNS_C_IN || !dns_name_under(&low, &m->zone_name)) {
		qi->role = NR_OUT;
		return;
	}
	rel = dns_name_labels(&low) - dns_name_labels(&m->zone_name);
	qi->role = NR_DOMAIN;
	qi->base = low;
	if (rel == 0) {
		qi->apex = true;
		return;
	}
	if (label_is(low.wire, "mx")) /* mx.ZONE too: the apex's MX host */
		qi->role = NR_MX;
	else if (label_is(low.wire, "evil"))
		qi->role = NR_EVIL;
	else if (rel == 1 && label_is(low.wire, "ns"))
		qi->role = NR_NS;
	if (qi->role == NR_MX || qi->role == NR_EVIL) {
		qi->base.len = (uint8_t)(low.len - low.wire[0] - 1);
		memmove(qi->base.wire, low.wire + low.wire[0] + 1, qi->base.len);
	}
	/* The fresh label is the one just above the zone. */
	off = 0;
	for (i = 0; i < rel - 1; i++)
		off += (size_t)low.wire[off] + 1;
	qi->d = mxa_domain_by_label(m, low.wire + off + 1, low.wire[off]);
}

/* --- answers --------------------------------------------------------------------------- */

static void
reply_init(struct reply *r, const struct dns_msg *q)
{
	memset(r, 0, sizeof(*r));
	r->m.id = q->id;
	/* RFC 1035 §4.1.1: QR, AA (we are the zone's server), RD copied, no RA. */
	r->m.flags = DNS_F_QR | DNS_F_AA | (q->flags & DNS_F_RD);
	r->m.qdcount = 1;
	r->m.qname = q->qname; /* echoed as received: 0x20 case kept */
	r->m.qtype = q->qtype;
	r->m.qclass = q->qclass;
	r->m.rr = r->rr;
	if (q->edns.present) {
		/* RFC 6891 §7: an OPT in the answer when the query had one; RFC 3225 §3 DO. */
		r->m.edns.present = true;
		r->m.edns.udp_size = DNS_EDNS_BUFSIZE;
		r->m.edns.do_bit = q->edns.do_bit;
	}
}

static struct dns_rr *
reply_rr(struct reply *r, const struct dns_name *owner, uint16_t type, uint8_t section)
{
	struct dns_rr *rr;

	if (r->m.nrr == REPLY_RR_MAX)
		return NULL;
	rr = &r->rr[r->m.nrr++];
	memset(rr, 0, sizeof(*rr));
	rr->owner = *owner;
	rr->type = type;
	rr->class = DNS_C_IN;
	rr->ttl = TTL;
	rr->section = section;
	return rr;
}

/* An A or AAAA record for addr when its family fits the type; false otherwise. */
static bool
reply_addr(struct reply *r, const struct dns_name *owner, uint16_t qtype, uint8_t section,
    const struct net_addr *a)
{
	struct dns_rr *rr;
	const void *src;
	uint16_t len;

	if (qtype == DNS_T_A && net_addr_family(a) == AF_INET) {
		src = &((const struct sockaddr_in *)&a->ss)->sin_addr;
		len = 4;
	} else if (qtype == DNS_T_AAAA && net_addr_family(a) == AF_INET6) {
		src = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
		len = 16;
	} else
		return false;
	rr = reply_rr(r, owner, qtype, section);
	if (rr == NULL)
		return false;
	rr->rdlen = len;
	memcpy(qtype == DNS_T_A ? rr->u.a : rr->u.aaaa, src, len);
	return true;
}

static bool
reply_mx(
    struct reply *r, const struct dns_name *owner, const char *host, const struct dns_name *base)
{
	struct dns_rr *rr;
	struct dns_name target;

	if (name_prepend(&target, host, base) == -1)
		return false;
	rr = reply_rr(r, owner, DNS_T_MX, DNS_S_AN);
	if (rr == NULL)
		return false;
	rr->u.mx.pref = 10;
	rr->u.mx.host = target;
	return true;
}

static void
reply_soa(struct mxa *m, struct reply *r, uint8_t section)
{
	struct dns_rr *rr;

	rr = reply_rr(r, &m->zone_name, DNS_T_SOA, section);
	if (rr == NULL)
		return;
	rr->ttl = NEG_TTL;
	if (name_prepend(&rr->u.soa.mname, "ns", &m->zone_name) == -1 ||
	    name_prepend(&rr->u.soa.rname, "hostmaster", &m->zone_name) == -1) {
		r->m.nrr--;
		return;
	}
	rr->u.soa.serial = 1;
	rr->u.soa.refresh = 3600;
	rr->u.soa.retry = 600;
	rr->u.soa.expire = 86400;
	rr->u.soa.minimum = NEG_TTL;
}

/* The true answer to q. */
static void
answer_true(struct mxa *m, const struct dns_msg *q, const struct qinfo *qi, struct reply *r)
{
	bool any = false;

	reply_init(r, q);
	if (qi->role == NR_OUT) {
		r->m.flags &= (uint16_t)~DNS_F_AA;
		r->m.rcode = DNS_R_REFUSED;
		return;
	}
	switch (qi->role) {
	case NR_DOMAIN:
		if (q->qtype == DNS_T_MX)
			any = reply_mx(r, &q->qname, "mx", &qi->base);
		else if (qi->apex && q->qtype == DNS_T_SOA) {
			reply_soa(m, r, DNS_S_AN);
			any = true;
		} else if (qi->apex && q->qtype == DNS_T_NS) {
			struct dns_rr *rr = reply_rr(r, &q->qname, DNS_T_NS, DNS_S_AN);

			if (rr != NULL && name_prepend(&rr->u.name, "ns", &m->zone_name) == 0)
				any = true;
			else if (rr != NULL)
				r->m.nrr--;
		}
		break;
	case NR_MX:
		any = reply_addr(r, &q->qname, q->qtype, DNS_S_AN, &m->legit);
		break;
	case NR_EVIL:
		any = reply_addr(r, &q->qname, q->qtype, DNS_S_AN, &m->attacker);
		break;
	case NR_NS:
		any = reply_addr(r, &q->qname, q->qtype, DNS_S_AN, &m->dns);
		break;
	case NR_OUT:
		break;
	}
	if (!any)
		reply_soa(m, r, DNS_S_NS); /* NODATA, RFC 2308 §2.2 */
}

/* The forged content: MX evil.D for D's MX, the attacker's address for mx.D. */
static bool
answer_evil(struct mxa *m, const struct dns_msg *q, const struct qinfo *qi, struct reply *r)
{
	if (qi->role == NR_DOMAIN && !qi->apex && q->qtype == DNS_T_MX)
		return reply_mx(r, &q->qname, "evil", &qi->base);
	if (qi->role == NR_MX && (q->qtype == DNS_T_A || q->qtype == DNS_T_AAAA))
		return reply_addr(r, &q->qname, q->qtype, DNS_S_AN, &m->attacker);
	return false;
}

static size_t
reply_write(const struct reply *r, uint8_t *out, size_t cap)
{
	return dns_msg_write(out, cap, &r->m);
}

/* A fresh name under the zone, not q's: the "other question". */
static void
other_qname(struct mxa *m, struct dns_name *out)
{
	char label[MXA_LABEL_LEN + 2];
	size_t i;

	/* One letter longer than our labels: never one of our domains. */
	label[0] = 'o';
	for (i = 1; i <= MXA_LABEL_LEN; i++)
		label[i] = (char)('a' + rand_uniform(26));
	label[MXA_LABEL_LEN + 1] = '\0';
	if (name_prepend(out, label, &m->zone_name) == -1)
		*out = m->zone_name;
}

/* Every letter's case flipped: the same name for RFC 4343, not for a 0x20 check. */
static void
flip_case(struct dns_name *n)
{
	size_t i = 0, j, l;

	while (i < n->len && n->wire[i] != 0) {
		l = n->wire[i++];
		for (j = 0; j < l && i < n->len; j++, i++)
			if ((n->wire[i] | 0x20) >= 'a' && (n->wire[i] | 0x20) <= 'z')
				n->wire[i] ^= 0x20;
	}
}

/*
 * Sends the forgery of d's kind for q, if there is one for this query; true when sent.
 * The kinds (enum audit_forge), each the forged answer with one defect:
 *   wrong-id        the ID xor a random non-zero value
 *   wrong-src-addr  from the second address (--alt-addr), same port
 *   wrong-src-port  from the DNS address, another port
 *   other-qname     the question names a fresh other name (answer records still the
 *                   queried name's: CVE-2010-1690, records believed without the question)
 *   qcase           the question with every letter's case flipped (0x20)
 *   qr0             QR clear: not a response at all
 *   nxdomain        rcode 3, no question
 *   servfail        rcode 2, no question
 *   additional      the true MX answer plus additional records: mx.D A the attacker (in
 *                   the zone, but data a resolver must not use unasked) and an
 *                   out-of-bailiwick www.victim.test A the attacker
 *   tc              TC=1 with the attacker's records, and no true answer over UDP
 */
static bool
forge(struct mxa *m, const struct dns_msg *q, const struct qinfo *qi, const struct net_addr *peer)
{
	struct mxa_domain *d = qi->d;
	struct reply r;
	struct dns_name victim, glue;
	uint8_t out[ANS_MAX];
	size_t n;
	int fd = m->udp;
	bool evil;

	if (d->forged >= MXA_FORGE_PER_DOMAIN)
		return false;
	reply_init(&r, q);
	evil = answer_evil(m, q, qi, &r);
	switch (d->kind) {
	case AF_TC:
		/* Every UDP query gets only this, with or without records. */
		r.m.flags |= DNS_F_TC;
		break;
	case AF_ADDITIONAL:
		if (qi->role != NR_DOMAIN || qi->apex || q->qtype != DNS_T_MX)
			return false;
		reply_init(&r, q);
		if (!reply_mx(&r, &q->qname, "mx", &qi->base) ||
		    name_prepend(&glue, "mx", &qi->base) == -1)
			return false;
		reply_addr(&r, &glue,
		    net_addr_family(&m->attacker) == AF_INET ? DNS_T_A : DNS_T_AAAA, DNS_S_AR,
		    &m->attacker);
		if (dns_name_from_str(&victim, "www.victim.test") == 0)
			reply_addr(&r, &victim,
			    net_addr_family(&m->attacker) == AF_INET ? DNS_T_A : DNS_T_AAAA,
			    DNS_S_AR, &m->attacker);
		break;
	case AF_NXDOMAIN:
	case AF_SERVFAIL:
		if (!evil)
			return false;
		r.m.qdcount = 0;
		r.m.nrr = 0;
		r.m.rcode = d->kind == AF_NXDOMAIN ? DNS_R_NXDOMAIN : DNS_R_SERVFAIL;
		break;
	default:
		if (!evil)
			return false;
		break;
	}
	switch (d->kind) {
	case AF_WRONG_ID:
		r.m.id ^= (uint16_t)(1 + rand_uniform(0xffff));
		break;
	case AF_WRONG_SRC_ADDR:
		if (m->udp_alt == -1)
			return false;
		fd = m->udp_alt;
		break;
	case AF_WRONG_SRC_PORT:
		fd = m->udp_port2;
		break;
	case AF_OTHER_QNAME:
		other_qname(m, &r.m.qname);
		break;
	case AF_QCASE:
		flip_case(&r.m.qname);
		break;
	case AF_QR0:
		r.m.flags &= (uint16_t)~DNS_F_QR;
		break;
	default:
		break;
	}
	n = reply_write(&r, out, sizeof(out));
	if (n == 0)
		return false;
	mxa_dns_send(m, fd, out, n, peer);
	d->forged++;
	return true;
}

size_t
mxa_dns_blind_mx(const struct mxa *m, const struct mxa_domain *d, uint8_t *out, size_t cap)
{
	struct dns_msg q;
	struct qinfo qi;
	struct reply r;

	/* The name as the attacker knows it: lower case, no EDNS (he cannot see the query). */
	memset(&q, 0, sizeof(q));
	memset(&qi, 0, sizeof(qi));
	q.flags = DNS_F_RD;
	q.qdcount = 1;
	if (dns_name_from_str(&q.qname, d->name) == -1)
		return 0;
	q.qtype = DNS_T_MX;
	q.qclass = DNS_C_IN;
	qi.role = NR_DOMAIN;
	qi.base = q.qname;
	reply_init(&r, &q);
	if (!reply_mx(&r, &q.qname, "evil", &qi.base))
		return 0;
	(void)m;
	return reply_write(&r, out, cap);
}

/* --- the record ------------------------------------------------------------------------- */

static void
record(struct mxa *m, const struct dns_msg *q, const struct net_addr *peer, bool tcp)
{
	struct audit_query *a, *nq;
	struct timespec ts;
	size_t l, cap;

	if (m->nq == m->qcap) {
		if (m->qcap >= AUDIT_QUERIES_MAX) {
			m->nq_dropped++;
			return;
		}
		cap = m->qcap == 0 ? 256 : m->qcap * 2;
		if (cap > AUDIT_QUERIES_MAX)
			cap = AUDIT_QUERIES_MAX;
		nq = reallocarray(m->q, cap, sizeof(*m->q));
		if (nq == NULL) {
			m->nq_dropped++;
			return;
		}
		m->q = nq;
		m->qcap = cap;
	}
	a = &m->q[m->nq++];
	memset(a, 0, sizeof(*a));
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
		a->t_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	a->id = q->id;
	a->src = *peer;
	a->sport = net_addr_port(peer);
	dns_name_to_str(&q->qname, a->qname, sizeof(a->qname));
	l = strlen(a->qname);
	if (l > 1 && a->qname[l - 1] == '.')
		a->qname[l - 1] = '\0';
	a->qtype = q->qtype;
	a->tcp = tcp;
	a->edns = q->edns.present;
	a->udp_size = q->edns.present ? q->edns.udp_size : 0;
	a->do_bit = q->edns.do_bit;
	a->cookie = q->edns.has_cookie;
}

static void
note_query(struct mxa *m, const struct qinfo *qi, bool tcp)
{
	struct mxa_domain *d = qi->d;
	uint64_t now = clock_ms();

	m->t_last_event = now;
	if (d == NULL)
		return;
	d->nq++;
	if (tcp)
		d->nq_tcp++;
	else
		d->nq_udp++;
	if (d->t_first_q == 0)
		d->t_first_q = now;
	d->t_last_q = now;
	if (d->forged > 0)
		d->nq_after_forge++;
	if (qi->role == NR_EVIL)
		d->evil_asked = true;
}

/*
 * What every query from peer gets, over UDP or TCP: parsed into q, recorded, classified
 * into qi, counted, and its true answer built in r. -1 (counted as malformed, q cleared)
 * for anything that is not one standard query; else 0 and the caller clears q.
 */
static int
take_query(struct mxa *m, const uint8_t *p, size_t len, const struct net_addr *peer, bool tcp,
    struct dns_msg *q, struct qinfo *qi, struct reply *r)
{
	const char *why;

	if (dns_msg_parse(q, p, len, &why) == -1) {
		dns_msg_clear(q);
		m->malformed++;
		log_debug("malformed query: %s", why);
		return -1;
	}
	/* RFC 1035 §4.1.1: a query has QR clear, opcode QUERY, one question. */
	if ((q->flags & DNS_F_QR) != 0 || (q->flags & DNS_F_OPMASK) != 0 || q->qdcount != 1) {
		dns_msg_clear(q);
		m->malformed++;
		return -1;
	}
	record(m, q, peer, tcp);
	classify(m, q, qi);
	note_query(m, qi, tcp);
	if (qi->role == NR_OUT)
		m->refused++;
	answer_true(m, q, qi, r);
	return 0;
}

static void
hold(struct mxa *m, const uint8_t *p, size_t len, const struct net_addr *to, uint64_t due)
{
	size_t i;

	for (i = 0; i < MXA_HELD_MAX; i++) {
		if (m->held[i].used || len > sizeof(m->held[i].pkt))
			continue;
		m->held[i].used = true;
		m->held[i].due = due;
		m->held[i].to = *to;
		m->held[i].len = len;
		memcpy(m->held[i].pkt, p, len);
		return;
	}
	mxa_dns_send(m, m->udp, p, len, to); /* table full: no delay */
}

static void
udp_query(struct mxa *m, const uint8_t *p, size_t len, const struct net_addr *peer)
{
	struct dns_msg q;
	struct qinfo qi;
	struct reply r;
	uint8_t out[ANS_MAX];
	size_t n;

	if (take_query(m, p, len, peer, false, &q, &qi, &r) == -1)
		return;
	n = reply_write(&r, out, sizeof(out));
	if (qi.d != NULL && qi.d->purpose == DP_MATRIX && forge(m, &q, &qi, peer) &&
	    qi.d->kind == AF_TC) {
		dns_msg_clear(&q);
		return;
	}
	if (qi.d != NULL && qi.d->purpose == DP_RACE && !qi.d->burst_sent && qi.role == NR_DOMAIN &&
	    q.qtype == DNS_T_MX) {
		qi.d->burst_sent = true;
		qi.d->burst_packets = mxa_race_burst(m, qi.d);
		hold(m, out, n, peer, clock_ms() + MXA_RACE_HOLD_MS);
		dns_msg_clear(&q);
		return;
	}
	mxa_dns_send(m, m->udp, out, n, peer);
	dns_msg_clear(&q);
}

void
mxa_dns_udp_read(struct mxa *m, int fd)
{
	struct net_addr peer;
	ssize_t n;
	int i;

	for (i = 0; i < UDP_BURST; i++) {
		memset(&peer, 0, sizeof(peer));
		peer.len = sizeof(peer.ss);
		n = recvfrom(
		    fd, udp_buf, sizeof(udp_buf), 0, (struct sockaddr *)&peer.ss, &peer.len);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("recvfrom");
			return;
		}
		udp_query(m, udp_buf, (size_t)n, &peer);
	}
}

void
mxa_dns_timers(struct mxa *m, uint64_t now)
{
	size_t i;

	for (i = 0; i < MXA_HELD_MAX; i++) {
		if (!m->held[i].used || m->held[i].due > now)
			continue;
		mxa_dns_send(m, m->udp, m->held[i].pkt, m->held[i].len, &m->held[i].to);
		m->held[i].used = false;
	}
	for (i = 0; i < MXA_DNS_TCP_MAX; i++) {
		if (m->tcp[i].fd == -1 || now - m->tcp[i].last < MXA_DNS_TCP_IDLE_MS)
			continue;
		close(m->tcp[i].fd);
		m->tcp[i].fd = -1;
		free(m->tcp[i].in);
		free(m->tcp[i].out);
		m->tcp[i].in = m->tcp[i].out = NULL;
	}
}

/* --- TCP ---------------------------------------------------------------------------- */

static void
tcp_close(struct mxa_dns_tcp *c)
{
	if (c->fd != -1)
		close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void
mxa_dns_tcp_accept(struct mxa *m)
{
	struct net_addr peer;
	int fd;
	size_t i;

	memset(&peer, 0, sizeof(peer));
	peer.len = sizeof(peer.ss);
	fd = accept4(
	    m->tcp_listen, (struct sockaddr *)&peer.ss, &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return;
	for (i = 0; i < MXA_DNS_TCP_MAX; i++)
		if (m->tcp[i].fd == -1)
			break;
	if (i == MXA_DNS_TCP_MAX) {
		m->tcp_refused++;
		close(fd);
		return;
	}
	memset(&m->tcp[i], 0, sizeof(m->tcp[i]));
	m->tcp[i].in = malloc(2 + DNS_MSG_MAX);
	m->tcp[i].out = malloc(MXA_DNS_TCP_OUT_MAX);
	if (m->tcp[i].in == NULL || m->tcp[i].out == NULL) {
		m->tcp[i].fd = fd;
		tcp_close(&m->tcp[i]);
		return;
	}
	m->tcp[i].fd = fd;
	m->tcp[i].peer = peer;
	m->tcp[i].last = clock_ms();
}

static void
tcp_flush(struct mxa_dns_tcp *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n <= 0) {
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				return;
			tcp_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
}

/* One query off a TCP connection: answered truthfully (RFC 7766 §6.2.1: in any order). */
static int
tcp_query(struct mxa *m, struct mxa_dns_tcp *c, const uint8_t *p, size_t len)
{
	struct dns_msg q;
	struct qinfo qi;
	struct reply r;
	uint8_t out[ANS_MAX];
	size_t n;

	if (take_query(m, p, len, &c->peer, true, &q, &qi, &r) == -1)
		return -1; /* RFC 7766 §6.2.1: a malformed message ends the connection */
	/* Over TCP the answer may be larger than the query said: no EDNS limit applies. */
	n = reply_write(&r, out, sizeof(out));
	dns_msg_clear(&q);
	if (n == 0 || c->outlen + 2 + n > MXA_DNS_TCP_OUT_MAX)
		return -1;
	c->out[c->outlen++] = (uint8_t)(n >> 8);
	c->out[c->outlen++] = (uint8_t)n;
	memcpy(c->out + c->outlen, out, n);
	c->outlen += n;
	return 0;
}

void
mxa_dns_tcp_io(struct mxa *m, struct mxa_dns_tcp *c, short revents)
{
	ssize_t n;
	size_t want, used;

	if (revents & (POLLERR | POLLNVAL)) {
		tcp_close(c);
		return;
	}
	if (revents & (POLLIN | POLLHUP)) {
		n = read(c->fd, c->in + c->inlen, 2 + DNS_MSG_MAX - c->inlen);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			tcp_close(c);
			return;
		}
		if (n > 0) {
			c->inlen += (size_t)n;
			c->last = clock_ms();
		}
		/* RFC 1035 §4.2.2: each message is preceded by its two-octet length. */
		used = 0;
		while (c->inlen - used >= 2) {
			want = (size_t)c->in[used] << 8 | c->in[used + 1];
			if (want < DNS_HDR_LEN) {
				tcp_close(c);
				return;
			}
			if (c->inlen - used < 2 + want)
				break;
			if (tcp_query(m, c, c->in + used + 2, want) == -1) {
				tcp_close(c);
				return;
			}
			used += 2 + want;
		}
		if (used > 0) {
			memmove(c->in, c->in + used, c->inlen - used);
			c->inlen -= used;
		}
	}
	if (c->fd != -1 && c->outlen > c->outoff)
		tcp_flush(c);
}
