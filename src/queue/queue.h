/*
 * queue — mxd's durable queue: the on-disk format of a message, its commit protocol, and
 * local delivery (Maildir, LMTP). docs/queue.md is the state machine; this header is the
 * API.
 *
 * File layout under `spool`:
 *   tmp/ID      being written (created O_CREAT|O_EXCL by the queue process; smtpd gets
 *               the fd and writes the whole file through it)
 *   queue/ID    committed: fsynced, renamed, directory fsynced — before any 250
 *   queue/ID.st envelope state after the first delivery attempt (per-recipient status,
 *               attempts, next try), rewritten by the same tmp+fsync+rename protocol
 *
 * A message file is a sequence of records: type (1 octet), length (4 octets, network
 * order), payload. The first record is QR_MAGIC, the last QR_END carrying the count of
 * body octets and a CRC-32C of every preceding octet of the file: a file without a valid
 * END is torn and is never delivered. Records are written only through struct queue_w,
 * read only through queue_file_read(), which checks every length against what is left.
 */
#ifndef QUEUE_QUEUE_H
#define QUEUE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "smtp/smtp.h"

#define QUEUE_ID_LEN   16    /* lower-case hex */
#define QUEUE_REC_MAX  65536 /* largest record payload */
#define QUEUE_RCPT_MAX 10000 /* hard cap; the config's max_recipients is lower */

enum queue_rec {
	QR_MAGIC = 'M',  /* "mxdq1" */
	QR_ID = 'I',     /* queue ID */
	QR_TIME = 'T',   /* arrival, seconds since the epoch, decimal text */
	QR_CLIENT = 'C', /* "addr helo" — who sent it, for logs and bounces */
	QR_AUTH = 'A',   /* authenticated user, if any */
	QR_FROM = 'F',   /* reverse path, "" for <> */
	QR_PARAM = 'P',  /* "BODY=8BITMIME", "SMTPUTF8", "RET=HDRS", "ENVID=x", ... */
	QR_RCPT = 'R',   /* "addr\0notify-bits\0orcpt" */
	QR_DATA = 'D',   /* a chunk of the message (headers + body, CRLF lines) */
	QR_END = 'E'     /* body octets (8, network order) + CRC-32C (4) */
};

struct queue_rcpt {
	char addr[SMTP_ADDR_MAX + 1];
	unsigned notify; /* SMTP_NOTIFY_* */
	char orcpt[SMTP_ADDR_MAX + 16];
};

struct queue_env {
	char id[QUEUE_ID_LEN + 1];
	time_t arrival;
	char client[320];
	char auth[SMTP_ADDR_MAX + 1];
	char from[SMTP_ADDR_MAX + 1];
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	char envid[101];
	struct queue_rcpt *rcpt; /* owned; queue_env_clear() frees */
	size_t nrcpt;
	uint64_t size; /* body octets, from QR_END */
};

/* Buffered record writer over a file descriptor it borrows. Errors are sticky. */
struct queue_w {
	int fd;
	uint8_t buf[65536];
	size_t len;
	uint64_t data_octets;
	uint32_t crc;
	bool err;
	int saved_errno;
	/* private to queue_file.c */
	size_t crc_off;  /* octets of buf already in crc */
	size_t data_hdr; /* offset in buf of the open QR_DATA header, or SIZE_MAX */
};
void queue_w_init(struct queue_w *, int fd);
/* Writes QR_MAGIC, ID, TIME, CLIENT, AUTH, FROM, PARAMs, RCPTs from env. */
void queue_w_env(struct queue_w *, const struct queue_env *);
void queue_w_data(struct queue_w *, const void *, size_t); /* as many QR_DATA as needed */
/* Writes QR_END and flushes. Returns 0, or -1 with errno when any write failed. */
int queue_w_end(struct queue_w *);

/*
 * Reads a whole message file (fd: seekable, read with pread from offset 0). data may be
 * NULL to skip the body; it is called only after the whole file verified OK, with the
 * QR_DATA payloads in order (returning -1 stops the read: IOERR). env is filled from
 * scratch (old contents are not freed) and left cleared unless the result is OK.
 */
typedef int queue_data_fn(void *arg, const void *, size_t);
enum queue_read_res { QUEUE_READ_OK, QUEUE_READ_TORN, QUEUE_READ_BAD, QUEUE_READ_IOERR };
enum queue_read_res queue_file_read(int fd, struct queue_env *, queue_data_fn *data, void *arg);
void queue_env_clear(struct queue_env *);
/*
 * Appends a recipient to env->rcpt (grown with realloc; queue_env_clear() frees it).
 * orcpt may be NULL. Returns 0, or -1 when an argument does not fit its field, the count
 * would pass QUEUE_RCPT_MAX, or memory runs out.
 */
