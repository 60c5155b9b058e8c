/*
 * log — see log.h. Writes whole lines with one write(2) so concurrent processes sharing
 * stderr do not interleave inside a line.
 */
#include <bsd/string.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static const char *log_prog = "mxd";
static bool log_debug_on;
static bool log_syslog;
static bool log_file; /* a file: lines are syslog-shaped, for pflogsumm and fail2ban */
static char log_host[256];

void
log_init(const char *progname, bool debug)
{
	log_prog = progname;
	log_debug_on = debug;
	/* A child process names itself in syslog too (mxd/queue, mxd/smtp, ...). */
	if (log_syslog)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int
log_open(const char *dest)
{
	int fd;

	if (strcmp(dest, "stderr") == 0)
		return 0;
	if (strcmp(dest, "syslog") == 0) {
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_syslog = true;
		return 0;
	}
	fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd == -1)
		return -1;
	log_file = true;
	if (gethostname(log_host, sizeof(log_host)) == -1 || log_host[0] == '\0')
		strlcpy(log_host, "localhost", sizeof(log_host));
	log_host[strcspn(log_host, ".")] = '\0'; /* syslog's short name */
	if (dup2(fd, STDERR_FILENO) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void
log_setdebug(bool on)
{
	log_debug_on = on;
}

static void
log_vline(const char *tag, int err, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n, m;
	size_t len;

	if (log_file) {
		/* "Nov 28 08:00:00 host mxd/smtp[123]: ...", as syslogd writes /var/log/mail.log */
		time_t now = time(NULL);
		struct tm tm;
		char stamp[32];

		(void)strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", localtime_r(&now, &tm));
		n = snprintf(line, sizeof(line), "%s %s %s[%d]: %s", stamp, log_host, log_prog,
		    (int)getpid(), tag);
	} else {
		n = snprintf(line, sizeof(line), "%s: %s", log_prog, tag);
	}
	if (n < 0)
		return;
	len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	m = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (m > 0)
		len += (size_t)m < sizeof(line) - len ? (size_t)m : sizeof(line) - len - 1;
	if (err != 0 && sizeof(line) - len > 3) {
		m = snprintf(line + len, sizeof(line) - len, ": %s", strerror(err));
		if (m > 0)
			len += (size_t)m < sizeof(line) - len ? (size_t)m : sizeof(line) - len - 1;
	}
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	/* One event, one line: control octets from the network or a local user (a CR or LF
	   in an address or a file name) can never forge a line of their own. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	if (log_syslog) {
		/* The program name and pid come from openlog(); skip our own prefix. */
		size_t skip = strlen(log_prog) + 2;

		line[len] = '\0';
		syslog(err != 0 || tag[0] != '\0' ? LOG_WARNING : LOG_INFO, "%s",
		    len > skip ? line + skip : line);
		return;
	}
	line[len++] = '\n';
	/* Nothing sensible is left to do if stderr itself fails. */
	if (write(STDERR_FILENO, line, len) == -1)
		return;
}

#define LOG_BODY(tag, err)                                                                         \
	do {                                                                                       \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vline(tag, err, fmt, ap);                                                      \
		va_end(ap);                                                                        \
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
log_info_as(const char *prog, const char *fmt, ...)
{
	const char *saved = log_prog;

	log_init(prog, log_debug_on);
	LOG_BODY("", 0);
	log_init(saved, log_debug_on);
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
