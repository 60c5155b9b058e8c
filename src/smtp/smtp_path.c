/*
 * smtp_path — the RFC 5321 §4.1.2 Path grammar: reverse- and forward-paths, mailboxes,
 * domains and address literals, with the SMTPUTF8 extensions of RFC 6531 §3.3.
 *
 *   Path          = "<" [ A-d-l ":" ] Mailbox ">"
 *   A-d-l         = At-domain *( "," At-domain )      ; accepted, then discarded (App. C)
 *   Mailbox       = Local-part "@" ( Domain / address-literal )
 *   Local-part    = Dot-string / Quoted-string
 *   Dot-string    = Atom *("." Atom)                  ; atext of RFC 5322 §3.2.3
 *   Quoted-string = DQUOTE *( qtextSMTP / quoted-pairSMTP ) DQUOTE
 *   qtextSMTP     = %d32-33 / %d35-91 / %d93-126      ; no CR, LF, NUL, or other controls
 *   quoted-pairSMTP = %d92 %d32-126
 *   Domain        = sub-domain *("." sub-domain)      ; LDH labels, 1-63 octets
 *   address-literal = "[" ( IPv4 / "IPv6:" IPv6 ) "]" ; checked with inet_pton(3)
 *
 * Choices beyond the grammar, each on purpose:
 *   - octets >= 0x80 only with SMTP_PATH_UTF8 (RFC 6531 §3.3: atext, qtextSMTP and
 *     sub-domain gain UTF8-non-ascii), and then they must be valid UTF-8 (RFC 3629: no
 *     overlong forms, no surrogates, nothing above U+10FFFF). C1 controls (U+0080-U+009F)
 *     are refused as well: they are terminal escapes in logs and never part of a name;
 *   - an empty local part (`""@example.org`) is refused: the grammar allows it, but no
 *     mailbox has that name and a delivery agent might map it to a directory;
 *   - a U-label is held to 63 octets of UTF-8 like an A-label (conservative: its A-label
 *     could be shorter); no IDNA mapping is done here;
 *   - IPv4 literals follow inet_pton(3): no leading zeros ("[010.0.0.1]" is refused, it
 *     reads as octal elsewhere); General-address-literal ("[tag:...]") is refused;
 *   - "<postmaster>" without a domain only with SMTP_PATH_POSTMASTER (RCPT, RFC 5321
 *     §4.1.1.3), case-insensitive, unquoted, no source route; domain is then "";
 *   - the whole path including "<" and ">" is at most 256 octets (§4.5.3.1.3), the local
 *     part at most 64 octets once unquoted (§4.5.3.1.1), the domain 255 (§4.5.3.1.2).
 *
 * Errors (struct smtp_perr, texts static):
 *   501 5.5.4  the path is not framed by "<" ... ">"            (RFC 5321 §4.2.2 / 3463)
 *   553 5.1.7  bad reverse-path (MAIL: SMTP_PATH_NULL is set)   (RFC 3463 X.1.7)
 *   553 5.1.3  bad forward-path (RCPT)                          (RFC 3463 X.1.3)
 *   553 5.6.7  octets >= 0x80 without SMTPUTF8                  (RFC 6531 §3.5, RFC 5248)
 * 553 is the reply RFC 5321 §4.3.2 lists for MAIL and RCPT with "mailbox syntax incorrect".
 *
 * Nothing here allocates, and no octet is ever interpreted beyond the grammar: a path is
 * octets, never a shell word or a file name.
 *
 * smtp_addr_same() compares two addresses as written out here, for the duplicate filters
 * (smtpd's per transaction, local's per delivery): domains ASCII case-insensitively, local
 * parts too only where the caller knows the mailbox is ours (see smtp.h).
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <string.h>
#include <strings.h>

#include "smtp/smtp.h"

static bool
is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5322 §3.2.3 atext, ASCII part. */
static bool
is_atext(uint8_t c)
{
	if (is_alpha(c) || is_digit(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* RFC 5321 §4.1.2 qtextSMTP, ASCII part: %d32-33 / %d35-91 / %d93-126. */
static bool
is_qtext(uint8_t c)
{
	return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

/*
 * The length of the UTF-8 sequence at p (RFC 3629 §4, the only well-formed byte
 * sequences), or 0 if it is not one, or encodes a C1 control. ASCII gives 1.
 */
static size_t
utf8_seq(const uint8_t *p, size_t n, bool c1_ok)
{
	uint8_t c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		if (n < 2 || (p[1] & 0xc0) != 0x80)
			return 0;
		if (!c1_ok && c == 0xc2 && p[1] < 0xa0)
			return 0; /* U+0080-U+009F */
		return 2;
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && p[1] > 0x9f)
			return 0; /* surrogates U+D800-U+DFFF */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xf4 && p[1] > 0x8f)
			return 0; /* above U+10FFFF */
		return 4;
	}
	return 0; /* 0x80-0xc1 (continuation, overlong lead), 0xf5-0xff */
}

bool
smtp_utf8_valid(const void *v, size_t n)
{
	const uint8_t *p = v;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq(p + i, n - i, true);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* Fills err; enh depends on whether this is a reverse-path (MAIL) or a forward-path. */
static int
bad(struct smtp_perr *err, unsigned flags, const char *text)
{
	err->code = 553;
	err->enh = (flags & SMTP_PATH_NULL) ? "5.1.7" : "5.1.3";
	err->text = text;
	return -1;
}

static int
bad_frame(struct smtp_perr *err, const char *text)
{
	err->code = 501;
	err->enh = "5.5.4";
	err->text = text;
	return -1;
}

static int
bad_utf8(struct smtp_perr *err)
{
	err->code = 553;
	err->enh = "5.6.7";
	err->text = "Non-ASCII address needs SMTPUTF8 (RFC 6531)";
	return -1;
}

/*
 * One label of a Domain at p[0..n): LDH, 1-63 octets, no hyphen at either end (RFC 5321
 * §4.1.2 sub-domain, RFC 1035 §2.3.4); with utf8_ok also UTF-8 (a U-label, RFC 6531 §3.3).
 */
static bool
label_valid(const uint8_t *p, size_t n, bool utf8_ok)
{
	size_t i, k;

	if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
		return false;
	for (i = 0; i < n; i += k) {
		k = 1;
		if (p[i] >= 0x80) {
			if (!utf8_ok)
				return false;
			k = utf8_seq(p + i, n - i, false);
			if (k == 0)
				return false;
		} else if (!is_alpha(p[i]) && !is_digit(p[i]) && p[i] != '-') {
			return false;
		}
	}
	return true;
}

/* The inside of an address literal, between "[" and "]" (RFC 5321 §4.1.3). */
static bool
literal_valid(const char *s, size_t n)
{
	char tmp[64];
	unsigned char addr[16];
	size_t i;

	/* dcontent = %d33-90 / %d94-126: no NUL can hide the tail from inet_pton. */
	for (i = 0; i < n; i++)
		if ((uint8_t)s[i] < 33 || (uint8_t)s[i] > 126 || s[i] == '[' || s[i] == ']' ||
		    s[i] == '\\')
			return false;
	if (n >= 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		if (n - 5 >= sizeof(tmp))
			return false;
		memcpy(tmp, s + 5, n - 5);
		tmp[n - 5] = '\0';
		return inet_pton(AF_INET6, tmp, addr) == 1;
	}
	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET, tmp, addr) == 1;
}

bool
smtp_domain_valid(const char *s, size_t n, bool utf8_ok)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i, start;

	if (n == 0 || n > SMTP_DOMAIN_MAX)
		return false;
	if (p[0] == '[')
		return n >= 2 && p[n - 1] == ']' && literal_valid(s + 1, n - 2);
	for (start = 0, i = 0; i <= n; i++) {
		if (i == n || p[i] == '.') {
			if (!label_valid(p + start, i - start, utf8_ok))
				return false;
			start = i + 1;
		}
	}
	return true;
}

