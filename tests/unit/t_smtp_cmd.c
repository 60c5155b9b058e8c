/*
 * t_smtp_cmd — smtp_cmd.c: verbs, arguments, MAIL and RCPT with every ESMTP parameter we
 * know (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH, NOTIFY, ORCPT), xtext decoding, BDAT, AUTH,
 * line limits, control octets and the reply for every refusal.
 *
 * One struct smtp_cmd is reused for the whole table, and every field is compared on every
 * accepted row (a field the row does not name must be empty), so a value left over from
 * an earlier command would show up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

struct ccase {
	const char *in;
	size_t len;
	bool utf8; /* smtp_cmd_parse_utf8(utf8_ok) */
	int code;  /* 0: must parse */
	const char *enh;
	enum smtp_verb verb;
	const char *arg, *arg2, *path; /* NULL: "" */
	bool null, path_utf8;
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	const char *envid, *auth, *orcpt;
	unsigned notify;
	uint64_t chunk;
	bool last;
};

#define E(in, c, e)                                                                                \
	{                                                                                          \
		S(in), .code = c, .enh = e                                                         \
	}
#define EU(in, c, e)                                                                               \
	{                                                                                          \
		S(in), .utf8 = true, .code = c, .enh = e                                           \
	}
#define SYN(in) E(in, 501, "5.5.4")

#define V_MAIL .verb = SMTP_V_MAIL
#define V_RCPT .verb = SMTP_V_RCPT

