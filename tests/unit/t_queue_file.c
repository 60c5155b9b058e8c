/*
 * t_queue_file — the queue file format: CRC-32C vectors, queue IDs, writer/reader round
 * trip, every truncation of a real file is TORN, every flipped byte is caught, and files
 * built by hand (with a correct CRC) that break one rule each are BAD or TORN as specified.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"
#include "tap.h"

static char tmpdir[] = "/tmp/t_queue_file.XXXXXX";
static char path[256];

/* --- helpers ---------------------------------------------------------------------------- */

static uint32_t
crc_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

static int
fresh_fd(void)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd == -1) {
		perror(path);
		exit(1);
	}
	return fd;
}

static void
put_file(int fd, const void *p, size_t n)
{
	if (ftruncate(fd, 0) == -1 || pwrite(fd, p, n, 0) != (ssize_t)n) {
		perror("put_file");
		exit(1);
	}
}

struct sink {
	uint8_t *p;
	size_t len, cap;
};

static int
sink_fn(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->p = realloc(s->p, s->cap);
		if (s->p == NULL)
			return -1;
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	return 0;
}

static int
fail_fn(void *arg, const void *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	errno = ENOSPC;
	return -1;
}

static void
mk_env(struct queue_env *e, size_t nrcpt)
{
	char a[64];
	size_t i;

	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "0123456789abcdef");
	e->arrival = 1700000000;
	snprintf(e->client, sizeof(e->client), "192.0.2.7 mail.example.org");
	snprintf(e->auth, sizeof(e->auth), "alice");
	snprintf(e->from, sizeof(e->from), "sender@example.org");
	e->body = SMTP_BODY_8BITMIME;
	e->smtputf8 = true;
	e->ret = SMTP_RET_HDRS;
	snprintf(e->envid, sizeof(e->envid), "QQ314159");
	for (i = 0; i < nrcpt; i++) {
		snprintf(a, sizeof(a), "user%zu@example.net", i);
		if (queue_env_add_rcpt(e, a, SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY,
			i == 0 ? "rfc822;orig@example.net" : NULL) == -1) {
			printf("Bail out! add_rcpt\n");
			exit(1);
		}
	}
}

/* Writes env + body through the writer in chunks of `chunk` octets; returns the bytes. */
static uint8_t *
write_file(const struct queue_env *e, const uint8_t *body, size_t blen, size_t chunk, size_t *flen)
{
	static struct queue_w w;
	int fd = fresh_fd();
	size_t off, k;
	off_t end;
	uint8_t *out;

	queue_w_init(&w, fd);
	queue_w_env(&w, e);
	for (off = 0; off < blen; off += k) {
		k = blen - off < chunk ? blen - off : chunk;
		queue_w_data(&w, body + off, k);
	}
	if (queue_w_end(&w) == -1) {
		printf("Bail out! queue_w_end: %s\n", strerror(errno));
		exit(1);
	}
	end = lseek(fd, 0, SEEK_END);
	out = malloc((size_t)end);
	if (out == NULL || pread(fd, out, (size_t)end, 0) != end)
		exit(1);
	close(fd);
	*flen = (size_t)end;
	return out;
}

static enum queue_read_res
read_bytes(int fd, const void *p, size_t n, struct queue_env *e)
{
	put_file(fd, p, n);
	return queue_file_read(fd, e, NULL, NULL);
}

/* A file built by hand, record by record, with a correct END unless told otherwise. */
struct hand {
	uint8_t b[200000];
	size_t len;
	uint64_t octets;
};

static void
h_rec(struct hand *h, uint8_t type, const void *p, size_t n)
{
	h->b[h->len++] = type;
	h->b[h->len++] = (uint8_t)(n >> 24);
	h->b[h->len++] = (uint8_t)(n >> 16);
	h->b[h->len++] = (uint8_t)(n >> 8);
	h->b[h->len++] = (uint8_t)n;
	memcpy(h->b + h->len, p, n);
	h->len += n;
	if (type == QR_DATA)
		h->octets += n;
}

static void
h_str(struct hand *h, uint8_t type, const char *s)
{
	h_rec(h, type, s, strlen(s));
}

