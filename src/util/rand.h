/*
 * rand — unpredictable numbers from the kernel's CSPRNG (getrandom(2)).
 *
 * Everything an off-path attacker must not guess (DNS IDs, 0x20 bits, source ports,
 * cookies) comes from here. There is no seed and no fallback generator: if the kernel
 * cannot give randomness the process stops (fatal), because a predictable value here is
 * exactly CVE-2010-1689. Bytes are drawn in blocks to keep system calls off hot paths.
 */
#ifndef UTIL_RAND_H
#define UTIL_RAND_H

#include <stddef.h>
#include <stdint.h>

void rand_bytes(void *, size_t);
uint16_t rand_u16(void);
uint32_t rand_u32(void);
/* Uniform in [0, bound), without modulo bias; bound 0 returns 0. */
uint32_t rand_uniform(uint32_t);

#endif
