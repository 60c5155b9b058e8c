/*
 * t_alias — the aliases file: parsing (comments, CRLF, case), every load error with its
 * FILE:LINE, and expansion (recursion, self-reference, dedup, loops, depth, size limits,
 * a table shaped to make naive recursion exponential).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"
#include "tap.h"

static char tmpdir[] = "/tmp/t_alias.XXXXXX";
static char path[300];
static char out[ALIAS_EXPAND_MAX + 10][SMTP_ADDR_MAX + 1];

static void
put(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
}

static struct alias_map *
load(const char *text, char *err, size_t errlen)
{
	put(text, strlen(text));
	return alias_load(path, err, errlen);
}

/* Expands and joins the output with spaces; "ERR:<errno name>" on failure. */
static const char *
xp(const struct alias_map *m, const char *local, size_t max)
{
	static char buf[65536];
	size_t n, i, o = 0;

	if (alias_expand(m, local, out, max, &n) == -1) {
		snprintf(buf, sizeof(buf), "ERR:%s",
		    errno == ELOOP       ? "ELOOP"
			: errno == E2BIG ? "E2BIG"
					 : "other");
		return buf;
	}
	buf[0] = '\0';
	for (i = 0; i < n && o < sizeof(buf) - SMTP_ADDR_MAX - 2; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? " " : "", out[i]);
	return buf;
}

static void
t_expand(void)
{
	static const char text[] =
	    "# the usual ones\n"
	    "\n"
	    "Postmaster: root\r\n"
	    "root:\talice , Bob@Example.NET\n"
	    "   # an indented comment\n"
	    "keep: keep, archive\n"
	    "list: alice, team, bob@example.net\n"
	    "team: alice, carol, ALICE\n"
	    "loop1: loop2\n"
	    "loop2: loop3\n"
	    "loop3: loop1\n"
	    "self2: x, self2\n"
	    "ch0: ch1\nch1: ch2\nch2: ch3\nch3: ch4\nch4: ch5\nch5: ch6\nch6: ch7\n"
	    "ch7: end\n"
	    "dd0: dd1\ndd1: dd2\ndd2: dd3\ndd3: dd4\ndd4: dd5\ndd5: dd6\ndd6: dd7\n"
	    "dd7: dd8\ndd8: end\n"
	    "three: a, b, c\n"
	    "u\xc3\xa9: jos\xc3\xa9\n"
	    "hash#tag: plus+box\n"
	    "last: no-newline";
	struct alias_map *m;
	char err[300];

	m = load(text, err, sizeof(err));
	ok(m != NULL, "good file loads (%s)", err);
	if (m == NULL)
		return;
	is_str(xp(m, "nobody", 10), "nobody", "unknown local part gives itself");
	is_str(xp(m, "NoBody", 10), "nobody", "lower-cased");
	is_str(xp(m, "postmaster", 10), "alice Bob@example.net",
	    "two levels; domain lower-cased, remote local part kept");
	is_str(xp(m, "POSTMASTER", 10), "alice Bob@example.net", "keys case-insensitive");
	is_str(xp(m, "keep", 10), "keep archive", "a key listing itself keeps its mailbox");
	is_str(xp(m, "self2", 10), "x self2", "self-reference anywhere in the list");
	is_str(xp(m, "list", 10), "alice carol bob@example.net", "duplicates removed, first order");
	is_str(xp(m, "loop1", 10), "ERR:ELOOP", "a three-alias cycle is a loop");
	is_str(xp(m, "loop3", 10), "ERR:ELOOP", "from any point of it");
	is_str(xp(m, "ch0", 10), "end", "8 nested aliases expand");
	is_str(xp(m, "dd0", 10), "ERR:ELOOP", "9 nested aliases are too deep");
	is_str(xp(m, "three", 3), "a b c", "exactly max outputs");
	is_str(xp(m, "three", 2), "ERR:E2BIG", "max + 1 outputs: E2BIG");
	is_str(xp(m, "three", 0), "ERR:E2BIG", "max 0");
	is_str(xp(m, "U\xc3\xa9", 10), "jos\xc3\xa9", "UTF-8 keys and targets");
	is_str(xp(m, "Hash#Tag", 10), "plus+box", "'#' inside a key is not a comment");
	is_str(xp(m, "last", 10), "no-newline", "last line without a newline");
	is_str(xp(NULL, "Alice", 10), "alice", "no alias map: the local part itself");
	alias_free(m);
	alias_free(NULL);
}

