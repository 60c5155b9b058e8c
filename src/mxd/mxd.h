/*
 * mxd.h — what mxd's processes share: the parent (mxd.c) binds sockets and forks
 * smtpd (smtpd.c: sessions), the queue manager (qmgr.c: commits, scheduling) and the
 * local delivery agent (local.c). See DESIGN.md §1 and docs/queue.md.
 */
#ifndef MXD_MXD_H
#define MXD_MXD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

enum mxd_listen_kind { MXD_L_MX, MXD_L_SUBMISSION, MXD_L_SUBMISSIONS };

struct mxd_listener {
	int fd;
	enum mxd_listen_kind kind;
	struct net_addr addr;
};

#define MXD_LISTEN_MAX (3 * CONF_LISTEN_MAX)

struct mxd {
	struct conf conf;
	const char *conf_path;
	struct mxd_listener listen[MXD_LISTEN_MAX];
	size_t nlisten;
	bool root; /* started as root: drop privileges */
	uid_t uid;
	gid_t gid;
};

/* Each process's main; they return only to exit with the status returned. */
int smtpd_main(struct mxd *, int qsock);
int qmgr_main(struct mxd *, int smtpd_sock, int local_sock);
int local_main(struct mxd *, int qsock);
/* An outbound delivery worker, forked by the queue manager (remote.c). */
int remote_main(const struct conf *, int qsock);

/* smtpd's chroot: an empty directory the parent creates (root only). */
#define MXD_EMPTY_DIR "/var/empty/mxd"

/*
 * For the blocking workers (local, smtp): handler for SIGTERM, SIGINT and SIGHUP (no
 * SA_RESTART), SIGPIPE ignored, and the three blocked except inside ppoll() with the mask
 * stored in *waitmask — so a signal can never slip in between a check and the sleep.
 */
void mxd_worker_signals(void (*handler)(int), sigset_t *waitmask);
/*
 * A blocking worker's wait for its next job from the queue manager: ppoll (timeout may be
 * NULL) with waitmask. 1: an IPC_DELIVER with its descriptor is in m (its domain
 * NUL-terminated); 0: nothing yet (timeout, a signal); -1: the queue manager is gone.
 * Any other message is fatal: the peer is not what it should be.
 */
struct ipc_msg;
int mxd_worker_next(
    int qsock, struct ipc_msg *m, const struct timespec *timeout, const sigset_t *waitmask);

/* Drops to conf.user (when root), chrooting into dir if not NULL. Fatal on failure. */
void mxd_drop_privileges(const struct mxd *, const char *chroot_dir);

#endif
