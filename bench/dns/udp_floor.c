/*
 * udp_floor — the transport's ceiling, with no resolver at all: the bench.h workload (MX,
 * then A and AAAA for the MX host, P domains in flight) sent as hand-built queries and
 * matched by ID alone, over one of two transports:
 *
 *   fresh   a new socket per query, bound to a random port and connect()ed to the server,
 *           closed after its reply: the transport DESIGN.md §2 prescribes for src/dns.
 *   reuse   as fresh, but a socket whose query was answered goes back to a free list and
 *           carries up to REUSE_MAX queries, one at a time, before it is closed: what a
 *           bounded socket pool (c-ares 1.20's udp_max_queries) would cost.
 *   shared  one connect()ed socket for every query (IDs kept distinct): the transport of
 *           c-ares 1.18, which bench/dns/cares_bench.c measures.
 *
 * Nothing is parsed beyond the header (ID, QR, rcode, ANCOUNT >= 1), nothing is
 * allocated per query, and the MX host's name is computed, not read from the answer. So
 * the rate printed is an upper bound for any resolver on that transport on this machine:
 * if `fresh` is slower than c-ares, no resolver that opens a socket per query can match
 * c-ares here, however little work it does in user space.
 *
 * Queries carry what src/dns sends: RD, EDNS0 with 1232 bytes, DO and an 8-byte client
 * cookie (so the server does the same work); the name is sent in lower case.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>

#include "bench.h"

#define MODES     "fresh reuse shared"
#define QMAX      512
#define REUSE_MAX 16

struct bench;

struct q {
	struct dom *d;
	int fd;   /* fresh, reuse: its own socket; shared: -1 */
	int uses; /* queries its socket has carried */
	uint16_t id;
	uint16_t type;
	uint8_t pkt[QMAX];
	size_t len;
	bool busy;
};

struct dom {
	long long i;
	int pending;
	bool bad;
	struct q q[3]; /* MX, then A and AAAA */
};

struct bench {
	struct bench_opt opt;
	bool fresh; /* a socket per query (modes fresh and reuse) */
	bool reuse;
	int *pool; /* reuse: answered sockets, and how many queries each carried */
	int *pool_uses;
	size_t npool;
	struct sockaddr_in srv;
	int sfd; /* shared mode */
	struct dom *doms;
	long long next, active, ok, fail, queries;
	struct q *byid[65536]; /* in-flight queries by ID */
	bool stop;
};

static uint16_t
rnd16(void)
{
	uint16_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		abort();
	return v;
}

