/*
 * smtp_cmd — parses one SMTP command line (RFC 5321 §4.1.1) and its ESMTP parameters into a
 * struct smtp_cmd. Pure: bytes in, struct out; the session decides what is allowed when.
 *
 * Shape of a line (CRLF already removed by the session):
 *   - the verb is matched case-insensitively (§2.4); after it exactly one SP and the
 *     argument, or nothing; trailing SPs are ignored (§4.1.1 forbids them, clients send
 *     them). Any control octet (NUL, CR, LF, TAB, DEL, ...) makes the line unrecognized:
 *     the session split lines at CRLF, so a bare CR or LF here is an attack or a bug;
 *   - MAIL FROM:<path> and RCPT TO:<path>: "FROM:" and "TO:" in any case. One SP after the
 *     colon is tolerated ("MAIL FROM: <a@b>"): §4.1.1.2 has no space there, but Outlook and
 *     other clients send one and Postfix accepts it; the path still must be in <>, and two
 *     spaces are refused. The path goes through smtp_path_parse();
 *   - parameters (§4.1.2 esmtp-param): "KEY" or "KEY=VALUE", keys case-insensitive,
 *     separated by one or more SP; VALUE is 1*(%d33-60 / %d62-126): none of ours can hold
 *     anything else, so octets >= 0x80 in a value are refused even under SMTPUTF8.
 *
 * MAIL: SIZE (RFC 1870: 1-20 digits; a value above 2^64-1 saturates to UINT64_MAX so the
 * session's size check answers 552), BODY=7BIT|8BITMIME|BINARYMIME (RFC 6152, RFC 3030),
 * SMTPUTF8 (RFC 6531, no value), RET=FULL|HDRS and ENVID=xtext (RFC 3461 §4.3, §4.4:
 * decoded, printable ASCII, at most 100), AUTH=xtext or <> (RFC 4954 §5: decoded, kept for
 * the session). UTF-8 in the reverse-path only with SMTPUTF8 on the same command (RFC 6531
 * §3.4). RCPT: NOTIFY=NEVER or a list of SUCCESS,FAILURE,DELAY (RFC 3461 §4.1), ORCPT=
 * addr-type;xtext (§4.2, decoded, kept as "type;address"). UTF-8 in the forward-path only
 * when the caller says the transaction is SMTPUTF8 (smtp_cmd_parse_utf8), and "<postmaster>"
 * is accepted (RFC 5321 §4.1.1.3).
 *
 * xtext (RFC 3461 §4): "+" and two hex digits stand for one octet; upper-case digits per
 * the grammar, lower-case accepted too. Decoded octets must be printable: a "+00" or "+0D"
 * would otherwise put NUL or CR into the envelope the queue stores.
 *
 * Replies (RFC 5321 §4.2, §4.3.2; enhanced codes RFC 3463, RFC 5248):
 *   500 5.5.2  unknown verb, empty line, control octet in the line
 *   500 5.5.6  line over SMTP_CMD_EXT_MAX octets with CRLF (§4.5.3.1.4); the same reply
 *              the session gives when it cuts a long line (RFC 5248 registers X.5.6 for
 *              over-long AUTH lines, the closest registered "line too long")
 *   501 5.5.4  bad argument syntax: missing or extra argument, bad EHLO name, FROM:/TO:
 *              missing, path not in <>, bad parameter syntax or value, duplicate parameter
 *   553 5.1.7  bad sender address (MAIL)           from smtp_path_parse()
 *   553 5.1.3  bad recipient address (RCPT)        from smtp_path_parse()
 *   553 5.6.7  UTF-8 address without SMTPUTF8      (RFC 6531 §3.5)
 *   555 5.5.4  unknown parameter, or one that does not belong to this verb (§4.1.1.11)
 *
 * struct smtp_cmd is large (two 4 KiB buffers); per call only the verb, the first octet of
 * each buffer and every field after them are cleared. AUTH's arg2 holds a credential: the session
 * wipes it (explicit_bzero) when done. Texts in struct smtp_perr are static.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp.h"

struct verb {
	const char *name;
	enum smtp_verb verb;
};

static const struct verb verbs[] = {
    {"HELO", SMTP_V_HELO},
    {"EHLO", SMTP_V_EHLO},
    {"MAIL", SMTP_V_MAIL},
    {"RCPT", SMTP_V_RCPT},
    {"DATA", SMTP_V_DATA},
    {"BDAT", SMTP_V_BDAT},
    {"RSET", SMTP_V_RSET},
    {"NOOP", SMTP_V_NOOP},
    {"QUIT", SMTP_V_QUIT},
    {"VRFY", SMTP_V_VRFY},
    {"EXPN", SMTP_V_EXPN},
    {"HELP", SMTP_V_HELP},
    {"STARTTLS", SMTP_V_STARTTLS},
    {"AUTH", SMTP_V_AUTH},
};

static int
fail(struct smtp_perr *err, int code, const char *enh, const char *text)
{
	err->code = code;
	err->enh = enh;
	err->text = text;
	return -1;
}

#define SYNTAX(err, text) fail((err), 501, "5.5.4", (text))

static bool
is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_xdigit(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

static unsigned
xval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return c - 'a' + 10;
}

/* Case-insensitive match of s[0..n) against the NUL-terminated word w. */
static bool
word(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/*
 * RFC 3461 §4 xtext at s[0..n) into out (cap octets with the NUL). Decoded octets must be
 * printable ASCII, or (utf8) form well-formed UTF-8 as well. Returns the decoded length,
 * or -1 (bad escape, forbidden octet, empty, too long).
 */
static int
xtext(const char *s, size_t n, char *out, size_t cap, bool utf8)
{
	size_t i, o = 0;
	uint8_t c;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		c = (uint8_t)s[i];
		if (c == '+') {
			if (i + 2 >= n || !is_xdigit((uint8_t)s[i + 1]) ||
			    !is_xdigit((uint8_t)s[i + 2]))
				return -1;
			c = (uint8_t)(xval((uint8_t)s[i + 1]) << 4 | xval((uint8_t)s[i + 2]));
			i += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return -1; /* xchar: "!".."~" but "+" and "=" */
		}
		if (c < 32 || c == 127 || (c >= 128 && !utf8))
			return -1;
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (utf8 && !smtp_utf8_valid(out, o))
		return -1;
	return (int)o;
}

/*
 * 1-20 digits (RFC 1870 size-value, RFC 3030 chunk-size). Past UINT64_MAX: saturate (a
 * SIZE the session will refuse as too big) or fail (a BDAT chunk nobody can send).
 */
static int
number(const char *s, size_t n, bool saturate, uint64_t *v)
{
	size_t i;
	uint64_t x = 0;
	unsigned d;

	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10) {
			if (!saturate)
				return -1;
			x = UINT64_MAX;
		} else
			x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* MAIL parameters; bit i of *seen is parameter i. */
enum { P_SIZE, P_BODY, P_SMTPUTF8, P_RET, P_ENVID, P_AUTH, P_NOTIFY, P_ORCPT, P_NPARAM };

static const char *const pnames[P_NPARAM] = {
    "SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH", "NOTIFY", "ORCPT"};

static int
notify(const char *v, size_t n, unsigned *out, struct smtp_perr *err)
{
	size_t i = 0, j;
	unsigned bit, bits = 0;

	while (i <= n) {
		for (j = i; j < n && v[j] != ','; j++)
			;
		if (word(v + i, j - i, "NEVER"))
			bit = SMTP_NOTIFY_NEVER;
		else if (word(v + i, j - i, "SUCCESS"))
			bit = SMTP_NOTIFY_SUCCESS;
		else if (word(v + i, j - i, "FAILURE"))
			bit = SMTP_NOTIFY_FAILURE;
		else if (word(v + i, j - i, "DELAY"))
			bit = SMTP_NOTIFY_DELAY;
		else
			return SYNTAX(err, "Bad NOTIFY value (RFC 3461)");
		if (bits & bit)
			return SYNTAX(err, "Bad NOTIFY value (RFC 3461)");
		bits |= bit;
		i = j + 1;
	}
	/* §4.1: NEVER stands alone. */
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return SYNTAX(err, "NOTIFY=NEVER cannot be combined (RFC 3461)");
	*out = bits;
	return 0;
}

static int
orcpt(const char *v, size_t n, char *out, size_t cap, struct smtp_perr *err)
{
	size_t i;

	/* addr-type ";" xtext; addr-type is an atom such as rfc822 or utf-8 (RFC 6533). */
	for (i = 0; i < n && (is_alnum((uint8_t)v[i]) || v[i] == '-'); i++)
		;
	if (i == 0 || i >= n || v[i] != ';' || i + 1 >= cap)
		return SYNTAX(err, "Bad ORCPT value (RFC 3461)");
	memcpy(out, v, i + 1);
	if (xtext(v + i + 1, n - i - 1, out + i + 1, cap - i - 1, true) < 0)
		return SYNTAX(err, "Bad ORCPT value (RFC 3461)");
	return 0;
}

/* One "KEY[=VALUE]" at s[0..n) for verb v. */
static int
param(enum smtp_verb v, const char *s, size_t n, unsigned *seen, struct smtp_cmd *cmd,
    struct smtp_perr *err)
{
	const char *eq, *val = NULL;
	size_t klen, vlen = 0, i;
	int k;

	eq = memchr(s, '=', n);
	klen = eq != NULL ? (size_t)(eq - s) : n;
	if (eq != NULL) {
		val = eq + 1;
		vlen = n - klen - 1;
	}
	/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
	if (klen == 0 || !is_alnum((uint8_t)s[0]))
		return SYNTAX(err, "Bad parameter syntax");
	for (i = 1; i < klen; i++)
		if (!is_alnum((uint8_t)s[i]) && s[i] != '-')
			return SYNTAX(err, "Bad parameter syntax");
	for (k = 0; k < P_NPARAM; k++)
		if (word(s, klen, pnames[k]))
			break;
	if (k == P_NPARAM || (v == SMTP_V_MAIL && k >= P_NOTIFY) ||
	    (v == SMTP_V_RCPT && k < P_NOTIFY))
		return fail(err, 555, "5.5.4", "Unsupported parameter");
	if (*seen & (1u << k))
		return SYNTAX(err, "Duplicate parameter");
	*seen |= 1u << k;
	/* esmtp-value = 1*(%d33-60 / %d62-126) */
	if (eq != NULL) {
		if (vlen == 0)
			return SYNTAX(err, "Empty parameter value");
		for (i = 0; i < vlen; i++)
			if ((uint8_t)val[i] < 33 || (uint8_t)val[i] > 126 || val[i] == '=')
				return SYNTAX(err, "Bad parameter value");
	}
	if (k == P_SMTPUTF8) {
		if (eq != NULL)
			return SYNTAX(err, "SMTPUTF8 takes no value (RFC 6531)");
		cmd->smtputf8 = true;
		return 0;
	}
	if (eq == NULL)
		return SYNTAX(err, "Parameter needs a value");
	switch (k) {
	case P_SIZE:
		if (number(val, vlen, true, &cmd->size) != 0)
			return SYNTAX(err, "Bad SIZE value (RFC 1870)");
		cmd->has_size = true;
		break;
	case P_BODY:
		if (word(val, vlen, "7BIT"))
			cmd->body = SMTP_BODY_7BIT;
		else if (word(val, vlen, "8BITMIME"))
			cmd->body = SMTP_BODY_8BITMIME;
		else if (word(val, vlen, "BINARYMIME"))
			cmd->body = SMTP_BODY_BINARYMIME;
		else
			return SYNTAX(err, "Bad BODY value (RFC 6152, RFC 3030)");
		break;
	case P_RET:
		if (word(val, vlen, "FULL"))
			cmd->ret = SMTP_RET_FULL;
		else if (word(val, vlen, "HDRS"))
			cmd->ret = SMTP_RET_HDRS;
		else
			return SYNTAX(err, "Bad RET value (RFC 3461)");
		break;
	case P_ENVID:
		/* §4.4: at most 100 characters, printable ASCII. */
		if (xtext(val, vlen, cmd->envid, sizeof(cmd->envid), false) < 0)
			return SYNTAX(err, "Bad ENVID value (RFC 3461)");
		break;
	case P_AUTH:
		/* RFC 4954 §5: AUTH=<> says the submitter is not known. */
		if (word(val, vlen, "<>"))
			memcpy(cmd->auth, "<>", 3);
		else if (xtext(val, vlen, cmd->auth, sizeof(cmd->auth), true) < 0)
			return SYNTAX(err, "Bad AUTH value (RFC 4954)");
		break;
	case P_NOTIFY:
		return notify(val, vlen, &cmd->notify, err);
	case P_ORCPT:
		return orcpt(val, vlen, cmd->orcpt, sizeof(cmd->orcpt), err);
	default:
		break;
	}
	return 0;
}

/* MAIL FROM:<path> [params] / RCPT TO:<path> [params]; a = the text after "MAIL ". */
static int
mail_rcpt(enum smtp_verb v, const char *a, size_t n, bool utf8_ok, struct smtp_cmd *cmd,
    struct smtp_perr *err)
{
	const char *kw = v == SMTP_V_MAIL ? "FROM:" : "TO:";
	const char *usage = v == SMTP_V_MAIL ? "Syntax: MAIL FROM:<address> [parameters]"
					     : "Syntax: RCPT TO:<address> [parameters]";
	size_t kl = strlen(kw), i, j;
	unsigned flags, seen = 0;
	int r;

	if (n < kl || strncasecmp(a, kw, kl) != 0)
		return SYNTAX(err, usage);
	i = kl;
	if (i < n && a[i] == ' ')
		i++; /* the one tolerated space, see the top of the file */
	if (i < n && a[i] == ' ')
		return SYNTAX(err, usage);
	if (v == SMTP_V_MAIL)
		flags = SMTP_PATH_NULL | SMTP_PATH_UTF8; /* UTF-8 checked below */
	else
		flags = SMTP_PATH_POSTMASTER | (utf8_ok ? SMTP_PATH_UTF8 : 0);
	r = smtp_path_parse(a + i, n - i, flags, &cmd->path, err);
	if (r < 0)
		return -1;
	i += (size_t)r;
	if (i < n && a[i] != ' ')
		return SYNTAX(err, usage);
	while (i < n) {
		while (i < n && a[i] == ' ')
			i++;
		if (i == n)
			break; /* not reached: trailing spaces were stripped */
		for (j = i; j < n && a[j] != ' '; j++)
			;
		if (param(v, a + i, j - i, &seen, cmd, err) != 0)
			return -1;
		i = j;
	}
	/* RFC 6531 §3.4: SMTPUTF8 on this MAIL command is what allows a UTF-8 path. */
	if (v == SMTP_V_MAIL && cmd->path.utf8 && !cmd->smtputf8)
		return fail(err, 553, "5.6.7", "Non-ASCII address needs SMTPUTF8 (RFC 6531)");
	return 0;
}

static int
bdat(const char *a, size_t n, struct smtp_cmd *cmd, struct smtp_perr *err)
{
	const char *sp;
	size_t dl;

	/* RFC 3030 §2: "BDAT" SP chunk-size [ SP end-marker ] */
	sp = memchr(a, ' ', n);
	dl = sp != NULL ? (size_t)(sp - a) : n;
	if (number(a, dl, false, &cmd->chunk) != 0)
		return SYNTAX(err, "Syntax: BDAT size [LAST]");
	if (sp != NULL) {
		if (!word(sp + 1, n - dl - 1, "LAST"))
			return SYNTAX(err, "Syntax: BDAT size [LAST]");
		cmd->last = true;
	}
	return 0;
}

static int
auth(const char *a, size_t n, struct smtp_cmd *cmd, struct smtp_perr *err)
{
	const char *sp;
	size_t ml, i, rl;

	/* RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]; mech 1*20 [A-Z0-9-_] */
	sp = memchr(a, ' ', n);
	ml = sp != NULL ? (size_t)(sp - a) : n;
	if (ml == 0 || ml > 20)
		return SYNTAX(err, "Syntax: AUTH mechanism [initial-response]");
	for (i = 0; i < ml; i++) {
		if (!is_alnum((uint8_t)a[i]) && a[i] != '-' && a[i] != '_')
			return SYNTAX(err, "Syntax: AUTH mechanism [initial-response]");
		cmd->arg[i] = (a[i] >= 'a' && a[i] <= 'z') ? (char)(a[i] - 'a' + 'A') : a[i];
	}
	cmd->arg[ml] = '\0';
	if (sp == NULL)
		return 0;
	/* initial-response = base64 / "=" (RFC 4954 §4); decoded by the session. */
	rl = n - ml - 1;
	if (rl == 0)
		return SYNTAX(err, "Syntax: AUTH mechanism [initial-response]");
	for (i = 0; i < rl; i++) {
		uint8_t c = (uint8_t)sp[1 + i];

		if (!is_alnum(c) && c != '+' && c != '/' && c != '=')
			return SYNTAX(err, "Bad AUTH initial response (RFC 4954)");
	}
	memcpy(cmd->arg2, sp + 1, rl);
	cmd->arg2[rl] = '\0';
	return 0;
}

static void
clear(struct smtp_cmd *cmd)
{
	cmd->verb = SMTP_V_UNKNOWN;
	cmd->arg[0] = '\0';
	cmd->arg2[0] = '\0';
	/* Everything from path on is small; a new field added there is cleared too. */
	memset(&cmd->path, 0, sizeof(*cmd) - offsetof(struct smtp_cmd, path));
}

int
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd, struct smtp_perr *err)
{
	return smtp_cmd_parse_utf8(line, len, false, cmd, err);
}

