/*
 * sm_drop — hands a message to mxd through the maildrop directory (notes/admin.md). The
 * writer itself is the queue library's (queue_drop.c, shared with the local delivery
 * agent, which forwards through the maildrop too); this file maps its result to the
 * sysexits.h codes sendmail(8) exits with.
 *
 *   SPOOL/maildrop/.NAME.tmp   created O_CREAT|O_EXCL|O_NOFOLLOW, mode 0644, written as a
 *                              complete queue file, fsynced
 *   SPOOL/maildrop/NAME        the same file after rename(2): mxd picks up only names
 *                              without a dot, so it never sees a file being written
 *
 * NAME is 16 random hex digits from the CSPRNG, so names cannot be guessed: maildrop is
 * mode 1733 (anyone may create, nobody but mxd may list, the sticky bit keeps users from
 * removing each other's files). The file is 0644 because mxd reads it as its own user
 * while we may be anyone; nobody can find it by name to read it.
 *
 * Durability: file data and name are synced before we report success, as the queue's own
 * commit does; the directory fsync needs read permission on it, which only root and the
 * mxd user have (queue_drop.c says what that means for others). If mxd is not running
 * the file simply waits there for its next start. Failure leaves nothing behind.
 */
#include <errno.h>
#include <sysexits.h>

#include "sendmail/sendmail.h"

int
sm_drop(const char *spool, struct queue_env *env, const uint8_t *msg, size_t len,
    char name[QUEUE_ID_LEN + 1], char *err, size_t errlen)
{
	switch (queue_drop(spool, 0, env, msg, len, name, err, errlen)) {
	case QUEUE_DROP_OK:
		return EX_OK;
	case QUEUE_DROP_NOCREATE:
		return EX_CANTCREAT;
	case QUEUE_DROP_FAIL:
		break;
	}
	return errno == EACCES || errno == EPERM ? EX_CANTCREAT : EX_TEMPFAIL;
}