/*
 * The extent of a domain or address literal starting at s[0]: the octets that can be part
 * of one (the grammar checks come afterwards in smtp_domain_valid).
 */
static size_t
domain_span(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i;

	if (n > 0 && p[0] == '[') {
		for (i = 1; i < n && p[i] != ']'; i++) {
			if (p[i] < 33 || p[i] > 126 || p[i] == '[' || p[i] == '\\')
				return 0; /* §4.1.3 dcontent: %d33-90 / %d94-126 */
		}
		return i < n ? i + 1 : 0;
	}
	for (i = 0; i < n; i++) {
		if (!is_alpha(p[i]) && !is_digit(p[i]) && p[i] != '-' && p[i] != '.' && p[i] < 0x80)
			break;
	}
	return i;
}

/* Dot-string local part at s[0..n): returns octets used, or 0. */
static size_t
dot_string(const char *s, size_t n, bool utf8_ok, struct smtp_path *path, int *why)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, k;
	bool atom_start = true;

	while (i < n) {
		if (p[i] == '.') {
			if (atom_start)
				return 0; /* empty atom: ".a", "a..b" */
			atom_start = true;
			i++;
			continue;
		}
		if (p[i] >= 0x80) {
			if (!utf8_ok) {
				*why = 1;
				return 0;
			}
			k = utf8_seq(p + i, n - i, false);
			if (k == 0)
				return 0;
			path->utf8 = true;
		} else if (is_atext(p[i])) {
			k = 1;
		} else {
			break;
		}
		atom_start = false;
		i += k;
	}
	if (i == 0 || atom_start)
		return 0; /* empty, or ends with "." */
	if (i > SMTP_LOCAL_MAX) {
		*why = 2;
		return 0;
	}
	memcpy(path->local, s, i);
	path->local[i] = '\0';
	return i;
}

