/*
 * buf — bounded reader and writer with sticky errors. See buf.h.
 */
#include <string.h>

#include "util/buf.h"

void
buf_rd_init(struct buf_rd *b, const void *p, size_t len)
{
	b->p = p;
	b->len = len;
	b->off = 0;
	b->err = false;
}

/* True when n more bytes can be read; otherwise the cursor fails for good. */
static bool
buf_need(struct buf_rd *b, size_t n)
{
	if (b->err || n > b->len - b->off) {
		b->err = true;
		return false;
	}
	return true;
}

uint8_t
buf_get8(struct buf_rd *b)
{
	if (!buf_need(b, 1))
		return 0;
	return b->p[b->off++];
}

uint16_t
buf_get16(struct buf_rd *b)
{
	uint16_t v;

	if (!buf_need(b, 2))
		return 0;
	v = (uint16_t)(b->p[b->off] << 8 | b->p[b->off + 1]);
	b->off += 2;
	return v;
}

uint32_t
buf_get32(struct buf_rd *b)
{
	uint32_t v;

	if (!buf_need(b, 4))
		return 0;
	v = (uint32_t)b->p[b->off] << 24 | (uint32_t)b->p[b->off + 1] << 16 |
	    (uint32_t)b->p[b->off + 2] << 8 | (uint32_t)b->p[b->off + 3];
	b->off += 4;
	return v;
}

void
buf_get(struct buf_rd *b, void *out, size_t n)
{
	if (!buf_need(b, n)) {
		if (out != NULL)
			memset(out, 0, n);
		return;
	}
	if (out != NULL)
		memcpy(out, b->p + b->off, n);
	b->off += n;
}

void
buf_skip(struct buf_rd *b, size_t n)
{
	buf_get(b, NULL, n);
}

void
buf_seek(struct buf_rd *b, size_t off)
{
	if (b->err || off > b->len) {
		b->err = true;
		return;
	}
	b->off = off;
}

size_t
buf_left(const struct buf_rd *b)
{
	return b->err ? 0 : b->len - b->off;
}

bool
buf_rd_ok(const struct buf_rd *b)
{
	return !b->err;
}

void
buf_rd_fail(struct buf_rd *b)
{
	b->err = true;
}

void
buf_wr_init(struct buf_wr *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = false;
}

void
buf_put(struct buf_wr *w, const void *p, size_t n)
{
	if (w->err || n > w->cap - w->len) {
		w->err = true;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

void
buf_put8(struct buf_wr *w, uint8_t v)
{
	buf_put(w, &v, 1);
}

void
buf_put16(struct buf_wr *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	buf_put(w, b, sizeof(b));
}

void
buf_put32(struct buf_wr *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
		(uint8_t)v };

	buf_put(w, b, sizeof(b));
}

void
buf_patch16(struct buf_wr *w, size_t off, uint16_t v)
{
	if (w->err || off > w->len || w->len - off < 2) {
		w->err = true;
		return;
	}
	w->p[off] = (uint8_t)(v >> 8);
	w->p[off + 1] = (uint8_t)v;
}

bool
buf_wr_ok(const struct buf_wr *w)
{
	return !w->err;
}
