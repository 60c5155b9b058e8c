/*
 * queue_file — the on-disk format of a queued message: the record writer, the verifying
 * reader, CRC-32C, queue IDs. queue.h gives the layout; docs/queue.md has the record table.
 *
 * Writer: records go into a 64 KiB buffer and out through a write(2) loop that survives
 * EINTR and short writes. Consecutive queue_w_data() calls share one open QR_DATA record,
 * closed when the buffer fills or another record follows, so a message written line by
 * line costs a record header per 64 KiB, not per line. The CRC is taken over the buffer
 * just before each write, so it covers exactly the octets that reach the file before
 * QR_END. The first failing write makes the writer sticky: every later call does nothing
 * and queue_w_end() returns -1 with the saved errno.
 *
 * Reader: the file is untrusted input (a crash can tear it, a disk can flip bits, a bug
 * can write garbage). queue_file_read() reads it through a bounded cursor: every record
 * length is checked against QUEUE_REC_MAX and against the octets left in the file; every
 * string against its field and for NUL octets. The outcome is classified:
 *   TORN   the file ends early (no END, a record cut short, an END whose CRC or octet
 *          count is wrong, bytes after END) — what a crash during the write leaves;
 *   BAD    a complete record that our writer never produces (unknown type, record out
 *          of order, oversize, a field that does not parse or fit);
 *   IOERR  read(2) failed.
 * Only OK files are delivered. The data callback sees body octets only after the whole
 * file has been verified once (pass 1); pass 2 re-reads and re-verifies while streaming,
 * so a torn or bad file never reaches a mailbox even partially.
 *
 * Limits: QUEUE_REC_MAX per record, QUEUE_RCPT_MAX recipients. The fd must be seekable
 * (pread from offset 0; the file position is not used or changed).
 */
#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/queue.h"
#include "util/rand.h"

#define QUEUE_MAGIC   "mxdq1"
#define QUEUE_HDR     5  /* type + 32-bit length */
#define QUEUE_END_LEN 12 /* body octets (8) + CRC-32C (4) */
#define QUEUE_RDBUF   65536

/* --- CRC-32C -------------------------------------------------------------------------- */

/*
 * Slicing-by-8 over the reflected Castagnoli polynomial 0x1EDC6F41 (0x82F63B78 reflected).
 * Table 0 is the classic byte-at-a-time table; table k advances a byte through k more
 * zero bytes, so eight input bytes are folded per step.
 */
static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
	uint32_t c;
	unsigned i, j, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_tab[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = crc_tab[0][i];
		for (k = 1; k < 8; k++) {
			c = crc_tab[0][c & 0xff] ^ (c >> 8);
			crc_tab[k][i] = c;
		}
	}
}

uint32_t
queue_crc32c(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t c, lo, hi;

	(void)pthread_once(&crc_once, crc_init);
	c = ~crc;
	while (n >= 8) {
		lo = c ^
		    ((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			(uint32_t)b[3] << 24);
		hi = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 |
		    (uint32_t)b[7] << 24;
		c = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		    crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^ crc_tab[3][hi & 0xff] ^
		    crc_tab[2][(hi >> 8) & 0xff] ^ crc_tab[1][(hi >> 16) & 0xff] ^
		    crc_tab[0][hi >> 24];
		b += 8;
		n -= 8;
	}
	while (n-- > 0)
		c = crc_tab[0][(c ^ *b++) & 0xff] ^ (c >> 8);
	return ~c;
}

/* --- queue IDs ------------------------------------------------------------------------ */

void
queue_id_new(char out[QUEUE_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t r[QUEUE_ID_LEN / 2];
	size_t i;

	rand_bytes(r, sizeof(r));
	for (i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 0xf];
	}
	out[QUEUE_ID_LEN] = '\0';
}

bool
queue_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < QUEUE_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[QUEUE_ID_LEN] == '\0';
}

/* --- envelope ------------------------------------------------------------------------- */

