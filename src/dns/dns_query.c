/*
 * dns_query — one question on the network, until it has an answer or has run out of
 * attempts. This is where spoofing is made hard (djbdns's dns_transmit.c is the model):
 *
 *   - every attempt gets a fresh ID from the kernel CSPRNG, unique among our queries in
 *     flight (RFC 5452 §4.3), and fresh random case on every letter of the name (0x20);
 *   - every UDP attempt gets a fresh socket bound to a random source port and
 *     connect()ed to the server, so the kernel drops datagrams from any other address or
 *     port (RFC 5452 §4.5, §9.1) — an attacker must guess ID, port and case together;
 *   - EDNS0 advertises 1232 bytes (no IP fragmentation to inject into) and carries our
 *     RFC 7873 client cookie; once a server has given us a cookie, it must keep doing so;
 *   - a reply with TC=1 is retried over TCP (RFC 1035 §4.2.2, RFC 7766), and so is any
 *     query that saw a mismatched reply from the server's own address and port: someone
 *     is guessing, and TCP's handshake shuts an off-path guesser out;
 *   - a reply that fails any check is dropped and counted; it never ends the query.
 *
 * State: each query owns at most one socket and one deadline; the caller's event loop
 * learns them from dns_query_fd()/dns_query_events()/dns_query_deadline().
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dns_int.h"
#include "util/clock.h"
#include "util/rand.h"

#define DNS_RECV_BURST 64 /* datagrams read per wakeup before yielding */
#define DNS_PORT_TRIES 16

int
dns_query_cmp(const struct dns_query *a, const struct dns_query *b)
{
	if (a->qtype != b->qtype)
		return a->qtype < b->qtype ? -1 : 1;
	if (a->qname.len != b->qname.len)
		return a->qname.len < b->qname.len ? -1 : 1;
	return memcmp(a->qname.wire, b->qname.wire, a->qname.len);
}

RB_GENERATE(dns_inflight, dns_query, node, dns_query_cmp)

static void dns_query_attempt(struct dns_query *, bool);

static bool
dns_id_used(const struct dns_resolver *res, uint16_t id)
{
	return (res->ids[id >> 3] & (1u << (id & 7))) != 0;
}

static void
dns_id_set(struct dns_resolver *res, uint16_t id, bool on)
{
	if (on)
		res->ids[id >> 3] |= (uint8_t)(1u << (id & 7));
	else
		res->ids[id >> 3] &= (uint8_t) ~(1u << (id & 7));
}

/* A fresh random ID that no other query of ours is waiting on. */
static uint16_t
dns_id_new(struct dns_resolver *res)
{
	uint16_t id;

	do
		id = rand_u16();
	while (dns_id_used(res, id));
	dns_id_set(res, id, true);
	return id;
}

static void
dns_query_close(struct dns_query *q)
{
	if (q->fd != -1) {
		close(q->fd);
		q->fd = -1;
	}
	if (q->id_held) {
		dns_id_set(q->res, q->id, false);
		q->id_held = false;
	}
	free(q->in);
	q->in = NULL;
	q->in_len = q->in_off = q->in_want = 0;
}

struct dns_query *
dns_query_new(struct dns_resolver *res, const struct dns_name *qname, uint16_t qtype)
{
	struct dns_query *q;

	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->res = res;
	q->qname = *qname;
	dns_name_lower(&q->qname);
	q->qtype = qtype;
	q->fd = -1;
	q->t_start = clock_ms();
	q->tcp_mode = res->conf.tcp_only;
	TAILQ_INIT(&q->waiters);
	q->server0 = 0;
	if (res->conf.rotate)
		q->server0 = res->next_server++ % res->nsrv;
	RB_INSERT(dns_inflight, &res->inflight, q);
	TAILQ_INSERT_TAIL(&res->queries, q, entry);
	res->nqueries++;
	return q;
}