/* Quoted-string local part at s[0..n), s[0] == '"': returns octets used, or 0. */
static size_t
quoted_string(const char *s, size_t n, bool utf8_ok, struct smtp_path *path, int *why)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 1, k, o = 0;

	while (i < n && p[i] != '"') {
		if (p[i] == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126 */
			if (i + 1 >= n || p[i + 1] < 32 || p[i + 1] > 126)
				return 0;
			i++;
			k = 1;
		} else if (p[i] >= 0x80) {
			if (!utf8_ok) {
				*why = 1;
				return 0;
			}
			k = utf8_seq(p + i, n - i, false);
			if (k == 0)
				return 0;
			path->utf8 = true;
		} else if (is_qtext(p[i])) {
			k = 1;
		} else {
			return 0; /* controls: CR, LF, NUL, TAB, DEL */
		}
		if (o + k > SMTP_LOCAL_MAX) {
			*why = 2;
			return 0;
		}
		memcpy(path->local + o, s + i, k);
		o += k;
		i += k;
	}
	if (i >= n)
		return 0; /* no closing quote */
	if (o == 0) {
		*why = 3;
		return 0;
	}
	path->local[o] = '\0';
	path->quoted = true;
	return i + 1;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int
smtp_path_parse(
    const char *s, size_t len, unsigned flags, struct smtp_path *path, struct smtp_perr *err)
{
	bool utf8_ok = (flags & SMTP_PATH_UTF8) != 0;
	size_t i = 1, k, d;
	int why = 0;

	memset(path, 0, sizeof(*path));
	if (len == 0 || s[0] != '<')
		return bad_frame(err, "Syntax: address must be in <>");
	if (len >= 2 && s[1] == '>') {
		if (!(flags & SMTP_PATH_NULL))
			return bad(err, flags, "Null address not allowed here");
		path->null = true;
		return 2;
	}

	/* RFC 5321 §4.1.2 A-d-l, Appendix C: "@one,@two:" is read and thrown away. */
	if (i < len && s[i] == '@') {
		for (;;) {
			i++; /* the "@" */
			d = domain_span(s + i, len - i);
			if (d == 0 || s[i] == '[' || !smtp_domain_valid(s + i, d, utf8_ok))
				goto bad_route;
			i += d;
			if (i < len && s[i] == ',' && i + 1 < len && s[i + 1] == '@') {
				i++;
				continue;
			}
			if (i < len && s[i] == ':') {
				i++;
				break;
			}
			goto bad_route;
		}
	}

	/* Local-part */
	if (i < len && s[i] == '"')
		k = quoted_string(s + i, len - i, utf8_ok, path, &why);
	else
		k = dot_string(s + i, len - i, utf8_ok, path, &why);
	if (k == 0) {
		if (why == 1)
			return bad_utf8(err);
		if (why == 2)
			return bad(err, flags, "Local part longer than 64 octets");
		if (why == 3)
			return bad(err, flags, "Empty local part");
		for (k = i; k < len && s[k] != '>'; k++)
			;
		if (k == len)
			return bad_frame(err, "Syntax: address must be in <>");
		return bad(err, flags, "Bad address syntax");
	}
	i += k;

	if (i < len && s[i] == '>' && (flags & SMTP_PATH_POSTMASTER) && !path->quoted &&
	    i == 1 + k && strcasecmp(path->local, "postmaster") == 0) {
		/* RFC 5321 §4.1.1.3: RCPT TO:<Postmaster> names this host's postmaster. */
		return (int)(i + 1);
	}
	if (i >= len)
		return bad_frame(err, "Syntax: address must be in <>");
	if (s[i] == '>')
		return bad(err, flags, "Address needs a domain (local@domain)");
	if (s[i] != '@')
		return bad(err, flags, "Bad address syntax");
	i++;

	/* Domain / address-literal */
	d = domain_span(s + i, len - i);
	if (d == 0) {
		if (i >= len)
			return bad_frame(err, "Syntax: address must be in <>");
		return bad(err, flags, "Bad domain in address");
	}
	if (d > SMTP_DOMAIN_MAX)
		return bad(err, flags, "Domain longer than 255 octets");
	if (!smtp_domain_valid(s + i, d, utf8_ok)) {
		for (k = 0; k < d && !utf8_ok; k++)
			if ((uint8_t)s[i + k] >= 0x80)
				return bad_utf8(err);
		return bad(
		    err, flags, s[i] == '[' ? "Bad address literal" : "Bad domain in address");
	}
	memcpy(path->domain, s + i, d);
	path->domain[d] = '\0';
	if (s[i] == '[')
		path->domain_literal = true;
	else
		lower(path->domain);
	for (k = 0; k < d; k++)
		if ((uint8_t)s[i + k] >= 0x80)
			path->utf8 = true;
	i += d;

	if (i >= len)
		return bad_frame(err, "Syntax: address must be in <>");
	if (s[i] != '>')
		return bad(err, flags, "Bad address syntax");
	i++;
	if (i > SMTP_PATH_MAX)
		return bad(err, flags, "Address longer than 256 octets");
	return (int)i;

bad_route:
	for (k = i; k < len; k++)
		if ((uint8_t)s[k] >= 0x80 && !utf8_ok)
			return bad_utf8(err);
	return bad(err, flags, "Bad source route in address");
}

