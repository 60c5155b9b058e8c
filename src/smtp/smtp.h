/*
 * smtp — the SMTP protocol pieces that both mxd's server and (later) its client use:
 * pure parsers for commands, paths and parameters, the DATA and BDAT body readers, and
 * reply formatting with enhanced status codes. No I/O here: bytes in, structs out, so
 * unit tests and fuzzers call these directly.
 *
 * Limits (RFC 5321 §4.5.3.1): command line 512 octets with CRLF, text line 1000 octets
 * with CRLF, local part 64, domain 255, path 256. Exceeding one is a defined error, never
 * a truncation.
 */
#ifndef SMTP_SMTP_H
#define SMTP_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_CMD_MAX     512  /* RFC 5321 §4.5.3.1.4, CRLF included */
#define SMTP_CMD_EXT_MAX 4096 /* with ESMTP parameters (RFC 5321 §4.5.3.1.4 allows more) */
#define SMTP_TEXT_MAX    1000 /* §4.5.3.1.6, CRLF included */
#define SMTP_LOCAL_MAX   64   /* §4.5.3.1.1 */
#define SMTP_DOMAIN_MAX  255  /* §4.5.3.1.2 */
#define SMTP_PATH_MAX    256  /* §4.5.3.1.3 */
#define SMTP_ADDR_MAX    (SMTP_LOCAL_MAX * 4 + 1 + SMTP_DOMAIN_MAX + 1) /* UTF-8 room */

enum smtp_verb {
	SMTP_V_UNKNOWN,
	SMTP_V_HELO,
	SMTP_V_EHLO,
	SMTP_V_MAIL,
	SMTP_V_RCPT,
	SMTP_V_DATA,
	SMTP_V_BDAT,
	SMTP_V_RSET,
	SMTP_V_NOOP,
	SMTP_V_QUIT,
	SMTP_V_VRFY,
	SMTP_V_EXPN,
	SMTP_V_HELP,
	SMTP_V_STARTTLS,
	SMTP_V_AUTH
};

/*
 * A mailbox (RFC 5321 §4.1.2 Path / Mailbox), normalised: the local part unquoted
 * (quoted-pair escapes resolved) kept as its octets, the domain lower-cased (or an address
 * literal in brackets, as given). An empty path ("<>") has null = true.
 */
struct smtp_path {
	bool null;
	bool utf8;   /* local part or domain has octets >= 0x80 */
	bool quoted; /* local part was a quoted string */
	char local[SMTP_LOCAL_MAX * 4 + 1];
	char domain[SMTP_DOMAIN_MAX + 1];
	bool domain_literal; /* [192.0.2.1] or [IPv6:...] */
};

/* ESMTP parameters we understand; others make the command fail with 555 5.5.4. */
enum smtp_body { SMTP_BODY_NONE, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };
enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };

#define SMTP_NOTIFY_NEVER   0x01 /* RFC 3461 §4.1 */
#define SMTP_NOTIFY_SUCCESS 0x02
#define SMTP_NOTIFY_FAILURE 0x04
#define SMTP_NOTIFY_DELAY   0x08

struct smtp_cmd {
	enum smtp_verb verb;
	/*
	 * HELO/EHLO: the domain or address literal as sent; AUTH: mechanism, upper-cased;
	 * VRFY/EXPN/HELP/NOOP: the argument, empty if none.
	 */
	char arg[SMTP_CMD_EXT_MAX];
	/* AUTH initial response (base64 or "="), empty if none: a secret, wipe it. */
	char arg2[SMTP_CMD_EXT_MAX];
	struct smtp_path path; /* MAIL, RCPT */
	/* MAIL parameters (RFC 1870, 6152, 3030, 6531, 3461) */
	bool has_size;
	uint64_t size; /* saturates at UINT64_MAX */
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	char envid[101];              /* RFC 3461 §4.4: xtext-decoded, at most 100 */
	char auth[SMTP_ADDR_MAX + 3]; /* MAIL AUTH=, RFC 4954 §5 */
	/* RCPT parameters (RFC 3461) */
	unsigned notify;                /* SMTP_NOTIFY_* bits, 0 = not given */
	char orcpt[SMTP_ADDR_MAX + 16]; /* "rfc822;addr", decoded */
	/* BDAT (RFC 3030) */
	uint64_t chunk;
	bool last;
};

/* What went wrong with a command, mapped to the reply the server must give. */
struct smtp_perr {
	int code;         /* commands: 500 501 553 555; DATA: 451 552 554 */
	const char *enh;  /* "5.5.2" */
	const char *text; /* static */
};