static void
h_end(struct hand *h)
{
	uint32_t crc = queue_crc32c(0, h->b, h->len);
	uint8_t e[12];
	int i;

	for (i = 0; i < 8; i++)
		e[i] = (uint8_t)(h->octets >> (56 - 8 * i));
	e[8] = (uint8_t)(crc >> 24);
	e[9] = (uint8_t)(crc >> 16);
	e[10] = (uint8_t)(crc >> 8);
	e[11] = (uint8_t)crc;
	h_rec(h, QR_END, e, sizeof(e));
}

static void
h_head(struct hand *h)
{
	memset(h, 0, sizeof(*h));
	h_str(h, QR_MAGIC, "mxdq1");
	h_str(h, QR_ID, "00000000000000aa");
	h_str(h, QR_TIME, "1700000000");
	h_str(h, QR_CLIENT, "127.0.0.1 localhost");
	h_str(h, QR_FROM, "a@b.example");
}

static void
h_rcpt(struct hand *h, const char *addr)
{
	uint8_t r[600];
	size_t n = strlen(addr);

	memcpy(r, addr, n);
	memcpy(r + n,
	    "\0"
	    "4\0",
	    3);
	h_rec(h, QR_RCPT, r, n + 3);
}

/* --- tests ------------------------------------------------------------------------------ */

static void
t_crc(void)
{
	uint8_t b[32], big[4099];
	size_t i, n, a;
	bool same = true;

	is_int(queue_crc32c(0, "123456789", 9), 0xe3069283u, "CRC-32C check value");
	memset(b, 0, sizeof(b));
	is_int(queue_crc32c(0, b, 32), 0x8a9136aau, "RFC 3720 B.4: 32 zeros");
	memset(b, 0xff, sizeof(b));
	is_int(queue_crc32c(0, b, 32), 0x62a8ab43u, "RFC 3720 B.4: 32 ones");
	for (i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	is_int(queue_crc32c(0, b, 32), 0x46dd794eu, "RFC 3720 B.4: incrementing");
	for (i = 0; i < 32; i++)
		b[i] = (uint8_t)(31 - i);
	is_int(queue_crc32c(0, b, 32), 0x113fdb5cu, "RFC 3720 B.4: decrementing");
	is_int(queue_crc32c(queue_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u,
	    "chaining equals one call");
	is_int(queue_crc32c(0, "", 0), 0, "empty input");
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + (i >> 5));
	/* Slicing-by-8 against the bit-at-a-time definition, every length and alignment. */
	for (a = 0; a < 8; a++)
		for (n = 0; n + a <= 300; n++)
			if (queue_crc32c(0, big + a, n) != crc_bitwise(big + a, n))
				same = false;
	ok(same, "table CRC equals bitwise CRC for lengths 0..300 at 8 alignments");
	is_int(queue_crc32c(0, big, sizeof(big)), crc_bitwise(big, sizeof(big)), "4099 octets");
}

static void
t_ids(void)
{
	char a[QUEUE_ID_LEN + 1], b[QUEUE_ID_LEN + 1];
	size_t i;
	bool all = true;

	for (i = 0; i < 1000; i++) {
		queue_id_new(a);
		if (!queue_id_valid(a) || strlen(a) != QUEUE_ID_LEN)
			all = false;
	}
	ok(all, "1000 new IDs are valid");
	queue_id_new(b);
	ok(strcmp(a, b) != 0, "two IDs differ");
	ok(queue_id_valid("0123456789abcdef"), "valid ID");
	ok(!queue_id_valid("0123456789ABCDEF"), "upper case refused");
	ok(!queue_id_valid("0123456789abcde"), "15 digits refused");
	ok(!queue_id_valid("0123456789abcdef0"), "17 digits refused");
	ok(!queue_id_valid("0123456789abcdeg"), "non-hex refused");
	ok(!queue_id_valid("../../etc/passwd"), "path refused");
	ok(!queue_id_valid(""), "empty refused");
}

static void
t_roundtrip(void)
{
	struct queue_env e, r;
	struct sink s = {0};
	uint8_t *body, *f;
	size_t blen = 200000, flen, i;
	static const size_t chunks[] = {1, 7, 998, 65531, 65536, 300000};
	int fd;
	bool good;

	body = malloc(blen);
	for (i = 0; i < blen; i++)
		body[i] = (i % 80 == 78) ? '\r' : (i % 80 == 79) ? '\n' : (uint8_t)('A' + i % 26);
	mk_env(&e, 3);
	fd = fresh_fd();
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		/* chunk 1 writes 200000 single octets: the records still coalesce. */
		f = write_file(&e, body, blen, chunks[i], &flen);
		put_file(fd, f, flen);
		s.len = 0;
		good = queue_file_read(fd, &r, sink_fn, &s) == QUEUE_READ_OK;
		ok(good, "round trip, body written %zu octets at a time", chunks[i]);
		ok(good && s.len == blen && memcmp(s.p, body, blen) == 0 && r.size == blen,
		    "body identical (%zu octets)", s.len);
		ok(flen < blen + 2000, "records coalesce: file %zu octets", flen);
		if (i == 0) {
			is_str(r.id, e.id, "id");
			is_int(r.arrival, e.arrival, "arrival");
			is_str(r.client, e.client, "client");
			is_str(r.auth, e.auth, "auth");
			is_str(r.from, e.from, "from");
			is_int(r.body, SMTP_BODY_8BITMIME, "BODY=8BITMIME");
			ok(r.smtputf8, "SMTPUTF8");
			is_int(r.ret, SMTP_RET_HDRS, "RET=HDRS");
			is_str(r.envid, "QQ314159", "ENVID");
			is_int(r.nrcpt, 3, "3 recipients");
			if (r.nrcpt == 3) {
				is_str(r.rcpt[0].addr, "user0@example.net", "rcpt 0");
				is_str(r.rcpt[2].addr, "user2@example.net", "rcpt 2");
				is_int(r.rcpt[1].notify, SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY,
				    "notify");
				is_str(r.rcpt[0].orcpt, "rfc822;orig@example.net", "orcpt");
				is_str(r.rcpt[1].orcpt, "", "no orcpt");
			}
		}
		queue_env_clear(&r);
		free(f);
	}
	/* Reading without a callback, and the file position does not matter. */
	(void)lseek(fd, 17, SEEK_SET);
	is_int(queue_file_read(fd, &r, NULL, NULL), QUEUE_READ_OK, "read without callback");
	is_int(r.size, blen, "size from END without reading the body out");
	queue_env_clear(&r);
	is_int(queue_file_read(fd, &r, fail_fn, NULL), QUEUE_READ_IOERR,
	    "a failing callback is IOERR");
	is_int(errno, ENOSPC, "with the callback's errno");
	is_int(r.nrcpt, 0, "env cleared on failure");
	ok(r.rcpt == NULL, "no recipient array left");

	/* Empty message, minimal envelope. */
	memset(&e.auth, 0, sizeof(e.auth));
	e.body = SMTP_BODY_NONE;
	e.smtputf8 = false;
	e.ret = SMTP_RET_NONE;
	e.envid[0] = '\0';
	e.from[0] = '\0';
	f = write_file(&e, body, 0, 1, &flen);
	s.len = 0;
	is_int(read_bytes(fd, f, flen, &r), QUEUE_READ_OK, "empty body, null sender, no params");
	is_int(r.size, 0, "size 0");
	is_str(r.from, "", "null reverse path");
	is_str(r.auth, "", "no auth");
	is_int(r.body, SMTP_BODY_NONE, "no BODY");
	queue_env_clear(&r);
	queue_env_clear(&e);
	free(f);
	free(body);
	free(s.p);
	close(fd);
}