void
queue_env_clear(struct queue_env *env)
{
	free(env->rcpt);
	memset(env, 0, sizeof(*env));
}

int
queue_env_add_rcpt(struct queue_env *env, const char *addr, unsigned notify, const char *orcpt)
{
	struct queue_rcpt *r;
	size_t cap;

	if (env->nrcpt >= QUEUE_RCPT_MAX || addr[0] == '\0' || strlen(addr) >= sizeof(r->addr) ||
	    (orcpt != NULL && strlen(orcpt) >= sizeof(r->orcpt)))
		return -1;
	/* Grow at powers of two: nrcpt is a power of two exactly when the array is full. */
	if ((env->nrcpt & (env->nrcpt - 1)) == 0) {
		cap = env->nrcpt == 0 ? 1 : env->nrcpt * 2;
		r = reallocarray(env->rcpt, cap, sizeof(*r));
		if (r == NULL)
			return -1;
		env->rcpt = r;
	}
	r = &env->rcpt[env->nrcpt];
	memset(r, 0, sizeof(*r));
	strlcpy(r->addr, addr, sizeof(r->addr));
	r->notify = notify;
	if (orcpt != NULL)
		strlcpy(r->orcpt, orcpt, sizeof(r->orcpt));
	env->nrcpt++;
	return 0;
}

/* --- writer --------------------------------------------------------------------------- */

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
queue_w_init(struct queue_w *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->data_hdr = SIZE_MAX;
}

/* Writes the whole buffer. The CRC takes in every octet not yet counted first. */
static void
w_flush(struct queue_w *w)
{
	size_t off = 0;
	ssize_t r;

	if (w->err)
		return;
	w->crc = queue_crc32c(w->crc, w->buf + w->crc_off, w->len - w->crc_off);
	while (off < w->len) {
		r = write(w->fd, w->buf + off, w->len - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			w->err = true;
			w->saved_errno = errno;
			return;
		}
		if (r == 0) { /* cannot happen on a regular file; never loop on it */
			w->err = true;
			w->saved_errno = EIO;
			return;
		}
		off += (size_t)r;
	}
	w->len = 0;
	w->crc_off = 0;
}

/* Closes the open QR_DATA record: its length is now known. */
static void
w_data_close(struct queue_w *w)
{
	if (w->data_hdr == SIZE_MAX)
		return;
	put32(w->buf + w->data_hdr + 1, (uint32_t)(w->len - w->data_hdr - QUEUE_HDR));
	w->data_hdr = SIZE_MAX;
}

static void
w_bytes(struct queue_w *w, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t k;

	while (n > 0 && !w->err) {
		if (w->len == sizeof(w->buf))
			w_flush(w);
		if (w->err)
			return;
		k = sizeof(w->buf) - w->len;
		if (k > n)
			k = n;
		memcpy(w->buf + w->len, b, k);
		w->len += k;
		b += k;
		n -= k;
	}
}

/* One complete record (not QR_DATA). len <= QUEUE_REC_MAX by the callers' construction. */
static void
w_rec(struct queue_w *w, enum queue_rec type, const void *p, size_t len)
{
	uint8_t hdr[QUEUE_HDR];

	if (w->err)
		return;
	w_data_close(w);
	if (len > QUEUE_REC_MAX) {
		w->err = true;
		w->saved_errno = EINVAL;
		return;
	}
	hdr[0] = (uint8_t)type;
	put32(hdr + 1, (uint32_t)len);
	w_bytes(w, hdr, sizeof(hdr));
	w_bytes(w, p, len);
}

static void
w_str(struct queue_w *w, enum queue_rec type, const char *s)
{
	w_rec(w, type, s, strlen(s));
}