/*
 * Parses one command line (without CRLF; len excludes it; need not be NUL-terminated).
 * Returns 0 and fills cmd, or -1 and fills err (cmd->verb is then set if the verb was
 * known). Verb matching is case-insensitive (§2.4); SP between verb and argument exactly
 * one; trailing spaces tolerated (§4.1.1 says none, clients send them); one SP after
 * "FROM:"/"TO:" tolerated. The reply table and every rule are at the top of smtp_cmd.c.
 * utf8_ok: the transaction is SMTPUTF8 (its MAIL had SMTPUTF8, RFC 6531 §3.4), so RCPT
 * may carry a UTF-8 path; MAIL itself looks only at its own SMTPUTF8 parameter.
 * smtp_cmd_parse() is smtp_cmd_parse_utf8() with utf8_ok false.
 * MAIL SIZE above 2^64-1 saturates to UINT64_MAX (refuse it as too big); RCPT accepts
 * "<postmaster>" (path.domain is then ""); cmd->path.utf8 tells whether a path is UTF-8.
 */
int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd, struct smtp_perr *err);
int smtp_cmd_parse_utf8(
    const char *line, size_t len, bool utf8_ok, struct smtp_cmd *cmd, struct smtp_perr *err);

/* smtp_path_parse() flags */
#define SMTP_PATH_NULL       0x01 /* "<>" allowed: a reverse-path (MAIL FROM) */
#define SMTP_PATH_UTF8       0x02 /* UTF-8 allowed (SMTPUTF8, RFC 6531 §3.3) */
#define SMTP_PATH_POSTMASTER 0x04 /* "<postmaster>" allowed (RCPT, RFC 5321 §4.1.1.3) */

/*
 * Parses a Path "<...>" (source routes "@a,@b:" accepted and discarded, §4.1.2/Appendix C)
 * at s..s+len (need not be NUL-terminated; bytes after '>' are not looked at). Returns the
 * number of bytes consumed (up to and including '>'), or -1 with err: 501 5.5.4 when there
 * is no "<...>", 553 5.1.7 (with SMTP_PATH_NULL, a sender) or 553 5.1.3 (a recipient) for
 * a bad address, 553 5.6.7 for UTF-8 without SMTP_PATH_UTF8. "<postmaster>" (with
 * SMTP_PATH_POSTMASTER) gives local "postmaster" as sent and domain "". See smtp_path.c
 * for every rule.
 */
int smtp_path_parse(
    const char *s, size_t len, unsigned flags, struct smtp_path *, struct smtp_perr *err);
/*
 * Writes "local@domain" (quoting the local part when it is not a Dot-string), "local" for
 * <postmaster>, "" for null (and for a cleared struct); NUL-terminated, truncated to size.
 * Returns the full length (as snprintf does: >= size means it did not fit; a buffer of
 * SMTP_ADDR_MAX + 1 always fits).
 */
size_t smtp_path_str(const struct smtp_path *, char *, size_t);
/*
 * Do the addresses a and b ("local@domain" as smtp_path_str writes them; the domain is
 * after the last '@') name the same mailbox? The domain compares ASCII case-insensitively
 * (RFC 5321 §2.4); the local part exactly, or ASCII case-insensitively with fold_local.
 * RFC 5321 §2.4 leaves a local part's case to its own domain's host: fold it only where
 * that host is us, whose mailboxes and aliases are all case-folded (queue_maildir.c,
 * queue_alias.c). UTF-8 octets always compare exactly, as they are stored.
 */
bool smtp_addr_same(const char *a, const char *b, bool fold_local);
/* True when s holds no octet >= 0x80 (an address or parameter that needs no SMTPUTF8). */
bool smtp_str_ascii(const char *s);
/* RFC 5321 §4.1.2 domain or §4.1.3 address literal; used for EHLO/HELO arguments too. */
bool smtp_domain_valid(const char *, size_t, bool utf8_ok);
/* Well-formed UTF-8 (RFC 3629 §4: no overlongs, no surrogates, nothing above U+10FFFF). */
bool smtp_utf8_valid(const void *, size_t);

/*
 * DATA body reader (RFC 5321 §4.1.1.4, §4.5.2): feed it the raw bytes after "354" as they
 * arrive; it removes dot-stuffing, finds the end ("CRLF.CRLF" only), and refuses bare CR
 * and bare LF anywhere (SMTP smuggling, CVE-2023-51764/5/6) and lines over 1000 octets.
 * Output is the message with CRLF line ends, written through the out callback.
 */
