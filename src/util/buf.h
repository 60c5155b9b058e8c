/*
 * buf — a bounded cursor over untrusted bytes, and a bounded writer.
 *
 * Every read of network input goes through a struct buf_rd. A read past the end sets a
 * sticky error: every later read fails too and returns zeros, so a parser may read a whole
 * structure and check buf_rd_ok() once at the end. Checks are real code, never assert().
 * The cursor borrows its bytes; the caller keeps them alive while it is in use.
 *
 * struct buf_wr is the same idea for output: a write that does not fit sets the sticky
 * error and writes nothing, so a builder checks buf_wr_ok() once when it is done.
 *
 * The readers and writers are static inline: the DNS parser calls them for nearly every
 * octet of a reply, and an out-of-line call cost more than the check itself. The check is
 * the same in every one of them (buf_rd_need / buf_wr_need), and both rely on the one
 * invariant the functions keep: off <= len (reader), len <= cap (writer), so "n more octets
 * fit" is "n <= len - off" and cannot overflow. Set a cursor up with buf_rd_init() or
 * buf_wr_init() and move it only through these functions.
 */
#ifndef UTIL_BUF_H
#define UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf_rd {
	const uint8_t *p; /* borrowed */
	size_t len;
	size_t off;
	bool err;
};

struct buf_wr {
	uint8_t *p; /* borrowed */
	size_t cap;
	size_t len;
	bool err;
};

static inline void
buf_rd_init(struct buf_rd *b, const void *p, size_t len)
{
	b->p = p;
	b->len = len;
	b->off = 0;
	b->err = false;
}

/* True when n more bytes can be read; otherwise the cursor fails for good. */
static inline bool
buf_rd_need(struct buf_rd *b, size_t n)
{
	if (b->err || n > b->len - b->off) {
		b->err = true;
		return false;
	}
	return true;
}

static inline uint8_t
buf_get8(struct buf_rd *b)
{
	if (!buf_rd_need(b, 1))
		return 0;
	return b->p[b->off++];
}

/* Network order. */
static inline uint16_t
buf_get16(struct buf_rd *b)
{
	uint16_t v;

	if (!buf_rd_need(b, 2))
		return 0;
	v = (uint16_t)(b->p[b->off] << 8 | b->p[b->off + 1]);
	b->off += 2;
	return v;
}

/* Network order. */
static inline uint32_t
buf_get32(struct buf_rd *b)
{
	uint32_t v;

	if (!buf_rd_need(b, 4))
		return 0;
	v = (uint32_t)b->p[b->off] << 24 | (uint32_t)b->p[b->off + 1] << 16 |
	    (uint32_t)b->p[b->off + 2] << 8 | (uint32_t)b->p[b->off + 3];
	b->off += 4;
	return v;
}

/* Copies n bytes to out (which may be NULL to skip them); zeros out on failure. */
static inline void
buf_get(struct buf_rd *b, void *out, size_t n)
{
	if (!buf_rd_need(b, n)) {
		if (out != NULL && n > 0)
			memset(out, 0, n);
		return;
	}
	if (out != NULL && n > 0)
		memcpy(out, b->p + b->off, n);
	b->off += n;
}

static inline void
buf_skip(struct buf_rd *b, size_t n)
{
	if (buf_rd_need(b, n))
		b->off += n;
}

/* Moves to an absolute offset inside the buffer (compression pointers). */
static inline void
buf_seek(struct buf_rd *b, size_t off)
{
	if (b->err || off > b->len) {
		b->err = true;
		return;
	}
	b->off = off;
}

static inline size_t
buf_left(const struct buf_rd *b)
{
	return b->err ? 0 : b->len - b->off;
}

static inline bool
buf_rd_ok(const struct buf_rd *b)
{
	return !b->err;
}

static inline void
buf_rd_fail(struct buf_rd *b)
{
	b->err = true;
}

static inline void
buf_wr_init(struct buf_wr *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = false;
}

/* True when n more bytes fit; otherwise the writer fails for good. */
static inline bool
buf_wr_need(struct buf_wr *w, size_t n)
{
	if (w->err || n > w->cap - w->len) {
		w->err = true;
		return false;
	}
	return true;
}

static inline void
buf_put(struct buf_wr *w, const void *p, size_t n)
{
	if (!buf_wr_need(w, n))
		return;
	if (n > 0)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

static inline void
buf_put8(struct buf_wr *w, uint8_t v)
{
	if (!buf_wr_need(w, 1))
		return;
	w->p[w->len++] = v;
}

/* Network order. */
static inline void
buf_put16(struct buf_wr *w, uint16_t v)
{
	if (!buf_wr_need(w, 2))
		return;
	w->p[w->len] = (uint8_t)(v >> 8);
	w->p[w->len + 1] = (uint8_t)v;
	w->len += 2;
}

/* Network order. */
static inline void
buf_put32(struct buf_wr *w, uint32_t v)
{
	if (!buf_wr_need(w, 4))
		return;
	w->p[w->len] = (uint8_t)(v >> 24);
	w->p[w->len + 1] = (uint8_t)(v >> 16);
	w->p[w->len + 2] = (uint8_t)(v >> 8);
	w->p[w->len + 3] = (uint8_t)v;
	w->len += 4;
}

/* Overwrites a 16-bit value already written at off (lengths known only afterwards). */
void buf_patch16(struct buf_wr *, size_t, uint16_t);

static inline bool
buf_wr_ok(const struct buf_wr *w)
{
	return !w->err;
}

#endif