void
queue_w_env(struct queue_w *w, const struct queue_env *env)
{
	char num[32], rec[sizeof(env->rcpt[0].addr) + 16 + sizeof(env->rcpt[0].orcpt)];
	int k;
	size_t i, al, ol;

	w_str(w, QR_MAGIC, QUEUE_MAGIC);
	w_str(w, QR_ID, env->id);
	k = snprintf(num, sizeof(num), "%lld", (long long)env->arrival);
	w_rec(w, QR_TIME, num, (size_t)k);
	w_str(w, QR_CLIENT, env->client);
	if (env->auth[0] != '\0')
		w_str(w, QR_AUTH, env->auth);
	w_str(w, QR_FROM, env->from);
	switch (env->body) {
	case SMTP_BODY_7BIT:
		w_str(w, QR_PARAM, "BODY=7BIT");
		break;
	case SMTP_BODY_8BITMIME:
		w_str(w, QR_PARAM, "BODY=8BITMIME");
		break;
	case SMTP_BODY_BINARYMIME:
		w_str(w, QR_PARAM, "BODY=BINARYMIME");
		break;
	case SMTP_BODY_NONE:
		break;
	}
	if (env->smtputf8)
		w_str(w, QR_PARAM, "SMTPUTF8");
	if (env->ret == SMTP_RET_FULL)
		w_str(w, QR_PARAM, "RET=FULL");
	else if (env->ret == SMTP_RET_HDRS)
		w_str(w, QR_PARAM, "RET=HDRS");
	if (env->envid[0] != '\0') {
		k = snprintf(rec, sizeof(rec), "ENVID=%s", env->envid);
		w_rec(w, QR_PARAM, rec, (size_t)k);
	}
	/* "addr\0notify\0orcpt": the NULs are separators, never part of a field. */
	for (i = 0; i < env->nrcpt; i++) {
		al = strnlen(env->rcpt[i].addr, sizeof(env->rcpt[i].addr) - 1);
		ol = strnlen(env->rcpt[i].orcpt, sizeof(env->rcpt[i].orcpt) - 1);
		memcpy(rec, env->rcpt[i].addr, al);
		k = snprintf(
		    rec + al, sizeof(rec) - al, "%c%u%c", '\0', env->rcpt[i].notify & 0x0fu, '\0');
		memcpy(rec + al + (size_t)k, env->rcpt[i].orcpt, ol);
		w_rec(w, QR_RCPT, rec, al + (size_t)k + ol);
	}
}

void
queue_w_data(struct queue_w *w, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t room, k;
	uint8_t hdr[QUEUE_HDR] = {QR_DATA, 0, 0, 0, 0};

	while (n > 0 && !w->err) {
		if (w->data_hdr == SIZE_MAX) {
			/* A header and at least one octet must fit, else start afresh. */
			if (sizeof(w->buf) - w->len <= QUEUE_HDR)
				w_flush(w);
			if (w->err)
				return;
			w->data_hdr = w->len;
			memcpy(w->buf + w->len, hdr, sizeof(hdr));
			w->len += sizeof(hdr);
		}
		room = sizeof(w->buf) - w->len;
		k = n < room ? n : room;
		memcpy(w->buf + w->len, b, k);
		w->len += k;
		w->data_octets += k;
		b += k;
		n -= k;
		if (w->len == sizeof(w->buf)) {
			/* The record ends with the buffer: < QUEUE_REC_MAX octets by size. */
			w_data_close(w);
			w_flush(w);
		}
	}
}

int
queue_w_end(struct queue_w *w)
{
	uint8_t end[QUEUE_HDR + QUEUE_END_LEN];

	w_data_close(w);
	if (!w->err && sizeof(w->buf) - w->len < sizeof(end))
		w_flush(w);
	if (w->err) {
		errno = w->saved_errno;
		return -1;
	}
	/* The CRC covers every octet before the END record, END itself not included. */
	w->crc = queue_crc32c(w->crc, w->buf + w->crc_off, w->len - w->crc_off);
	end[0] = QR_END;
	put32(end + 1, QUEUE_END_LEN);
	put32(end + 5, (uint32_t)(w->data_octets >> 32));
	put32(end + 9, (uint32_t)w->data_octets);
	put32(end + 13, w->crc);
	memcpy(w->buf + w->len, end, sizeof(end));
	w->len += sizeof(end);
	w->crc_off = w->len;
	w_flush(w);
	if (w->err) {
		errno = w->saved_errno;
		return -1;
	}
	return 0;
}

