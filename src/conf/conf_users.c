/*
 * conf_users — the AUTH credentials file of mxd.conf's `users` key: "name:hash" lines,
 * hash a crypt(5) string checked with libxcrypt's crypt_r().
 *
 * Ownership: conf_users_load() returns a heap object the caller frees with
 * conf_users_free(), which wipes the hashes first. Passwords handed to
 * conf_users_check() are copied only into a heap struct crypt_data (32 KiB: too large
 * for the stack of an event loop) that is wiped with explicit_bzero() before it is freed.
 *
 * Errors: "FILE: reason" when the file cannot be read, "FILE:LINE: reason" for a line
 * that is too long, holds a NUL, lacks the ':', has a bad name, a hash that crypt(5)
 * does not accept as a modern method (legacy DES and MD5 are refused), or a name seen
 * before. The load fails at the first error.
 *
 * Security: (1) The result of crypt_r() is compared with the stored hash in constant
 * time (CRYPTO_memcmp). (2) An unknown name still costs one crypt_r() against a hash of
 * the same method and cost as the file's own (its first entry; a fixed yescrypt hash when
 * the file is empty or there is none), so the reply time does not reveal which names
 * exist. (3) A password holding a NUL byte never matches: crypt would see only the part
 * before the NUL. (4) Passwords longer than CRYPT_MAX_PASSPHRASE_SIZE - 1 never match.
 *
 * Limits: the file is at most CONF_FILE_MAX bytes, a line CONF_LINE_MAX, so the number of
 * users is bounded too.
 */
#include <openssl/crypto.h>

#include <bsd/string.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_int.h"

#define CONF_USER_MAX 64

/*
 * A yescrypt hash (libxcrypt's default cost, "j9T") of a random string nobody knows,
 * used when there is no entry to borrow a hash from.
 */
static const char conf_users_dummy[] =
    "$y$j9T$2i6egjAzUGvZiwf1cMeht1$blSkJeSyXGdtLrVL4YjLzLS8XATGv2ORgnzg48GU7kC";

struct conf_user {
	char name[CONF_USER_MAX + 1];
	char *hash;
	size_t line;
};

struct conf_users {
	struct conf_user *v;
	size_t n, cap;
};

static bool
conf_users_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > CONF_USER_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') || strchr("._@+-", s[i]) != NULL))
			return false;
	return true;
}

/* The alphabet of crypt(5) strings: "./0-9A-Za-z", '$' and the ",=" of parameters. */
static bool
conf_users_hash_ok(const char *h)
{
	size_t i;

	if (h[0] == '\0' || strlen(h) >= CRYPT_OUTPUT_SIZE)
		return false;
	for (i = 0; h[i] != '\0'; i++)
		if (!((h[i] >= 'A' && h[i] <= 'Z') || (h[i] >= 'a' && h[i] <= 'z') ||
			(h[i] >= '0' && h[i] <= '9') || strchr("./$,=", h[i]) != NULL))
			return false;
	return crypt_checksalt(h) == CRYPT_SALT_OK;
}

static const struct conf_user *
conf_users_find(const struct conf_users *u, const char *name)
{
	size_t i;

	for (i = 0; u != NULL && i < u->n; i++)
		if (strcmp(u->v[i].name, name) == 0)
			return &u->v[i];
	return NULL;
}

void
conf_users_free(struct conf_users *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->n; i++) {
		explicit_bzero(u->v[i].hash, strlen(u->v[i].hash));
		free(u->v[i].hash);
	}
	if (u->v != NULL)
		explicit_bzero(u->v, u->cap * sizeof(*u->v));
	free(u->v);
	free(u);
}

/* One non-comment line; 0 or -1 with err set. */
static int
conf_users_line(
    struct conf_users *u, const char *path, size_t lineno, char *line, char *err, size_t errlen)
{
	const struct conf_user *dup;
	struct conf_user *v;
	char *colon, *hash;
	size_t n, cap;