/* Every prefix of a real file is TORN; every one-octet change is TORN or BAD. */
static void
t_damage(void)
{
	struct queue_env e, r;
	uint8_t body[300], *f, *g;
	size_t flen, i, cut, nbad = 0;
	static const uint8_t masks[] = {0x01, 0x80, 0xff, 0x20};
	enum queue_read_res res;
	bool all = true, never_ok = true;
	int fd = fresh_fd(), m;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i % 50 == 49 ? '\n' : i % 50 == 48 ? '\r' : 'a' + i % 26);
	mk_env(&e, 4);
	f = write_file(&e, body, sizeof(body), 100, &flen);
	diag("small file: %zu octets", flen);
	put_file(fd, f, flen);
	for (cut = flen; cut-- > 0;) {
		if (ftruncate(fd, (off_t)cut) == -1)
			exit(1);
		res = queue_file_read(fd, &r, NULL, NULL);
		if (res != QUEUE_READ_TORN) {
			all = false;
			diag("cut at %zu: %d", cut, res);
		}
		queue_env_clear(&r);
	}
	ok(all, "all %zu truncation points are TORN", flen);

	g = malloc(flen);
	for (i = 0; i < flen; i++) {
		for (m = 0; m < (int)sizeof(masks); m++) {
			memcpy(g, f, flen);
			g[i] ^= masks[m];
			res = read_bytes(fd, g, flen, &r);
			if (res == QUEUE_READ_OK) {
				never_ok = false;
				diag("flip %02x at %zu read OK", masks[m], i);
			}
			if (res == QUEUE_READ_BAD)
				nbad++;
			queue_env_clear(&r);
		}
	}
	ok(never_ok, "%zu flipped octets (x4 masks) all detected (%zu BAD, rest TORN)", flen, nbad);
	/* Trailing octets after END. */
	g = realloc(g, flen + 1);
	memcpy(g, f, flen);
	g[flen] = '\n';
	is_int(read_bytes(fd, g, flen + 1, &r), QUEUE_READ_TORN, "a byte after END is TORN");
	free(f);
	free(g);

	/* A large file: truncation around every record boundary and on a stride. */
	{
		uint8_t *big = malloc(150000);
		size_t off, rl;

		for (i = 0; i < 150000; i++)
			big[i] = (uint8_t)(i % 64 == 63 ? '\n' : i % 64 == 62 ? '\r' : 'x');
		f = write_file(&e, big, 150000, 4096, &flen);
		all = true;
		put_file(fd, f, flen);
		/* Walk the records: type(1) len(4) payload. */
		for (off = 0; off + 5 <= flen; off += 5 + rl) {
			rl = (size_t)f[off + 1] << 24 | (size_t)f[off + 2] << 16 |
			    (size_t)f[off + 3] << 8 | f[off + 4];
			for (cut = off > 6 ? off - 6 : 0; cut < off + 7 && cut < flen; cut++) {
				put_file(fd, f, cut);
				if (queue_file_read(fd, &r, NULL, NULL) != QUEUE_READ_TORN)
					all = false;
			}
		}
		for (cut = 0; cut < flen; cut += 997) {
			put_file(fd, f, cut);
			if (queue_file_read(fd, &r, NULL, NULL) != QUEUE_READ_TORN)
				all = false;
		}
		ok(all,
		    "150 KB file (%zu octets, 3 DATA records): cuts near every record "
		    "boundary and every 997 octets are TORN",
		    flen);
		free(big);
		free(f);
	}
	queue_env_clear(&e);
	close(fd);
}