static const struct ccase cases[] = {
    /* HELO / EHLO (§4.1.1.1). */
    {S("HELO example.org"), .verb = SMTP_V_HELO, .arg = "example.org"},
    {S("helo Example.ORG"), .verb = SMTP_V_HELO, .arg = "Example.ORG"},
    {S("EHLO mx.example.org"), .verb = SMTP_V_EHLO, .arg = "mx.example.org"},
    {S("ehlo x"), .verb = SMTP_V_EHLO, .arg = "x"},
    {S("eHlO x   "), .verb = SMTP_V_EHLO, .arg = "x"},
    {S("EHLO [192.0.2.1]"), .verb = SMTP_V_EHLO, .arg = "[192.0.2.1]"},
    {S("EHLO [IPv6:2001:db8::1]"), .verb = SMTP_V_EHLO, .arg = "[IPv6:2001:db8::1]"},
    {S("HELO [127.0.0.1]"), .verb = SMTP_V_HELO, .arg = "[127.0.0.1]"},
    SYN("EHLO"),
    SYN("HELO"),
    SYN("EHLO "),
    SYN("EHLO  x"),
    SYN("EHLO a b"),
    SYN("EHLO a_b"),
    SYN("EHLO x."),
    SYN("EHLO -x"),
    SYN("EHLO [1.2.3]"),
    SYN("EHLO [::1]"),
    SYN("EHLO [1.2.3.4"),
    SYN("EHLO m\xc3\xbcnchen.de"),
    SYN("EHLO <x>"),
    SYN("HELO a..b"),

    /* MAIL FROM (§4.1.1.2). */
    {S("MAIL FROM:<a@b>"), V_MAIL, .path = "a@b"},
    {S("mail from:<A@B.Example>"), V_MAIL, .path = "A@b.example"},
    {S("Mail From:<a@b>"), V_MAIL, .path = "a@b"},
    {S("MAIL FROM: <a@b>"), V_MAIL, .path = "a@b"},
    {S("MAIL FROM:<>"), V_MAIL, .null = true},
    {S("MAIL FROM: <>"), V_MAIL, .null = true},
    {S("MAIL FROM:<@r.example:a@b>"), V_MAIL, .path = "a@b"},
    {S("MAIL FROM:<\"a b\"@c>"), V_MAIL, .path = "\"a b\"@c"},
    {S("MAIL FROM:<a@[192.0.2.1]>"), V_MAIL, .path = "a@[192.0.2.1]"},
    {S("MAIL FROM:<a@b>   "), V_MAIL, .path = "a@b"},
    SYN("MAIL"),
    SYN("MAIL "),
    SYN("MAIL FROM"),
    SYN("MAIL FROM:"),
    SYN("MAIL FROM: "),
    SYN("MAIL FROM:  <a@b>"),
    SYN("MAIL FROM :<a@b>"),
    SYN("MAIL  FROM:<a@b>"),
    SYN("MAIL TO:<a@b>"),
    SYN("MAIL FROM=<a@b>"),
    SYN("MAIL FROM:a@b"),
    SYN("MAIL FROM:<a@b"),
    SYN("MAIL FROM:<a@b>x"),
    SYN("MAIL FROM:<a@b>SIZE=1"),
    SYN("MAIL FROM:<>x"),
    E("MAIL FROM:<a b@c>", 553, "5.1.7"),
    E("MAIL FROM:<a@b_c>", 553, "5.1.7"),
    E("MAIL FROM:<postmaster>", 553, "5.1.7"),
    E("MAIL FROM:<a>", 553, "5.1.7"),
    E("MAIL FROM:<\"\"@x>", 553, "5.1.7"),

    /* SIZE (RFC 1870). */
    {S("MAIL FROM:<a@b> SIZE=0"), V_MAIL, .path = "a@b", .has_size = true, .size = 0},
    {S("MAIL FROM:<a@b> SIZE=12345"), V_MAIL, .path = "a@b", .has_size = true, .size = 12345},
    {S("MAIL FROM:<a@b> size=00012"), V_MAIL, .path = "a@b", .has_size = true, .size = 12},
    {S("MAIL FROM:<a@b> SIZE=18446744073709551615"), V_MAIL, .path = "a@b", .has_size = true,
	.size = UINT64_MAX},
    {S("MAIL FROM:<a@b> SIZE=18446744073709551616"), V_MAIL, .path = "a@b", .has_size = true,
	.size = UINT64_MAX},
    {S("MAIL FROM:<a@b> SIZE=99999999999999999999"), V_MAIL, .path = "a@b", .has_size = true,
	.size = UINT64_MAX},
    {S("MAIL FROM:<a@b> SIZE=10000000000000000000"), V_MAIL, .path = "a@b", .has_size = true,
	.size = 10000000000000000000u},
    SYN("MAIL FROM:<a@b> SIZE=123456789012345678901"),
    SYN("MAIL FROM:<a@b> SIZE="),
    SYN("MAIL FROM:<a@b> SIZE"),
    SYN("MAIL FROM:<a@b> SIZE=-1"),
    SYN("MAIL FROM:<a@b> SIZE=+1"),
    SYN("MAIL FROM:<a@b> SIZE=1a"),
    SYN("MAIL FROM:<a@b> SIZE=0x10"),
    SYN("MAIL FROM:<a@b> SIZE=1 SIZE=1"),
    SYN("MAIL FROM:<a@b> SIZE=1 size=2"),
    SYN("MAIL FROM:<a@b> SIZE==1"),
    SYN("MAIL FROM:<a@b> SIZE=1=2"),

    /* BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET (RFC 3461). */
    {S("MAIL FROM:<a@b> BODY=7BIT"), V_MAIL, .path = "a@b", .body = SMTP_BODY_7BIT},
    {S("MAIL FROM:<a@b> BODY=8bitmime"), V_MAIL, .path = "a@b", .body = SMTP_BODY_8BITMIME},
    {S("MAIL FROM:<a@b> body=BinaryMIME"), V_MAIL, .path = "a@b", .body = SMTP_BODY_BINARYMIME},
    {S("MAIL FROM:<a@b> SMTPUTF8"), V_MAIL, .path = "a@b", .smtputf8 = true},
    {S("MAIL FROM:<a@b> smtputf8"), V_MAIL, .path = "a@b", .smtputf8 = true},
    {S("MAIL FROM:<a@b> RET=FULL"), V_MAIL, .path = "a@b", .ret = SMTP_RET_FULL},
    {S("MAIL FROM:<a@b> ret=hdrs"), V_MAIL, .path = "a@b", .ret = SMTP_RET_HDRS},
    SYN("MAIL FROM:<a@b> BODY=8BIT"),
    SYN("MAIL FROM:<a@b> BODY=7BITX"),
    SYN("MAIL FROM:<a@b> BODY"),
    SYN("MAIL FROM:<a@b> BODY=7BIT BODY=7BIT"),
    SYN("MAIL FROM:<a@b> SMTPUTF8=yes"),
    SYN("MAIL FROM:<a@b> SMTPUTF8 SMTPUTF8"),
    SYN("MAIL FROM:<a@b> RET=ALL"),
    SYN("MAIL FROM:<a@b> RET"),

    /* ENVID (RFC 3461 §4.4) and xtext (§4). */
    {S("MAIL FROM:<a@b> ENVID=abc"), V_MAIL, .path = "a@b", .envid = "abc"},
    {S("MAIL FROM:<a@b> ENVID=a+2Bb"), V_MAIL, .path = "a@b", .envid = "a+b"},
    {S("MAIL FROM:<a@b> ENVID=+41+42"), V_MAIL, .path = "a@b", .envid = "AB"},
    {S("MAIL FROM:<a@b> ENVID=+2b"), V_MAIL, .path = "a@b", .envid = "+"},
    {S("MAIL FROM:<a@b> ENVID=+3D"), V_MAIL, .path = "a@b", .envid = "="},
    {S("MAIL FROM:<a@b> ENVID=+20x"), V_MAIL, .path = "a@b", .envid = " x"},
    {S("MAIL FROM:<a@b> ENVID=<QQ@x>;\"!~"), V_MAIL, .path = "a@b", .envid = "<QQ@x>;\"!~"},
    SYN("MAIL FROM:<a@b> ENVID=+00"),
    SYN("MAIL FROM:<a@b> ENVID=+0D+0A"),
    SYN("MAIL FROM:<a@b> ENVID=+0A"),
    SYN("MAIL FROM:<a@b> ENVID=+09"),
    SYN("MAIL FROM:<a@b> ENVID=+7F"),
    SYN("MAIL FROM:<a@b> ENVID=+C3+A9"),
    SYN("MAIL FROM:<a@b> ENVID=+4"),
    SYN("MAIL FROM:<a@b> ENVID=+"),
    SYN("MAIL FROM:<a@b> ENVID=x+"),
    SYN("MAIL FROM:<a@b> ENVID=+GG"),
    SYN("MAIL FROM:<a@b> ENVID=a=b"),
    SYN("MAIL FROM:<a@b> ENVID="),
    SYN("MAIL FROM:<a@b> ENVID=\xc3\xa9"),
    SYN("MAIL FROM:<a@b> ENVID=a ENVID=b"),

    /* AUTH= (RFC 4954 §5). */
    {S("MAIL FROM:<a@b> AUTH=<>"), V_MAIL, .path = "a@b", .auth = "<>"},
    {S("MAIL FROM:<a@b> AUTH=user+40example.org"), V_MAIL, .path = "a@b",
	.auth = "user@example.org"},
    {S("MAIL FROM:<a@b> AUTH=e+3Dmc2"), V_MAIL, .path = "a@b", .auth = "e=mc2"},
    {S("MAIL FROM:<a@b> AUTH=+C3+A9@x"), V_MAIL, .path = "a@b", .auth = "\xc3\xa9@x"},
    SYN("MAIL FROM:<a@b> AUTH=+C3"),
    SYN("MAIL FROM:<a@b> AUTH=+0A"),
    SYN("MAIL FROM:<a@b> AUTH="),
    SYN("MAIL FROM:<a@b> AUTH"),

    /* All MAIL parameters at once, in any case, with extra spaces between. */
    {S("MAIL FROM:<a@b>  SIZE=100   BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=q+2B1 AUTH=<>  "), V_MAIL,
	.path = "a@b", .has_size = true, .size = 100, .body = SMTP_BODY_8BITMIME, .smtputf8 = true,
	.ret = SMTP_RET_HDRS, .envid = "q+1", .auth = "<>"},

    /* Unknown and misplaced parameters: 555 5.5.4; bad keywords: 501. */
    E("MAIL FROM:<a@b> XFOO=1", 555, "5.5.4"),
    E("MAIL FROM:<a@b> XFOO", 555, "5.5.4"),
    E("MAIL FROM:<a@b> NOTIFY=NEVER", 555, "5.5.4"),
    E("MAIL FROM:<a@b> ORCPT=rfc822;a@b", 555, "5.5.4"),
    E("MAIL FROM:<a@b> SIZE=1 XFOO=1", 555, "5.5.4"),
    E("MAIL FROM:<a@b> SIZES=1", 555, "5.5.4"),
    E("MAIL FROM:<a@b> SIZE-1=2", 555, "5.5.4"),
    E("RCPT TO:<a@b> SIZE=1", 555, "5.5.4"),
    E("RCPT TO:<a@b> BODY=7BIT", 555, "5.5.4"),
    E("RCPT TO:<a@b> SMTPUTF8", 555, "5.5.4"),
    E("RCPT TO:<a@b> X-Y", 555, "5.5.4"),
    SYN("MAIL FROM:<a@b> -X=1"),
    SYN("MAIL FROM:<a@b> A_B=1"),
    SYN("MAIL FROM:<a@b> =1"),
    SYN("MAIL FROM:<a@b> \xc3\xa9=1"),
    SYN("MAIL FROM:<a@b> SIZE=\xc3\xa9"),

    /* UTF-8 paths (RFC 6531 §3.4). */
    {S("MAIL FROM:<j\xc3\xb6s\xc3\xa9@x> SMTPUTF8"), V_MAIL, .path = "j\xc3\xb6s\xc3\xa9@x",
	.path_utf8 = true, .smtputf8 = true},
    {S("MAIL FROM:<a@\xc3\xa9.x> SIZE=1 SMTPUTF8"), V_MAIL, .path = "a@\xc3\xa9.x",
	.path_utf8 = true, .smtputf8 = true, .has_size = true, .size = 1},
    E("MAIL FROM:<j\xc3\xb6s\xc3\xa9@x>", 553, "5.6.7"),
    E("MAIL FROM:<j\xc3\xb6s\xc3\xa9@x> SIZE=1", 553, "5.6.7"),
    EU("MAIL FROM:<j\xc3\xb6s\xc3\xa9@x>", 553, "5.6.7"),
    E("MAIL FROM:<\xc0\xaf@x> SMTPUTF8", 553, "5.1.7"),
    E("MAIL FROM:<\xc2\x85@x> SMTPUTF8", 553, "5.1.7"),

    /* RCPT TO (§4.1.1.3). */
    {S("RCPT TO:<a@b>"), V_RCPT, .path = "a@b"},
    {S("rcpt to:<a@b>"), V_RCPT, .path = "a@b"},
    {S("RCPT TO: <a@b>"), V_RCPT, .path = "a@b"},
    {S("RCPT TO:<postmaster>"), V_RCPT, .path = "postmaster"},
    {S("RCPT TO:<PostMaster>"), V_RCPT, .path = "PostMaster"},
    {S("RCPT TO:<postmaster@Example.ORG>"), V_RCPT, .path = "postmaster@example.org"},
    {S("RCPT TO:<j\xc3\xb6s\xc3\xa9@x>"), .utf8 = true, V_RCPT, .path = "j\xc3\xb6s\xc3\xa9@x",
	.path_utf8 = true},
    {S("RCPT TO:<a@b>"), .utf8 = true, V_RCPT, .path = "a@b"},
    E("RCPT TO:<j\xc3\xb6s\xc3\xa9@x>", 553, "5.6.7"),
    E("RCPT TO:<>", 553, "5.1.3"),
    E("RCPT TO:<a b@c>", 553, "5.1.3"),
    E("RCPT TO:<\"postmaster\">", 553, "5.1.3"),
    E("RCPT TO:<a@-b>", 553, "5.1.3"),
    E("RCPT TO:<a@[300.1.1.1]>", 553, "5.1.3"),
    SYN("RCPT"),
    SYN("RCPT TO"),
    SYN("RCPT TO:"),
    SYN("RCPT FROM:<a@b>"),
    SYN("RCPT TO:  <a@b>"),
    SYN("RCPT TO:a@b"),
    SYN("RCPT TO:<a@b>,<c@d>"),
    SYN("RCPT TO:<a@b> <c@d>"),

    /* NOTIFY and ORCPT (RFC 3461 §4.1, §4.2). */
    {S("RCPT TO:<a@b> NOTIFY=NEVER"), V_RCPT, .path = "a@b", .notify = SMTP_NOTIFY_NEVER},
    {S("RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE"), V_RCPT, .path = "a@b",
	.notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE},
    {S("RCPT TO:<a@b> notify=delay,Success,FAILURE"), V_RCPT, .path = "a@b",
	.notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY},
    {S("RCPT TO:<a@b> NOTIFY=DELAY"), V_RCPT, .path = "a@b", .notify = SMTP_NOTIFY_DELAY},
    {S("RCPT TO:<a@b> ORCPT=rfc822;a@b"), V_RCPT, .path = "a@b", .orcpt = "rfc822;a@b"},
    {S("RCPT TO:<a@b> ORCPT=rfc822;a+2Bb@c"), V_RCPT, .path = "a@b", .orcpt = "rfc822;a+b@c"},
    {S("RCPT TO:<a@b> ORCPT=RFC822;+22a+20b+22@c"), V_RCPT, .path = "a@b",
	.orcpt = "RFC822;\"a b\"@c"},
    {S("RCPT TO:<a@b> ORCPT=utf-8;j+C3+B6@x"), V_RCPT, .path = "a@b", .orcpt = "utf-8;j\xc3\xb6@x"},
    {S("RCPT TO:<a@b> NOTIFY=FAILURE,DELAY ORCPT=rfc822;x@y"), V_RCPT, .path = "a@b",
	.notify = SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY, .orcpt = "rfc822;x@y"},
    {S("RCPT TO:<postmaster> NOTIFY=NEVER"), V_RCPT, .path = "postmaster",
	.notify = SMTP_NOTIFY_NEVER},
    SYN("RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS"),
    SYN("RCPT TO:<a@b> NOTIFY=SUCCESS,NEVER"),
    SYN("RCPT TO:<a@b> NOTIFY=SUCCESS,,DELAY"),
    SYN("RCPT TO:<a@b> NOTIFY=SUCCESS,"),
    SYN("RCPT TO:<a@b> NOTIFY=,SUCCESS"),
    SYN("RCPT TO:<a@b> NOTIFY=SUCCESS,SUCCESS"),
    SYN("RCPT TO:<a@b> NOTIFY=FOO"),
    SYN("RCPT TO:<a@b> NOTIFY=NEVERX"),
    SYN("RCPT TO:<a@b> NOTIFY"),
    SYN("RCPT TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER"),
    SYN("RCPT TO:<a@b> ORCPT=rfc822;"),
    SYN("RCPT TO:<a@b> ORCPT=;a@b"),
    SYN("RCPT TO:<a@b> ORCPT=rfc822"),
    SYN("RCPT TO:<a@b> ORCPT=rfc822;+0D"),
    SYN("RCPT TO:<a@b> ORCPT=rfc822;+00"),
    SYN("RCPT TO:<a@b> ORCPT=rfc822;+FF"),
    SYN("RCPT TO:<a@b> ORCPT=x_y;a"),
    SYN("RCPT TO:<a@b> ORCPT=rfc822;a ORCPT=rfc822;b"),

    /* Commands without arguments. */
    {S("DATA"), .verb = SMTP_V_DATA},
    {S("data"), .verb = SMTP_V_DATA},
    {S("DATA "), .verb = SMTP_V_DATA},
    {S("DATA     "), .verb = SMTP_V_DATA},
    {S("RSET"), .verb = SMTP_V_RSET},
    {S("QUIT"), .verb = SMTP_V_QUIT},
    {S("StartTLS"), .verb = SMTP_V_STARTTLS},
    SYN("DATA x"),
    SYN("RSET now"),
    SYN("QUIT bye"),
    SYN("STARTTLS x"),
    SYN("DATA  x"),

    /* Optional arguments. */
    {S("NOOP"), .verb = SMTP_V_NOOP},
    {S("NOOP hello there"), .verb = SMTP_V_NOOP, .arg = "hello there"},
    {S("HELP"), .verb = SMTP_V_HELP},
    {S("HELP MAIL"), .verb = SMTP_V_HELP, .arg = "MAIL"},
    {S("VRFY postmaster"), .verb = SMTP_V_VRFY, .arg = "postmaster"},
    {S("VRFY"), .verb = SMTP_V_VRFY},
    {S("EXPN staff"), .verb = SMTP_V_EXPN, .arg = "staff"},
    {S("VRFY <a@b>  "), .verb = SMTP_V_VRFY, .arg = "<a@b>"},
    {S("NOOP $(rm -rf /);`x`"), .verb = SMTP_V_NOOP, .arg = "$(rm -rf /);`x`"},
    SYN("NOOP  x"),
    SYN("VRFY  x"),

    /* BDAT (RFC 3030 §2). */
    {S("BDAT 100"), .verb = SMTP_V_BDAT, .chunk = 100},
    {S("BDAT 0 LAST"), .verb = SMTP_V_BDAT, .chunk = 0, .last = true},
    {S("bdat 5 last"), .verb = SMTP_V_BDAT, .chunk = 5, .last = true},
    {S("BDAT 007 Last "), .verb = SMTP_V_BDAT, .chunk = 7, .last = true},
    {S("BDAT 18446744073709551615"), .verb = SMTP_V_BDAT, .chunk = UINT64_MAX},
    SYN("BDAT"),
    SYN("BDAT x"),
    SYN("BDAT -1"),
    SYN("BDAT +1"),
    SYN("BDAT 1 2"),
    SYN("BDAT 1 LASTX"),
    SYN("BDAT 1 LAST x"),
    SYN("BDAT 1  LAST"),
    SYN("BDAT LAST"),
    SYN("BDAT 18446744073709551616"),
    SYN("BDAT 123456789012345678901"),

    /* AUTH (RFC 4954 §4). */
    {S("AUTH PLAIN"), .verb = SMTP_V_AUTH, .arg = "PLAIN"},
    {S("auth plain"), .verb = SMTP_V_AUTH, .arg = "PLAIN"},
    {S("AUTH LOGIN dXNlcg=="), .verb = SMTP_V_AUTH, .arg = "LOGIN", .arg2 = "dXNlcg=="},
    {S("AUTH PLAIN ="), .verb = SMTP_V_AUTH, .arg = "PLAIN", .arg2 = "="},
    {S("AUTH PLAIN AHVzZXIAcGFzcw=="), .verb = SMTP_V_AUTH, .arg = "PLAIN",
	.arg2 = "AHVzZXIAcGFzcw=="},
    {S("AUTH cram-md5"), .verb = SMTP_V_AUTH, .arg = "CRAM-MD5"},
    {S("AUTH X_Y-1"), .verb = SMTP_V_AUTH, .arg = "X_Y-1"},
    {S("AUTH SCRAM-SHA-256-PLUS"), .verb = SMTP_V_AUTH, .arg = "SCRAM-SHA-256-PLUS"},
    {S("AUTH ABCDEFGHIJKLMNOPQRST"), .verb = SMTP_V_AUTH, .arg = "ABCDEFGHIJKLMNOPQRST"},
    {S("AUTH PLAIN a+/="), .verb = SMTP_V_AUTH, .arg = "PLAIN", .arg2 = "a+/="},
    SYN("AUTH"),
    SYN("AUTH PL@IN"),
    SYN("AUTH ABCDEFGHIJKLMNOPQRSTU"),
    SYN("AUTH PLAIN a b"),
    SYN("AUTH PLAIN a*b"),
    SYN("AUTH PLAIN  x"),
    SYN("AUTH PL\xc3\xa4IN"),

    /* Unrecognized: 500 5.5.2. */
    E("", 500, "5.5.2"),
    E("   ", 500, "5.5.2"),
    E("FOO", 500, "5.5.2"),
    E("FOO bar", 500, "5.5.2"),
    E("MAILFROM:<a@b>", 500, "5.5.2"),
    E("HEL", 500, "5.5.2"),
    E("XHELO x", 500, "5.5.2"),
    E("STARTTLSX", 500, "5.5.2"),
    E(" HELO x", 500, "5.5.2"),
    E("H\xc3\x89LO x", 500, "5.5.2"),
    E("GET / HTTP/1.1", 500, "5.5.2"),
    /* Control octets anywhere: a smuggled second command never gets parsed. */
    E("MAIL\tFROM:<a@b>", 500, "5.5.2"),
    E("HELO x\0y", 500, "5.5.2"),
    E("\0", 500, "5.5.2"),
    E("DATA\r", 500, "5.5.2"),
    E("QUIT\n", 500, "5.5.2"),
    E("RSET\nMAIL FROM:<e@x>", 500, "5.5.2"),
    E("MAIL FROM:<a@b>\rRCPT TO:<c@d>", 500, "5.5.2"),
    E("NOOP \x1b[2J", 500, "5.5.2"),
    E("HELO\x7f", 500, "5.5.2"),
    E("RCPT TO:<\"a\x01\"@b>", 500, "5.5.2"),
};

