/*
 * local — the local delivery agent: takes "deliver these recipients of this queue file"
 * from the queue manager, expands aliases, delivers to Maildir (or by LMTP when `lmtp` is
 * set) and answers with one result per recipient. It runs as the mail user, blocking on
 * one delivery at a time, so a slow mailbox never stalls the queue manager's commits.
 */
#include <bsd/string.h>

#include <poll.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "mxd/mxd.h"
#include "queue/queue.h"
#include "util/clock.h"
#include "util/log.h"

#define LOCAL_TARGETS_MAX 64
#define LMTP_TIMEOUT	  300

struct local {
	struct mxd		*mxd;
	struct conf		*conf;
	struct alias_map	*aliases;
	char			 targets[LOCAL_TARGETS_MAX][SMTP_ADDR_MAX + 1];
};

static void
result_set(struct ipc_rcpt_result *r, const struct deliver_result *d)
{
	r->status = (uint8_t)d->status;
	strlcpy(r->dsn, d->dsn, sizeof(r->dsn));
	strlcpy(r->text, d->text, sizeof(r->text));
}

/* Delivers to one final address (no more aliasing). */
static void
deliver_one(struct local *l, int fd, const struct queue_env *env, const char *addr,
    struct deliver_result *res, bool redelivery)
{
	char		 local[SMTP_ADDR_MAX + 1];
	const char	*at = strrchr(addr, '@');
	const char	*one[1] = { addr };

	memset(res, 0, sizeof(*res));
	if (at == NULL || !conf_is_local_domain(l->conf, at + 1)) {
		res->status = DELIVER_TEMP;
		strlcpy(res->dsn, "4.4.0", sizeof(res->dsn));
		strlcpy(res->text, "alias target is not local; forwarding to remote targets is not supported",
		    sizeof(res->text));
		return;
	}
	if (l->conf->lmtp[0] != '\0') {
		(void)lmtp_deliver(l->conf->lmtp, l->conf->hostname, fd, env, one, 1, res,
		    LMTP_TIMEOUT);
		return;
	}
	strlcpy(local, addr, sizeof(local));
	local[at - addr] = '\0';
	(void)maildir_deliver(l->conf->mailbox_root, at + 1, local, fd, env, addr,
	    l->conf->hostname, res, redelivery);
}

static void
deliver_rcpt(struct local *l, int fd, const struct queue_env *env, const char *addr,
    struct deliver_result *res, bool redelivery)
{
	char			 lp[SMTP_ADDR_MAX + 1], dom[SMTP_DOMAIN_MAX + 1];
	const char		*at = strrchr(addr, '@');
	size_t			 n = 0;
	struct deliver_result	 r;
	bool			 temp = false, ok = false;

	if (at == NULL) {
		memset(res, 0, sizeof(*res));
		res->status = DELIVER_PERM;
		strlcpy(res->dsn, "5.1.3", sizeof(res->dsn));
		strlcpy(res->text, "bad recipient address", sizeof(res->text));
		return;
	}
	strlcpy(lp, addr, sizeof(lp));
	lp[at - addr] = '\0';
	strlcpy(dom, at + 1, sizeof(dom));
	if (l->aliases != NULL) {
		if (alias_expand(l->aliases, lp, l->targets, LOCAL_TARGETS_MAX, &n) == -1) {
			memset(res, 0, sizeof(*res));
			res->status = DELIVER_PERM;
			strlcpy(res->dsn, "5.3.5", sizeof(res->dsn));
			strlcpy(res->text, "alias loop or too many targets", sizeof(res->text));
			return;
		}
	}
	/* No alias (an unknown local part expands to itself): the address as it is. */
	if (n == 0 || (n == 1 && strcasecmp(l->targets[0], lp) == 0)) {
		deliver_one(l, fd, env, addr, res, redelivery);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char	full[SMTP_ADDR_MAX + 1];
		int	fl;

		if (strchr(l->targets[i], '@') == NULL)
			fl = snprintf(full, sizeof(full), "%s@%s", l->targets[i], dom);
		else
			fl = (int)strlcpy(full, l->targets[i], sizeof(full));
		if (fl < 0 || (size_t)fl >= sizeof(full)) {
			r.status = DELIVER_PERM;
			strlcpy(r.dsn, "5.1.3", sizeof(r.dsn));
			strlcpy(r.text, "alias target too long", sizeof(r.text));
			*res = r;
			continue;
		}
		deliver_one(l, fd, env, full, &r, redelivery);
		log_info("%s: to=<%s>, orig_to=<%s>, relay=local, delay=%.2f, dsn=%s, status=%s (%s)",
		    env->id, full, addr, clock_since(env->arrival), r.dsn, r.status == DELIVER_OK ? "sent" :
		    r.status == DELIVER_TEMP ? "deferred" : "bounced", r.text);
		if (r.status == DELIVER_OK)
			ok = true;
		else if (r.status == DELIVER_TEMP)
			temp = true;
		*res = r;
	}
	if (temp) {
		res->status = DELIVER_TEMP;
	} else if (ok) {
		res->status = DELIVER_OK;
		strlcpy(res->dsn, "2.0.0", sizeof(res->dsn));
		strlcpy(res->text, "delivered to alias targets", sizeof(res->text));
	}
}