int queue_env_add_rcpt(struct queue_env *, const char *addr, unsigned notify, const char *orcpt);

/* A new random queue ID (16 hex digits from the CSPRNG). */
void queue_id_new(char out[QUEUE_ID_LEN + 1]);
bool queue_id_valid(const char *);

/*
 * CRC-32C (Castagnoli, RFC 3720 appendix B.4), chainable like zlib's crc32(): start with 0,
 * pass the previous result to continue. queue_crc32c(0, "123456789", 9) == 0xe3069283.
 */
uint32_t queue_crc32c(uint32_t crc, const void *, size_t);

/*
 * --- the maildrop (queue_drop.c) -------------------------------------------------------
 * A message handed to the queue without SMTP: a complete queue file written under a
 * temporary name, fsynced, renamed to SPOOL/maildrop/NAME (NAME: 16 random hex digits),
 * which the queue manager's pickup reads back whole, checks with queue_drop_env_bad()'s
 * rules and commits with a fresh queue ID. Writers: sendmail(8) as any user (flags 0: the
 * temporary file is maildrop/.NAME.tmp, mode 0644, the directory fsync best effort), and
 * the local delivery agent forwarding to remote alias targets (QUEUE_DROP_OWNER, as the
 * mail user: tmp/fwd.NAME, mode 0600, and success only once the directory fsync made the
 * name durable). On any failure the temporary file is gone; SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT are blocked from open to commit or abort.
 */
#define QUEUE_DROP_OWNER 0x01
#define QUEUE_DROP_RAW   0x02 /* the caller writes the whole queue file on queue_drop_fd() */
enum queue_drop_res {
	QUEUE_DROP_OK,
	QUEUE_DROP_NOCREATE, /* the file cannot be created: no directory, no permission,
				   the spool path too long */
	QUEUE_DROP_FAIL      /* a write, fsync or rename failed (ENOSPC, EIO), or memory */
};
struct queue_drop;
/*
 * Creates the temporary file and writes env into it (with QUEUE_DROP_RAW: nothing, env may
 * be NULL, and the caller writes a complete queue file, END included, on queue_drop_fd(),
 * as queue_dsn_write() does); env->id becomes NAME (also in name) and env->arrival now. Returns a handle that queue_drop_commit() or queue_drop_abort()
 * ends and frees, or NULL with *res, the reason in err and errno set.
 */
struct queue_drop *queue_drop_open(const char *spool, unsigned flags, struct queue_env *env,
    char name[QUEUE_ID_LEN + 1], enum queue_drop_res *res, char *err, size_t errlen);
int queue_drop_fd(const struct queue_drop *);
/* Appends message octets (CRLF lines, not dot-stuffed); errors show at the commit. */
void queue_drop_data(struct queue_drop *, const void *, size_t);
/* END record, fsync, rename to maildrop/NAME, fsync maildrop/. OK, or FAIL with err/errno. */
enum queue_drop_res queue_drop_commit(struct queue_drop *, char *err, size_t errlen);
void queue_drop_abort(struct queue_drop *); /* NULL is fine */
/* All of it for a message in memory. */
enum queue_drop_res queue_drop(const char *spool, unsigned flags, struct queue_env *env,
    const void *msg, size_t len, char name[QUEUE_ID_LEN + 1], char *err, size_t errlen);
/*
 * Pickup's rules: every envelope field of a drop file must be what smtpd itself would
 * have accepted, so nothing in it can become a command to the next server. path_ok: addr
 * parses as "<addr>" with smtp_path_parse(flags); text_ok: no octet <= 0x20 or 0x7f (an
 * ENVID, an ORCPT); env_bad: NULL, or what is wrong with env (sender, ENVID, recipients,
 * ORCPTs).
 */
bool queue_drop_path_ok(const char *addr, unsigned flags);
bool queue_drop_text_ok(const char *);
const char *queue_drop_env_bad(const struct queue_env *);

/*
 * Forwarding loops (RFC 9228 §4, as Postfix's local(8)): whether a message's header
 * section holds a "Delivered-To:" field whose value is addr (blanks and one pair of angle
 * brackets around it ignored, ASCII case ignored, folded lines joined). Feed the message
 * octets in order, in chunks of any size; done turns true at the empty line that ends the
 * header section (feeding more does nothing). A value longer than QUEUE_DT_VALUE_MAX is
 * skipped: it cannot be an address. addr is borrowed until the last call.
 */
