/*
 * log — one line per event, to stderr (default), syslog or a file.
 *
 * log_warn() appends strerror(errno); log_warnx() does not; fatal()/fatalx() log and exit
 * with status 70 (EX_SOFTWARE). Lines longer than LOG_LINE_MAX are cut, never overflowed.
 */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

#include <stdbool.h>

#define LOG_LINE_MAX 2048

void log_init(const char *progname, bool debug);
/*
 * Where lines go: "stderr", "syslog" (facility mail), or a file path (opened for append
 * and put on stderr, so children inherit it). Returns 0, or -1 with errno.
 */
int log_open(const char *dest);
void log_setdebug(bool);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
/* One info line under another program name ("mxd/pickup": what log readers key on). */
void log_info_as(const char *prog, const char *, ...) __attribute__((format(printf, 2, 3)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
