/*
 * sm_addr — addresses as sendmail sees them: RFC 5322 §3.4 address lists in To:/Cc:/Bcc:
 * fields and on the command line, turned into mxd's envelope form.
 *
 * The list walk is a tokenizer plus a small state machine, one pass, no allocation:
 *   - whitespace and comments (nested, with quoted-pairs; §3.2.2) separate tokens and are
 *     dropped, so "user@host (Full Name)" and "user @ host" both give "user@host";
 *   - quoted strings and domain literals are single tokens kept as written (quotes and
 *     backslashes included) for smtp_path_parse() to judge;
 *   - a mailbox is either "phrase <addr>" (the phrase is dropped, a source route inside
 *     the brackets too: RFC 5322 §4.4 obs-route) or a bare addr-spec; two words next to
 *     each other with no "." or "@" between them can only be a phrase, so a phrase with no
 *     "<addr>" after it is an error, never glued into a bogus address ("John Doe" is not
 *     "JohnDoe@host");
 *   - "name: a, b;" is a group (§3.4): its display name is dropped, its members kept.
 * Errors: unbalanced quotes, comments, brackets, nested groups or brackets, an address
 * longer than any envelope address can be. Limits: an address is at most SMTP_ADDR_MAX
 * octets, the same bound smtp_path_parse() enforces; comments nest at most 32 deep.
 */
#include <bsd/string.h>

#include <stdio.h>
#include <string.h>

#include "sendmail/sendmail.h"
#include "smtp/smtp.h"

#define COMMENT_DEPTH_MAX 32

enum tok { T_END, T_WORD, T_SPECIAL };

struct walker {
	const char *s;
	size_t len, off;
	bool space; /* whitespace or a comment before the current token */
	char *err;
	size_t errlen;
};