static void
t_hand(void)
{
	static struct hand h;
	struct queue_env r;
	int fd = fresh_fd();
	static uint8_t big[QUEUE_REC_MAX + 1];
	char s[600];
	size_t i;

	h_head(&h);
	h_rcpt(&h, "x@y.example");
	h_str(&h, QR_DATA, "Subject: hi\r\n\r\nbody\r\n");
	h_end(&h);
	is_int(read_bytes(fd, h.b, h.len, &r), QUEUE_READ_OK, "hand-built file reads OK");
	is_int(r.rcpt[0].notify, 4, "notify parsed");
	queue_env_clear(&r);

#define BAD_CASE(desc, want, ...)                                                                  \
	do {                                                                                       \
		h_head(&h);                                                                        \
		__VA_ARGS__;                                                                       \
		h_end(&h);                                                                         \
		is_int(read_bytes(fd, h.b, h.len, &r), want, desc);                                \
		queue_env_clear(&r);                                                               \
	} while (0)

	BAD_CASE("unknown record type is BAD", QUEUE_READ_BAD, h_rcpt(&h, "x@y");
		 h_str(&h, 'Z', "what"));
	BAD_CASE("oversize record is BAD", QUEUE_READ_BAD, h_rcpt(&h, "x@y");
		 h_rec(&h, QR_DATA, big, sizeof(big)));
	BAD_CASE("record of exactly QUEUE_REC_MAX is fine", QUEUE_READ_OK, h_rcpt(&h, "x@y");
		 h_rec(&h, QR_DATA, big, QUEUE_REC_MAX));
	BAD_CASE("no recipient is BAD", QUEUE_READ_BAD, h_str(&h, QR_DATA, "x"));
	BAD_CASE("DATA before RCPT is BAD", QUEUE_READ_BAD, h_str(&h, QR_DATA, "x");
		 h_rcpt(&h, "x@y"));
	BAD_CASE("second FROM is BAD", QUEUE_READ_BAD, h_str(&h, QR_FROM, "c@d");
		 h_rcpt(&h, "x@y"));
	BAD_CASE("PARAM after RCPT is BAD", QUEUE_READ_BAD, h_rcpt(&h, "x@y");
		 h_str(&h, QR_PARAM, "SMTPUTF8"));
	BAD_CASE("unknown PARAM is BAD", QUEUE_READ_BAD, h_str(&h, QR_PARAM, "XFOO=1");
		 h_rcpt(&h, "x@y"));
	BAD_CASE("repeated PARAM is BAD", QUEUE_READ_BAD, h_str(&h, QR_PARAM, "SMTPUTF8");
		 h_str(&h, QR_PARAM, "SMTPUTF8"); h_rcpt(&h, "x@y"));
	BAD_CASE("NUL inside a string is BAD", QUEUE_READ_BAD, h_rec(&h, QR_PARAM, "SMTP\0UTF8", 9);
		 h_rcpt(&h, "x@y"));
	BAD_CASE("empty recipient is BAD", QUEUE_READ_BAD, h_rcpt(&h, ""));
	BAD_CASE("RCPT without separators is BAD", QUEUE_READ_BAD, h_str(&h, QR_RCPT, "x@y"));
	BAD_CASE("RCPT with three NULs is BAD", QUEUE_READ_BAD,
	    h_rec(&h, QR_RCPT,
		"x@y\0"
		"4\0o\0",
		8));
	BAD_CASE("RCPT notify out of range is BAD", QUEUE_READ_BAD,
	    h_rec(&h, QR_RCPT,
		"x@y\0"
		"16\0",
		7));
	BAD_CASE(
	    "RCPT notify not a number is BAD", QUEUE_READ_BAD, h_rec(&h, QR_RCPT, "x@y\0+1\0", 7));
	memset(s, 'a', sizeof(s));
	BAD_CASE("recipient longer than its field is BAD", QUEUE_READ_BAD,
		 memcpy(s + SMTP_ADDR_MAX + 1,
		     "\0"
		     "0\0",
		     3);
		 h_rec(&h, QR_RCPT, s, SMTP_ADDR_MAX + 4));
	BAD_CASE("recipient that just fits is OK", QUEUE_READ_OK,
		 memcpy(s + SMTP_ADDR_MAX,
		     "\0"
		     "0\0",
		     3);
		 h_rec(&h, QR_RCPT, s, SMTP_ADDR_MAX + 3));

	/* Header-level cases need their own prefix. */
	memset(&h, 0, sizeof(h));
	h_str(&h, QR_MAGIC, "mxdq2");
	h_str(&h, QR_ID, "00000000000000aa");
	h_end(&h);
	is_int(read_bytes(fd, h.b, h.len, &r), QUEUE_READ_BAD, "wrong magic is BAD");
	memset(&h, 0, sizeof(h));
	h_str(&h, QR_ID, "00000000000000aa");
	h_end(&h);
	is_int(read_bytes(fd, h.b, h.len, &r), QUEUE_READ_BAD, "no magic is BAD");
	memset(&h, 0, sizeof(h));
	h_str(&h, QR_MAGIC, "mxdq1");
	h_str(&h, QR_ID, "00000000000000AA");
	h_end(&h);
	is_int(read_bytes(fd, h.b, h.len, &r), QUEUE_READ_BAD, "invalid ID is BAD");
	memset(&h, 0, sizeof(h));
	h_str(&h, QR_MAGIC, "mxdq1");
	h_str(&h, QR_ID, "00000000000000aa");
	h_str(&h, QR_TIME, "-5");
	h_end(&h);
	is_int(read_bytes(fd, h.b, h.len, &r), QUEUE_READ_BAD, "negative TIME is BAD");
	memset(&h, 0, sizeof(h));
	h_str(&h, QR_MAGIC, "mxdq1");
	h_str(&h, QR_ID, "00000000000000aa");
	h_str(&h, QR_TIME, "1");
	memset(s, 'c', 320);
	h_rec(&h, QR_CLIENT, s, 320);
	h_end(&h);
	is_int(read_bytes(fd, h.b, h.len, &r), QUEUE_READ_BAD, "CLIENT over 319 octets is BAD");

	/* END that is wrong in each of its parts: all TORN. */
	h_head(&h);
	h_rcpt(&h, "x@y");
	h_str(&h, QR_DATA, "abc");
	h.octets = 4;
	h_end(&h);
	is_int(read_bytes(fd, h.b, h.len, &r), QUEUE_READ_TORN, "END octet count wrong: TORN");
	h_head(&h);
	h_rcpt(&h, "x@y");
	h_end(&h);
	h.b[h.len - 1] ^= 1;
	is_int(read_bytes(fd, h.b, h.len, &r), QUEUE_READ_TORN, "END CRC wrong: TORN");
	h_head(&h);
	h_rcpt(&h, "x@y");
	h_rec(&h, QR_END, "\0\0\0\0\0\0\0\0\0\0\0\0\0", 13);
	is_int(read_bytes(fd, h.b, h.len, &r), QUEUE_READ_TORN, "END of 13 octets: TORN");
	is_int(read_bytes(fd, "", 0, &r), QUEUE_READ_TORN, "empty file: TORN");

	/* Many recipients: the cap is exact. */
	{
		struct queue_env e;
		struct hand *hb = malloc(sizeof(*hb) * 2);
		uint8_t *f;
		size_t flen;
		char a[64];
		bool added = true;

		mk_env(&e, 0);
		for (i = 0; i < QUEUE_RCPT_MAX; i++) {
			snprintf(a, sizeof(a), "r%zu@example.com", i);
			if (queue_env_add_rcpt(&e, a, 0, NULL) == -1)
				added = false;
		}
		ok(added, "QUEUE_RCPT_MAX recipients added");
		is_int(queue_env_add_rcpt(&e, "one@more", 0, NULL), -1, "one more is refused");
		f = write_file(&e, (const uint8_t *)"x\r\n", 3, 3, &flen);
		is_int(read_bytes(fd, f, flen, &r), QUEUE_READ_OK, "10000 recipients read back");
		is_int(r.nrcpt, QUEUE_RCPT_MAX, "all of them");
		ok(r.nrcpt == QUEUE_RCPT_MAX && strcmp(r.rcpt[9999].addr, "r9999@example.com") == 0,
		    "the last one intact");
		queue_env_clear(&r);
		/* One more, written by hand with a valid CRC: BAD. */
		memset(hb, 0, sizeof(*hb) * 2);
		h_head(hb);
		for (i = 0; i <= QUEUE_RCPT_MAX; i++) {
			snprintf(a, sizeof(a), "r%zu@e", i);
			h_rcpt(hb, a);
		}
		h_end(hb);
		is_int(read_bytes(fd, hb->b, hb->len, &r), QUEUE_READ_BAD,
		    "QUEUE_RCPT_MAX + 1 recipients is BAD");
		queue_env_clear(&e);
		free(f);
		free(hb);
	}
	close(fd);
	is_int(queue_file_read(fd, &r, NULL, NULL), QUEUE_READ_IOERR, "closed fd: IOERR");
}

