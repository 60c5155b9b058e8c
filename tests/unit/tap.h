/*
 * tap.h — a tiny TAP producer for unit tests. Each binary calls plan_lazy() or not at all,
 * reports with ok()/is_int()/is_str()/is_mem(), and returns done_testing() from main.
 * Output is TAP 13 for prove(1).
 */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_fail;

static bool __attribute__((format(printf, 2, 3), unused)) ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_fail++;
	fflush(stdout);
	return cond;
}

#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (!ok(g_ == w_, __VA_ARGS__))                                                    \
			printf("#   got %lld, want %lld (%s:%d)\n", g_, w_, __FILE__, __LINE__);   \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!ok(g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0, __VA_ARGS__))             \
			printf("#   got \"%s\", want \"%s\" (%s:%d)\n", g_ ? g_ : "(null)",        \
			    w_ ? w_ : "(null)", __FILE__, __LINE__);                               \
	} while (0)

#define is_mem(got, want, n, ...)                                                                  \
	do {                                                                                       \
		if (!ok(memcmp((got), (want), (n)) == 0, __VA_ARGS__))                             \
			printf("#   bytes differ (%s:%d)\n", __FILE__, __LINE__);                  \
	} while (0)

static void __attribute__((format(printf, 1, 2), unused)) diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Entries of dir but "." and "..", dot files included; -1 when it cannot be opened. */
static int __attribute__((unused)) tap_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* TAP's "Bail out!" with what failed and errno's text; the test stops. */
static void __attribute__((unused, noreturn)) tap_bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Removes a test's temporary directory (made by mkdtemp, so its name needs no quoting). */
static void __attribute__((unused)) tap_rmtree(const char *dir)
{
	char cmd[512];

	if ((size_t)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) >= sizeof(cmd) ||
	    system(cmd) != 0)
		diag("could not remove %s", dir);
}

static int __attribute__((unused)) done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_fail == 0 ? 0 : 1;
}

#endif