/* One mailbox being collected. */
struct mbox {
	char acc[SMTP_ADDR_MAX + 1]; /* a bare addr-spec, or a phrase */
	size_t acclen;
	bool phrase;                 /* acc is a display name, not an address */
	char ang[SMTP_ADDR_MAX + 1]; /* inside < > */
	size_t anglen;
	bool in_angle, angle_done;
	bool last_word; /* the last token added was a word */
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_special(char c)
{
	return c == '<' || c == '>' || c == ',' || c == ':' || c == ';' || c == '@' || c == '.';
}

/* Skips a comment starting at w->off ('('). 0, or -1 when it does not end. */
static int
skip_comment(struct walker *w)
{
	unsigned depth = 0;

	while (w->off < w->len) {
		char c = w->s[w->off++];

		if (c == '\\') {
			w->off++; /* quoted-pair: the next octet is literal */
		} else if (c == '(') {
			if (++depth > COMMENT_DEPTH_MAX) {
				snprintf(w->err, w->errlen, "comments nested too deep");
				return -1;
			}
		} else if (c == ')') {
			if (--depth == 0)
				return 0;
		}
	}
	snprintf(w->err, w->errlen, "unterminated comment");
	return -1;
}

/*
 * Next token: start and tlen span it in w->s. A word is an atom, a quoted string or a
 * domain literal; a special is one of <>,:;@. . Returns -1 on a syntax error.
 */
static int
next_tok(struct walker *w, enum tok *t, size_t *start, size_t *tlen)
{
	char c, close;

	w->space = false;
	for (;;) {
		while (w->off < w->len && is_space(w->s[w->off])) {
			w->off++;
			w->space = true;
		}
		if (w->off < w->len && w->s[w->off] == '(') {
			if (skip_comment(w) == -1)
				return -1;
			w->space = true;
			continue;
		}
		break;
	}
	*start = w->off;
	if (w->off >= w->len) {
		*t = T_END;
		*tlen = 0;
		return 0;
	}
	c = w->s[w->off];
	if (is_special(c)) {
		w->off++;
		*t = T_SPECIAL;
		*tlen = 1;
		return 0;
	}
	if (c == '"' || c == '[') {
		close = c == '"' ? '"' : ']';
		w->off++;
		while (w->off < w->len && w->s[w->off] != close) {
			if (w->s[w->off] == '\\')
				w->off++;
			w->off++;
		}
		if (w->off >= w->len) {
			snprintf(w->err, w->errlen, "unterminated %s",
			    c == '"' ? "quoted string" : "domain literal");
			return -1;
		}
		w->off++;
	} else if (c == ')') {
		snprintf(w->err, w->errlen, "unbalanced \")\"");
		return -1;
	} else {
		while (w->off < w->len && !is_space(w->s[w->off]) && !is_special(w->s[w->off]) &&
		    w->s[w->off] != '(' && w->s[w->off] != '"' && w->s[w->off] != '[' &&
		    w->s[w->off] != ')')
			w->off++;
	}
	*t = T_WORD;
	*tlen = w->off - *start;
	return 0;
}

static int
add_text(char *buf, size_t *blen, const char *p, size_t n, char *err, size_t errlen)
{
	if (*blen + n > SMTP_ADDR_MAX) {
		snprintf(err, errlen, "address too long");
		return -1;
	}
	memcpy(buf + *blen, p, n);
	*blen += n;
	buf[*blen] = '\0';
	return 0;
}

static void
mbox_reset(struct mbox *m)
{
	m->acclen = m->anglen = 0;
	m->acc[0] = m->ang[0] = '\0';
	m->phrase = m->in_angle = m->angle_done = m->last_word = false;
}

/* The mailbox is complete (at ',', ';' or the end): hand its address to fn. */
static int
mbox_flush(struct mbox *m, sm_addr_fn *fn, void *arg, char *err, size_t errlen)
{
	const char *a;
	int rc = 0;

	if (m->angle_done) {
		a = m->ang;
		/* RFC 5322 §4.4 obs-route "@a,@b:" before the address: dropped. */
		if (a[0] == '@') {
			a = strchr(a, ':');
			a = a == NULL ? "" : a + 1;
		}
		if (a[0] != '\0')
			rc = fn(arg, a, err, errlen);
	} else if (m->acclen > 0) {
		if (m->phrase) {
			snprintf(err, errlen, "no address in \"%.60s\"", m->acc);
			rc = -1;
		} else {
			rc = fn(arg, m->acc, err, errlen);
		}
	}
	mbox_reset(m);
	return rc;
}

int
sm_addr_list(const char *s, size_t len, sm_addr_fn *fn, void *arg, char *err, size_t errlen)
{
	struct walker w = {s, len, 0, false, err, errlen};
	struct mbox m;
	enum tok t;
	size_t st, tl;
	bool in_group = false;
	char c;

	mbox_reset(&m);
	for (;;) {
		if (next_tok(&w, &t, &st, &tl) == -1)
			return -1;
		if (t == T_END)
			break;
		c = s[st];
		if (m.in_angle) {
			if (t == T_SPECIAL && c == '>') {
				m.in_angle = false;
				m.angle_done = true;
				continue;
			}
			if (t == T_SPECIAL && c == '<') {
				snprintf(err, errlen, "\"<\" inside \"<...>\"");
				return -1;
			}
			if (t == T_WORD && m.last_word) {
				snprintf(err, errlen, "space inside an address: \"%.60s\"", m.ang);
				return -1;
			}
			if (add_text(m.ang, &m.anglen, s + st, tl, err, errlen) == -1)
				return -1;
			m.last_word = t == T_WORD;
			continue;
		}
		if (t == T_WORD) {
			if (m.angle_done)
				continue; /* junk after "<addr>": ignored, as mailers do */
			if (m.last_word)
				m.phrase = true;
			/* A phrase may grow past an address's length: keep only its start. */
			if (m.acclen + tl <= SMTP_ADDR_MAX) {
				memcpy(m.acc + m.acclen, s + st, tl);
				m.acclen += tl;
				m.acc[m.acclen] = '\0';
			} else if (!m.phrase) {
				snprintf(err, errlen, "address too long");
				return -1;
			}
			m.last_word = true;
			continue;
		}
		switch (c) {
		case '<':
			if (m.angle_done) {
				snprintf(err, errlen, "two \"<...>\" in one mailbox");
				return -1;
			}
			m.in_angle = true;
			m.last_word = false;
			break;
		case '>':
			snprintf(err, errlen, "\">\" without \"<\"");
			return -1;
		case ':':
			if (in_group) {
				snprintf(err, errlen, "nested group");
				return -1;
			}
			in_group = true; /* what came before was the group's name */
			mbox_reset(&m);
			break;
		case ';':
			if (mbox_flush(&m, fn, arg, err, errlen) == -1)
				return -1;
			in_group = false;
			break;
		case ',':
			if (mbox_flush(&m, fn, arg, err, errlen) == -1)
				return -1;
			break;
		default: /* '.' and '@' belong to the addr-spec (or the phrase) */
			if (m.angle_done)
				break;
			if (add_text(m.acc, &m.acclen, s + st, tl, err, errlen) == -1 && !m.phrase)
				return -1;
			m.last_word = false;
			break;
		}
	}
	if (m.in_angle) {
		snprintf(err, errlen, "unterminated \"<...>\"");
		return -1;
	}
	return mbox_flush(&m, fn, arg, err, errlen);
}

/* Whether an addr-spec has an '@' outside quoted strings: it names its domain. */
static bool
has_domain(const char *a)
{
	bool q = false;

	for (; *a != '\0'; a++) {
		if (*a == '\\' && a[1] != '\0')
			a++;
		else if (*a == '"')
			q = !q;
		else if (*a == '@' && !q)
			return true;
	}
	return false;
}

int
sm_addr_envelope(const char *addr, const char *hostname, bool allow_null,
    char out[SMTP_ADDR_MAX + 1], bool *utf8, char *err, size_t errlen)
{
	struct smtp_path p;
	struct smtp_perr pe;
	char buf[SMTP_ADDR_MAX * 2 + 8];
	size_t n;
	int k;

	*utf8 = false;
	n = strlen(addr);
	/* "<addr>" as sendmail -f takes it: the brackets are not part of the address. */
	if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>') {
		addr++;
		n -= 2;
	}
	if (n == 0) {
		if (allow_null) {
			out[0] = '\0';
			return 0;
		}
		snprintf(err, errlen, "empty address");
		return -1;
	}
	if (n > SMTP_ADDR_MAX) {
		snprintf(err, errlen, "address too long");
		return -1;
	}
	memcpy(buf + 1, addr, n);
	buf[0] = '<';
	buf[n + 1] = '\0';
	if (has_domain(buf + 1))
		k = snprintf(buf + n + 1, sizeof(buf) - n - 1, ">");
	else /* RFC 5321 §2.3.5: an envelope address names its domain */
		k = snprintf(buf + n + 1, sizeof(buf) - n - 1, "@%s>", hostname);
	if (k < 0 || (size_t)k >= sizeof(buf) - n - 1) {
		snprintf(err, errlen, "address too long");
		return -1;
	}
	n += 1 + (size_t)k;
	if (smtp_path_parse(buf, n, SMTP_PATH_UTF8, &p, &pe) != (int)n) {
		snprintf(
		    err, errlen, "bad address \"%.*s\"", (int)(n - 2 > 200 ? 200 : n - 2), buf + 1);
		return -1;
	}
	smtp_path_str(&p, out, SMTP_ADDR_MAX + 1);
	*utf8 = p.utf8;
	return 0;
}
