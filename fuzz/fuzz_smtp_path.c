/*
 * fuzz_smtp_path — libFuzzer target for the path parser (smtp_path.c).
 *
 * Input: one flag octet (bit 0 SMTP_PATH_NULL, bit 1 SMTP_PATH_UTF8, bit 2
 * SMTP_PATH_POSTMASTER), then the text handed to smtp_path_parse.
 *
 * Checks, any disagreement abort()s:
 *   - a refusal has a reply (501 or 553, an enhanced code, a one-line text);
 *   - an accepted path ends at a '>' inside the input and within 256 octets; its local part
 *     is at most 64 octets, has no control octets and is well-formed UTF-8; octets >= 0x80
 *     appear only with SMTP_PATH_UTF8 and exactly when utf8 is set; the domain is valid by
 *     smtp_domain_valid and lower-case (unless a literal); "" only for <postmaster>;
 *   - smtp_path_str of the result, put back in <>, parses to the same mailbox, and writing
 *     that gives the same string again.
 * smtp_domain_valid and smtp_utf8_valid also run over the raw text (they must not crash).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_smtp_path: %s\n", what);
		abort();
	}
}

static bool
has_high(const char *s)
{
	for (; *s != '\0'; s++)
		if ((uint8_t)*s >= 0x80)
			return true;
	return false;
}

static bool
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((uint8_t)*s < 0x20 || (uint8_t)*s == 0x7f)
			return true;
	return false;
}

static bool
has_upper(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_path p, back;
	struct smtp_perr e;
	char str[SMTP_ADDR_MAX + 1], str2[SMTP_ADDR_MAX + 1], wrapped[SMTP_ADDR_MAX + 3];
	const char *s;
	unsigned flags;
	size_t n, len, len2;
	int r;

	if (size < 1)
		return 0;
	flags = data[0] & (SMTP_PATH_NULL | SMTP_PATH_UTF8 | SMTP_PATH_POSTMASTER);
	s = (const char *)data + 1;
	n = size - 1;

	(void)smtp_domain_valid(s, n, (flags & SMTP_PATH_UTF8) != 0);
	(void)smtp_utf8_valid(s, n);

	memset(&e, 0, sizeof(e));
	r = smtp_path_parse(s, n, flags, &p, &e);
	if (r < 0) {
		check(r == -1, "negative but not -1");
		check(e.code == 501 || e.code == 553, "refusal code");
		check(e.enh != NULL && e.text != NULL && strpbrk(e.text, "\r\n") == NULL,
		    "refusal text");
		return 0;
	}
	check(r >= 2 && (size_t)r <= n && s[r - 1] == '>' && s[0] == '<', "consumed");
	check(r <= SMTP_PATH_MAX, "path over 256 octets");
	if (p.null) {
		check((flags & SMTP_PATH_NULL) && r == 2, "null path");
		check(smtp_path_str(&p, str, sizeof(str)) == 0 && str[0] == '\0', "null string");
		return 0;
	}
	check(strlen(p.local) >= 1 && strlen(p.local) <= SMTP_LOCAL_MAX, "local length");
	check(!has_ctl(p.local) && !has_ctl(p.domain), "control octet");
	check(smtp_utf8_valid(p.local, strlen(p.local)) &&
		smtp_utf8_valid(p.domain, strlen(p.domain)),
	    "bad UTF-8 accepted");
	check(p.utf8 == (has_high(p.local) || has_high(p.domain)), "utf8 flag");
	check(!p.utf8 || (flags & SMTP_PATH_UTF8), "8-bit without SMTPUTF8");
	if (p.domain[0] == '\0') {
		check((flags & SMTP_PATH_POSTMASTER) && strcasecmp(p.local, "postmaster") == 0 &&
			!p.quoted,
		    "domain-less path that is not <postmaster>");
	} else {
		check(smtp_domain_valid(p.domain, strlen(p.domain), (flags & SMTP_PATH_UTF8) != 0),
		    "domain not valid");
		check(p.domain_literal == (p.domain[0] == '['), "literal flag");
		check(p.domain_literal || !has_upper(p.domain), "domain not lower-cased");
	}

	len = smtp_path_str(&p, str, sizeof(str));
	check(len < sizeof(str) && strlen(str) == len, "string length");
	(void)snprintf(wrapped, sizeof(wrapped), "<%s>", str);
	r = smtp_path_parse(wrapped, len + 2, flags, &back, &e);
	/* Minimal quoting never makes a path longer than the one that was sent. */
	if (r < 0)
		fprintf(stderr, "re-parse of %s: %d %s %s\n", wrapped, e.code, e.enh, e.text);
	check(r >= 0, "string does not parse back");
	check((size_t)r == len + 2, "re-parse consumed");
	check(strcmp(back.local, p.local) == 0 && strcmp(back.domain, p.domain) == 0 &&
		back.utf8 == p.utf8 && back.domain_literal == p.domain_literal && !back.null,
	    "round trip differs");
	len2 = smtp_path_str(&back, str2, sizeof(str2));
	check(len2 == len && strcmp(str, str2) == 0, "second string differs");
	return 0;
}