static void
t_shapes(void)
{
	char *text = malloc(1 << 20), err[300];
	struct alias_map *m;
	const char *r;
	size_t o = 0, i, j, lvl, n;

	/*
	 * 8 levels of 30 aliases, each listing all 30 of the next level: 30^8 paths for a
	 * naive recursion, 240 expansions with the done-set.
	 */
	for (lvl = 0; lvl < 8; lvl++)
		for (i = 0; i < 30; i++) {
			o += (size_t)snprintf(text + o, 64, "f%zu_%zu:", lvl, i);
			for (j = 0; j < 30; j++) {
				if (lvl == 7)
					o += (size_t)snprintf(
					    text + o, 64, "%s end%zu", j ? "," : "", j);
				else
					o += (size_t)snprintf(
					    text + o, 64, "%s f%zu_%zu", j ? "," : "", lvl + 1, j);
			}
			text[o++] = '\n';
		}
	/* Two halves of 500 addresses, and of 501. */
	o += (size_t)snprintf(text + o, 64, "half: g1, g2\nover: g1, g3\n");
	for (lvl = 1; lvl <= 3; lvl++) {
		o += (size_t)snprintf(text + o, 64, "g%zu:", lvl);
		n = lvl == 3 ? 501 : 500;
		for (j = 0; j < n; j++)
			o += (size_t)snprintf(
			    text + o, 64, "%s %c%zu", j ? "," : "", lvl == 1 ? 'a' : 'b', j);
		text[o++] = '\n';
	}
	text[o] = '\0';
	m = load(text, err, sizeof(err));
	ok(m != NULL, "shape file loads (%s)", err);
	if (m != NULL) {
		r = xp(m, "f0_0", ALIAS_EXPAND_MAX);
		ok(strncmp(r, "end0 end1 ", 10) == 0 && strstr(r, "end29") != NULL,
		    "30^8 paths expand quickly to 30 addresses");
		r = xp(m, "half", ALIAS_EXPAND_MAX);
		ok(strncmp(r, "a0 a1", 5) == 0 && strstr(r, "b499") != NULL,
		    "exactly ALIAS_EXPAND_MAX addresses");
		is_str(xp(m, "over", ALIAS_EXPAND_MAX + 5), "ERR:E2BIG",
		    "ALIAS_EXPAND_MAX + 1: E2BIG whatever max says");
	}
	alias_free(m);
	free(text);
}

static void
t_errors(void)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
	    {"a: b\nno colon here\n", ":2: expected"},
	    {": b\n", ":1: bad alias name"},
	    {"a b: c\n", ":1: bad alias name"},
	    {"a@b: c\n", ":1: bad alias name"},
	    {"a:\n", ":1: empty target"},
	    {"a: b,\n", ":1: empty target"},
	    {"a: b,,c\n", ":1: empty target"},
	    {"a: b c\n", ":1: bad target local part"},
	    {"a: |/bin/sh\n", ":1: pipes, files and :include: are not supported"},
	    {"a: /tmp/x\n", ":1: pipes, files"},
	    {"a: :include:/etc/x\n", ":1: pipes, files"},
	    {"a: @x\n", ":1: bad target address"},
	    {"a: b@\n", ":1: bad target address"},
	    {"a: b@x y\n", ":1: bad target"},
	    {"a: b@exa_mple\n", ":1: bad target address"},
	    {"a: \"q\"@x\n", ":1: bad target address"},
	    {"a: b\n\n# c\nA: c\n", ":4: duplicate alias"},
	    {"a: b\x01\n", ":1: bad target local part"},
	};
	char err[300], *big;
	struct alias_map *m;
	size_t i, o;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = load(bad[i].text, err, sizeof(err));
		ok(m == NULL && strncmp(err, path, strlen(path)) == 0 &&
			strstr(err + strlen(path), bad[i].err) == err + strlen(path),
		    "error %zu: \"%s\"", i, err);
		alias_free(m);
	}
	put("a: b\nc: d\0e\n", 12);
	m = alias_load(path, err, sizeof(err));
	ok(m == NULL && strstr(err, ":2: NUL octet") != NULL, "NUL octet: %s", err);

	big = malloc(ALIAS_LINE_MAX * 2 + 100);
	memcpy(big, "a: ", 3);
	memset(big + 3, 'b', ALIAS_LINE_MAX - 3);
	memcpy(big + ALIAS_LINE_MAX, "\n", 2);
	m = load(big, err, sizeof(err));
	ok(m == NULL && strstr(err, ":1: bad target local part") != NULL,
	    "a line of exactly ALIAS_LINE_MAX is read (its target is too long): %s", err);
	memset(big + 2, ' ', ALIAS_LINE_MAX - 3);
	big[ALIAS_LINE_MAX - 1] = 'b';
	m = load(big, err, sizeof(err));
	ok(m != NULL, "a line of exactly ALIAS_LINE_MAX octets is fine (%s)", err);
	alias_free(m);
	memset(big + 3, 'b', ALIAS_LINE_MAX - 2);
	memcpy(big + ALIAS_LINE_MAX + 1, "\n", 2);
	m = load(big, err, sizeof(err));
	ok(m == NULL && strstr(err, ":1: line too long") != NULL, "one octet more: %s", err);
	free(big);

	big = malloc((ALIAS_ENTRIES_MAX + 2) * 32);
	for (i = 0, o = 0; i < ALIAS_ENTRIES_MAX; i++)
		o += (size_t)snprintf(big + o, 32, "k%zu: t\n", i);
	m = load(big, err, sizeof(err));
	ok(m != NULL, "ALIAS_ENTRIES_MAX entries load");
	alias_free(m);
	snprintf(big + o, 32, "one: more\n");
	m = load(big, err, sizeof(err));
	ok(m == NULL && strstr(err, ":1001: too many aliases") != NULL, "one more: %s", err);
	free(big);

	snprintf(err, sizeof(err), "unset");
	m = alias_load("/nonexistent/aliases", err, sizeof(err));
	ok(m == NULL && strcmp(err, "/nonexistent/aliases: No such file or directory") == 0,
	    "missing file: %s", err);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/aliases", tmpdir);
	t_expand();
	t_shapes();
	t_errors();
	(void)unlink(path);
	(void)rmdir(tmpdir);
	return done_testing();
}