/* Unlinks q from the live lists; it is freed by dns_resolver_reap(). */
static void
dns_query_retire(struct dns_query *q)
{
	struct dns_resolver *res = q->res;

	dns_query_close(q);
	q->state = DNS_QS_DONE;
	RB_REMOVE(dns_inflight, &res->inflight, q);
	TAILQ_REMOVE(&res->queries, q, entry);
	TAILQ_INSERT_TAIL(&res->dead, q, entry);
	res->nqueries--;
}

void
dns_query_kill(struct dns_query *q)
{
	struct dns_lookup *l;

	if (q->state == DNS_QS_DONE)
		return;
	while ((l = TAILQ_FIRST(&q->waiters)) != NULL) {
		TAILQ_REMOVE(&q->waiters, l, entry);
		free(l);
	}
	dns_query_retire(q);
}

void
dns_resolver_reap(struct dns_resolver *res)
{
	struct dns_query *q;

	while ((q = TAILQ_FIRST(&res->dead)) != NULL) {
		TAILQ_REMOVE(&res->dead, q, entry);
		free(q);
	}
}

/* Delivers r to every waiter, caches it, and retires the query. */
static void
dns_query_finish(struct dns_query *q, struct dns_result *r)
{
	struct dns_resolver *res = q->res;
	struct dns_lookup *l;

	dns_query_retire(q);
	if (res->cache != NULL)
		dns_cache_put(res->cache, r, clock_ms());
	/* Pop one at a time: a callback may cancel a lookup still on this list. */
	while ((l = TAILQ_FIRST(&q->waiters)) != NULL) {
		TAILQ_REMOVE(&q->waiters, l, entry);
		l->q = NULL;
		l->cb(r, l->arg);
		free(l);
	}
	dns_result_clear(r);
}

static void
dns_query_fail(struct dns_query *q, const char *why)
{
	struct dns_result r;

	dns_result_fail(&r, &q->qname, q->qtype, DNS_RETRY, why);
	r.rcode = q->last_rcode;
	r.facts.attempts = (uint8_t)q->attempt;
	r.facts.dropped = q->dropped;
	r.facts.id = q->id;
	r.facts.sport = q->sport;
	r.facts.tcp = q->tcp_mode;
	r.facts.rtt_ms = (uint32_t)(clock_ms() - q->t_start);
	if (q->srv != NULL)
		r.facts.server = q->srv->addr;
	dns_query_finish(q, &r);
}

/* This attempt is over: try the next server, or give up. */
static void
dns_query_next(struct dns_query *q, const char *why)
{
	q->last_err = why;
	if (q->attempt >= q->res->conf.attempts * q->res->nsrv) {
		dns_query_fail(q, why);
		return;
	}
	dns_query_attempt(q, false);
}

/*
 * Binds fd to a random port of the ephemeral range (RFC 5452 §10, RFC 6056) and returns
 * it, or 0 when every try collided and connect() will pick one.
 */
static uint16_t
dns_bind_random(struct dns_resolver *res, int fd, int family)
{
	struct net_addr a;
	uint32_t span = (uint32_t)res->port_hi - res->port_lo + 1;
	uint16_t port;

	for (int i = 0; i < DNS_PORT_TRIES; i++) {
		port = (uint16_t)(res->port_lo + rand_uniform(span));
		memset(&a, 0, sizeof(a));
		if (family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

			sin->sin_family = AF_INET;
			sin->sin_port = htons(port);
			a.len = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(port);
			a.len = sizeof(*sin6);
		}
		if (bind(fd, (struct sockaddr *)&a.ss, a.len) == 0)
			return port;
		if (errno != EADDRINUSE && errno != EACCES)
			break;
	}
	/* Every try collided: connect() will bind a kernel-chosen (also random) port. */
	return 0;
}

static uint16_t
dns_local_port(int fd)
{
	struct net_addr a;

	a.len = sizeof(a.ss);
	if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) == -1)
		return 0;
	return net_addr_port(&a);
}

