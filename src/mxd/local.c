/*
 * local — the local delivery agent: takes "deliver these recipients of this queue file"
 * from the queue manager, expands aliases, delivers to Maildir (or by LMTP when `lmtp` is
 * set) and answers with one result per recipient. It runs as the mail user, blocking on
 * one delivery at a time, so a slow mailbox never stalls the queue manager's commits.
 *
 * Alias targets outside local_domains are forwarded as Postfix's local(8) re-submits
 * through cleanup: one new drop file (queue_drop(), QUEUE_DROP_OWNER) holds every remote
 * target of the recipient, with the original sender (<> stays <>), RET and ENVID, NOTIFY
 * (see forward_notify) and ORCPT the recipient's (RFC 3461 §4.2, §5.2.7), and the message with
 * "Delivered-To: RCPT" on top; pickup commits it as a new message and the outbound path
 * delivers it. For one recipient, in this order:
 *
 *   1. with remote targets, the loop check (RFC 9228 §4): a Delivered-To naming the
 *      recipient means the message has been here and forwarded before: PERM 5.4.6,
 *      nothing delivered, the sender gets a DSN;
 *   2. the local targets, Maildir or LMTP, as without forwarding;
 *   3. the forward, only when no local target was TEMP: a retry then delivers the local
 *      ones again (Maildir finds its copy and writes none) and forwards once. The drop
 *      file is fsynced and renamed, and maildrop/ fsynced, before the recipient is
 *      reported; a crash after the rename and before the queue manager records the result
 *      forwards again at the next attempt (at least once, never lost).
 *
 * The result of the recipient: TEMP if any target was TEMP (the whole expansion is tried
 * again), else OK if any target was delivered or forwarded (the targets that failed for
 * good then get a DSN of their own: fail_notify), else the PERM.
 *
 * Duplicates (Postfix local's per-delivery filter): within one job (one message, up to
 * IPC_RCPT_MAX of its recipients) a remote target is forwarded once. A later recipient
 * whose alias shares it logs the target sent, "duplicate of the copy forwarded as
 * maildrop/NAME", and counts it forwarded; that copy carries the first recipient's ORCPT
 * and NOTIFY, so the later one gets our success DSN if it asked. The filter does not
 * reach across jobs (a retry, a split job): a copy too many then, never one lost. smtpd
 * already keeps each recipient of a transaction once.
 *
 * Limits: LOCAL_TARGETS_MAX targets per recipient, so at most that many recipients in a
 * forwarded copy, and LOCAL_SENT_MAX in the job's duplicate filter; a copy's size is the
 * message's plus one header line. Pickup exempts our own drop files from max_message_size
 * and max_recipients (they were checked when the message came in), so a message just
 * under the limit still forwards, and a limit lowered later loses nothing.
 */
#include <bsd/string.h>

#include <poll.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
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
#define LOCAL_SENT_MAX    (LOCAL_TARGETS_MAX * IPC_RCPT_MAX)
#define LMTP_TIMEOUT      300

enum target_kind { TARGET_LOCAL, TARGET_REMOTE, TARGET_BAD };

/* An alias target that failed for good (its address points into local.targets). */
struct local_fail {
	const char *addr;
	char dsn[12];
	char text[240];
};

/* A remote target forwarded in this job, and the copy that carries it. */
struct local_sent {
	char addr[SMTP_ADDR_MAX + 1];
	char as[64]; /* "maildrop/NAME", as forward() writes it */
};

struct local {
	struct mxd *mxd;
	struct conf *conf;
	struct alias_map *aliases;
	char targets[LOCAL_TARGETS_MAX][SMTP_ADDR_MAX + 1];
	uint8_t kind[LOCAL_TARGETS_MAX];           /* enum target_kind */
	struct local_fail fail[LOCAL_TARGETS_MAX]; /* this recipient's targets failed for good */
	size_t nfail;
	struct local_sent *sent; /* this job's, emptied by local_request */
	size_t nsent, sentcap;
};