static const char *
vis(const char *s, size_t n)
{
	static char out[512];
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < sizeof(out); i++) {
		if ((uint8_t)s[i] >= 32 && (uint8_t)s[i] < 127 && s[i] != '\\')
			out[o++] = s[i];
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", (uint8_t)s[i]);
	}
	out[o] = '\0';
	return out;
}

static const char *
z(const char *s)
{
	return s != NULL ? s : "";
}

static bool
ascii_text(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((uint8_t)*s < 32 || (uint8_t)*s > 126)
			return false;
	return true;
}

static struct smtp_cmd cmd; /* reused on purpose: nothing may leak between commands */

static void
table(void)
{
	struct smtp_perr e;
	char path[SMTP_ADDR_MAX + 1];
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ccase *c = &cases[i];
		const char *name = vis(c->in, c->len);

		memset(&e, 0, sizeof(e));
		r = smtp_cmd_parse_utf8(c->in, c->len, c->utf8, &cmd, &e);
		if (c->code != 0) {
			is_int(r, -1, "refuse: %s", name);
			is_int(e.code, c->code, "refuse: %s: code (%s)", name, z(e.text));
			is_str(e.enh, c->enh, "refuse: %s: enhanced code", name);
			ok(ascii_text(e.text), "refuse: %s: printable ASCII reply text", name);
			continue;
		}
		is_int(r, 0, "accept: %s", name);
		if (r != 0) {
			diag("refused with %d %s %s", e.code, e.enh, e.text);
			continue;
		}
		is_int(cmd.verb, c->verb, "accept: %s: verb", name);
		is_str(cmd.arg, z(c->arg), "accept: %s: arg", name);
		is_str(cmd.arg2, z(c->arg2), "accept: %s: arg2", name);
		smtp_path_str(&cmd.path, path, sizeof(path));
		is_str(path, z(c->path), "accept: %s: path", name);
		ok(cmd.path.null == c->null && cmd.path.utf8 == c->path_utf8,
		    "accept: %s: path null %d utf8 %d", name, cmd.path.null, cmd.path.utf8);
		ok(cmd.has_size == c->has_size && cmd.size == c->size, "accept: %s: size", name);
		is_int(cmd.body, c->body, "accept: %s: body", name);
		is_int(cmd.smtputf8, c->smtputf8, "accept: %s: smtputf8", name);
		is_int(cmd.ret, c->ret, "accept: %s: ret", name);
		is_str(cmd.envid, z(c->envid), "accept: %s: envid", name);
		is_str(cmd.auth, z(c->auth), "accept: %s: auth", name);
		is_int(cmd.notify, c->notify, "accept: %s: notify", name);
		is_str(cmd.orcpt, z(c->orcpt), "accept: %s: orcpt", name);
		ok(cmd.chunk == c->chunk && cmd.last == c->last, "accept: %s: bdat", name);
	}
}

