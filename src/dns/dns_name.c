/*
 * dns_name — domain names: the one place where name rules live.
 *
 * A struct dns_name holds a name in uncompressed wire form (length-prefixed labels ending
 * with the root label), so comparing, copying and writing a name never needs the message it
 * came from. Every way into a struct dns_name (dns_name_read from the wire, dns_name_from_str
 * from text) enforces the same rules:
 *   - RFC 1035 §2.3.4: a label is at most 63 octets, a name at most 255 octets of wire,
 *     the root label included;
 *   - RFC 1035 §4.1.4: a compression pointer must point strictly backwards, both before the
 *     pointer itself and before every label already read for this name, so pointers can never
 *     loop; at most DNS_PTR_HOPS pointers are followed in one name;
 *   - RFC 6891 §5 / RFC 2673: label types 0x40 and 0x80 (extended, binary labels) are
 *     refused.
 *
 * dns_name_read() reports why it failed in errno (the return value is just -1):
 *   EBADMSG   the name runs past the end of the buffer;
 *   EPROTO    label type 0x40 or 0x80;
 *   ERANGE    a pointer forward of itself (or past the end of the message);
 *   ELOOP     a pointer back into this name's own labels, or too many pointers;
 *   EMSGSIZE  the name is longer than 255 octets.
 *
 * Nothing here allocates. Functions taking a struct dns_name do not trust it blindly: every
 * walk over its labels is bounded by its len, so a hand-built bad name cannot cause a read
 * past wire[].
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "dns/dns.h"
#include "util/rand.h"

/* ASCII case folding: 'A'..'Z' to 'a'..'z', every other octet unchanged. */
static inline uint8_t
fold(uint8_t c)
{
	return (uint8_t)(c - 'A') < 26 ? (uint8_t)(c | 0x20) : c;
}

/* True for 'A'..'Z' and 'a'..'z'. */
static inline bool
is_letter(uint8_t c)
{
	return (uint8_t)((c | 0x20) - 'a') < 26;
}

/*
 * RFC 1035 §4.1.4 and §2.3.4, as described at the top. The name is read through a copy of
 * the caller's cursor (which moves only on success) with the inline buf.h readers. Labels
 * that lie one after the other in the message (a segment: from the start, or from a
 * pointer's target, up to the next pointer or the root label) are only skipped while
 * their lengths are checked, then copied into n->wire with one memcpy: those octets have
 * all just been read through the cursor, so the copy stays inside its buffer.
 */
int
dns_name_read(struct buf_rd *b, struct dns_name *n)
{
	struct buf_rd r = *b;
	size_t after = 0, limit, at, target, seg;
	unsigned hops = 0;
	bool jumped = false;
	uint8_t c, lo, len = 0, wseg = 0;
	int e = 0;

	/*
	 * limit is the lowest offset this name has touched so far: the start of the name,
	 * then each pointer's target. Every pointer must point below it, so offsets strictly
	 * decrease at each hop and a loop is impossible even before the hop count.
	 * The segment being read starts at offset seg in the message and at wseg in n->wire.
	 */
	limit = seg = r.off;
	for (;;) {
		at = r.off;
		c = buf_get8(&r);
		if (!buf_rd_ok(&r)) {
			e = EBADMSG;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			/* RFC 1035 §4.1.4: a pointer, 14 bits of offset. */
			lo = buf_get8(&r);
			if (!buf_rd_ok(&r)) {
				e = EBADMSG;
				break;
			}
			if (!jumped) {
				after = r.off;
				jumped = true;
			}
			target = (size_t)(c & 0x3f) << 8 | lo;
			if (target > at) {
				e = ERANGE;
				break;
			}
			if (++hops > DNS_PTR_HOPS || target >= limit) {
				e = ELOOP;
				break;
			}
			if (at > seg)
				memcpy(n->wire + wseg, r.p + seg, at - seg);
			limit = seg = target;
			wseg = len;
			buf_seek(&r, target);
			continue;
		}
		if ((c & 0xc0) != 0) {
			/* 0x40 extended label types, 0x80 reserved: not for us. */
			e = EPROTO;
			break;
		}
		/* RFC 1035 §2.3.4: 255 octets, length octets and root label included. */
		if ((size_t)len + 1 + c > DNS_NAME_MAX) {
			e = EMSGSIZE;
			break;
		}
		buf_skip(&r, c);
		if (!buf_rd_ok(&r)) {
			e = EBADMSG;
			break;
		}
		len = (uint8_t)(len + 1 + c);
		if (c == 0)
			break;
	}
	if (e != 0) {
		n->len = 0;
		buf_rd_fail(b);
		errno = e;
		return -1;
	}
	memcpy(n->wire + wseg, r.p + seg, r.off - seg);
	n->len = len;
	/* The cursor ends after the name's bytes in place: after the first pointer if any. */
	buf_seek(b, jumped ? after : r.off);
	return 0;
}

void
dns_name_write(struct buf_wr *w, const struct dns_name *n)
{
	if (n->len == 0) {
		/* A name that was never set is not silently written as something else. */
		w->err = true;
		return;
	}
	buf_put(w, n->wire, n->len);
}

/* Special characters in master files (RFC 1035 §5.1) written as \c. */
static bool
is_special(uint8_t c)
{
	return c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' || c == '@' ||
	    c == '$';
}

struct strout {
	char *p;
	size_t size;
	size_t len; /* would-be length, like strlcpy's result */
};