#define QUEUE_DT_VALUE_MAX (SMTP_ADDR_MAX + 64)
struct queue_dt {
	const char *addr;
	char val[QUEUE_DT_VALUE_MAX + 1];
	size_t len;
	uint8_t match; /* octets of the field name matched; 0xff: another field */
	bool bol;      /* at the start of a line */
	bool collect;  /* inside a Delivered-To value */
	bool over;     /* that value was too long */
	bool done, found;
};
void queue_dt_init(struct queue_dt *, const char *addr);
void queue_dt_feed(struct queue_dt *, const void *, size_t);
bool queue_dt_found(struct queue_dt *); /* ends a field the input stopped inside */

/*
 * --- local delivery ------------------------------------------------------------------
 * Each call delivers one message (the queue file open on msgfd, read from offset 0 with
 * queue_file_read(); the envelope comes from env, not from the file) and classifies the
 * outcome per recipient the way RFC 3463 does: OK (2.x.x), TEMP (4.x.x: stays queued,
 * retried), PERM (5.x.x: bounced). dsn is the enhanced status code ("4.2.2"; RFC 3463
 * allows up to "5.999.999"), text a one-line printable reason for the log and the DSN.
 */
enum deliver_status { DELIVER_OK, DELIVER_TEMP, DELIVER_PERM };
/* What a success DSN (RFC 3464 §2.3.3) says of a recipient delivered: see local.c. */
enum deliver_action { DELIVER_ACTION_DELIVERED, DELIVER_ACTION_EXPANDED, DELIVER_ACTION_NONE };

struct deliver_result {
	enum deliver_status status;
	char dsn[12];
	char text[512];
	enum deliver_action action; /* of an OK; zeroed means "delivered" */
};

/*
 * Maildir (cr.yp.to/proto/maildir.html) at ROOT/DOMAIN/LOCAL/, created 0700 when missing;
 * DOMAIN and LOCAL are lower-cased (ASCII) for the directory names. Writes tmp/UNIQUE with
 * "Return-Path: <from>" (RFC 5321 §4.4) and "Delivered-To: rcpt" prepended and LF line
 * ends, fsyncs it, moves it into new/ and fsyncs new/. No symlink below ROOT is followed.
 * A local part or domain that is not safe as one path component is PERM 5.1.1 (5.1.3 for
 * control octets or invalid UTF-8); a missing ROOT is TEMP 4.3.5; ENOSPC 4.3.1, EDQUOT
 * 4.2.2, other I/O errors 4.3.0. hostname is the right-hand part of the unique name.
 * Returns 0 when delivered, -1 otherwise; *res is always filled.
 *
 * Exactly once: the name in new/ is derived from the queue ID and the recipient
 * ("ARRIVAL.Q<id>R<crc32c of rcpt>.HOST"), so a delivery repeated after a crash (the
 * mailbox has it, the queue did not yet record it) finds its file and reports OK without
 * writing a second copy. With redelivery set (the message was recovered after a restart)
 * cur/ is searched too, for a copy a mail reader has already moved there.
 */
int maildir_deliver(const char *root, const char *domain, const char *local, int msgfd,
    const struct queue_env *env, const char *rcpt, const char *hostname, struct deliver_result *res,
    bool redelivery);

/*
 * LMTP (RFC 2033) client (queue_lmtp.c: the SMTP client of queue/smtpc.h in its LMTP
 * mode): target is "unix:/path" or "ADDR:PORT". Sends LHLO lhlo, MAIL FROM:<env->from>
 * (BODY=8BITMIME, SMTPUTF8 and SIZE= when they apply and are offered; no DSN parameters),
 * one RCPT TO per rcpts[i], DATA (dot-stuffed, CRLF; pipelined when PIPELINING is
 * offered), reads one reply per accepted recipient (§4.2), QUIT. res has n entries, all
 * filled on return: a reply's enhanced status code is copied when it has one, else
 * derived from the reply code; text is "host said: CODE TEXT (in reply to WHAT)" or our
 * reason. A non-ASCII address needs SMTPUTF8 from the server (else PERM 5.6.7), a message
 * larger than its SIZE is PERM 5.3.4, BINARYMIME PERM 5.6.3. Every read and write waits at
 * most timeout_s seconds (0: 60); a refused greeting or LHLO, a timeout, a dropped
 * connection or a malformed reply makes every recipient not yet final TEMP. Returns 0 when
 * the session ran to its end, -1 when it did not. n is at most QUEUE_RCPT_MAX.
 */