/* --- reader --------------------------------------------------------------------------- */

/* A buffered pread(2) cursor over [0, size) of the file. */
struct qrd {
	int fd;
	uint64_t size; /* from fstat: what is left is size - off */
	uint64_t off;  /* logical position */
	uint64_t boff; /* file offset of buf[0] */
	size_t blen;
	uint32_t crc;
	uint8_t buf[QUEUE_RDBUF];
	uint8_t rec[QUEUE_REC_MAX + 1]; /* one payload, NUL-terminated */
};

/* Reads n octets at the cursor into out. 0, or -1 with errno (EIO on a short file). */
static int
rd_get(struct qrd *r, void *out, size_t n)
{
	uint8_t *o = out;
	size_t k, at;
	ssize_t got;

	while (n > 0) {
		if (r->off >= r->boff + r->blen) {
			r->boff = r->off;
			r->blen = 0;
			for (;;) {
				got = pread(r->fd, r->buf, sizeof(r->buf), (off_t)r->boff);
				if (got >= 0 || errno != EINTR)
					break;
			}
			if (got < 0)
				return -1;
			if (got == 0) { /* shrank under us */
				errno = EIO;
				return -1;
			}
			r->blen = (size_t)got;
		}
		at = (size_t)(r->off - r->boff);
		k = r->blen - at;
		if (k > n)
			k = n;
		memcpy(o, r->buf + at, k);
		r->off += k;
		o += k;
		n -= k;
	}
	return 0;
}

/*
 * The record order our writer produces, and so the only one we read: MAGIC ID TIME CLIENT
 * [AUTH] FROM PARAM* RCPT+ DATA* END. prev is 0 before the first record.
 */
static bool
rec_follows(uint8_t prev, uint8_t type)
{
	switch (type) {
	case QR_MAGIC:
		return prev == 0;
	case QR_ID:
		return prev == QR_MAGIC;
	case QR_TIME:
		return prev == QR_ID;
	case QR_CLIENT:
		return prev == QR_TIME;
	case QR_AUTH:
		return prev == QR_CLIENT;
	case QR_FROM:
		return prev == QR_CLIENT || prev == QR_AUTH;
	case QR_PARAM:
		return prev == QR_FROM || prev == QR_PARAM;
	case QR_RCPT:
		return prev == QR_FROM || prev == QR_PARAM || prev == QR_RCPT;
	case QR_DATA:
	case QR_END:
		return prev == QR_RCPT || prev == QR_DATA;
	default:
		return false;
	}
}

static bool
rec_known(uint8_t type)
{
	switch (type) {
	case QR_MAGIC:
	case QR_ID:
	case QR_TIME:
	case QR_CLIENT:
	case QR_AUTH:
	case QR_FROM:
	case QR_PARAM:
	case QR_RCPT:
	case QR_DATA:
	case QR_END:
		return true;
	default:
		return false;
	}
}