	colon = strchr(line, ':');
	if (colon == NULL) {
		(void)snprintf(err, errlen, "%s:%zu: missing ':'", path, lineno);
		return -1;
	}
	n = (size_t)(colon - line);
	if (!conf_users_name_ok(line, n)) {
		/* The name is not echoed: a password pasted by mistake would end up in logs. */
		(void)snprintf(err, errlen, "%s:%zu: bad user name", path, lineno);
		return -1;
	}
	*colon = '\0';
	hash = colon + 1;
	if (!conf_users_hash_ok(hash)) {
		(void)snprintf(
		    err, errlen, "%s:%zu: %s: bad or legacy crypt hash", path, lineno, line);
		return -1;
	}
	dup = conf_users_find(u, line);
	if (dup != NULL) {
		(void)snprintf(err, errlen, "%s:%zu: %s: given twice (first on line %zu)", path,
		    lineno, line, dup->line);
		return -1;
	}
	if (u->n == u->cap) {
		cap = u->cap == 0 ? 16 : u->cap * 2;
		v = reallocarray(u->v, cap, sizeof(*v));
		if (v == NULL) {
			(void)snprintf(err, errlen, "%s: out of memory", path);
			return -1;
		}
		u->v = v;
		u->cap = cap;
	}
	v = &u->v[u->n];
	memcpy(v->name, line, n + 1);
	v->hash = strdup(hash);
	if (v->hash == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	v->line = lineno;
	u->n++;
	return 0;
}

struct conf_users *
conf_users_load(const char *path, char *err, size_t errlen)
{
	struct conf_users *u;
	struct conf_lines l;
	char *text, line[CONF_LINE_MAX + 1], *s, *end;
	size_t len;
	int rc = 0;

	if (errlen > 0)
		err[0] = '\0';
	if (conf_read_file(path, &text, &len, err, errlen) == -1)
		return NULL;
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", path);
		explicit_bzero(text, len);
		free(text);
		return NULL;
	}
	conf_lines_init(&l, text, len);
	while (rc == 0) {
		switch (conf_lines_next(&l, line)) {
		case CONF_LINE_END:
			rc = 1;
			break;
		case CONF_LINE_LONG:
			(void)snprintf(err, errlen, "%s:%zu: line longer than %d bytes", path,
			    l.lineno, CONF_LINE_MAX);
			rc = -1;
			break;
		case CONF_LINE_NUL:
			(void)snprintf(err, errlen, "%s:%zu: NUL byte", path, l.lineno);
			rc = -1;
			break;
		case CONF_LINE_OK:
			/* Blanks around the line (and a CR) are dropped; inside, none allowed. */
			for (s = line; *s == ' ' || *s == '\t'; s++)
				;
			end = s + strlen(s);
			while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
				*--end = '\0';
			if (*s == '\0' || *s == '#')
				break;
			rc = conf_users_line(u, path, l.lineno, s, err, errlen);
			break;
		}
	}
	explicit_bzero(line, sizeof(line));
	explicit_bzero(text, len);
	free(text);
	if (rc == -1) {
		conf_users_free(u);
		return NULL;
	}
	return u;
}

bool
conf_users_check(const struct conf_users *u, const char *name, const char *password, size_t pwlen)
{
	const struct conf_user *e;
	struct crypt_data *cd;
	const char *hash, *out;
	size_t n, hlen;
	bool good;

	e = name != NULL ? conf_users_find(u, name) : NULL;
	if (e != NULL)
		hash = e->hash;
	else if (u != NULL && u->n > 0)
		hash = u->v[0].hash; /* same method and cost as a real entry */
	else
		hash = conf_users_dummy;
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return false;
	/* Too long or holding a NUL: hash what fits anyway, then refuse. */
	n = pwlen < sizeof(cd->input) - 1 ? pwlen : sizeof(cd->input) - 1;
	memcpy(cd->input, password, n);
	good = e != NULL && n == pwlen && memchr(password, '\0', pwlen) == NULL;
	hlen = strlen(hash);
	(void)strlcpy(cd->setting, hash, sizeof(cd->setting));
	out = crypt_r(cd->input, cd->setting, cd);
	/* crypt_r fails with a string starting with '*'; never equal to a valid hash. */
	if (out == NULL || out[0] == '*' || strlen(out) != hlen ||
	    CRYPTO_memcmp(out, hash, hlen) != 0)
		good = false;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return good;
}