/* True when the local part can be written bare: a Dot-string (RFC 5321 §4.1.2). */
static bool
is_dot_string(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	bool atom_start = true;

	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (atom_start)
				return false;
			atom_start = true;
		} else if (is_atext(*p) || *p >= 0x80) {
			atom_start = false;
		} else {
			return false;
		}
	}
	return !atom_start;
}

size_t
smtp_path_str(const struct smtp_path *path, char *out, size_t size)
{
	size_t n = 0;
	const char *p;

#define PUT(c)                                                                                     \
	do {                                                                                       \
		if (n + 1 < size)                                                                  \
			out[n] = (c);                                                              \
		n++;                                                                               \
	} while (0)

	/* A cleared struct (no path parsed) writes as "" like the null path. */
	if (!path->null && path->local[0] != '\0') {
		if (is_dot_string(path->local)) {
			for (p = path->local; *p != '\0'; p++)
				PUT(*p);
		} else {
			/* Quoted-string: only '"' and '\' need a quoted-pair. */
			PUT('"');
			for (p = path->local; *p != '\0'; p++) {
				if (*p == '"' || *p == '\\')
					PUT('\\');
				PUT(*p);
			}
			PUT('"');
		}
		if (path->domain[0] != '\0') {
			PUT('@');
			for (p = path->domain; *p != '\0'; p++)
				PUT(*p);
		}
	}
#undef PUT
	if (size > 0)
		out[n < size ? n : size - 1] = '\0';
	return n;
}

/* ASCII case-insensitive equality of n octets; UTF-8 octets compare exactly. */
static bool
ascii_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

bool
smtp_str_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

bool
smtp_addr_same(const char *a, const char *b, bool fold_local)
{
	const char *ad = strrchr(a, '@'), *bd = strrchr(b, '@');
	size_t al = ad != NULL ? (size_t)(ad - a) : strlen(a);
	size_t bl = bd != NULL ? (size_t)(bd - b) : strlen(b);

	if (al != bl || (ad == NULL) != (bd == NULL))
		return false;
	if (fold_local ? !ascii_caseeq(a, b, al) : memcmp(a, b, al) != 0)
		return false;
	if (ad == NULL)
		return true;
	return strlen(ad) == strlen(bd) && ascii_caseeq(ad + 1, bd + 1, strlen(ad + 1));
}