/* The same table through smtp_cmd_parse (utf8_ok false) where that makes no difference. */
static void
plain_entry(void)
{
	struct smtp_perr e;
	size_t i, bad = 0;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].utf8)
			continue;
		r = smtp_cmd_parse(cases[i].in, cases[i].len, &cmd, &e);
		if ((r == 0) != (cases[i].code == 0))
			bad++;
	}
	ok(bad == 0, "smtp_cmd_parse agrees with smtp_cmd_parse_utf8(false) on every row");
}

/* Line limits: SMTP_CMD_EXT_MAX counts the CRLF (§4.5.3.1.4). */
static void
limits(void)
{
	static char line[SMTP_CMD_EXT_MAX + 16];
	struct smtp_perr e;
	size_t n;
	int r;

	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'x', sizeof(line) - 5);
	n = SMTP_CMD_EXT_MAX - 2;
	r = smtp_cmd_parse(line, n, &cmd, &e);
	is_int(r, 0, "line of %zu octets + CRLF = SMTP_CMD_EXT_MAX", n);
	is_int(strlen(cmd.arg), n - 5, "its argument is whole");
	r = smtp_cmd_parse(line, n + 1, &cmd, &e);
	is_int(r, -1, "one octet more");
	is_int(e.code, 500, "too long: 500");
	is_str(e.enh, "5.5.6", "too long: 5.5.6");
	is_str(e.text, "Line too long", "too long: text");
	r = smtp_cmd_parse(line, sizeof(line), &cmd, &e);
	is_int(r, -1, "much longer");

	/* AUTH with the longest initial response that fits. */
	memcpy(line, "AUTH PLAIN ", 11);
	memset(line + 11, 'A', SMTP_CMD_EXT_MAX);
	r = smtp_cmd_parse(line, SMTP_CMD_EXT_MAX - 2, &cmd, &e);
	is_int(r, 0, "AUTH initial response up to the line limit");
	is_int(strlen(cmd.arg2), SMTP_CMD_EXT_MAX - 2 - 11, "initial response whole");

	/* ENVID: 100 decoded octets, not 101 (RFC 3461 §4.4). */
	n = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<a@b> ENVID=");
	memset(line + n, 'e', 100);
	r = smtp_cmd_parse(line, n + 100, &cmd, &e);
	is_int(r, 0, "ENVID of 100");
	is_int(strlen(cmd.envid), 100, "ENVID of 100 kept");
	memset(line + n, 'e', 101);
	r = smtp_cmd_parse(line, n + 101, &cmd, &e);
	is_int(r, -1, "ENVID of 101");
	is_int(e.code, 501, "ENVID of 101: 501");
	for (r = 0; r < 100; r++)
		memcpy(line + n + 3 * (size_t)r, "+41", 3);
	r = smtp_cmd_parse(line, n + 300, &cmd, &e);
	is_int(r, 0, "ENVID of 100 escapes");
	is_int(strlen(cmd.envid), 100, "ENVID of 100 escapes decoded");

	/* ORCPT and AUTH= that do not fit their fields are refused, not truncated. */
	n = (size_t)snprintf(line, sizeof(line), "RCPT TO:<a@b> ORCPT=rfc822;");
	memset(line + n, 'o', sizeof(cmd.orcpt));
	r = smtp_cmd_parse(line, n + sizeof(cmd.orcpt), &cmd, &e);
	is_int(r, -1, "ORCPT longer than its field");
	n = (size_t)snprintf(line, sizeof(line), "RCPT TO:<a@b> ORCPT=rfc822;");
	memset(line + n, 'o', sizeof(cmd.orcpt) - 8);
	r = smtp_cmd_parse(line, n + sizeof(cmd.orcpt) - 8, &cmd, &e);
	is_int(r, 0, "ORCPT that just fits");
	is_int(strlen(cmd.orcpt), sizeof(cmd.orcpt) - 1, "ORCPT that just fits, whole");
	n = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<a@b> AUTH=");
	memset(line + n, 'u', sizeof(cmd.auth));
	r = smtp_cmd_parse(line, n + sizeof(cmd.auth), &cmd, &e);
	is_int(r, -1, "AUTH= longer than its field");
	r = smtp_cmd_parse(line, n + sizeof(cmd.auth) - 1, &cmd, &e);
	is_int(r, 0, "AUTH= that just fits");

	/* A path over 256 octets inside MAIL. */
	n = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<a@");
	memset(line + n, 'd', 300);
	line[n + 60] = line[n + 120] = line[n + 180] = line[n + 240] = '.';
	line[n + 300] = '>';
	r = smtp_cmd_parse(line, n + 301, &cmd, &e);
	is_int(r, -1, "MAIL with a 312-octet path");
	is_int(e.code, 553, "long path: 553");
}