static void
t_writer_errors(void)
{
	static struct queue_w w;
	struct queue_env e;
	uint8_t buf[100000];
	int fd;

	fd = open("/dev/full", O_WRONLY);
	if (fd == -1) {
		diag("no /dev/full");
		return;
	}
	mk_env(&e, 1);
	memset(buf, 'x', sizeof(buf));
	queue_w_init(&w, fd);
	queue_w_env(&w, &e);
	queue_w_data(&w, buf, sizeof(buf)); /* the first flush fails here */
	ok(w.err, "error is sticky after the failed flush");
	queue_w_data(&w, buf, 10);
	errno = 0;
	is_int(queue_w_end(&w), -1, "queue_w_end fails on /dev/full");
	is_int(errno, ENOSPC, "with ENOSPC");
	close(fd);
	fd = open("/dev/null", O_RDONLY);
	queue_w_init(&w, fd);
	queue_w_env(&w, &e);
	is_int(queue_w_end(&w), -1, "read-only fd fails");
	is_int(errno, EBADF, "with EBADF");
	close(fd);
	queue_env_clear(&e);
	is_int(queue_env_add_rcpt(&e, "", 0, NULL), -1, "empty recipient refused");
	memset(buf, 'a', 600);
	buf[600] = '\0';
	is_int(queue_env_add_rcpt(&e, (char *)buf, 0, NULL), -1, "over-long recipient refused");
	queue_env_clear(&e);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/q", tmpdir);
	t_crc();
	t_ids();
	t_roundtrip();
	t_damage();
	t_hand();
	t_writer_errors();
	(void)unlink(path);
	(void)rmdir(tmpdir);
	return done_testing();
}
