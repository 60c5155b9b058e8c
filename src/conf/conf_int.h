/*
 * conf_int.h — what conf.c shares with conf_users.c: reading a whole file under a size
 * cap, and cutting text into lines under CONF_LINE_MAX. Not for use outside src/conf/.
 */
#ifndef CONF_CONF_INT_H
#define CONF_CONF_INT_H

#include <stddef.h>

#include "conf/conf.h"

#define CONF_FILE_MAX (1024 * 1024) /* bytes in a config, users or similar file */

/*
 * Reads all of path, a regular file of at most CONF_FILE_MAX bytes, into *buf (malloc'd,
 * caller frees; wipe it first when it held secrets). Returns 0, or -1 with "PATH: reason"
 * in err.
 */
int conf_read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen);

/* A cursor over the lines of a text; lineno counts from 1. */
struct conf_lines {
	const char *text;
	size_t len, off, lineno;
};

enum conf_line_status {
	CONF_LINE_OK,   /* line holds the next line, NUL-terminated, without "\n" */
	CONF_LINE_END,  /* no more lines */
	CONF_LINE_LONG, /* more than CONF_LINE_MAX bytes (lineno is that line) */
	CONF_LINE_NUL   /* the line holds a NUL byte */
};

void conf_lines_init(struct conf_lines *, const char *, size_t);
enum conf_line_status conf_lines_next(struct conf_lines *, char line[CONF_LINE_MAX + 1]);

#endif