static void
dns_query_udp(struct dns_query *q)
{
	struct dns_resolver *res = q->res;
	int fam = net_addr_family(&q->srv->addr);

	q->fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd == -1) {
		dns_query_next(q, "socket failed");
		return;
	}
	q->sport = dns_bind_random(res, q->fd, fam);
	if (connect(q->fd, (struct sockaddr *)&q->srv->addr.ss, q->srv->addr.len) == -1 ||
	    send(q->fd, q->out + 2, q->out_len - 2, 0) == -1) {
		dns_query_next(q, "send failed");
		return;
	}
	if (q->sport == 0)
		q->sport = dns_local_port(q->fd);
	q->state = DNS_QS_UDP;
	res->stats.udp_sent++;
}

static void
dns_query_tcp(struct dns_query *q)
{
	int fam = net_addr_family(&q->srv->addr);

	q->fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd == -1) {
		dns_query_next(q, "socket failed");
		return;
	}
	q->out_off = 0;
	q->state = DNS_QS_TCP_CONNECT;
	if (connect(q->fd, (struct sockaddr *)&q->srv->addr.ss, q->srv->addr.len) == -1 &&
	    errno != EINPROGRESS) {
		dns_query_next(q, "connection refused");
		return;
	}
	q->res->stats.tcp_sent++;
}

/*
 * Starts an attempt. same_server: a retry forced by the server's own reply (TC=1,
 * BADCOOKIE) or by suspicion, which goes to the same server and is bounded because each
 * reason can happen once per query.
 */
static void
dns_query_attempt(struct dns_query *q, bool same_server)
{
	struct dns_resolver *res = q->res;
	struct dns_edns edns;
	size_t n;

	dns_query_close(q);
	if (!same_server || q->srv == NULL) {
		q->srv = &res->srv[(q->server0 + q->attempt) % res->nsrv];
		q->attempt++;
		q->badcookie_retried = false; /* each server gets its own cookie retry */
	}
	q->id = dns_id_new(res);
	q->id_held = true;
	q->sent = q->qname;
	q->x20 = res->conf.x20 && !q->srv->no0x20 && dns_name_0x20(&q->sent) > 0;

	memset(&edns, 0, sizeof(edns));
	if (res->conf.edns) {
		/* RFC 6891 §6.2.5 and the DNS flag day 2020 size; DO asks for the AD bit. */
		edns.present = true;
		edns.udp_size = DNS_EDNS_BUFSIZE;
		edns.do_bit = true;
		if (res->conf.cookies) {
			edns.has_cookie = true;
			memcpy(edns.ccookie, q->srv->ccookie, DNS_COOKIE_CLIENT);
			edns.scookie_len = q->srv->scookie_len;
			memcpy(edns.scookie, q->srv->scookie, q->srv->scookie_len);
		}
	}
	n = dns_query_write(q->out + 2, sizeof(q->out) - 2, q->id, &q->sent, q->qtype, &edns);
	if (n == 0) {
		dns_query_fail(q, "query does not fit");
		return;
	}
	q->out[0] = (uint8_t)(n >> 8);
	q->out[1] = (uint8_t)n;
	q->out_len = n + 2;
	q->deadline = clock_ms() + res->conf.timeout_ms;
	res->stats.queries++;
	if (q->tcp_mode)
		dns_query_tcp(q);
	else
		dns_query_udp(q);
}

void
dns_query_start(struct dns_query *q)
{
	dns_query_attempt(q, false);
}

/* Moves the query to TCP on the same server with a fresh ID. */
static void
dns_query_to_tcp(struct dns_query *q)
{
	q->tcp_mode = true;
	dns_query_attempt(q, true);
}

