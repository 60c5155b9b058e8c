/*
 * queue_lmtp — local delivery over LMTP (RFC 2033) to Dovecot, Cyrus or any LMTP server
 * on a unix socket or a TCP address: lmtp_deliver(), a wrapper over the SMTP client in its
 * LMTP mode (queue/smtpc.h, smtpc_opts.lmtp). The protocol, the limits, the reply parser,
 * the dot-stuffing and the address checks are all queue_smtp.c's; what is left here is the
 * policy of a local delivery:
 *
 *   - the default timeout (LMTP_TIMEOUT seconds), and no STARTTLS (a local socket);
 *   - a session the server refuses (a 5xx greeting or LHLO) keeps every recipient TEMP,
 *     its enhanced code moved to class 4: the LMTP server is ours, so a refusal is a
 *     configuration or an outage to fix, never a reason to bounce the mail;
 *   - one session per call, closed with QUIT when it ran to its end.
 */
#include "queue/queue.h"
#include "queue/smtpc.h"

#define LMTP_TIMEOUT 60 /* seconds, when the caller says 0 */

int
lmtp_deliver(const char *target, const char *lhlo, int msgfd, const struct queue_env *env,
    const char *const *rcpts, size_t n, struct deliver_result *res, unsigned timeout_s)
{
	struct smtpc_opts o = {
	    .helo = lhlo,
	    .timeout_s = timeout_s != 0 ? timeout_s : LMTP_TIMEOUT,
	    .tls = SMTPC_TLS_NONE,
	    .lmtp = true,
	};
	struct deliver_result fail;
	struct smtpc *c;
	size_t i;
	int rc;

	c = smtpc_open_target(target, &o, &fail);
	if (c == NULL) {
		if (fail.status == DELIVER_PERM) {
			fail.status = DELIVER_TEMP;
			fail.dsn[0] = '4';
		}
		for (i = 0; i < n; i++)
			res[i] = fail;
		return -1;
	}
	rc = smtpc_send(c, msgfd, env, rcpts, n, res);
	smtpc_close(c, rc == 0);
	return rc;
}