static void
result_set(struct ipc_rcpt_result *r, const struct deliver_result *d)
{
	r->status = (uint8_t)d->status;
	strlcpy(r->dsn, d->dsn, sizeof(r->dsn));
	strlcpy(r->text, d->text, sizeof(r->text));
	if (d->status != DELIVER_OK || d->action == DELIVER_ACTION_NONE)
		r->success = IPC_SUCCESS_NONE;
	else if (d->action == DELIVER_ACTION_EXPANDED)
		r->success = IPC_SUCCESS_EXPANDED;
	else
		r->success = IPC_SUCCESS_DELIVERED;
}

static void __attribute__((format(printf, 4, 5)))
result(struct deliver_result *r, enum deliver_status status, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	memset(r, 0, sizeof(*r));
	r->status = status;
	strlcpy(r->dsn, dsn, sizeof(r->dsn));
	va_start(ap, fmt);
	(void)vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

static const char *
status_word(enum deliver_status s)
{
	return s == DELIVER_OK ? "sent" : s == DELIVER_TEMP ? "deferred" : "bounced";
}

/* Postfix's line for one target of an alias. */
static void
log_target(
    const struct queue_env *env, const char *to, const char *orig, const struct deliver_result *r)
{
	log_info("%s: to=<%s>, orig_to=<%s>, relay=local, delay=%.2f, dsn=%s, status=%s (%s)",
	    env->id, to, orig, clock_since(env->arrival), r->dsn, status_word(r->status), r->text);
}

/* Delivers to one final local address (no more aliasing). */
static void
deliver_one(struct local *l, int fd, const struct queue_env *env, const char *addr,
    struct deliver_result *res, bool redelivery)
{
	char local[SMTP_ADDR_MAX + 1];
	const char *at = strrchr(addr, '@');
	const char *one[1] = {addr};

	memset(res, 0, sizeof(*res));
	if (at == NULL || !conf_is_local_domain(l->conf, at + 1)) {
		/* The queue manager sends us local recipients only. */
		result(res, DELIVER_TEMP, "4.3.0", "recipient is not local");
		return;
	}
	if (l->conf->lmtp[0] != '\0') {
		(void)lmtp_deliver(
		    l->conf->lmtp, l->conf->hostname, fd, env, one, 1, res, LMTP_TIMEOUT);
		return;
	}
	strlcpy(local, addr, sizeof(local));
	local[at - addr] = '\0';
	(void)maildir_deliver(l->conf->mailbox_root, at + 1, local, fd, env, addr,
	    l->conf->hostname, res, redelivery);
}

/* --- forwarding ----------------------------------------------------------------------- */

static int
loop_data(void *arg, const void *p, size_t n)
{
	struct queue_dt *dt = arg;

	queue_dt_feed(dt, p, n);
	return dt->done ? -1 : 0; /* the header section is all it needs */
}

/*
 * Has this message been delivered to addr before, here or by another MTA that records
 * it? 1 yes (a Delivered-To field names it), 0 no, -1 the queue file did not read back.
 */
static int
forward_loop(int fd, const char *addr)
{
	struct queue_dt dt;
	struct queue_env scratch;
	enum queue_read_res rr;

	queue_dt_init(&dt, addr);
	rr = queue_file_read(fd, &scratch, loop_data, &dt);
	queue_env_clear(&scratch);
	if (rr != QUEUE_READ_OK && !(rr == QUEUE_READ_IOERR && dt.done))
		return -1;
	return queue_dt_found(&dt) ? 1 : 0;
}

static int
forward_data(void *arg, const void *p, size_t n)
{
	queue_drop_data(arg, p, n); /* a write error is sticky: the commit reports it */
	return 0;
}

/*
 * RFC 3461 §5.2.7.3 and RFC 3464 §2.3.3: an alias expanded to several targets answers
 * SUCCESS itself ("expanded"), so its forwarded copies keep the recipient's NOTIFY but for
 * SUCCESS; SUCCESS alone becomes NEVER. (An alias to one remote address is transparent:
 * its copy keeps NOTIFY as it is and the next MTA reports.)
 */
static unsigned
forward_notify(unsigned notify)
{
	if (notify == SMTP_NOTIFY_SUCCESS)
		return SMTP_NOTIFY_NEVER;
	return notify & ~(unsigned)SMTP_NOTIFY_SUCCESS;
}

/*
 * RFC 3461 §4.2: the ORCPT the recipient came with, else "rfc822;RECIPIENT". None when
 * the stored one would break pickup's rules (an xtext-decoded ORCPT may hold a space), as
 * docs/queue.md says, and none for a UTF-8 recipient we would have to name ourselves
 * (RFC 6533's utf-8 address type has its own encoding, which we do not write).
 */
static void
forward_orcpt(const struct queue_rcpt *rcpt, char *out, size_t cap)
{
	int n;

	out[0] = '\0';
	if (rcpt->orcpt[0] != '\0') {
		if (strchr(rcpt->orcpt, ';') != NULL && queue_drop_text_ok(rcpt->orcpt))
			(void)strlcpy(out, rcpt->orcpt, cap);
		return;
	}
	if (!smtp_str_ascii(rcpt->addr))
		return;
	n = snprintf(out, cap, "rfc822;%s", rcpt->addr);
	if (n < 0 || (size_t)n >= cap || !queue_drop_text_ok(out))
		out[0] = '\0';
}

static const char *
drop_dsn(int e)
{
	return e == ENOSPC || e == EDQUOT ? "4.3.1" : "4.3.0";
}

/*
 * Forwards the message to the remote targets to[0..nto) of rcpt in one drop file.
 * transparent: an alias to one address, NOTIFY passed on as it is. res: OK "forwarded as
 * AS" with AS ("maildrop/NAME") also in as, TEMP (nothing was handed over), or PERM (it
 * cannot be forwarded).
 */
static void
forward(struct local *l, int fd, const struct queue_env *env, const struct queue_rcpt *rcpt,
    char *const *to, size_t nto, bool transparent, struct deliver_result *res, char *as,
    size_t aslen)
{
	struct queue_env fe, scratch;
	struct queue_drop *d;
	enum queue_drop_res dr;
	enum queue_read_res rr;
	char orcpt[sizeof(rcpt->orcpt)], dt[SMTP_ADDR_MAX + 32];
	char name[QUEUE_ID_LEN + 1], err[512];
	const char *why;
	unsigned notify = transparent ? rcpt->notify : forward_notify(rcpt->notify);
	size_t i;
	int k;

	/* Our Delivered-To goes on top (RFC 9228 §4): the loop check of the next pass. */
	k = snprintf(dt, sizeof(dt), "Delivered-To: %s\r\n", rcpt->addr);
	for (i = 0; rcpt->addr[i] != '\0'; i++)
		if ((unsigned char)rcpt->addr[i] < 0x20 || rcpt->addr[i] == 0x7f)
			k = -1; /* header injection: smtpd never lets one through */
	if (k < 0 || (size_t)k >= sizeof(dt)) {
		result(res, DELIVER_PERM, "5.1.3", "cannot forward: bad recipient address");
		return;
	}
	/*
	 * No limit of max_message_size or max_recipients here: pickup exempts our own files
	 * (the message was within them when it came in; the copy adds one header line and
	 * has at most LOCAL_TARGETS_MAX recipients). Every other rule pickup applies is
	 * checked first, so a file it would refuse is never written.
	 */
	memset(&fe, 0, sizeof(fe));
	strlcpy(fe.from, env->from, sizeof(fe.from));
	fe.body = env->body;
	fe.smtputf8 = env->smtputf8 || !smtp_str_ascii(rcpt->addr);
	fe.ret = env->ret;
	if (queue_drop_text_ok(env->envid))
		strlcpy(fe.envid, env->envid, sizeof(fe.envid));
	forward_orcpt(rcpt, orcpt, sizeof(orcpt));
	for (i = 0; i < nto; i++) {
		if (queue_env_add_rcpt(&fe, to[i], notify, orcpt) == -1) {
			result(res, DELIVER_TEMP, "4.3.0", "cannot forward: out of memory");
			goto out;
		}
		if (!smtp_str_ascii(to[i]))
			fe.smtputf8 = true;
	}
	why = queue_drop_env_bad(&fe);
	if (why != NULL) {
		result(res, DELIVER_PERM, "5.3.0", "cannot forward: %s", why);
		goto out;
	}
	d = queue_drop_open(l->conf->spool, QUEUE_DROP_OWNER, &fe, name, &dr, err, sizeof(err));
	if (d == NULL) {
		result(res, DELIVER_TEMP, drop_dsn(errno), "cannot forward: %s", err);
		goto out;
	}
	queue_drop_data(d, dt, (size_t)k);
	rr = queue_file_read(fd, &scratch, forward_data, d);
	queue_env_clear(&scratch);
	if (rr != QUEUE_READ_OK) {
		queue_drop_abort(d);
		result(res, DELIVER_TEMP, "4.3.0", "cannot forward: queue file unreadable");
		goto out;
	}
	if (queue_drop_commit(d, err, sizeof(err)) != QUEUE_DROP_OK) {
		result(res, DELIVER_TEMP, drop_dsn(errno), "cannot forward: %s", err);
		goto out;
	}
	(void)snprintf(as, aslen, "maildrop/%s", name);
	result(res, DELIVER_OK, "2.0.0", "forwarded as %s", as);
out:
	free(fe.rcpt);
}

/*
 * The job's duplicate filter (Postfix local's, per delivery): the copy that already
 * carries the remote target addr, or NULL. Targets are compared as queue_alias.c's
 * expansion does, the domain case-insensitively and the local part exactly: it is the
 * remote host's to fold (RFC 5321 §2.4). Bounded by LOCAL_SENT_MAX entries.
 */
static const char *
sent_find(const struct local *l, const char *addr)
{
	for (size_t i = 0; i < l->nsent; i++)
		if (smtp_addr_same(l->sent[i].addr, addr, false))
			return l->sent[i].as;
	return NULL;
}

/*
 * Records to[0..n) as forwarded in the copy as. Out of memory (or over the bound, which
 * the job's size rules out) a target is not recorded: a later recipient of the job then
 * forwards its own copy, one copy too many and never one too few.
 */
static void
sent_add(struct local *l, char *const *to, size_t n, const char *as)
{
	for (size_t i = 0; i < n; i++) {
		if (l->nsent == l->sentcap) {
			size_t cap = l->sentcap ? l->sentcap * 2 : 16;
			void *p;

			if (cap > LOCAL_SENT_MAX)
				cap = LOCAL_SENT_MAX;
			p = cap > l->sentcap ? reallocarray(l->sent, cap, sizeof(*l->sent)) : NULL;
			if (p == NULL) {
				log_warnx("duplicate filter full: later copies of %s are forwarded "
					  "again",
				    to[i]);
				return;
			}
			l->sent = p;
			l->sentcap = cap;
		}
		strlcpy(l->sent[l->nsent].addr, to[i], sizeof(l->sent[l->nsent].addr));
		strlcpy(l->sent[l->nsent].as, as, sizeof(l->sent[l->nsent].as));
		l->nsent++;
	}
}

/* Notes a target of the recipient being delivered that failed for good. */
static void
fail_add(struct local *l, const char *addr, const struct deliver_result *r)
{
	struct local_fail *f;

	if (l->nfail >= LOCAL_TARGETS_MAX)
		return;
	f = &l->fail[l->nfail++];
	f->addr = addr;
	strlcpy(f->dsn, r->dsn, sizeof(f->dsn));
	strlcpy(f->text, r->text, sizeof(f->text));
}

/*
 * Some targets of rcpt's alias failed for good while others took the message, so the
 * recipient is reported delivered and the queue manager sends no failure DSN: we send one
 * for those targets ourselves (RFC 3464, as Postfix's local does for each failed address
 * of an expansion), through the maildrop like a forward (QUEUE_DROP_RAW: queue_dsn_write
 * writes the whole file). Never for the null sender (RFC 3461 §6.2) or a NOTIFY without
 * FAILURE. If it cannot be written the failure stays in the log only: the recipient's
 * other targets have the message, and trying the whole expansion again would give it to
 * them twice.
 */
static void
fail_notify(struct local *l, int fd, const struct queue_env *env, const struct queue_rcpt *rcpt)
{
	struct dsn_rcpt dr[LOCAL_TARGETS_MAX];
	struct queue_drop *d;
	enum queue_drop_res res;
	char orcpt[sizeof(rcpt->orcpt)], name[QUEUE_ID_LEN + 1], err[512];

	if (l->nfail == 0 || env->from[0] == '\0' || !dsn_wanted(rcpt->notify, DSN_FAILED))
		return;
	forward_orcpt(rcpt, orcpt, sizeof(orcpt));
	memset(dr, 0, sizeof(dr));
	for (size_t i = 0; i < l->nfail; i++) {
		dr[i].addr = l->fail[i].addr;
		dr[i].orcpt = orcpt;
		dr[i].action = DSN_FAILED;
		dr[i].status = l->fail[i].dsn;
		dr[i].diag = l->fail[i].text;
		dr[i].last_attempt = time(NULL);
	}
	d = queue_drop_open(
	    l->conf->spool, QUEUE_DROP_OWNER | QUEUE_DROP_RAW, NULL, name, &res, err, sizeof(err));
	if (d == NULL) {
		log_warnx("%s: notification for %s not written: %s", env->id, rcpt->addr, err);
		return;
	}
	if (queue_dsn_write(queue_drop_fd(d), name, l->conf->hostname, env, fd, dr, l->nfail,
		time(NULL), err, sizeof(err)) == -1) {
		queue_drop_abort(d);
		log_warnx("%s: notification for %s not written: %s", env->id, rcpt->addr, err);
		return;
	}
	if (queue_drop_commit(d, err, sizeof(err)) != QUEUE_DROP_OK) {
		log_warnx("%s: notification for %s not written: %s", env->id, rcpt->addr, err);
		return;
	}
	log_info("%s: sender non-delivery notification for %zu target(s) of <%s>: maildrop/%s",
	    env->id, l->nfail, rcpt->addr, name);
}

/* --- one recipient ---------------------------------------------------------------------- */

static void
deliver_rcpt(struct local *l, int fd, const struct queue_env *env, const struct queue_rcpt *rcpt,
    struct deliver_result *res, bool redelivery)
{
	char lp[SMTP_ADDR_MAX + 1], dom[SMTP_DOMAIN_MAX + 1];
	char full[SMTP_ADDR_MAX + 1], as[64], more[96];
	char *remote[LOCAL_TARGETS_MAX];
	const char *addr = rcpt->addr, *at = strrchr(addr, '@');
	const char *dupof = NULL, *dupas = NULL, *shown, *prev;
	size_t n = 0, nremote = 0, nlocal = 0, ndup = 0, nsent, k;
	struct deliver_result r, temp, perm, fwd;
	bool is_temp = false;
	int fl;

	if (at == NULL) {
		result(res, DELIVER_PERM, "5.1.3", "bad recipient address");
		return;
	}
	strlcpy(lp, addr, sizeof(lp));
	lp[at - addr] = '\0';
	strlcpy(dom, at + 1, sizeof(dom));
	if (l->aliases != NULL) {
		if (alias_expand(l->aliases, lp, l->targets, LOCAL_TARGETS_MAX, &n) == -1) {
			result(res, DELIVER_PERM, "5.3.5", "alias loop or too many targets");
			return;
		}
	}
	/* No alias (an unknown local part expands to itself): the address as it is. */
	if (n == 0 || (n == 1 && strcasecmp(l->targets[0], lp) == 0)) {
		deliver_one(l, fd, env, addr, res, redelivery);
		return;
	}
	memset(&perm, 0, sizeof(perm));
	memset(&temp, 0, sizeof(temp));
	l->nfail = 0;
	/* Every target as a full address, sorted into local, remote and unusable. */
	for (size_t i = 0; i < n; i++) {
		if (strchr(l->targets[i], '@') == NULL)
			fl = snprintf(full, sizeof(full), "%s@%s", l->targets[i], dom);
		else
			fl = (int)strlcpy(full, l->targets[i], sizeof(full));
		l->kind[i] = TARGET_BAD;
		if (fl < 0 || (size_t)fl >= sizeof(full)) {
			result(&perm, DELIVER_PERM, "5.1.3", "alias target too long");
		} else {
			memcpy(l->targets[i], full, (size_t)fl + 1);
			if (conf_is_local_domain(l->conf, strrchr(full, '@') + 1))
				l->kind[i] = TARGET_LOCAL;
			/* The aliases file checks a target loosely; pickup will not. */
			else if (queue_drop_path_ok(full, SMTP_PATH_UTF8))
				l->kind[i] = TARGET_REMOTE;
			else
				result(&perm, DELIVER_PERM, "5.1.3", "bad alias target address");
		}
		if (l->kind[i] == TARGET_REMOTE)
			remote[nremote++] = l->targets[i];
		else if (l->kind[i] == TARGET_BAD) {
			log_target(env, l->targets[i], addr, &perm);
			fail_add(l, l->targets[i], &perm);
		}
	}
	if (nremote > 0) {
		switch (forward_loop(fd, addr)) {
		case -1:
			result(res, DELIVER_TEMP, "4.3.0", "queue file unreadable");
			return;
		case 1:
			result(res, DELIVER_PERM, "5.4.6", "mail forwarding loop for %s", addr);
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (l->kind[i] != TARGET_LOCAL)
			continue;
		deliver_one(l, fd, env, l->targets[i], &r, redelivery);
		log_target(env, l->targets[i], addr, &r);
		if (r.status == DELIVER_OK) {
			nlocal++;
		} else if (r.status == DELIVER_TEMP) {
			if (!is_temp)
				temp = r;
			is_temp = true;
		} else {
			perm = r;
			fail_add(l, l->targets[i], &r);
		}
	}
	memset(&fwd, 0, sizeof(fwd));
	fwd.status = DELIVER_PERM;
	/*
	 * A target an earlier recipient of this job forwarded is in that copy already (two
	 * aliases sharing a target): it is not forwarded again. Only copies whose recipient
	 * is OK are recorded, so the queue manager records both recipients done together.
	 */
	if (nremote > 0 && !is_temp) {
		for (size_t i = k = 0; i < nremote; i++) {
			prev = sent_find(l, remote[i]);
			if (prev == NULL) {
				remote[k++] = remote[i];
				continue;
			}
			result(
			    &r, DELIVER_OK, "2.0.0", "duplicate of the copy forwarded as %s", prev);
			log_target(env, remote[i], addr, &r);
			if (ndup++ == 0) {
				dupof = remote[i];
				dupas = prev;
			}
		}
		nremote = k;
	}
	if (nremote > 0) {
		if (is_temp)
			result(&fwd, DELIVER_TEMP, temp.dsn,
			    "not forwarded before the local "
			    "targets are delivered");
		else
			forward(l, fd, env, rcpt, remote, nremote, n == 1, &fwd, as, sizeof(as));
		for (size_t i = 0; i < nremote; i++)
			log_target(env, remote[i], addr, &fwd);
		if (fwd.status == DELIVER_OK)
			sent_add(l, remote, nremote, as);
		if (fwd.status == DELIVER_TEMP && !is_temp) {
			temp = fwd;
			is_temp = true;
		} else if (fwd.status == DELIVER_PERM) {
			perm = fwd;
			for (size_t i = 0; i < nremote; i++)
				fail_add(l, remote[i], &fwd);
		}
	}
	/*
	 * Every target is in one of these: perm holds a result whenever it is used. The
	 * targets in an earlier recipient's copy count as forwarded, under that copy's name.
	 */
	nsent = (fwd.status == DELIVER_OK ? nremote : 0) + ndup;
	shown = fwd.status == DELIVER_OK ? as : dupas;
	more[0] = '\0';
	if (fwd.status == DELIVER_OK && ndup > 0)
		(void)snprintf(more, sizeof(more), ", %zu in %s", ndup, dupas);
	if (is_temp)
		*res = temp;
	else if (nsent == 1 && nlocal == 0)
		result(res, DELIVER_OK, "2.0.0", "forwarded to %s as %s",
		    fwd.status == DELIVER_OK ? remote[0] : dupof, shown);
	else if (nsent > 0 && nlocal == 0)
		result(res, DELIVER_OK, "2.0.0", "forwarded to %zu remote targets as %s%s", nsent,
		    shown, more);
	else if (nsent > 0)
		result(res, DELIVER_OK, "2.0.0",
		    "delivered to %zu local and forwarded to %zu "
		    "remote alias targets as %s%s",
		    nlocal, nsent, shown, more);
	else if (nlocal > 0)
		result(res, DELIVER_OK, "2.0.0", "delivered to alias targets");
	else
		*res = perm;
	/*
	 * One remote target: the next MTA reports; several targets: "expanded". A target in
	 * an earlier recipient's copy travels with that one's ORCPT and NOTIFY, so the next
	 * MTA would not report for this recipient: we do ("delivered").
	 */
	if (res->status == DELIVER_OK && n == 1 && nremote == 1)
		res->action = DELIVER_ACTION_NONE;
	else if (res->status == DELIVER_OK && n > 1)
		res->action = DELIVER_ACTION_EXPANDED;
	/* Delivered, with targets that failed for good: they get their own DSN. */
	if (res->status == DELIVER_OK)
		fail_notify(l, fd, env, rcpt);
}

static void
local_request(struct local *l, int qsock, const struct ipc_deliver *d, int fd)
{
	struct ipc_delivered *out;
	struct queue_env env;
	struct deliver_result res;
	enum queue_read_res rr;

	out = calloc(1, sizeof(*out));
	if (out == NULL)
		fatal("calloc");
	strlcpy(out->id, d->id, sizeof(out->id));
	l->nsent = 0; /* the duplicate filter is per job */
	memset(&env, 0, sizeof(env));
	rr =
	    lseek(fd, 0, SEEK_SET) == -1 ? QUEUE_READ_IOERR : queue_file_read(fd, &env, NULL, NULL);
	for (uint32_t i = 0; i < d->n && i < IPC_RCPT_MAX; i++) {
		struct ipc_rcpt_result *r = &out->r[out->n++];

		r->idx = d->idx[i];
		memset(&res, 0, sizeof(res));
		if (rr != QUEUE_READ_OK || d->idx[i] >= env.nrcpt) {
			res.status = DELIVER_TEMP;
			strlcpy(res.dsn, "4.3.0", sizeof(res.dsn));
			strlcpy(res.text, "queue file unreadable", sizeof(res.text));
		} else {
			deliver_rcpt(l, fd, &env, &env.rcpt[d->idx[i]], &res, d->redelivery != 0);
			log_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, status=%s (%s)", d->id,
			    env.rcpt[d->idx[i]].addr, l->conf->lmtp[0] ? "lmtp" : "local",
			    clock_since(env.arrival), res.dsn, status_word(res.status), res.text);
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
	struct alias_map *map;
	char err[512];

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
	sigset_t waitmask;
	struct local l;
	struct ipc_msg *m;
	char err[512];
	int r;

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
			break; /* the queue manager is gone: so are we */
		if (r == 0)
			continue;
		local_request(&l, qsock, (const struct ipc_deliver *)m->data, m->fd);
		close(m->fd);
	}
	free(m);
	free(l.sent);
	return 0;
}
