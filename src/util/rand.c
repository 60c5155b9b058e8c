/*
 * rand — kernel CSPRNG with a small per-process pool. See rand.h.
 *
 * The pool is refilled from getrandom(2) 256 bytes at a time and every byte handed out is
 * wiped from it, so a later memory disclosure does not reveal values already used. The
 * pool is per-process: a pthread_atfork() child handler wipes it in every fork() child,
 * so parent and child never hand out the same bytes (and no getpid() call per draw).
 */
#include <sys/random.h>
#include <sys/types.h>

#include <pthread.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/rand.h"

#define RAND_POOL 256

static uint8_t pool[RAND_POOL];
static size_t pool_left;
static bool pool_hooked;

static void
rand_forget(void)
{
	explicit_bzero(pool, sizeof(pool));
	pool_left = 0;
}

static void
rand_kernel(void *p, size_t n)
{
	uint8_t *b = p;
	ssize_t r;

	while (n > 0) {
		r = getrandom(b, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		b += r;
		n -= (size_t)r;
	}
}

void
rand_bytes(void *p, size_t n)
{
	uint8_t *out = p;
	size_t k;

	if (!pool_hooked) {
		if (pthread_atfork(NULL, NULL, rand_forget) != 0)
			fatalx("pthread_atfork");
		pool_hooked = true;
	}
	if (n > RAND_POOL) {
		rand_kernel(p, n);
		return;
	}
	while (n > 0) {
		if (pool_left == 0) {
			rand_kernel(pool, RAND_POOL);
			pool_left = RAND_POOL;
		}
		k = n < pool_left ? n : pool_left;
		memcpy(out, pool + RAND_POOL - pool_left, k);
		explicit_bzero(pool + RAND_POOL - pool_left, k);
		pool_left -= k;
		out += k;
		n -= k;
	}
}

uint16_t
rand_u16(void)
{
	uint16_t v;

	rand_bytes(&v, sizeof(v));
	return v;
}

uint32_t
rand_u32(void)
{
	uint32_t v;

	rand_bytes(&v, sizeof(v));
	return v;
}

uint32_t
rand_uniform(uint32_t bound)
{
	uint32_t r, min;

	if (bound < 2)
		return 0;
	/* Reject the low values that would make some residues more likely. */
	min = -bound % bound;
	do
		r = rand_u32();
	while (r < min);
	return r % bound;
}
