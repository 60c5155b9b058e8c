/*
 * queue_alias — the aliases file and recursive expansion of local recipients.
 *
 * Format, one entry per line:
 *
 *   # comment (only where a line starts with '#': '#' is legal inside a local part)
 *   postmaster: root
 *   root:       alice, bob@example.net
 *   alice:      alice, alice@elsewhere.example     # not a comment: an error
 *
 * A key is a local part, matched case-insensitively (stored lower-cased). A target is a
 * local part, which is expanded again, or a full address local@domain, which is final: it
 * goes to its domain's delivery, local or remote, and is never expanded here (so no loop
 * can run through a domain). A key listing itself ("alice: alice, …") means its own
 * mailbox, the sendmail idiom for "keep a copy". Pipes, files and :include: are not
 * supported and are refused, not ignored.
 *
 * Errors in the file are "FILE:LINE: reason": a line longer than ALIAS_LINE_MAX, a NUL, no
 * ':', an empty or malformed key or target, a duplicate key, more than ALIAS_ENTRIES_MAX
 * entries. The whole load fails; mxd refuses to start rather than deliver by half a table.
 *
 * Expansion is depth-first in file order, each output address once (local parts
 * lower-cased, full addresses with the domain lower-cased, then compared exactly). An
 * alias on the current expansion path that comes back is a loop (ELOOP); nesting deeper
 * than ALIAS_DEPTH_MAX is too (ELOOP); more than max or ALIAS_EXPAND_MAX outputs is E2BIG.
 * An alias already expanded in this call is not expanded twice (its addresses are already
 * out), so the work is bounded by the size of the table, whatever its shape.
 */
#include <bsd/string.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"

#define ALIAS_KEY_MAX (SMTP_LOCAL_MAX * 4) /* octets, as struct smtp_path's local */

struct alias_ent {
	char *key;
	char **target;
	size_t ntarget;
};

struct alias_map {
	struct alias_ent *e; /* sorted by key after loading */
	size_t n;
};

/* atext (RFC 5322 §3.2.3), '.', and UTF-8 octets (RFC 6531); no '@', no spaces. */
static bool
local_ok(const char *s, size_t len)
{
	size_t i;
	unsigned char c;

	if (len == 0 || len > ALIAS_KEY_MAX)
		return false;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c)))
			continue;
		return false;
	}
	return true;
}

/* A domain name or an address literal, loosely: the SMTP parser checked real ones. */
static bool
domain_ok(const char *s, size_t len)
{
	size_t i;
	unsigned char c;

	if (len == 0 || len > SMTP_DOMAIN_MAX)
		return false;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '[' || c == ']' ||
		    c == ':')
			continue;
		return false;
	}
	return true;
}

static void
lower(char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] + 32);
}

static char *
trim(char *s, char **end)
{
	char *e = *end;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*end = e;
	return s;
}

static void
ent_free(struct alias_ent *e)
{
	size_t i;

	for (i = 0; i < e->ntarget; i++)
		free(e->target[i]);
	free(e->target);
	free(e->key);
}

void
alias_free(struct alias_map *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		ent_free(&m->e[i]);
	free(m->e);
	free(m);
}

static int
ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct alias_ent *)a)->key, ((const struct alias_ent *)b)->key);
}

static const struct alias_ent *
lookup(const struct alias_map *m, const char *key)
{
	struct alias_ent k;

	if (m == NULL || m->n == 0)
		return NULL;
	k.key = (char *)(uintptr_t)key; /* bsearch's key is const in spirit */
	return bsearch(&k, m->e, m->n, sizeof(k), ent_cmp);
}

/* Parses one non-comment line into e. NULL, or the reason it is wrong. */
static const char *
parse_line(char *s, char *end, struct alias_ent *e)
{
	char *colon, *k, *ke, *t, *te, *at, *sign, **nt;
	size_t len;

	memset(e, 0, sizeof(*e));
	colon = memchr(s, ':', (size_t)(end - s));
	if (colon == NULL)
		return "expected \"local: target, ...\"";
	ke = colon;
	k = trim(s, &ke);
	if (!local_ok(k, (size_t)(ke - k)))
		return "bad alias name";
	e->key = strndup(k, (size_t)(ke - k));
	if (e->key == NULL)
		return "out of memory";
	lower(e->key, strlen(e->key));
	for (t = colon + 1; t <= end; t = te + 1) {
		te = memchr(t, ',', (size_t)(end - t));
		if (te == NULL)
			te = end;
		at = te;
		s = trim(t, &at);
		len = (size_t)(at - s);
		if (len == 0)
			return "empty target";
		if (s[0] == '|' || s[0] == '/' || (len >= 9 && strncmp(s, ":include:", 9) == 0))
			return "pipes, files and :include: are not supported";
		sign = memrchr(s, '@', len);
		if (sign != NULL) {
			if (len > SMTP_ADDR_MAX || !local_ok(s, (size_t)(sign - s)) ||
			    !domain_ok(sign + 1, (size_t)(at - sign - 1)))
				return "bad target address";
		} else if (!local_ok(s, len))
			return "bad target local part";
		nt = reallocarray(e->target, e->ntarget + 1, sizeof(*nt));
		if (nt == NULL)
			return "out of memory";
		e->target = nt;
		e->target[e->ntarget] = strndup(s, len);
		if (e->target[e->ntarget] == NULL)
			return "out of memory";
		/* Local parts compare case-insensitively; of a full address only the domain. */
		if (sign == NULL)
			lower(e->target[e->ntarget], len);
		else
			lower(e->target[e->ntarget] + (sign - s), len - (size_t)(sign - s));
		e->ntarget++;
		if (te == end)
			break;
	}
	return NULL;
}

