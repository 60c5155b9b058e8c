/*
 * log — see log.h. Writes whole lines with one write(2) so concurrent processes sharing
 * stderr do not interleave inside a line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "util/log.h"

static const char *log_prog = "mxd";
static bool	   log_debug_on;

void
log_init(const char *progname, bool debug)
{
	log_prog = progname;
	log_debug_on = debug;
}

void
log_setdebug(bool on)
{
	log_debug_on = on;
}

static void
log_vline(const char *tag, int err, const char *fmt, va_list ap)
{
	char	line[LOG_LINE_MAX];
	int	n, m;
	size_t	len;

	n = snprintf(line, sizeof(line), "%s: %s", log_prog, tag);
	if (n < 0)
		return;
	len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	m = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (m > 0)
		len += (size_t)m < sizeof(line) - len ? (size_t)m : sizeof(line) - len - 1;
	if (err != 0 && sizeof(line) - len > 3) {
		m = snprintf(line + len, sizeof(line) - len, ": %s", strerror(err));
		if (m > 0)
			len += (size_t)m < sizeof(line) - len ? (size_t)m
							      : sizeof(line) - len - 1;
	}
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* Nothing sensible is left to do if stderr itself fails. */
	if (write(STDERR_FILENO, line, len) == -1)
		return;
}

#define LOG_BODY(tag, err)                         \
	do {                                       \
		va_list ap;                        \
		va_start(ap, fmt);                 \
		log_vline(tag, err, fmt, ap);      \
		va_end(ap);                        \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY("", saved);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY("", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY("", 0);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_debug_on)
		return;
	LOG_BODY("debug: ", 0);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY("fatal: ", saved);
	exit(EX_SOFTWARE);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal: ", 0);
	exit(EX_SOFTWARE);
}