/* RFC 1035 §4.1: header, one question, then an OPT RR (RFC 6891) with a COOKIE (RFC 7873). */
static size_t
build(uint8_t *p, uint16_t id, const char *name, uint16_t type)
{
	static const uint8_t opt[] = {
	    0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 12, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	size_t n = 12, l;
	const char *s = name, *dot;

	memset(p, 0, 12);
	p[0] = (uint8_t)(id >> 8);
	p[1] = (uint8_t)id;
	p[2] = 0x01; /* RD */
	p[5] = 1;    /* QDCOUNT */
	p[11] = 1;   /* ARCOUNT: the OPT */
	while (*s != '\0') {
		dot = strchr(s, '.');
		l = dot != NULL ? (size_t)(dot - s) : strlen(s);
		p[n++] = (uint8_t)l;
		memcpy(p + n, s, l);
		n += l;
		s += l + (dot != NULL);
	}
	p[n++] = 0;
	p[n++] = (uint8_t)(type >> 8);
	p[n++] = (uint8_t)type;
	p[n++] = 0;
	p[n++] = 1; /* IN */
	memcpy(p + n, opt, sizeof(opt));
	return n + sizeof(opt);
}

static int
fresh_socket(const struct bench *b)
{
	struct sockaddr_in a;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	for (int i = 0; i < 16; i++) {
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)(1024 + rnd16() % (65536 - 1024)));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
	}
	if (connect(fd, (const struct sockaddr *)&b->srv, sizeof(b->srv)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void start(struct bench *, struct dom *);

static void
send_q(struct bench *b, struct dom *d, struct q *q, const char *name, uint16_t type)
{
	do
		q->id = rnd16();
	while (b->byid[q->id] != NULL);
	b->byid[q->id] = q;
	q->d = d;
	q->type = type;
	q->len = build(q->pkt, q->id, name, type);
	q->busy = true;
	q->fd = -1;
	q->uses = 1;
	if (b->reuse && b->npool > 0) {
		b->npool--;
		q->fd = b->pool[b->npool];
		q->uses = b->pool_uses[b->npool] + 1;
	} else if (b->fresh) {
		q->fd = fresh_socket(b);
	}
	if ((b->fresh && q->fd == -1) ||
	    send(b->fresh ? q->fd : b->sfd, q->pkt, q->len, 0) != (ssize_t)q->len) {
		perror("udp_floor: send");
		exit(70);
	}
	b->queries++;
}

static void
start(struct bench *b, struct dom *d)
{
	char name[BENCH_NAMELEN];

	if (b->stop || b->next >= b->opt.domains)
		return;
	memset(d, 0, sizeof(*d));
	d->i = b->next++;
	d->pending = 1;
	b->active++;
	bench_domain(d->i, name, sizeof(name));
	send_q(b, d, &d->q[0], name, 15);
}

/* One reply for q: checks the header, then moves the domain on. */
static void
reply(struct bench *b, struct q *q, const uint8_t *p, ssize_t n)
{
	struct dom *d = q->d;
	char host[BENCH_NAMELEN];

	b->byid[q->id] = NULL;
	q->busy = false;
	if (b->reuse && q->uses < REUSE_MAX) {
		b->pool[b->npool] = q->fd;
		b->pool_uses[b->npool++] = q->uses;
		q->fd = -1;
	}
	if (q->fd != -1) {
		close(q->fd);
		q->fd = -1;
	}
	if (n < 12 || (p[2] & 0x80) == 0 || (p[3] & 0x0f) != 0 || (p[6] << 8 | p[7]) < 1)
		d->bad = true;
	if (q == &d->q[0] && !d->bad) {
		bench_mxhost(d->i, host, sizeof(host));
		d->pending = 2;
		send_q(b, d, &d->q[1], host, 1);
		send_q(b, d, &d->q[2], host, 28);
		return;
	}
	if (--d->pending > 0)
		return;
	bench_done(d->bad, &b->ok, &b->fail, &b->active);
	start(b, d);
}

static void
loop(struct bench *b, double t_end)
{
	struct pollfd *pfd;
	struct q **pq;
	uint8_t buf[2048];
	size_t cap = (size_t)b->opt.par * 3 + 1, n;
	ssize_t r;

	pfd = calloc(cap, sizeof(*pfd));
	pq = calloc(cap, sizeof(*pq));
	if (pfd == NULL || pq == NULL)
		abort();
	while (b->active > 0) {
		if (bench_now() > t_end)
			b->stop = true;
		n = 0;
		if (b->fresh) {
			for (long long k = 0; k < b->opt.par; k++)
				for (int j = 0; j < 3; j++) {
					struct q *q = &b->doms[k].q[j];

					if (!q->busy)
						continue;
					pfd[n].fd = q->fd;
					pfd[n].events = POLLIN;
					pq[n++] = q;
				}
		} else {
			pfd[0].fd = b->sfd;
			pfd[0].events = POLLIN;
			n = 1;
		}
		if (poll(pfd, n, 2000) <= 0) {
			fprintf(stderr, "udp_floor: no reply within 2 s\n");
			exit(70);
		}
		for (size_t k = 0; k < n; k++) {
			if ((pfd[k].revents & POLLIN) == 0)
				continue;
			if (b->fresh) {
				r = recv(pfd[k].fd, buf, sizeof(buf), 0);
				if (r > 0 && (buf[0] << 8 | buf[1]) == pq[k]->id)
					reply(b, pq[k], buf, r);
				continue;
			}
			while ((r = recv(b->sfd, buf, sizeof(buf), 0)) >= 12) {
				struct q *q = b->byid[buf[0] << 8 | buf[1]];

				if (q != NULL)
					reply(b, q, buf, r);
			}
		}
	}
	free(pfd);
	free(pq);
}

int
main(int argc, char **argv)
{
	static struct bench b;
	char host[64], extra[32];
	const char *colon, *err;
	long long port;
	double t0, c0, wall, cpu;

	bench_args(argc, argv, MODES, &b.opt);
	if (b.opt.mode == NULL)
		b.opt.mode = "fresh";
	if (strcmp(b.opt.mode, "fresh") == 0)
		b.fresh = true;
	else if (strcmp(b.opt.mode, "reuse") == 0)
		b.fresh = b.reuse = true;
	else if (strcmp(b.opt.mode, "shared") != 0)
		bench_usage(argv[0], MODES);
	colon = strrchr(b.opt.server, ':');
	if (colon == NULL || (size_t)(colon - b.opt.server) >= sizeof(host))
		bench_usage(argv[0], MODES);
	memcpy(host, b.opt.server, (size_t)(colon - b.opt.server));
	host[colon - b.opt.server] = '\0';
	b.srv.sin_family = AF_INET;
	port = strtonum(colon + 1, 1, 65535, &err);
	if (err != NULL)
		bench_usage(argv[0], MODES);
	b.srv.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &b.srv.sin_addr) != 1)
		bench_usage(argv[0], MODES);
	if (!b.fresh) {
		b.sfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (b.sfd == -1 || connect(b.sfd, (struct sockaddr *)&b.srv, sizeof(b.srv)) == -1) {
			perror("udp_floor: socket");
			return 70;
		}
	}
	b.doms = calloc((size_t)b.opt.par, sizeof(*b.doms));
	b.pool = calloc((size_t)b.opt.par * 3, sizeof(*b.pool));
	b.pool_uses = calloc((size_t)b.opt.par * 3, sizeof(*b.pool_uses));
	if (b.doms == NULL || b.pool == NULL || b.pool_uses == NULL)
		return 71;
	t0 = bench_now();
	c0 = bench_cpu();
	for (long long k = 0; k < b.opt.par; k++)
		start(&b, &b.doms[k]);
	loop(&b, t0 + (double)b.opt.cap_s);
	wall = bench_now() - t0;
	cpu = bench_cpu() - c0;
	snprintf(extra, sizeof(extra), "checked=header");
	return bench_report("floor", &b.opt, b.ok, b.fail, b.queries, wall, cpu, b.stop, extra);
}