enum smtp_data_state { SMTP_DATA_MORE, SMTP_DATA_END, SMTP_DATA_ERR };
enum smtp_data_err {
	SMTP_DERR_NONE,
	SMTP_DERR_BARE_LF,
	SMTP_DERR_BARE_CR,
	SMTP_DERR_LINE_TOO_LONG,
	SMTP_DERR_TOO_BIG,
	SMTP_DERR_OUTPUT
};
typedef int smtp_out_fn(void *arg, const void *, size_t); /* 0 or -1 */
struct smtp_data {
	smtp_out_fn *out;
	void *arg;
	uint64_t max;           /* size limit (octets after unstuffing), 0: none */
	uint64_t size;          /* message octets so far, also those not written
						   after an error: the size to log */
	size_t linelen;         /* content octets in the current line */
	uint8_t st;             /* private scanner state */
	bool in_header;         /* still in the header section */
	enum smtp_data_err err; /* the first error; output stops there */
	bool eightbit;          /* saw an octet >= 0x80 */
};
/* out and arg are borrowed until the last feed; out gets runs of octets, never empty. */
void smtp_data_init(struct smtp_data *, uint64_t max, smtp_out_fn *, void *);
/*
 * Consumes up to len bytes; *used says how many (on END, bytes after the final CRLF.CRLF
 * are not used: they are pipelined commands; otherwise *used == len). Returns MORE (no
 * error, no end yet), ERR (an error is pending, no end yet) or END (the terminator was
 * consumed; check d->err: END is returned whether or not an error happened before). After
 * ERR, the caller keeps feeding until END (so the client's transfer is read to its end)
 * and then replies with the error. Feeding after END returns END with *used = 0. The
 * outcome does not depend on how the input is split into feeds.
 */
enum smtp_data_state smtp_data_feed(struct smtp_data *, const uint8_t *, size_t, size_t *used);
/* The reply for d->err (250 2.0.0 for none): code, enhanced code, static text. */
void smtp_data_error(const struct smtp_data *, struct smtp_perr *);

/*
 * Hop counting (RFC 5321 §6.3: a server should detect a mail loop by counting Received:
 * fields): fed a message's octets (CRLF lines, any split), counts the header fields named
 * "Received" in its header section. More than SMTP_HOPS_MAX: refuse (554 5.4.6).
 */
#define SMTP_HOPS_MAX 50
struct smtp_hops {
	unsigned n;
	uint8_t match; /* octets of "received:" matched on this line, or 0xff */
	bool mid;      /* inside a line */
	bool done;     /* past the header section */
};
void smtp_hops_feed(struct smtp_hops *, const void *, size_t);

/*
 * --- replies, client side (smtp_reply.c) ----------------------------------------------
 * The strict reply parser of mxd's SMTP client (RFC 5321 §4.2). Feed it the lines of one
 * reply, each without its CRLF; every rule and the reason for it is at the top of
 * smtp_reply.c. Limits: SMTP_REPLY_LINE_MAX octets per line without CRLF (§4.5.3.1.5),
 * SMTP_REPLY_LINES_MAX lines per reply. enh and text are NUL-terminated at all times.
 */
#define SMTP_REPLY_LINE_MAX  510 /* §4.5.3.1.5: 512 with CRLF */
#define SMTP_REPLY_LINES_MAX 100

enum smtp_reply_state { SMTP_REPLY_ST_MORE, SMTP_REPLY_ST_DONE, SMTP_REPLY_ST_BAD };

struct smtp_reply {
	int code; /* 200..599 once the first line is seen, else 0 */
	/* RFC 3463 enhanced code "x.y.z" when the first line starts with one of the
	 * reply's class (2, 4 or 5), else "" */
	char enh[12];
	/* printable ASCII text of every line (after "NNN-" / "NNN "), joined with " / ",
	 * cut (never overflowed) at the buffer's size */
	char text[512];
	size_t nlines;
	/* The text of the line just fed (after "NNN-" / "NNN "), borrowed from the caller's
	 * line until the next call: "" when the line had none or was refused. */
	const char *line_text;
	size_t line_len;
	/* private */
	size_t tlen;
	enum smtp_reply_state state;
};

void smtp_reply_init(struct smtp_reply *);
/*
 * Feeds one line without its CRLF (len excludes it; need not be NUL-terminated).
 * 1: the reply is complete; 0: more lines follow; -1: malformed (code not [2-5][0-5][0-9],
 * separator not '-' / ' ' / end, a code differing from the first line's, a line over 510
 * octets, NUL or other control octets except HT, more than SMTP_REPLY_LINES_MAX lines, a
 * line after the reply was complete). -1 is sticky until smtp_reply_init().
 */
int smtp_reply_line(struct smtp_reply *, const char *line, size_t len);
/* --- end of smtp_reply.c section --- */

#endif