int
smtp_cmd_parse_utf8(
    const char *line, size_t len, bool utf8_ok, struct smtp_cmd *cmd, struct smtp_perr *err)
{
	const char *a = NULL;
	size_t i, vl, n = 0;
	enum smtp_verb v = SMTP_V_UNKNOWN;

	clear(cmd);
	/* §4.5.3.1.4 with ESMTP parameters; the limit counts the CRLF. */
	if (len > SMTP_CMD_EXT_MAX - 2)
		return fail(err, 500, "5.5.6", "Line too long");
	for (i = 0; i < len; i++) {
		if ((uint8_t)line[i] < 0x20 || (uint8_t)line[i] == 0x7f)
			return fail(err, 500, "5.5.2", "Control character in command");
	}
	while (len > 0 && line[len - 1] == ' ')
		len--;

	for (vl = 0; vl < len && line[vl] != ' '; vl++)
		;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (word(line, vl, verbs[i].name)) {
			v = verbs[i].verb;
			break;
		}
	}
	if (v == SMTP_V_UNKNOWN)
		return fail(err, 500, "5.5.2", "Command unrecognized");
	cmd->verb = v;
	if (vl < len) {
		/* Exactly one SP between verb and argument (§4.1.1). */
		a = line + vl + 1;
		n = len - vl - 1;
		if (n == 0 || a[0] == ' ')
			return SYNTAX(err, "Syntax: one space between command and argument");
	}

	switch (v) {
	case SMTP_V_HELO:
	case SMTP_V_EHLO:
		/* §4.1.1.1: a Domain or an address literal, nothing else. */
		if (a == NULL)
			return SYNTAX(err,
			    v == SMTP_V_EHLO ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
		if (memchr(a, ' ', n) != NULL || !smtp_domain_valid(a, n, false))
			return SYNTAX(err, "Bad hostname: need a domain or an address literal");
		memcpy(cmd->arg, a, n);
		cmd->arg[n] = '\0';
		return 0;
	case SMTP_V_MAIL:
	case SMTP_V_RCPT:
		if (a == NULL)
			return SYNTAX(err,
			    v == SMTP_V_MAIL ? "Syntax: MAIL FROM:<address> [parameters]"
					     : "Syntax: RCPT TO:<address> [parameters]");
		return mail_rcpt(v, a, n, utf8_ok, cmd, err);
	case SMTP_V_DATA:
	case SMTP_V_RSET:
	case SMTP_V_QUIT:
	case SMTP_V_STARTTLS:
		if (a != NULL)
			return SYNTAX(err, "Syntax: this command takes no argument");
		return 0;
	case SMTP_V_NOOP:
	case SMTP_V_HELP:
	case SMTP_V_VRFY:
	case SMTP_V_EXPN:
		if (a != NULL) {
			memcpy(cmd->arg, a, n);
			cmd->arg[n] = '\0';
		}
		return 0;
	case SMTP_V_BDAT:
		if (a == NULL)
			return SYNTAX(err, "Syntax: BDAT size [LAST]");
		return bdat(a, n, cmd, err);
	case SMTP_V_AUTH:
		if (a == NULL)
			return SYNTAX(err, "Syntax: AUTH mechanism [initial-response]");
		return auth(a, n, cmd, err);
	default:
		return fail(err, 500, "5.5.2", "Command unrecognized");
	}
}
