/*
 * clock — see clock.h.
 */
#include <time.h>

#include "util/clock.h"
#include "util/log.h"

uint64_t
clock_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t
clock_ms(void)
{
	return clock_us() / 1000u;
}

double
clock_since(time_t t)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (double)(ts.tv_sec - t) + (double)ts.tv_nsec / 1e9;
}