static void
out_c(struct strout *o, char c)
{
	if (o->len + 1 < o->size)
		o->p[o->len] = c;
	o->len++;
}

size_t
dns_name_to_str(const struct dns_name *n, char *buf, size_t size)
{
	struct strout o = {buf, size, 0};
	size_t i = 0, j, l;
	uint8_t c;

	/* Bounded by n->len: a bad hand-built name ends early instead of overrunning. */
	while (i < n->len && n->wire[i] != 0) {
		l = n->wire[i++];
		for (j = 0; j < l && i < n->len; j++, i++) {
			c = n->wire[i];
			if (is_special(c)) {
				out_c(&o, '\\');
				out_c(&o, (char)c);
			} else if (c > 0x20 && c < 0x7f) {
				out_c(&o, (char)c);
			} else {
				out_c(&o, '\\');
				out_c(&o, (char)('0' + c / 100));
				out_c(&o, (char)('0' + c / 10 % 10));
				out_c(&o, (char)('0' + c % 10));
			}
		}
		out_c(&o, '.');
	}
	if (o.len == 0)
		out_c(&o, '.');
	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
dns_name_from_str(struct dns_name *n, const char *s)
{
	struct dns_name t;
	size_t lenpos = 0, len = 1, v;
	unsigned lab = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcmp(s, ".") == 0) {
		n->len = 1;
		n->wire[0] = 0;
		return 0;
	}
	/* len counts octets used in t.wire; lenpos is the current label's length octet. */
	while (*s != '\0') {
		if (*s == '.') {
			if (lab == 0)
				return -1; /* empty label: leading dot or ".." */
			t.wire[lenpos] = (uint8_t)lab;
			lab = 0;
			lenpos = len++;
			s++;
			if (*s == '\0')
				len--; /* the trailing dot: the root label comes below */
			if (len > DNS_NAME_MAX - 1)
				return -1;
			continue;
		}
		if (*s == '\\') {
			s++;
			if (is_digit(s[0])) {
				/* \DDD: exactly three decimal digits, at most 255. */
				if (!is_digit(s[1]) || !is_digit(s[2]))
					return -1;
				v = (size_t)(s[0] - '0') * 100 + (size_t)(s[1] - '0') * 10 +
				    (size_t)(s[2] - '0');
				if (v > 255)
					return -1;
				s += 3;
			} else if (*s == '\0') {
				return -1;
			} else {
				v = (uint8_t)*s++;
			}
		} else {
			v = (uint8_t)*s++;
		}
		/* RFC 1035 §2.3.4: 63 octets a label; room left for the root label. */
		if (lab >= DNS_LABEL_MAX || len >= DNS_NAME_MAX - 1)
			return -1;
		t.wire[len++] = (uint8_t)v;
		lab++;
	}
	if (lab > 0) {
		/* No trailing dot: close the last label. */
		t.wire[lenpos] = (uint8_t)lab;
	}
	if (len > DNS_NAME_MAX - 1)
		return -1;
	t.wire[len++] = 0;
	t.len = (uint8_t)len;
	*n = t;
	return 0;
}

bool
dns_name_eq_exact(const struct dns_name *a, const struct dns_name *b)
{
	return a->len == b->len && memcmp(a->wire, b->wire, a->len) == 0;
}

/*
 * Length octets are at most 63 and every ASCII letter is above 64, so folding the whole
 * wire never changes a length octet: no need to walk the labels.
 */
bool
dns_name_eq(const struct dns_name *a, const struct dns_name *b)
{
	size_t i;

	if (a->len != b->len)
		return false;
	for (i = 0; i < a->len; i++)
		if (fold(a->wire[i]) != fold(b->wire[i]))
			return false;
	return true;
}

void
dns_name_lower(struct dns_name *n)
{
	size_t i;

	for (i = 0; i < n->len; i++)
		n->wire[i] = fold(n->wire[i]);
}

/*
 * draft-vixie-dnsext-dns0x20: one random bit per octet from the kernel CSPRNG; a letter
 * whose bit is set is made upper case, any other letter lower case, and every other octet
 * is kept.
 */
int
dns_name_0x20(struct dns_name *n)
{
	uint8_t bits[(DNS_NAME_MAX + 7) / 8];
	size_t i;
	int letters = 0;
	uint8_t c, up;

	rand_bytes(bits, ((size_t)n->len + 7) / 8);
	for (i = 0; i < n->len; i++) {
		c = n->wire[i];
		if (!is_letter(c))
			continue;
		letters++;
		up = (uint8_t)((bits[i / 8] >> (i % 8) & 1) << 5);
		n->wire[i] = (uint8_t)((c | 0x20) ^ up);
	}
	explicit_bzero(bits, sizeof(bits));
	return letters;
}

int
dns_name_labels(const struct dns_name *n)
{
	size_t i = 0;
	int count = 0;

	while (i < n->len && n->wire[i] != 0) {
		count++;
		i += (size_t)n->wire[i] + 1;
	}
	return count;
}

bool
dns_name_under(const struct dns_name *a, const struct dns_name *b)
{
	size_t i = 0, off, j;

	if (b->len == 0 || a->len < b->len)
		return false;
	off = (size_t)(a->len - b->len);
	/* The suffix must start on a label boundary of a. */
	while (i < off && a->wire[i] != 0)
		i += (size_t)a->wire[i] + 1;
	if (i != off)
		return false;
	for (j = 0; j < b->len; j++)
		if (fold(a->wire[off + j]) != fold(b->wire[j]))
			return false;
	return true;
}