/* Handles one reply. Returns true when the query moved on (the socket is gone). */
static bool
dns_query_reply(struct dns_query *q, const uint8_t *pkt, size_t len, bool tcp)
{
	struct dns_resolver *res = q->res;
	struct dns_server *srv = q->srv;
	struct dns_want w;
	struct dns_msg m;
	struct dns_result r;
	enum dns_drop why;
	bool sent_cookie = res->conf.edns && res->conf.cookies;

	memset(&w, 0, sizeof(w));
	w.id = q->id;
	w.qname = &q->sent;
	w.qtype = q->qtype;
	w.qclass = DNS_C_IN;
	/*
	 * Over UDP the case must come back exactly as sent. Over TCP an off-path attacker
	 * cannot answer at all, so a case difference there tells us this server does not
	 * preserve case, and we stop using 0x20 with it. Once we send without 0x20 (such a
	 * server), the case it echoes is not checked at all.
	 */
	w.case_exact = !tcp && q->x20; /* without 0x20 the case carries no secret */
	w.ccookie = sent_cookie ? srv->ccookie : NULL;
	w.need_scookie = srv->cookie_seen && !tcp;
	if (!dns_match(pkt, len, &w, &m, &why)) {
		res->stats.dropped[why]++;
		q->dropped++;
		if (tcp) {
			dns_query_next(q, "bad reply over TCP");
			return true;
		}
		if (res->conf.tcp_on_suspicion) {
			res->stats.suspect_tcp++;
			dns_query_to_tcp(q);
			return true;
		}
		return false;
	}
	res->stats.accepted++;
	if (q->x20 && !dns_name_eq_exact(&m.qname, &q->sent)) {
		srv->no0x20 = true;
		res->stats.no0x20++;
		q->x20 = false;
	}
	if (sent_cookie && m.edns.has_cookie && m.edns.scookie_len > 0) {
		memcpy(srv->scookie, m.edns.scookie, m.edns.scookie_len);
		srv->scookie_len = m.edns.scookie_len;
		srv->cookie_seen = true;
	}
	/*
	 * RFC 7873 §5.3: BADCOOKIE carries a fresh server cookie; retry once with it. If the
	 * retry meets BADCOOKIE again (or the first one carried no cookie to retry with),
	 * "the client SHOULD retry using TCP", where the server needs no cookie.
	 */
	/*
	 * BADCOOKIE means something only when it echoes the client cookie we sent (dns_match
	 * checked that it is ours); without one it is just a server error, handled below.
	 */
	if (m.rcode == DNS_R_BADCOOKIE && !tcp && sent_cookie && m.edns.has_cookie) {
		bool retry = !q->badcookie_retried && m.edns.scookie_len > 0;

		dns_msg_clear(&m);
		if (retry) {
			q->badcookie_retried = true;
			res->stats.badcookie++;
			dns_query_attempt(q, true);
		} else {
			res->stats.badcookie_tcp++;
			dns_query_to_tcp(q);
		}
		return true;
	}
	if (!tcp && (m.flags & DNS_F_TC) != 0) {
		res->stats.tc_tcp++;
		dns_msg_clear(&m);
		dns_query_to_tcp(q);
		return true;
	}
	if (dns_result_from_msg(&r, &m, &q->qname, q->qtype, &res->conf, &res->stats.ignored_rr) ==
	    -1) {
		dns_msg_clear(&m);
		dns_query_fail(q, "out of memory");
		return true;
	}
	r.facts.server = srv->addr;
	r.facts.id = q->id;
	r.facts.sport = tcp ? dns_local_port(q->fd) : q->sport;
	r.facts.tcp = tcp;
	r.facts.x20 = q->x20;
	r.facts.cookie = sent_cookie && m.edns.has_cookie && m.edns.scookie_len > 0;
	/* DESIGN §2: AD means something only from a resolver we trust (loopback). */
	r.facts.ad = res->trust_ad && (m.flags & DNS_F_AD) != 0;
	r.facts.attempts = (uint8_t)q->attempt;
	r.facts.dropped = q->dropped;
	r.facts.rtt_ms = (uint32_t)(clock_ms() - q->t_start);
	dns_msg_clear(&m);
	if (r.status == DNS_RETRY) {
		/* SERVFAIL, REFUSED and friends: another server may do better. */
		const char *rwhy = r.why;

		q->last_rcode = r.rcode;
		dns_result_clear(&r);
		dns_query_next(q, rwhy);
		return true;
	}
	dns_query_finish(q, &r);
	return true;
}

