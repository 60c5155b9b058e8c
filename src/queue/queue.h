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

#define QUEUE_ID_LEN	 16		/* lower-case hex */
#define QUEUE_REC_MAX	 65536		/* largest record payload */
#define QUEUE_RCPT_MAX	 10000		/* hard cap; the config's max_recipients is lower */

enum queue_rec {
	QR_MAGIC = 'M',		/* "mxdq1" */
	QR_ID = 'I',		/* queue ID */
	QR_TIME = 'T',		/* arrival, seconds since the epoch, decimal text */
	QR_CLIENT = 'C',	/* "addr helo" — who sent it, for logs and bounces */
	QR_AUTH = 'A',		/* authenticated user, if any */
	QR_FROM = 'F',		/* reverse path, "" for <> */
	QR_PARAM = 'P',		/* "BODY=8BITMIME", "SMTPUTF8", "RET=HDRS", "ENVID=x", ... */
	QR_RCPT = 'R',		/* "addr\0notify-bits\0orcpt" */
	QR_DATA = 'D',		/* a chunk of the message (headers + body, CRLF lines) */
	QR_END = 'E'		/* body octets (8, network order) + CRC-32C (4) */
};

struct queue_rcpt {
	char		 addr[SMTP_ADDR_MAX + 1];
	unsigned	 notify;	/* SMTP_NOTIFY_* */
	char		 orcpt[SMTP_ADDR_MAX + 16];
};

struct queue_env {
	char		 id[QUEUE_ID_LEN + 1];
	time_t		 arrival;
	char		 client[320];
	char		 auth[SMTP_ADDR_MAX + 1];
	char		 from[SMTP_ADDR_MAX + 1];
	enum smtp_body	 body;
	bool		 smtputf8;
	enum smtp_ret	 ret;
	char		 envid[101];
	struct queue_rcpt *rcpt;	/* owned; queue_env_clear() frees */
	size_t		 nrcpt;
	uint64_t	 size;		/* body octets, from QR_END */
};

/* Buffered record writer over a file descriptor it borrows. Errors are sticky. */
struct queue_w {
	int		 fd;
	uint8_t		 buf[65536];
	size_t		 len;
	uint64_t	 data_octets;
	uint32_t	 crc;
	bool		 err;
	int		 saved_errno;
};
void	queue_w_init(struct queue_w *, int fd);
/* Writes QR_MAGIC, ID, TIME, CLIENT, AUTH, FROM, PARAMs, RCPTs from env. */
void	queue_w_env(struct queue_w *, const struct queue_env *);
void	queue_w_data(struct queue_w *, const void *, size_t);	/* as many QR_DATA as needed */
/* Writes QR_END and flushes. Returns 0, or -1 with errno when any write failed. */
int	queue_w_end(struct queue_w *);

/* Reads a whole message file. data may be NULL to skip the body. */
typedef int queue_data_fn(void *arg, const void *, size_t);
enum queue_read_res { QUEUE_READ_OK, QUEUE_READ_TORN, QUEUE_READ_BAD, QUEUE_READ_IOERR };
enum queue_read_res queue_file_read(int fd, struct queue_env *, queue_data_fn *data, void *arg);
void	queue_env_clear(struct queue_env *);

/* A new random queue ID (16 hex digits from the CSPRNG). */
void	queue_id_new(char out[QUEUE_ID_LEN + 1]);
bool	queue_id_valid(const char *);

uint32_t queue_crc32c(uint32_t crc, const void *, size_t);

#endif
