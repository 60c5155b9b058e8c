/*
 * json — a tiny streaming JSON writer for our tools' -j output. It only writes; we never
 * parse JSON. Strings are escaped per RFC 8259 §7 (quote, backslash, control characters);
 * bytes >= 0x80 are passed through (our strings are ASCII presentation forms).
 */
#ifndef UTIL_JSON_H
#define UTIL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json {
	FILE *f;
	int depth;
	bool first[32]; /* no element written yet at this depth */
};

void json_init(struct json *, FILE *);
void json_open(struct json *, const char *key, char brace); /* '{' or '[' */
void json_close(struct json *, char brace);
void json_str(struct json *, const char *key, const char *); /* NULL writes null */
void json_int(struct json *, const char *key, long long);
void json_bool(struct json *, const char *key, bool);

#endif
