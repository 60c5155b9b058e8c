/*
 * base64 — RFC 4648 §4 encoding and strict decoding (no whitespace, padding required,
 * no data after padding). Used by SMTP AUTH (RFC 4954).
 */
#ifndef UTIL_BASE64_H
#define UTIL_BASE64_H

#include <stddef.h>

/* Returns the decoded length, or -1 on bad input or when out is too small. */
int base64_decode(const char *, size_t, unsigned char *out, size_t cap);
/* Writes NUL-terminated text; returns its length, or -1 when out is too small. */
int base64_encode(const unsigned char *, size_t, char *out, size_t cap);

#endif