/* Copies a NUL-free payload into a field of size cap. */
static bool
rd_str(const uint8_t *p, size_t len, char *out, size_t cap)
{
	if (len >= cap || memchr(p, '\0', len) != NULL)
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

static bool
rd_param(struct queue_env *env, const char *s, unsigned *seen)
{
	unsigned bit;

	if (strcmp(s, "BODY=7BIT") == 0) {
		env->body = SMTP_BODY_7BIT;
		bit = 1;
	} else if (strcmp(s, "BODY=8BITMIME") == 0) {
		env->body = SMTP_BODY_8BITMIME;
		bit = 1;
	} else if (strcmp(s, "BODY=BINARYMIME") == 0) {
		env->body = SMTP_BODY_BINARYMIME;
		bit = 1;
	} else if (strcmp(s, "SMTPUTF8") == 0) {
		env->smtputf8 = true;
		bit = 2;
	} else if (strcmp(s, "RET=FULL") == 0) {
		env->ret = SMTP_RET_FULL;
		bit = 4;
	} else if (strcmp(s, "RET=HDRS") == 0) {
		env->ret = SMTP_RET_HDRS;
		bit = 4;
	} else if (strncmp(s, "ENVID=", 6) == 0 && s[6] != '\0' &&
	    strlen(s + 6) < sizeof(env->envid)) {
		strlcpy(env->envid, s + 6, sizeof(env->envid));
		bit = 8;
	} else
		return false; /* a parameter we do not know: we would mis-deliver it */
	if (*seen & bit)
		return false;
	*seen |= bit;
	return true;
}

/* "addr\0notify\0orcpt": exactly two NULs, addr non-empty, notify 0..15 in decimal. */
static bool
rd_rcpt(struct queue_env *env, const uint8_t *p, size_t len)
{
	const uint8_t *z1, *z2;
	char num[4];
	const char *errstr;
	long long notify;
	size_t al, nl;
	struct queue_rcpt *r;

	z1 = memchr(p, '\0', len);
	if (z1 == NULL)
		return false;
	z2 = memchr(z1 + 1, '\0', len - (size_t)(z1 + 1 - p));
	if (z2 == NULL || memchr(z2 + 1, '\0', len - (size_t)(z2 + 1 - p)) != NULL)
		return false;
	al = (size_t)(z1 - p);
	nl = (size_t)(z2 - z1 - 1);
	if (al == 0 || nl == 0 || nl >= sizeof(num) || env->nrcpt >= QUEUE_RCPT_MAX)
		return false;
	memcpy(num, z1 + 1, nl);
	num[nl] = '\0';
	if (num[0] < '0' || num[0] > '9') /* strtonum takes "+1" and " 1" */
		return false;
	notify = strtonum(num, 0, 15, &errstr);
	if (errstr != NULL)
		return false;
	/* Bounds first, then append: the record is copied in place. */
	if (al >= sizeof(r->addr) || len - (size_t)(z2 + 1 - p) >= sizeof(r->orcpt))
		return false;
	if (queue_env_add_rcpt(env, "x", 0, NULL) == -1)
		return false;
	r = &env->rcpt[env->nrcpt - 1];
	if (!rd_str(p, al, r->addr, sizeof(r->addr)) ||
	    !rd_str(z2 + 1, len - (size_t)(z2 + 1 - p), r->orcpt, sizeof(r->orcpt)))
		return false;
	r->notify = (unsigned)notify;
	return true;
}

/*
 * One pass over the file. With data == NULL it verifies and fills env; with data set it
 * streams the QR_DATA payloads (env is still filled, into a scratch copy by the caller).
 */
static enum queue_read_res
rd_pass(struct qrd *r, struct queue_env *env, queue_data_fn *data, void *arg)
{
	uint8_t hdr[QUEUE_HDR], *p = r->rec;
	uint32_t len;
	uint64_t octets = 0, end_octets;
	uint8_t prev = 0;
	unsigned params = 0;
	char num[24];
	const char *errstr;
	long long t;

	r->off = 0;
	r->boff = 0;
	r->blen = 0;
	r->crc = 0;
	for (;;) {
		/* A header cut short, or no END at all: a crash during the write. */
		if (r->size - r->off < QUEUE_HDR)
			return QUEUE_READ_TORN;
		if (rd_get(r, hdr, sizeof(hdr)) == -1)
			return QUEUE_READ_IOERR;
		len = get32(hdr + 1);
		if (!rec_known(hdr[0]))
			return QUEUE_READ_BAD;
		if (hdr[0] == QR_END) {
			if (len != QUEUE_END_LEN || r->size - r->off < QUEUE_END_LEN)
				return QUEUE_READ_TORN;
			if (rd_get(r, p, QUEUE_END_LEN) == -1)
				return QUEUE_READ_IOERR;
			end_octets = (uint64_t)get32(p) << 32 | get32(p + 4);
			if (get32(p + 8) != r->crc || end_octets != octets || r->off != r->size)
				return QUEUE_READ_TORN;
			/* Complete and intact; now it must also be a whole message. */
			if (!rec_follows(prev, QR_END))
				return QUEUE_READ_BAD;
			env->size = octets;
			return QUEUE_READ_OK;
		}
		r->crc = queue_crc32c(r->crc, hdr, sizeof(hdr));
		if (len > QUEUE_REC_MAX)
			return QUEUE_READ_BAD;
		if (len > r->size - r->off)
			return QUEUE_READ_TORN;
		if (rd_get(r, p, len) == -1)
			return QUEUE_READ_IOERR;
		r->crc = queue_crc32c(r->crc, p, len);
		p[len] = '\0';
		if (!rec_follows(prev, hdr[0]))
			return QUEUE_READ_BAD;
		prev = hdr[0];
		switch (hdr[0]) {
		case QR_MAGIC:
			if (len != sizeof(QUEUE_MAGIC) - 1 || memcmp(p, QUEUE_MAGIC, len) != 0)
				return QUEUE_READ_BAD;
			break;
		case QR_ID:
			if (!rd_str(p, len, env->id, sizeof(env->id)) || !queue_id_valid(env->id))
				return QUEUE_READ_BAD;
			break;
		case QR_TIME:
			if (!rd_str(p, len, num, sizeof(num)) || num[0] < '0' || num[0] > '9')
				return QUEUE_READ_BAD;
			t = strtonum(num, 0, LLONG_MAX, &errstr);
			if (errstr != NULL)
				return QUEUE_READ_BAD;
			env->arrival = (time_t)t;
			break;
		case QR_CLIENT:
			if (!rd_str(p, len, env->client, sizeof(env->client)))
				return QUEUE_READ_BAD;
			break;
		case QR_AUTH:
			if (len == 0 || !rd_str(p, len, env->auth, sizeof(env->auth)))
				return QUEUE_READ_BAD;
			break;
		case QR_FROM:
			if (!rd_str(p, len, env->from, sizeof(env->from)))
				return QUEUE_READ_BAD;
			break;
		case QR_PARAM:
			if (memchr(p, '\0', len) != NULL || !rd_param(env, (char *)p, &params))
				return QUEUE_READ_BAD;
			break;
		case QR_RCPT:
			if (!rd_rcpt(env, p, len))
				return QUEUE_READ_BAD;
			break;
		case QR_DATA:
			octets += len;
			/* The callback's errno stays for the caller. */
			if (data != NULL && len > 0 && data(arg, p, len) == -1)
				return QUEUE_READ_IOERR;
			break;
		}
	}
}

enum queue_read_res
queue_file_read(int fd, struct queue_env *env, queue_data_fn *data, void *arg)
{
	struct qrd *r;
	struct stat st;
	struct queue_env again;
	enum queue_read_res res;
	uint32_t crc;
	int saved;

	memset(env, 0, sizeof(*env));
	if (fstat(fd, &st) == -1)
		return QUEUE_READ_IOERR;
	if (st.st_size < 0)
		return QUEUE_READ_BAD;
	r = malloc(sizeof(*r));
	if (r == NULL)
		return QUEUE_READ_IOERR;
	r->fd = fd;
	r->size = (uint64_t)st.st_size;
	res = rd_pass(r, env, NULL, NULL);
	if (res == QUEUE_READ_OK && data != NULL) {
		/*
		 * Pass 2 streams the body. Committed files never change; should this one
		 * have (a bug, or someone else's hand), it is no longer the file we verified.
		 */
		crc = r->crc;
		memset(&again, 0, sizeof(again));
		res = rd_pass(r, &again, data, arg);
		saved = errno;
		if (res == QUEUE_READ_OK && (r->crc != crc || again.size != env->size))
			res = QUEUE_READ_TORN;
		queue_env_clear(&again);
		errno = saved;
	}
	saved = errno;
	free(r);
	if (res != QUEUE_READ_OK)
		queue_env_clear(env);
	errno = saved;
	return res;
}