static void
local_request(struct local *l, int qsock, const struct ipc_deliver *d, int fd)
{
	struct ipc_delivered	*out;
	struct queue_env	 env;
	struct deliver_result	 res;
	enum queue_read_res	 rr;

	out = calloc(1, sizeof(*out));
	if (out == NULL)
		fatal("calloc");
	strlcpy(out->id, d->id, sizeof(out->id));
	memset(&env, 0, sizeof(env));
	rr = lseek(fd, 0, SEEK_SET) == -1 ? QUEUE_READ_IOERR : queue_file_read(fd, &env, NULL,
	    NULL);
	for (uint32_t i = 0; i < d->n && i < IPC_RCPT_MAX; i++) {
		struct ipc_rcpt_result *r = &out->r[out->n++];

		r->idx = d->idx[i];
		memset(&res, 0, sizeof(res));
		if (rr != QUEUE_READ_OK || d->idx[i] >= env.nrcpt) {
			res.status = DELIVER_TEMP;
			strlcpy(res.dsn, "4.3.0", sizeof(res.dsn));
			strlcpy(res.text, "queue file unreadable", sizeof(res.text));
		} else {
			deliver_rcpt(l, fd, &env, env.rcpt[d->idx[i]].addr, &res, d->redelivery != 0);
			log_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, status=%s (%s)", d->id,
			    env.rcpt[d->idx[i]].addr, l->conf->lmtp[0] ? "lmtp" : "local",
			    clock_since(env.arrival), res.dsn,
			    res.status == DELIVER_OK ? "sent" :
			    res.status == DELIVER_TEMP ? "deferred" : "bounced", res.text);
		}
		result_set(r, &res);
	}
	queue_env_clear(&env);
	if (ipc_send(qsock, IPC_DELIVERED, 0, out, sizeof(*out), -1) == -1)
		fatal("send to the queue manager");
	free(out);
}

/* SIGTERM: finish the delivery in progress, then stop (a Maildir file is never cut).
   SIGHUP (forwarded by the parent): reload the aliases between deliveries. */
static volatile sig_atomic_t local_stop, local_reload;

static void
local_on_term(int signo)
{
	if (signo == SIGHUP)
		local_reload = 1;
	else
		local_stop = 1;
}

static void
local_reload_aliases(struct local *l)
{
	struct alias_map	*map;
	char			 err[512];

	local_reload = 0;
	if (l->conf->aliases[0] == '\0')
		return;
	map = alias_load(l->conf->aliases, err, sizeof(err));
	if (map == NULL) {
		log_warnx("aliases not reloaded, the old ones stay: %s", err);
		return;
	}
	alias_free(l->aliases);
	l->aliases = map;
	log_info("aliases reloaded from %s", l->conf->aliases);
}

int
local_main(struct mxd *mxd, int qsock)
{
	sigset_t	 waitmask;
	struct local	 l;
	struct ipc_msg	*m;
	char		 err[512];
	int		 r;

	memset(&l, 0, sizeof(l));
	l.mxd = mxd;
	l.conf = &mxd->conf;
	log_init("mxd/local", false);
	if (l.conf->aliases[0] != '\0') {
		l.aliases = alias_load(l.conf->aliases, err, sizeof(err));
		if (l.aliases == NULL)
			fatalx("%s", err);
	}
	mxd_drop_privileges(mxd, NULL);
	mxd_worker_signals(local_on_term, &waitmask);
	m = malloc(sizeof(*m));
	if (m == NULL)
		fatal("malloc");
	while (!local_stop) {
		if (local_reload)
			local_reload_aliases(&l);
		if ((r = mxd_worker_next(qsock, m, NULL, &waitmask)) == -1)
			break;		/* the queue manager is gone: so are we */
		if (r == 0)
			continue;
		local_request(&l, qsock, (const struct ipc_deliver *)m->data, m->fd);
		close(m->fd);
	}
	free(m);
	return 0;
}