struct alias_map *
alias_load(const char *path, char *err, size_t errlen)
{
	FILE *f;
	struct alias_map *m;
	struct alias_ent e, *ne;
	char *line, *s, *end;
	const char *why = NULL;
	size_t len, i;
	unsigned lineno = 0;
	int c;
	bool eof = false;

	if (errlen > 0)
		err[0] = '\0';
	f = fopen(path, "re");
	if (f == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	line = malloc(ALIAS_LINE_MAX + 1);
	if (m == NULL || line == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", path);
		free(line);
		free(m);
		(void)fclose(f);
		return NULL;
	}
	while (!eof && why == NULL) {
		/* One line, bounded; a NUL would cut a string short, so it is an error. */
		lineno++;
		len = 0;
		for (;;) {
			c = getc(f);
			if (c == EOF) {
				eof = true;
				break;
			}
			if (c == '\n')
				break;
			if (c == '\0') {
				why = "NUL octet";
				break;
			}
			if (len == ALIAS_LINE_MAX) {
				why = "line too long";
				break;
			}
			line[len++] = (char)c;
		}
		if (why != NULL)
			break;
		if (eof && ferror(f)) {
			why = strerror(errno);
			break;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		end = line + len;
		s = trim(line, &end);
		if (s == end || s[0] == '#')
			continue;
		if (m->n == ALIAS_ENTRIES_MAX) {
			why = "too many aliases";
			break;
		}
		why = parse_line(s, end, &e);
		if (why == NULL && lookup(m, e.key) != NULL)
			why = "duplicate alias";
		if (why == NULL) {
			ne = reallocarray(m->e, m->n + 1, sizeof(*ne));
			if (ne == NULL)
				why = "out of memory";
			else
				m->e = ne;
		}
		if (why != NULL) {
			ent_free(&e);
			break;
		}
		/* Insert sorted, so lookups during the load find duplicates. */
		for (i = m->n; i > 0 && strcmp(m->e[i - 1].key, e.key) > 0; i--)
			m->e[i] = m->e[i - 1];
		m->e[i] = e;
		m->n++;
	}
	free(line);
	(void)fclose(f);
	if (why != NULL) {
		(void)snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
		alias_free(m);
		return NULL;
	}
	return m;
}

struct xp {
	const struct alias_map *m;
	char (*out)[SMTP_ADDR_MAX + 1];
	size_t max, n;
	const char *path[ALIAS_DEPTH_MAX + 1];
	bool *done; /* per entry: already expanded in this call */
};

static int
xp_add(struct xp *x, const char *a)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		if (strcmp(x->out[i], a) == 0)
			return 0;
	if (x->n == x->max || strlen(a) > SMTP_ADDR_MAX) {
		errno = E2BIG;
		return -1;
	}
	strlcpy(x->out[x->n++], a, SMTP_ADDR_MAX + 1);
	return 0;
}

static int
xp_expand(struct xp *x, const char *name, size_t depth)
{
	const struct alias_ent *e = lookup(x->m, name);
	size_t i, j, idx;
	const char *t;

	if (e == NULL)
		return xp_add(x, name);
	idx = (size_t)(e - x->m->e);
	if (x->done[idx])
		return 0;
	if (depth == ALIAS_DEPTH_MAX) {
		errno = ELOOP;
		return -1;
	}
	x->path[depth] = e->key;
	for (i = 0; i < e->ntarget; i++) {
		t = e->target[i];
		if (strchr(t, '@') != NULL || strcmp(t, e->key) == 0) {
			if (xp_add(x, t) == -1)
				return -1;
			continue;
		}
		for (j = 0; j < depth; j++)
			if (strcmp(x->path[j], t) == 0) {
				errno = ELOOP;
				return -1;
			}
		if (xp_expand(x, t, depth + 1) == -1)
			return -1;
	}
	x->done[idx] = true;
	return 0;
}

int
alias_expand(const struct alias_map *m, const char *local, char out[][SMTP_ADDR_MAX + 1],
    size_t max, size_t *n)
{
	struct xp x;
	char key[SMTP_ADDR_MAX + 1];
	size_t len = strlen(local);
	int rc;

	*n = 0;
	if (len > SMTP_ADDR_MAX) {
		errno = E2BIG;
		return -1;
	}
	memcpy(key, local, len + 1);
	lower(key, len);
	memset(&x, 0, sizeof(x));
	x.m = m;
	x.out = out;
	x.max = max < ALIAS_EXPAND_MAX ? max : ALIAS_EXPAND_MAX;
	x.done = calloc(m == NULL || m->n == 0 ? 1 : m->n, sizeof(*x.done));
	if (x.done == NULL)
		return -1;
	rc = xp_expand(&x, key, 0);
	free(x.done);
	*n = rc == 0 ? x.n : 0;
	return rc;
}
