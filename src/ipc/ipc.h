/*
 * ipc — framed, typed, size-checked messages between mxd's processes over
 * SOCK_SEQPACKET socketpairs (message boundaries kept by the kernel), optionally carrying
 * one file descriptor (SCM_RIGHTS).
 *
 * Every message is a struct ipc_hdr followed by a payload whose length must equal the
 * header's, and must be within the bounds the receiver registered for that type; anything
 * else is rejected (the peer is then treated as compromised: the caller exits). A
 * receiver never trusts a length it did not check.
 */
#ifndef IPC_IPC_H
#define IPC_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPC_MAX 16384 /* largest payload */

enum ipc_type {
	IPC_NONE,
	IPC_CREATE,    /* smtpd → queue: a new queue file, please (no payload) */
	IPC_CREATED,   /* queue → smtpd: struct ipc_qid + the fd (err set: no fd) */
	IPC_COMMIT,    /* smtpd → queue: struct ipc_qid; the file is complete */
	IPC_COMMITTED, /* queue → smtpd: struct ipc_qid, err 0 when durable */
	IPC_ABORT,     /* smtpd → queue: struct ipc_qid; discard the file */
	IPC_DELIVER,   /* queue → local/smtp: struct ipc_deliver + the message fd */
	IPC_DELIVERED, /* local/smtp → queue: struct ipc_delivered */
	IPC_NTYPES
};

struct ipc_hdr {
	uint32_t type;
	uint32_t len; /* payload octets */
	uint64_t ref; /* the sender's reference (session), echoed in replies */
};

struct ipc_qid {
	char id[17];
	int32_t err; /* 0, or an errno value */
};

#define IPC_RCPT_MAX 32 /* recipients per delivery request */

struct ipc_deliver {
	char id[17];
	uint32_t n;
	uint32_t idx[IPC_RCPT_MAX]; /* recipient indices in the queue file */
	uint8_t redelivery;         /* check the mailbox for an earlier delivery */
	char domain[256];           /* smtp: the destination (lower case); local: "" */
};

struct ipc_rcpt_result {
	uint32_t idx;
	uint8_t status; /* enum deliver_status */
	char dsn[12];   /* RFC 3463 allows "5.999.999" */
	char text[240];
	char relay[96];  /* the remote MTA's host name, "" when none answered */
	uint8_t success; /* enum ipc_success: what NOTIFY=SUCCESS gets */
};

/*
 * RFC 3464 §2.3.3: the action a success DSN reports for a recipient delivered (OK), when
 * the sender asked for one; NONE when another MTA will report (a server that took NOTIFY,
 * an alias forwarded transparently to one address).
 */
enum ipc_success {
	IPC_SUCCESS_NONE,
	IPC_SUCCESS_DELIVERED,
	IPC_SUCCESS_RELAYED,
	IPC_SUCCESS_EXPANDED
};

struct ipc_delivered {
	char id[17];
	uint32_t n;
	uint8_t cached; /* smtp: keeps a session to domain open */
	struct ipc_rcpt_result r[IPC_RCPT_MAX];
};

struct ipc_msg {
	struct ipc_hdr hdr;
	uint8_t data[IPC_MAX];
	int fd; /* -1 when none was passed */
};

/* Sends one message (blocking). fd < 0: none. Returns 0 or -1 (errno). */
int ipc_send(int sock, uint32_t type, uint64_t ref, const void *, size_t, int fd);
/*
 * Receives one message. Returns 1 with m filled, 0 when the peer closed, -1 on error
 * (EAGAIN when nothing is waiting; EBADMSG when the message is malformed or its size
 * does not fit its type — the caller must then stop talking to that peer).
 */
int ipc_recv(int sock, struct ipc_msg *m);

/*
 * Receives every message waiting on sock, calling fn(arg, m) for each (m is the caller's
 * buffer, reused). Returns 0 when nothing more is waiting, 1 when the peer closed, -1 on
 * an error (EBADMSG: a malformed message; stop talking to that peer).
 */
typedef void ipc_handler(void *arg, struct ipc_msg *m);
int ipc_drain(int sock, struct ipc_msg *m, ipc_handler *fn, void *arg);

#endif
