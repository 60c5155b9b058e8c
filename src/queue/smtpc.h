/*
 * smtpc — mxd's outbound SMTP client (RFC 5321), a blocking library module for the
 * delivery workers: one struct smtpc is one connection to one MX host, opened with
 * smtpc_open(), carrying one or more messages with smtpc_send() (connection reuse), closed
 * with smtpc_close(). STARTTLS (RFC 3207) opportunistic or with DANE (RFC 7672),
 * PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), DSN
 * (RFC 3461). Every wait is bounded (RFC 5321 §4.5.3.2 timeouts, capped by timeout_s); every
 * reply goes through the strict parser in smtp/smtp_reply.c. queue_smtp.c has the details.
 * With smtpc_opts.lmtp the same client speaks LMTP (RFC 2033) for local delivery:
 * lmtp_deliver() in queue/queue.h is that mode.
 */
#ifndef QUEUE_SMTPC_H
#define QUEUE_SMTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "queue/queue.h"
#include "util/net.h"

enum smtpc_tls { SMTPC_TLS_NONE, SMTPC_TLS_MAY, SMTPC_TLS_DANE };
struct smtpc_tlsa {
	uint8_t usage, selector, mtype;
	const uint8_t *data;
	size_t len;
};
struct smtpc_opts {
	const char *helo;      /* our hostname for EHLO/HELO (LHLO with lmtp) */
	const char *peer_name; /* MX host name: SNI and the DANE base domain (RFC 7672 §3.2.2) */
	unsigned
	    timeout_s; /* caps every RFC 5321 §4.5.3.2 timeout (0: the RFC's values); connect timeout min(30, this) */
	enum smtpc_tls tls;
	SSL_CTX *ssl_ctx;              /* tls_client_ctx(); NULL only with SMTPC_TLS_NONE */
	const struct smtpc_tlsa *tlsa; /* SMTPC_TLS_DANE: the TLSA RRset */
	size_t ntlsa;
	/*
	 * LMTP (RFC 2033) instead of SMTP: LHLO and no HELO fallback (§4.1), tls must be NONE,
	 * after the final "." one reply per accepted recipient in RCPT order (§4.2), no DSN
	 * parameters (mxd's queue keeps reporting on local delivery), and SMTPUTF8 required
	 * only by a non-ASCII address: a message flagged SMTPUTF8 with an ASCII envelope goes
	 * to a server without it as it is (the LMTP server is the final delivery agent, which
	 * stores the message; Dovecot 2.3 offers no SMTPUTF8).
	 */
	bool lmtp;
};
struct smtpc;
/* Connects (non-blocking connect + poll, bounded), reads the greeting, EHLO (HELO when EHLO gets 5xx; RFC 5321 §3.2), STARTTLS when offered and tls != NONE (RFC 3207; EHLO again after), verifies DANE. On failure returns NULL with *fail filled (status TEMP/PERM, dsn, text like "connect to 127.0.2.1:25: Connection refused" or "host said: 421 4.3.2 busy (in reply to the greeting)"): connect failure 4.4.1, timeout/drop 4.4.2, 4xx greeting/EHLO TEMP with the reply, 5xx greeting PERM with the reply (the caller moves to the next MX either way), DANE: STARTTLS not offered / handshake failed / no TLSA record matched → TEMP 4.7.5 (never falls back to plaintext). MAY: a failed handshake reconnects once without STARTTLS (RFC 7435 opportunistic) and says so in the state. */
struct smtpc *smtpc_open(
    const struct net_addr *addr, const struct smtpc_opts *, struct deliver_result *fail);
/* smtpc_open() to a target string: "unix:/path" (a stream socket) or "ADDR:PORT" (numeric, port required; "[V6]:PORT"). A malformed target is TEMP 4.3.5 without connecting. The peer is then "unix:/path" or "HOST[IP]:PORT". */
struct smtpc *smtpc_open_target(
    const char *target, const struct smtpc_opts *, struct deliver_result *fail);
/* Sends one message (queue file msgfd, read with queue_file_read from offset 0; env its envelope) to rcpts[0..n) (addresses), res[0..n) filled. MAIL FROM:<from> with SIZE= (when offered; a message bigger than the server's SIZE is PERM 5.3.4 for all), BODY=8BITMIME (when the message is 8BITMIME and offered; when not offered send anyway without BODY=), SMTPUTF8 (when env->smtputf8 or any address is non-ASCII: required from the server, else PERM 5.6.7 for all, RFC 6531 §3.4), RET=/ENVID= and RCPT NOTIFY=/ORCPT= when the server offers DSN (RFC 3461, xtext-encoded). PIPELINING (RFC 2920) when offered: MAIL+all RCPTs+DATA in one write, replies read in order; else lock-step. Body dot-stuffed, CRLF line ends (bare CR/LF sent as CRLF: no SMTP smuggling). Per recipient: 2xx OK; 4xx TEMP; 5xx PERM, text = "host said: 550 5.1.1 <x>: user unknown (in reply to RCPT TO command)" with dsn from the enhanced code or class.0.0. MAIL/DATA failures apply to all accepted recipients. Returns 0 when the session can carry another message (connection reuse), -1 when not (dropped, timeout, malformed reply: every recipient not final gets TEMP 4.4.2/4.5.0). */
int smtpc_send(struct smtpc *, int msgfd, const struct queue_env *env, const char *const *rcpts,
    size_t n, struct deliver_result *res);
/* Before reuse: false when the peer closed or sent unsolicited bytes (poll with 0 timeout), or after a failure. RSET is not needed between transactions that completed. */
bool smtpc_usable(struct smtpc *);
/* "none", "opportunistic" or "dane" for the log line; and the peer's "HOST[IP]:PORT" */
const char *smtpc_tls_state(const struct smtpc *);
/*
 * The peer's "HOST[IP]:PORT" (HOST is peer_name, or the address when there is none), for
 * relay= in the log line. Both strings live as long as the struct smtpc.
 */
const char *smtpc_peer(const struct smtpc *);
/* The server offered DSN (RFC 3461): it takes NOTIFY/ORCPT and reports success itself. */
bool smtpc_dsn(const struct smtpc *);
/* QUIT (bounded wait for 221) when quit, then close and free. NULL is a no-op. */
void smtpc_close(struct smtpc *, bool quit);

#endif