int lmtp_deliver(const char *target, const char *lhlo, int msgfd, const struct queue_env *env,
    const char *const *rcpts, size_t n, struct deliver_result *res, unsigned timeout_s);

/*
 * Aliases: a file of "local: target, target" lines ('#' starts a comment line, blank
 * lines ignored, at most ALIAS_ENTRIES_MAX entries, lines up to ALIAS_LINE_MAX octets).
 * Keys are local parts, matched case-insensitively; a target is a local part (expanded
 * again) or a full address (final). alias_load() returns a map the caller frees with
 * alias_free(), or NULL and "FILE:LINE: reason" in err on any error. alias_expand() (map
 * may be NULL: no aliases) writes the final addresses for local into out (local
 * parts lower-cased, first-seen order, no duplicates; an unknown local gives itself):
 * 0, or -1 with errno ELOOP (a cycle, or nesting deeper than ALIAS_DEPTH_MAX) or E2BIG
 * (more than max or ALIAS_EXPAND_MAX addresses). A key listing itself ("a: a, b") means
 * its own mailbox, as in sendmail.
 */
#define ALIAS_ENTRIES_MAX 1000
#define ALIAS_EXPAND_MAX  1000
#define ALIAS_DEPTH_MAX   8
#define ALIAS_LINE_MAX    4096
struct alias_map;
struct alias_map *alias_load(const char *path, char *err, size_t errlen);
int alias_expand(const struct alias_map *, const char *local, char out[][SMTP_ADDR_MAX + 1],
    size_t max, size_t *n);
void alias_free(struct alias_map *);

/*
 * --- delivery status notifications -----------------------------------------------------
 * queue_dsn.c: an RFC 3464 report (multipart/report, RFC 6522) written as a normal queue
 * file. One struct dsn_rcpt per recipient reported on; every pointer is borrowed for the
 * call only, and may be NULL where marked.
 */
enum dsn_action { DSN_FAILED, DSN_DELAYED, DSN_DELIVERED, DSN_RELAYED, DSN_EXPANDED };
struct dsn_rcpt {
	const char *addr;  /* final recipient */
	const char *orcpt; /* RFC 3461 ORCPT as stored ("rfc822;x@y"), "" or NULL */
	enum dsn_action action;
	const char *status;     /* "5.1.1"; NULL or malformed: X.0.0 by the action */
	const char *remote_mta; /* "mx.example.org" or NULL */
	const char *diag;       /* the remote reply "550 5.1.1 <x>: user unknown", or
					   our own reason, or NULL */
	time_t last_attempt;    /* 0: none */
};

/*
 * Writes a complete queue file on fd (empty, positioned at 0; the caller created it under
 * spool/tmp and commits it): envelope MAIL FROM:<> with one RCPT, orig->from (NOTIFY=NEVER),
 * queue ID id, arrival now, client "127.0.0.1 HOSTNAME", SMTPUTF8 when the sender is UTF-8,
 * BODY=8BITMIME when the report holds 8-bit octets. The message is a multipart/report:
 * text for people, message/delivery-status (message/global-delivery-status when an address
 * is UTF-8, RFC 6533), and the original read from origfd with queue_file_read(): whole
 * (RET=FULL, or no RET and orig->size <= 1 MiB) or its header section only (RET=HDRS,
 * larger, BINARYMIME, or a report with no failure in it); message/global* when
 * orig->smtputf8. Subject by the worst action. Remote text is made printable first. Lines
 * are CRLF, at most 998 octets. Returns 0, or -1 with a reason in err: orig->from empty
 * (never bounce a bounce, RFC 3461 §6.2), n == 0, an invalid id or hostname, a recipient
 * without address, an original that does not read back OK, a write error (errno kept).
 */
int queue_dsn_write(int fd, const char *id, const char *hostname, const struct queue_env *orig,
    int origfd, const struct dsn_rcpt *rcpts, size_t n, time_t now, char *err, size_t errlen);
/*
 * Whether a recipient with RFC 3461 NOTIFY bits notify (SMTP_NOTIFY_*, 0 = not given)
 * wants a DSN for this action: 0 → FAILED and DELAYED; NEVER → none; else the named ones
 * (SUCCESS: DELIVERED, RELAYED, EXPANDED).
 */
bool dsn_wanted(unsigned notify, enum dsn_action);

#endif