static void
dns_query_udp_read(struct dns_query *q)
{
	struct dns_resolver *res = q->res;
	ssize_t n;

	for (int i = 0; i < DNS_RECV_BURST; i++) {
		n = recv(q->fd, res->rbuf, sizeof(res->rbuf), 0);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* ICMP port unreachable and the like: this server is not there. */
			dns_query_next(
			    q, errno == ECONNREFUSED ? "connection refused" : "receive failed");
			return;
		}
		res->stats.received++;
		if (dns_query_reply(q, res->rbuf, (size_t)n, false))
			return;
	}
}

static void
dns_query_tcp_io(struct dns_query *q)
{
	int err = 0;
	socklen_t elen = sizeof(err);
	ssize_t n;

	if (q->state == DNS_QS_TCP_CONNECT) {
		if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 || err != 0) {
			dns_query_next(q, "connection refused");
			return;
		}
		q->state = DNS_QS_TCP_WRITE;
	}
	if (q->state == DNS_QS_TCP_WRITE) {
		n = send(q->fd, q->out + q->out_off, q->out_len - q->out_off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				dns_query_next(q, "send failed");
			return;
		}
		q->out_off += (size_t)n;
		if (q->out_off < q->out_len)
			return;
		q->state = DNS_QS_TCP_READ;
		q->in_want = 2;
		return;
	}
	/* RFC 1035 §4.2.2: a two-octet length, then the message. */
	if (q->in == NULL) {
		q->in = malloc(2 + DNS_MSG_MAX);
		if (q->in == NULL) {
			dns_query_fail(q, "out of memory");
			return;
		}
		q->in_off = 0;
		q->in_want = 2;
	}
	n = recv(q->fd, q->in + q->in_off, q->in_want - q->in_off, 0);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			dns_query_next(q, "receive failed");
		return;
	}
	if (n == 0) {
		dns_query_next(q, "connection closed");
		return;
	}
	q->in_off += (size_t)n;
	if (q->in_off < q->in_want)
		return;
	if (q->in_want == 2) {
		q->in_want = 2 + ((size_t)q->in[0] << 8 | q->in[1]);
		if (q->in_want == 2) {
			dns_query_next(q, "empty reply over TCP");
			return;
		}
		return;
	}
	q->res->stats.received++;
	(void)dns_query_reply(q, q->in + 2, q->in_want - 2, true);
}

int
dns_query_fd(const struct dns_query *q)
{
	return q->state == DNS_QS_DONE ? -1 : q->fd;
}

short
dns_query_events(const struct dns_query *q)
{
	switch (q->state) {
	case DNS_QS_TCP_CONNECT:
	case DNS_QS_TCP_WRITE:
		return POLLOUT;
	case DNS_QS_UDP:
	case DNS_QS_TCP_READ:
		return POLLIN;
	case DNS_QS_DONE:
		break;
	}
	return 0;
}

uint64_t
dns_query_deadline(const struct dns_query *q)
{
	return q->deadline;
}

void
dns_query_io(struct dns_query *q)
{
	if (q->state == DNS_QS_DONE || q->fd == -1)
		return;
	if (q->state == DNS_QS_UDP)
		dns_query_udp_read(q);
	else
		dns_query_tcp_io(q);
}

void
dns_query_timeout(struct dns_query *q)
{
	if (q->state == DNS_QS_DONE || clock_ms() < q->deadline)
		return;
	q->res->stats.timeouts++;
	dns_query_next(q, "timeout");
}
