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
 */
#ifndef UTIL_BUF_H
#define UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf_rd {
	const uint8_t	*p;	/* borrowed */
	size_t		 len;
	size_t		 off;
	bool		 err;
};

struct buf_wr {
	uint8_t		*p;	/* borrowed */
	size_t		 cap;
	size_t		 len;
	bool		 err;
};

void	 buf_rd_init(struct buf_rd *, const void *, size_t);
uint8_t	 buf_get8(struct buf_rd *);
uint16_t buf_get16(struct buf_rd *);	/* network order */
uint32_t buf_get32(struct buf_rd *);	/* network order */
/* Copies n bytes to out (which may be NULL to skip them). */
void	 buf_get(struct buf_rd *, void *, size_t);
void	 buf_skip(struct buf_rd *, size_t);
/* Moves to an absolute offset inside the buffer (compression pointers). */
void	 buf_seek(struct buf_rd *, size_t);
size_t	 buf_left(const struct buf_rd *);
bool	 buf_rd_ok(const struct buf_rd *);
void	 buf_rd_fail(struct buf_rd *);

void	 buf_wr_init(struct buf_wr *, void *, size_t);
void	 buf_put8(struct buf_wr *, uint8_t);
void	 buf_put16(struct buf_wr *, uint16_t);
void	 buf_put32(struct buf_wr *, uint32_t);
void	 buf_put(struct buf_wr *, const void *, size_t);
/* Overwrites a 16-bit value already written at off (lengths known only afterwards). */
void	 buf_patch16(struct buf_wr *, size_t, uint16_t);
bool	 buf_wr_ok(const struct buf_wr *);

#endif
