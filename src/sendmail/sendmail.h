/*
 * sendmail — the sendmail(8) command of mxd: internal interfaces between its files.
 *
 *   sendmail.c  options, modes (-bm -bs -bp -bi -q), the config, exit codes
 *   sm_addr.c   RFC 5322 address lists (headers and command-line arguments) → envelope
 *   sm_msg.c    reading a message from stdin and completing its header section
 *   sm_drop.c   the maildrop file that mxd picks up (queue_drop.c writes it) → EX_* codes
 *   sm_smtp.c   -bs: an SMTP dialogue on stdin/stdout
 *
 * The program is never setuid or setgid: everything it does, it does as the invoking
 * user, and mxd records that user's uid when it picks the message up.
 */
#ifndef SENDMAIL_SENDMAIL_H
#define SENDMAIL_SENDMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf/conf.h"
#include "queue/queue.h"

#define SM_ERR_MAX 512

/* What every mode needs: the config and who is calling. */
struct sm_ctx {
	struct conf conf;
	const char *prog;      /* "sendmail", "mailq", "newaliases" */
	const char *conf_path; /* as given (-C, $MXD_CONF) or NULL: default */
	uid_t uid;
	char login[64];               /* getpwuid(getuid())->pw_name */
	char fullname[256];           /* -F, else $NAME, else the GECOS name */
	char from[SMTP_ADDR_MAX + 1]; /* envelope sender, "" for <> */
};

/* --- sm_addr.c ---------------------------------------------------------------------- */

/*
 * Walks an RFC 5322 §3.4 address-list (also what sendmail accepts as one command-line
 * argument: "a@b, Name <c@d>") and calls fn once per addr-spec found, NUL-terminated,
 * with comments and folding whitespace removed, quoted strings and domain literals kept
 * as written, and a source route ("<@a,@b:x@y>") dropped. Group syntax
 * ("undisclosed-recipients:;") yields the group's members, if any; "<>" yields nothing.
 * Returns 0; -1 with a reason in err on a syntax error (unbalanced quotes, comments,
 * brackets; a phrase with no address) or when fn returns -1 (fn wrote err then).
 * len is at most a header field's size; the walk is linear and allocates nothing.
 */
typedef int sm_addr_fn(void *arg, const char *addr, char *err, size_t errlen);
int sm_addr_list(const char *s, size_t len, sm_addr_fn *fn, void *arg, char *err, size_t errlen);

/*
 * Turns one addr-spec into the envelope form mxd stores (smtp_path_str of the parsed
 * path): qualified with @hostname when it has no domain, validated by smtp_path_parse
 * (UTF-8 allowed; *utf8 set when it is UTF-8). allow_null: "" and "<>" give "" (the
 * null sender). Returns 0, or -1 with a reason in err.
 */
int sm_addr_envelope(const char *addr, const char *hostname, bool allow_null,
    char out[SMTP_ADDR_MAX + 1], bool *utf8, char *err, size_t errlen);

/* --- sm_msg.c ------------------------------------------------------------------------ */

/* A growable byte buffer with a hard cap; appends past max fail. */
struct sm_buf {
	uint8_t *p;
	size_t len, cap, max;
};
void sm_buf_init(struct sm_buf *, size_t max);
int sm_buf_add(struct sm_buf *, const void *, size_t); /* 0, or -1: ENOMEM/EFBIG */
int sm_buf_printf(struct sm_buf *, const char *, ...) __attribute__((format(printf, 2, 3)));
void sm_buf_free(struct sm_buf *);

/*
 * Reads a message from fd (stdin) the way sendmail does: LF or CRLF line ends become
 * CRLF, a last line without one gets one; unless ignore_dots, a line holding only "."
 * ends the input (the rest is not read). Refused (returns an EX_* code and the reason in
 * err): a line over 998 octets without its end (RFC 5322 §2.1.1), a NUL, a CR not
 * followed by LF, a message over max octets (EX_DATAERR); a read error (EX_IOERR).
 * Returns EX_OK with the message in out (CRLF lines, not dot-stuffed).
 */
int sm_msg_read(int fd, bool ignore_dots, size_t max, struct sm_buf *out, char *err, size_t errlen);

/* How sm_msg_finish() completes a message. */
struct sm_finish {
	const struct sm_ctx *ctx;
	bool extract;          /* -t: recipients from To/Cc/Bcc into env */
	bool strip_bcc;        /* remove Bcc: and Resent-Bcc: fields */
	bool unix_from;        /* drop a leading mbox "From " line */
	struct queue_env *env; /* recipients are added here with -t */
	unsigned notify;       /* -N bits for recipients added with -t */
};

/*
 * Completes the message in (CRLF lines) into out: prepends a Received: trace field;
 * copies the header section (without Bcc fields when strip_bcc); adds Date: (RFC 5322
 * §3.6.1), From: (§3.6.2, the envelope sender with the full name; the login address for
 * the null sender) and Message-ID: (§3.6.4) when missing; inserts the empty line before
 * a body that did not start with one; copies the body. With extract, adds every address
 * of To:, Cc: and Bcc: (of Resent-To:, Resent-Cc: and Resent-Bcc: instead when any of
 * those is present: §3.6.6) to env, qualified and deduplicated. Sets env->smtputf8 when
 * an added address is UTF-8. Returns EX_OK, or EX_DATAERR (a bad address, too many
 * recipients, out over its cap) / EX_OSERR (memory) with the reason in err.
 */
int sm_msg_finish(const struct sm_finish *, const uint8_t *in, size_t len, struct sm_buf *out,
    char *err, size_t errlen);

/*
 * Adds addr (normalised envelope form) to env unless it is already there. Returns 0, or
 * -1 with err when the message would pass max recipients or memory runs out.
 */
int sm_env_add(struct queue_env *env, const char *addr, unsigned notify, unsigned max, char *err,
    size_t errlen);

/* True when the message has an octet >= 0x80 (it needs BODY=8BITMIME). */
bool sm_msg_8bit(const uint8_t *, size_t);

/* --- sm_drop.c ----------------------------------------------------------------------- */

/*
 * Writes env + msg as a complete mxd queue file to SPOOL/maildrop/.NAME.tmp (O_EXCL,
 * mode 0644), fsyncs it, renames it to SPOOL/maildrop/NAME and fsyncs the directory when
 * we may read it: queue_drop() with flags 0. name receives NAME (16 hex digits). env->id
 * and env->arrival are set there. Returns EX_OK, EX_CANTCREAT (the file cannot be
 * created: no maildrop directory, no permission) or EX_TEMPFAIL (a write, fsync or rename
 * failed: ENOSPC, EIO), with the reason in err; on failure nothing is left behind.
 */
int sm_drop(const char *spool, struct queue_env *env, const uint8_t *msg, size_t len,
    char name[QUEUE_ID_LEN + 1], char *err, size_t errlen);

/* --- sm_smtp.c ----------------------------------------------------------------------- */

/* -bs: an SMTP session on fds 0/1; every accepted message goes to the maildrop. Returns
 * an EX_* code for the session as a whole (EX_OK after QUIT or end of input). */
int sm_smtp(struct sm_ctx *);

#endif
