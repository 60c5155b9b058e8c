/*
 * t_conf_users — the AUTH users file: hashes made at test time with crypt_r() from
 * crypt_gensalt_rn() settings ("$y$" yescrypt, Debian's default, and "$6$" SHA-512);
 * right and wrong passwords, lengths that are not C strings, unknown users (and that they
 * still cost a crypt), malformed lines with their FILE:LINE messages.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "tap.h"

static char dir[] = "/tmp/t_conf_users.XXXXXX";
static char path[256];
static char err[1024];
static char yhash[CRYPT_OUTPUT_SIZE], shash[CRYPT_OUTPUT_SIZE];

static void
write_file(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0)
		abort();
}

static void
make_hash(const char *prefix, const char *pw, char *out)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;

	if (cd == NULL || crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof(setting)) == NULL)
		abort();
	h = crypt_r(pw, setting, cd);
	if (h == NULL || h[0] == '*')
		abort();
	snprintf(out, CRYPT_OUTPUT_SIZE, "%s", h);
	free(cd);
}

static bool
check(const struct conf_users *u, const char *name, const char *pw)
{
	return conf_users_check(u, name, pw, strlen(pw));
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_good(void)
{
	struct conf_users *u;
	char text[2048], longpw[700];
	double t0, known, unknown;

	ok(strncmp(yhash, "$y$", 3) == 0, "yescrypt hash made: %.12s...", yhash);
	ok(strncmp(shash, "$6$", 3) == 0, "SHA-512 hash made: %.12s...", shash);
	snprintf(text, sizeof(text),
	    "# users of the test\n"
	    "\n"
	    "alice:%s\n"
	    "   # indented comment\n"
	    "  bob@example.org:%s  \r\n"
	    "c.d_e+f-g:%s",
	    yhash, shash, shash);
	write_file(text, strlen(text));
	u = conf_users_load(path, err, sizeof(err));
	if (!ok(u != NULL, "users file loads"))
		diag("%s", err);
	is_str(err, "", "no error");
	ok(check(u, "alice", "correct horse"), "alice, right password (yescrypt)");
	ok(!check(u, "alice", "correct hors"), "alice, a prefix of it");
	ok(!check(u, "alice", "correct horsee"), "alice, one byte more");
	ok(!check(u, "alice", "Correct horse"), "alice, case differs");
	ok(!check(u, "alice", ""), "alice, empty password");
	ok(!check(u, "alice", "battery staple"), "alice, bob's password");
	ok(check(u, "bob@example.org", "battery staple"), "bob, right password (SHA-512)");
	ok(!check(u, "bob@example.org", "correct horse"), "bob, alice's password");
	ok(check(u, "c.d_e+f-g", "battery staple"), "every name character");
	ok(!check(u, "Alice", "correct horse"), "names are case-sensitive");
	ok(!check(u, "carol", "correct horse"), "unknown user with alice's password");
	ok(!check(u, "", "correct horse"), "empty name");
	ok(!conf_users_check(u, NULL, "correct horse", 13), "NULL name");
	ok(conf_users_check(u, "alice", "correct horse battery", 13),
	    "pwlen counts, not the NUL: 13 bytes of a longer buffer");
	ok(!conf_users_check(u, "alice", "correct horse\0x", 15), "a NUL inside never matches");
	ok(!conf_users_check(u, "alice", "correct horse\0", 14), "nor a trailing NUL");
	memset(longpw, 'a', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	ok(!check(u, "alice", longpw), "a 699-byte password is refused, not cut");
	ok(!conf_users_check(NULL, "alice", "correct horse", 13), "no users file: nobody");

	/*
	 * An unknown name costs a crypt too. Loose bound (sanitizers and valgrind change
	 * speeds): the unknown name must take at least a fifth of a known one's time.
	 */
	t0 = seconds();
	for (int i = 0; i < 3; i++)
		(void)check(u, "alice", "wrong");
	known = seconds() - t0;
	t0 = seconds();
	for (int i = 0; i < 3; i++)
		(void)check(u, "nobody-here", "wrong");
	unknown = seconds() - t0;
	ok(unknown * 5 >= known, "unknown name takes comparable time (%.1f ms vs %.1f ms)",
	    unknown * 1000 / 3, known * 1000 / 3);
	conf_users_free(u);
	conf_users_free(NULL);

	/* An empty file: nobody, and the fixed dummy hash still runs. */
	write_file("# nobody yet\n", 13);
	u = conf_users_load(path, err, sizeof(err));
	ok(u != NULL, "a file of comments loads");
	t0 = seconds();
	ok(!check(u, "alice", "correct horse"), "nobody can log in");
	ok(seconds() - t0 > 0.001, "and the dummy crypt ran (%.1f ms)", (seconds() - t0) * 1000);
	conf_users_free(u);
}