/* Input that is not NUL-terminated: the parser reads only len octets. */
static void
bounds(void)
{
	static const char *lines[] = {
	    "MAIL FROM:<a@b> SIZE=10",
	    "RCPT TO:<a@b> NOTIFY=SUCCESS",
	    "EHLO example.org",
	    "AUTH PLAIN AAAA",
	    "BDAT 10 LAST",
	    "RCPT TO:<a@b> ORCPT=rfc822;x+41",
	};
	struct smtp_perr e;
	size_t i, n, cut;
	char *p;
	int r;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		n = strlen(lines[i]);
		for (cut = 0; cut <= n; cut++) {
			p = malloc(cut > 0 ? cut : 1);
			if (p == NULL)
				abort();
			memcpy(p, lines[i], cut);
			r = smtp_cmd_parse(p, cut, &cmd, &e);
			free(p);
			if (cut == n)
				is_int(r, 0, "exact-size buffer: %s", lines[i]);
		}
	}
	ok(true, "every prefix of every line parsed without reading past it (ASan)");
}

/* On a refusal the verb is still reported when it was recognized (for logs, counters). */
static void
verb_on_error(void)
{
	static const struct {
		const char *in;
		enum smtp_verb verb;
	} v[] = {
	    {"MAIL FROM:x", SMTP_V_MAIL},
	    {"RCPT TO:<>", SMTP_V_RCPT},
	    {"EHLO  x", SMTP_V_EHLO},
	    {"DATA x", SMTP_V_DATA},
	    {"AUTH", SMTP_V_AUTH},
	    {"FOO", SMTP_V_UNKNOWN},
	    {"HELO x\ty", SMTP_V_UNKNOWN},
	};
	struct smtp_perr e;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		is_int(smtp_cmd_parse(v[i].in, strlen(v[i].in), &cmd, &e), -1, "%s: refused",
		    vis(v[i].in, strlen(v[i].in)));
		is_int(cmd.verb, v[i].verb, "%s: verb", vis(v[i].in, strlen(v[i].in)));
	}
}

int
main(void)
{
	table();
	verb_on_error();
	plain_entry();
	limits();
	bounds();
	return done_testing();
}
