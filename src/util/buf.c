/*
 * buf — bounded reader and writer with sticky errors. See buf.h: the readers and writers
 * are static inline there; what is left here is off the hot paths.
 */
#include "util/buf.h"

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
