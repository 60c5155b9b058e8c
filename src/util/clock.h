/*
 * clock — monotonic milliseconds for deadlines and wall-clock seconds for TTLs shown to
 * people. Deadlines never use the wall clock: it can jump.
 */
#ifndef UTIL_CLOCK_H
#define UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

uint64_t clock_ms(void); /* CLOCK_MONOTONIC, milliseconds */
uint64_t clock_us(void); /* CLOCK_MONOTONIC, microseconds */
/* Wall-clock seconds since t (a time(2) value), with fractions: a message's delay= in logs. */
double clock_since(time_t t);

#endif