struct bad {
	const char *text; /* %s: a valid yescrypt hash */
	const char *err;  /* after "PATH:" */
};

static const struct bad bad[] = {
    {"alice\n", "1: missing ':'"},
    {"# c\nalice %s\n", "2: missing ':'"},
    {":%s\n", "1: bad user name"},
    {"al ice:%s\n", "1: bad user name"},
    {" alice :%s\n", "1: bad user name"},
    {"al/ice:%s\n", "1: bad user name"},
    {"al\xc3\xa9:%s\n", "1: bad user name"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:%s\n", "1: bad user name"},
    {"alice:\n", "1: alice: bad or legacy crypt hash"},
    {"alice: %s\n", "1: alice: bad or legacy crypt hash"},
    {"alice:secret\n", "1: alice: bad or legacy crypt hash"},
    {"alice:abJnggxhB/yWI\n", "1: alice: bad or legacy crypt hash"}, /* DES */
    {"alice:$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0\n", "1: alice: bad or legacy crypt hash"},
    {"alice:%s:1000:1000::/home/alice:/bin/sh\n", "1: alice: bad or legacy crypt hash"},
    {"alice:!%s\n", "1: alice: bad or legacy crypt hash"},
    {"alice:*\n", "1: alice: bad or legacy crypt hash"},
    {"alice:%s\nbob:%s\nalice:%s\n", "3: alice: given twice (first on line 1)"},
};

/* Copies tmpl into out with every "%s" replaced by hash. */
static void
fill(char *out, size_t len, const char *tmpl, const char *hash)
{
	size_t n = 0, h = strlen(hash);

	while (*tmpl != '\0' && n + h + 1 < len) {
		if (tmpl[0] == '%' && tmpl[1] == 's') {
			memcpy(out + n, hash, h);
			n += h;
			tmpl += 2;
		} else
			out[n++] = *tmpl++;
	}
	out[n] = '\0';
}

static void
test_bad(void)
{
	char text[2048], want[512], *big;
	struct conf_users *u;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fill(text, sizeof(text), bad[i].text, yhash);
		write_file(text, strlen(text));
		snprintf(want, sizeof(want), "%s:%s", path, bad[i].err);
		u = conf_users_load(path, err, sizeof(err));
		ok(u == NULL, "refused: %s", bad[i].err);
		is_str(err, want, "message %zu", i);
		conf_users_free(u);
	}

	/* A 64-character name is the longest. */
	snprintf(text, sizeof(text), "%.64s:%s\n",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", shash);
	write_file(text, strlen(text));
	u = conf_users_load(path, err, sizeof(err));
	ok(u != NULL, "64-character name accepted");
	conf_users_free(u);

	n = (size_t)snprintf(text, sizeof(text), "alice:%s\nbob:", yhash);
	memcpy(text + n, "x\0y\n", 4);
	write_file(text, n + 4);
	u = conf_users_load(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:2: NUL byte", path);
	ok(u == NULL, "NUL refused");
	is_str(err, want, "message");

	big = malloc(CONF_LINE_MAX + 16);
	if (big == NULL)
		abort();
	memset(big, '#', CONF_LINE_MAX + 1);
	big[CONF_LINE_MAX + 1] = '\n';
	write_file(big, CONF_LINE_MAX + 2);
	u = conf_users_load(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:1: line longer than 4096 bytes", path);
	ok(u == NULL, "over-long line refused");
	is_str(err, want, "message");
	free(big);

	unlink(path);
	u = conf_users_load(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ok(u == NULL, "missing file");
	is_str(err, want, "message");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/users", dir);
	make_hash("$y$", "correct horse", yhash);
	make_hash("$6$", "battery staple", shash);
	test_good();
	test_bad();
	unlink(path);
	rmdir(dir);
	return done_testing();
}
