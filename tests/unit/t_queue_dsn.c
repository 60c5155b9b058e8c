/*
 * t_queue_dsn — delivery status notifications: a DSN written for an original queued with
 * queue_w_*, read back with queue_file_read() and taken apart here (header fields
 * unfolded, MIME parts split on the boundary). Checks the envelope (<> to the sender), the
 * header fields, the three parts, per-recipient fields, RET=HDRS / FULL / the size rule,
 * ENVID and ORCPT echoed, UTF-8 (RFC 6533 types, SMTPUTF8), 8-bit detection, a hostile
 * remote reply that tries to inject fields and boundaries, line lengths and CRLF in every
 * DSN made, the refusals, and the dsn_wanted() truth table.
 */
#include <bsd/string.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "queue/queue.h"
#include "tap.h"

#define HOST  "mx.test"
#define DSNID "0123456789abcdef"
#define NOW   ((time_t)1420070400) /* Thu, 01 Jan 2015 00:00:00 +0000 */
#define MIB   (1024 * 1024)

static char tmpdir[] = "/tmp/t_queue_dsn.XXXXXX";
static int fileno_seq;

/* --- helpers --------------------------------------------------------------------------- */

static int
fresh_fd(void)
{
	char path[256];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/f%d", tmpdir, fileno_seq++);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd == -1) {
		perror(path);
		exit(1);
	}
	return fd;
}

struct sink {
	char *p;
	size_t len, cap;
};

static int
sink_fn(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->p = realloc(s->p, s->cap);
		if (s->p == NULL)
			return -1;
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
	return 0;
}

/* The original: what a client sent, queued and read back (so env->size is set). */
struct orig_spec {
	const char *from;
	const char *envid;
	enum smtp_ret ret;
	enum smtp_body body;
	bool smtputf8;
	const char *data; /* NULL: a header section and a big body */
	size_t bigbody;   /* octets of filler body when data is NULL */
	size_t bighdr;    /* octets of filler header lines when data is NULL */
};

static const char ORIG_HDR[] = "From: Alice <alice@example.org>\r\n"
			       "To: bob@example.net\r\n"
			       "Subject: hello\r\n"
			       "Message-ID: <1@example.org>\r\n";
static const char ORIG_BODY[] = "Hi Bob.\r\n--not-a-boundary\r\nBye.\r\n";

static char *
orig_text(const struct orig_spec *sp, size_t *len)
{
	struct sink s = {0};
	static const char line[] =
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n";
	static const char hline[] =
	    "X-Filler: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n";
	size_t n;

	if (sp->data != NULL) {
		(void)sink_fn(&s, sp->data, strlen(sp->data));
	} else {
		(void)sink_fn(&s, ORIG_HDR, strlen(ORIG_HDR));
		for (n = 0; n < sp->bighdr; n += sizeof(hline) - 1)
			(void)sink_fn(&s, hline, sizeof(hline) - 1);
		(void)sink_fn(&s, "\r\n", 2);
		(void)sink_fn(&s, ORIG_BODY, strlen(ORIG_BODY));
		for (n = 0; n < sp->bigbody; n += sizeof(line) - 1)
			(void)sink_fn(&s, line, sizeof(line) - 1);
	}
	*len = s.len;
	return s.p;
}

/* Writes the original, reads it back into env. Returns the fd. */
static int
make_orig(const struct orig_spec *sp, struct queue_env *env)
{
	struct queue_env w_env;
	struct queue_w *w = malloc(sizeof(*w));
	char *text;
	size_t len;
	int fd = fresh_fd();

	memset(&w_env, 0, sizeof(w_env));
	strlcpy(w_env.id, "fedcba9876543210", sizeof(w_env.id));
	w_env.arrival = NOW - 3600;
	strlcpy(w_env.client, "192.0.2.1 client.example", sizeof(w_env.client));
	strlcpy(w_env.from, sp->from, sizeof(w_env.from));
	w_env.body = sp->body;
	w_env.smtputf8 = sp->smtputf8;
	w_env.ret = sp->ret;
	if (sp->envid != NULL)
		strlcpy(w_env.envid, sp->envid, sizeof(w_env.envid));
	(void)queue_env_add_rcpt(&w_env, "bob@example.net", 0, "rfc822;bob@orig.example");
	queue_w_init(w, fd);
	queue_w_env(w, &w_env);
	text = orig_text(sp, &len);
	queue_w_data(w, text, len);
	if (queue_w_end(w) == -1) {
		perror("queue_w_end");
		exit(1);
	}
	free(w);
	free(text);
	queue_env_clear(&w_env);
	if (queue_file_read(fd, env, NULL, NULL) != QUEUE_READ_OK) {
		fprintf(stderr, "original does not read back\n");
		exit(1);
	}
	return fd;
}

/* A written DSN, read back. */
struct dsn {
	struct queue_env env;
	struct sink msg;
	char boundary[128];
	const char *part[8]; /* each part: its header section and content */
	size_t partlen[8];
	size_t nparts;
};

static void
dsn_free(struct dsn *d)
{
	queue_env_clear(&d->env);
	free(d->msg.p);
	memset(d, 0, sizeof(*d));
}

/*
 * Header field name in the section at p..p+len (up to its blank line), unfolded (CRLF
 * before WSP removed) with leading white space skipped. Returns how many such fields the
 * section has; out holds the first.
 */
static int
field(const char *p, size_t len, const char *name, char *out, size_t cap)
{
	size_t i = 0, nl = strlen(name), o;
	int count = 0;

	out[0] = '\0';
	while (i < len) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			break; /* blank line: end of the section */
		if (len - i > nl && strncasecmp(p + i, name, nl) == 0 && p[i + nl] == ':') {
			if (count++ == 0) {
				i += nl + 1;
				while (i < len && (p[i] == ' ' || p[i] == '\t'))
					i++;
				o = 0;
				while (i < len) {
					if (p[i] == '\r' && i + 2 < len && p[i + 1] == '\n' &&
					    (p[i + 2] == ' ' || p[i + 2] == '\t')) {
						i += 2;
						continue;
					}
					if (p[i] == '\r')
						break;
					if (o + 1 < cap)
						out[o++] = p[i];
					i++;
				}
				out[o] = '\0';
				continue;
			}
		}
		while (i < len && p[i] != '\n')
			i++;
		i++;
	}
	return count;
}

/* Content of a part (after its header section's blank line). */
static const char *
part_body(const struct dsn *d, size_t k, size_t *len)
{
	const char *e = memmem(d->part[k], d->partlen[k], "\r\n\r\n", 4);

	if (e == NULL) {
		*len = 0;
		return "";
	}
	*len = d->partlen[k] - (size_t)(e + 4 - d->part[k]);
	return e + 4;
}

static int
write_dsn(const struct queue_env *orig, int origfd, const struct dsn_rcpt *r, size_t n,
    struct dsn *d, char *err, size_t errlen)
{
	char ct[512], line[256];
	const char *b, *p, *end, *body;
	int fd = fresh_fd(), rc;
	size_t blen;

	memset(d, 0, sizeof(*d));
	rc = queue_dsn_write(fd, DSNID, HOST, orig, origfd, r, n, NOW, err, errlen);
	if (rc == -1) {
		close(fd);
		return -1;
	}
	if (queue_file_read(fd, &d->env, sink_fn, &d->msg) != QUEUE_READ_OK) {
		close(fd);
		(void)snprintf(err, errlen, "DSN does not read back");
		return -1;
	}
	close(fd);
	/* Split the parts on the boundary lines. */
	if (field(d->msg.p, d->msg.len, "Content-Type", ct, sizeof(ct)) != 1)
		return 0;
	b = strstr(ct, "boundary=\"");
	if (b == NULL)
		return 0;
	b += 10;
	end = strchr(b, '"');
	if (end == NULL || (size_t)(end - b) >= sizeof(d->boundary))
		return 0;
	memcpy(d->boundary, b, (size_t)(end - b));
	d->boundary[end - b] = '\0';
	body = memmem(d->msg.p, d->msg.len, "\r\n\r\n", 4);
	if (body == NULL)
		return 0;
	body += 2; /* at "\r\n" before the first body line */
	blen = d->msg.len - (size_t)(body - d->msg.p);
	(void)snprintf(line, sizeof(line), "\r\n--%s", d->boundary);
	p = body;
	for (;;) {
		const char *q = memmem(p, blen - (size_t)(p - body), line, strlen(line));
		const char *after;

		if (q == NULL)
			break;
		if (d->nparts > 0 && d->nparts <= 8)
			d->partlen[d->nparts - 1] = (size_t)(q - d->part[d->nparts - 1]);
		after = q + strlen(line);
		if (strncmp(after, "--\r\n", 4) == 0)
			break;
		if (strncmp(after, "\r\n", 2) != 0)
			break;
		if (d->nparts < 8)
			d->part[d->nparts] = after + 2;
		d->nparts++;
		p = after;
	}
	return 0;
}

/* Every line ends in CRLF, no bare CR or LF, none longer than 998 octets. */
static void
check_lines(const struct dsn *d, const char *what)
{
	size_t i, col = 0, longest = 0;
	bool bare = false;

	for (i = 0; i < d->msg.len; i++) {
		if (d->msg.p[i] == '\r') {
			if (i + 1 >= d->msg.len || d->msg.p[i + 1] != '\n')
				bare = true;
			continue;
		}
		if (d->msg.p[i] == '\n') {
			if (i == 0 || d->msg.p[i - 1] != '\r')
				bare = true;
			col = 0;
			continue;
		}
		if (++col > longest)
			longest = col;
	}
	ok(!bare && d->msg.len >= 2 && memcmp(d->msg.p + d->msg.len - 2, "\r\n", 2) == 0,
	    "%s: CRLF everywhere", what);
	ok(longest <= 998, "%s: longest line %zu <= 998", what, longest);
}

/* Whether text (line breaks and indents read as one space) holds s. */
static bool
text_has(const char *p, size_t len, const char *s)
{
	char *flat = malloc(len + 1);
	size_t i, o = 0;
	bool found;

	for (i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n' || p[i] == ' ') {
			if (o > 0 && flat[o - 1] != ' ')
				flat[o++] = ' ';
			continue;
		}
		flat[o++] = p[i];
	}
	flat[o] = '\0';
	found = strstr(flat, s) != NULL;
	free(flat);
	return found;
}

/* The message/delivery-status content split into its blank-line separated groups. */
static size_t
groups(const char *p, size_t len, const char *g[], size_t glen[], size_t max)
{
	size_t n = 0;
	const char *end = p + len, *q;

	while (p < end && n < max) {
		q = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		g[n] = p;
		glen[n] = q == NULL ? (size_t)(end - p) : (size_t)(q + 2 - p);
		n++;
		if (q == NULL)
			break;
		p = q + 4;
	}
	return n;
}

/* --- tests ----------------------------------------------------------------------------- */

static void
test_basic(void)
{
	struct orig_spec sp = {.from = "alice@example.org", .envid = "QQ-314159", .data = NULL};
	struct queue_env orig;
	struct dsn d;
	struct dsn_rcpt r[2] = {
	    {"bob@example.net", "rfc822;bob@orig.example", DSN_FAILED, "5.1.1", "mx.example.net",
		"550 5.1.1 <bob@example.net>: user unknown", NOW - 60},
	    {"carol@example.net", "", DSN_DELAYED, "4.4.1", NULL, NULL, 0},
	};
	char v[2048], err[256], *otext;
	const char *body, *g[8];
	size_t blen, glen[8], ng, olen;
	int ofd;

	sp.data = NULL;
	sp.bigbody = 0;
	ofd = make_orig(&sp, &orig);
	is_int(write_dsn(&orig, ofd, r, 2, &d, err, sizeof(err)), 0, "basic: written");
	check_lines(&d, "basic");

	/* Envelope: RFC 3461 §6.2 null sender, one recipient: the original sender. */
	is_str(d.env.from, "", "envelope from <>");
	is_int(d.env.nrcpt, 1, "one envelope recipient");
	is_str(d.env.nrcpt ? d.env.rcpt[0].addr : "", "alice@example.org",
	    "envelope recipient is the original sender");
	is_str(d.env.id, DSNID, "queue ID");
	is_int(d.env.arrival, NOW, "arrival = now");
	ok(strncmp(d.env.client, "127.0.0.1 ", 10) == 0, "client marks it local: %s", d.env.client);
	ok(!d.env.smtputf8, "ASCII sender: no SMTPUTF8");
	is_int(d.env.body, SMTP_BODY_7BIT, "7-bit report: BODY=7BIT");

	/* Header fields. */
	field(d.msg.p, d.msg.len, "From", v, sizeof(v));
	is_str(v, "\"Mail Delivery System\" <MAILER-DAEMON@mx.test>", "From");
	field(d.msg.p, d.msg.len, "To", v, sizeof(v));
	is_str(v, "<alice@example.org>", "To");
	field(d.msg.p, d.msg.len, "Subject", v, sizeof(v));
	is_str(v, "Undelivered Mail Returned to Sender", "Subject (failed is worst)");
	field(d.msg.p, d.msg.len, "Date", v, sizeof(v));
	is_str(v, "Thu, 01 Jan 2015 00:00:00 +0000", "Date (RFC 5322 §3.3)");
	field(d.msg.p, d.msg.len, "Message-ID", v, sizeof(v));
	is_str(v, "<" DSNID "@mx.test>", "Message-ID");
	field(d.msg.p, d.msg.len, "MIME-Version", v, sizeof(v));
	is_str(v, "1.0", "MIME-Version");
	field(d.msg.p, d.msg.len, "Auto-Submitted", v, sizeof(v));
	is_str(v, "auto-replied", "Auto-Submitted (RFC 3834 §5)");
	field(d.msg.p, d.msg.len, "Content-Type", v, sizeof(v));
	ok(strncmp(v, "multipart/report; report-type=delivery-status; boundary=\"", 57) == 0,
	    "Content-Type multipart/report: %s", v);
	ok(strstr(d.boundary, DSNID) != NULL && strlen(d.boundary) <= 70 &&
		strlen(d.boundary) >= 40,
	    "boundary has the queue ID and random hex: %s", d.boundary);
	is_int(field(d.msg.p, d.msg.len, "Content-Transfer-Encoding", v, sizeof(v)), 0,
	    "no CTE on a 7-bit report");

	is_int(d.nparts, 3, "three parts");
	if (d.nparts != 3) {
		dsn_free(&d);
		close(ofd);
		queue_env_clear(&orig);
		return;
	}
	field(d.part[0], d.partlen[0], "Content-Type", v, sizeof(v));
	is_str(v, "text/plain; charset=us-ascii", "part 1 text/plain");
	body = part_body(&d, 0, &blen);
	ok(text_has(body, blen,
	       "<bob@example.net>: failed (5.1.1): host mx.example.net said: "
	       "550 5.1.1 <bob@example.net>: user unknown") &&
		text_has(body, blen, "<carol@example.net>: delayed (4.4.1)") &&
		text_has(body, blen, "still being tried"),
	    "part 1 names each recipient with its diagnostic");
	ok(text_has(body, blen, "Your message is attached."),
	    "part 1 says the whole message is attached");

	field(d.part[1], d.partlen[1], "Content-Type", v, sizeof(v));
	is_str(v, "message/delivery-status", "part 2 message/delivery-status");
	body = part_body(&d, 1, &blen);
	ng = groups(body, blen, g, glen, 8);
	is_int(ng, 3, "per-message group and two per-recipient groups");
	field(g[0], glen[0], "Reporting-MTA", v, sizeof(v));
	is_str(v, "dns; mx.test", "Reporting-MTA");
	field(g[0], glen[0], "Original-Envelope-Id", v, sizeof(v));
	is_str(v, "QQ-314159", "Original-Envelope-Id echoes ENVID");
	field(g[0], glen[0], "Arrival-Date", v, sizeof(v));
	is_str(v, "Wed, 31 Dec 2014 23:00:00 +0000", "Arrival-Date");
	if (ng == 3) {
		field(g[1], glen[1], "Original-Recipient", v, sizeof(v));
		is_str(v, "rfc822; bob@orig.example", "Original-Recipient echoes ORCPT");
		field(g[1], glen[1], "Final-Recipient", v, sizeof(v));
		is_str(v, "rfc822; bob@example.net", "Final-Recipient");
		field(g[1], glen[1], "Action", v, sizeof(v));
		is_str(v, "failed", "Action failed");
		field(g[1], glen[1], "Status", v, sizeof(v));
		is_str(v, "5.1.1", "Status");
		field(g[1], glen[1], "Remote-MTA", v, sizeof(v));
		is_str(v, "dns; mx.example.net", "Remote-MTA");
		field(g[1], glen[1], "Diagnostic-Code", v, sizeof(v));
		is_str(v, "smtp; 550 5.1.1 <bob@example.net>: user unknown", "Diagnostic-Code");
		field(g[1], glen[1], "Last-Attempt-Date", v, sizeof(v));
		is_str(v, "Wed, 31 Dec 2014 23:59:00 +0000", "Last-Attempt-Date");
		is_int(field(g[2], glen[2], "Original-Recipient", v, sizeof(v)), 0,
		    "no Original-Recipient without ORCPT");
		field(g[2], glen[2], "Final-Recipient", v, sizeof(v));
		is_str(v, "rfc822; carol@example.net", "second Final-Recipient");
		field(g[2], glen[2], "Action", v, sizeof(v));
		is_str(v, "delayed", "Action delayed");
		field(g[2], glen[2], "Status", v, sizeof(v));
		is_str(v, "4.4.1", "second Status");
		ok(field(g[2], glen[2], "Remote-MTA", v, sizeof(v)) == 0 &&
			field(g[2], glen[2], "Diagnostic-Code", v, sizeof(v)) == 0 &&
			field(g[2], glen[2], "Last-Attempt-Date", v, sizeof(v)) == 0,
		    "unknown fields are left out");
	}

	field(d.part[2], d.partlen[2], "Content-Type", v, sizeof(v));
	is_str(v, "message/rfc822", "part 3 message/rfc822");
	body = part_body(&d, 2, &blen);
	otext = orig_text(&sp, &olen);
	ok(blen == olen && memcmp(body, otext, olen) == 0, "part 3 is the original, whole");
	free(otext);
	dsn_free(&d);
	close(ofd);
	queue_env_clear(&orig);
}

/* Subject by the worst action. */
static void
test_subject(void)
{
	static const struct {
		enum dsn_action a, b;
		const char *subject;
	} t[] = {
	    {DSN_FAILED, DSN_DELAYED, "Undelivered Mail Returned to Sender"},
	    {DSN_DELIVERED, DSN_FAILED, "Undelivered Mail Returned to Sender"},
	    {DSN_DELAYED, DSN_DELIVERED, "Delayed Mail (still being retried)"},
	    {DSN_DELAYED, DSN_DELAYED, "Delayed Mail (still being retried)"},
	    {DSN_DELIVERED, DSN_RELAYED, "Successful Mail Delivery Report"},
	    {DSN_EXPANDED, DSN_EXPANDED, "Successful Mail Delivery Report"},
	};
	struct orig_spec sp = {.from = "a@example.org", .data = "Subject: s\r\n\r\nbody\r\n"};
	struct queue_env orig;
	struct dsn d;
	struct dsn_rcpt r[2];
	char v[256], err[256], what[64];
	size_t i;
	int ofd = make_orig(&sp, &orig);

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(r, 0, sizeof(r));
		r[0].addr = "x@example.net";
		r[0].action = t[i].a;
		r[1].addr = "y@example.net";
		r[1].action = t[i].b;
		/* Bad or missing status: X.0.0 from the action. */
		r[0].status = "9.9.9";
		r[1].status = NULL;
		if (write_dsn(&orig, ofd, r, 2, &d, err, sizeof(err)) == -1) {
			ok(false, "subject %zu: %s", i, err);
			continue;
		}
		(void)snprintf(what, sizeof(what), "subject %zu", i);
		check_lines(&d, what);
		field(d.msg.p, d.msg.len, "Subject", v, sizeof(v));
		is_str(v, t[i].subject, "subject %zu", i);
		if (d.nparts == 3) {
			size_t blen;
			const char *body = part_body(&d, 1, &blen);
			const char *want = t[i].a == DSN_FAILED ? "Status: 5.0.0"
			    : t[i].a == DSN_DELAYED             ? "Status: 4.0.0"
								: "Status: 2.0.0";

			ok(memmem(body, blen, want, strlen(want)) != NULL,
			    "subject %zu: invalid status replaced by %s", i, want);
		}
		dsn_free(&d);
	}
	close(ofd);
	queue_env_clear(&orig);
}

/* What part 3 carries: RFC 3461 §4.3 and the 1 MiB rule. */
static void
test_ret(void)
{
	static const struct {
		const char *name;
		enum smtp_ret ret;
		enum smtp_body body;
		size_t bigbody;
		enum dsn_action action;
		bool full;
		const char *says; /* in part 1 */
	} t[] = {
	    {"no RET, small", SMTP_RET_NONE, SMTP_BODY_NONE, 1000, DSN_FAILED, true,
		"Your message is attached."},
	    {"no RET, > 1 MiB", SMTP_RET_NONE, SMTP_BODY_NONE, MIB + 100, DSN_FAILED, false,
		"larger than 1 MiB"},
	    {"no RET, exactly at 1 MiB", SMTP_RET_NONE, SMTP_BODY_NONE, 0, DSN_FAILED, true,
		"Your message is attached."},
	    {"RET=HDRS, small", SMTP_RET_HDRS, SMTP_BODY_NONE, 1000, DSN_FAILED, false, "RET=HDRS"},
	    {"RET=FULL, > 1 MiB", SMTP_RET_FULL, SMTP_BODY_NONE, 2 * MIB, DSN_FAILED, true,
		"Your message is attached."},
	    {"RET=FULL, delay notice", SMTP_RET_FULL, SMTP_BODY_NONE, 1000, DSN_DELAYED, false,
		"header section"},
	    {"RET=FULL, success notice", SMTP_RET_FULL, SMTP_BODY_NONE, 1000, DSN_DELIVERED, false,
		"header section"},
	    {"BINARYMIME", SMTP_RET_FULL, SMTP_BODY_BINARYMIME, 1000, DSN_FAILED, false,
		"BINARYMIME"},
	};
	struct orig_spec sp;
	struct queue_env orig;
	struct dsn d;
	struct dsn_rcpt r = {"b@example.net", NULL, DSN_FAILED, "5.0.0", NULL, NULL, 0};
	char v[256], err[256], *otext, hdrs[4096];
	const char *body, *text;
	size_t i, blen, tlen, olen;
	int ofd;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&sp, 0, sizeof(sp));
		sp.from = "a@example.org";
		sp.ret = t[i].ret;
		sp.body = t[i].body;
		sp.bigbody = t[i].bigbody;
		ofd = make_orig(&sp, &orig);
		if (t[i].bigbody == 0) {
			/* Grow the body so the whole message is exactly 1 MiB. */
			close(ofd);
			queue_env_clear(&orig);
			/* Filler lines are under 100 octets: end within 100 below 1 MiB. */
			sp.bigbody = MIB - strlen(ORIG_HDR) - 2 - strlen(ORIG_BODY) - 100;
			ofd = make_orig(&sp, &orig);
			ok(orig.size <= MIB && orig.size > MIB - 100, "%s: original is %llu octets",
			    t[i].name, (unsigned long long)orig.size);
		}
		r.action = t[i].action;
		if (write_dsn(&orig, ofd, &r, 1, &d, err, sizeof(err)) == -1 || d.nparts != 3) {
			ok(false, "%s: written with 3 parts (%s)", t[i].name, err);
			close(ofd);
			queue_env_clear(&orig);
			continue;
		}
		check_lines(&d, t[i].name);
		field(d.part[2], d.partlen[2], "Content-Type", v, sizeof(v));
		is_str(v, t[i].full ? "message/rfc822" : "text/rfc822-headers", "%s: part 3 type",
		    t[i].name);
		body = part_body(&d, 2, &blen);
		otext = orig_text(&sp, &olen);
		if (t[i].full) {
			ok(blen == olen && memcmp(body, otext, olen) == 0, "%s: whole message",
			    t[i].name);
		} else {
			(void)snprintf(hdrs, sizeof(hdrs), "%s", ORIG_HDR);
			ok(blen == strlen(hdrs) && memcmp(body, hdrs, blen) == 0,
			    "%s: header section only (%zu octets)", t[i].name, blen);
		}
		text = part_body(&d, 0, &tlen);
		ok(text_has(text, tlen, t[i].says), "%s: part 1 says \"%s\"", t[i].name, t[i].says);
		free(otext);
		dsn_free(&d);
		close(ofd);
		queue_env_clear(&orig);
	}
}

/* A header section past 1 MiB is cut at a line end. */
static void
test_big_headers(void)
{
	struct orig_spec sp = {
	    .from = "a@example.org", .ret = SMTP_RET_HDRS, .bighdr = 3 * MIB, .bigbody = 100};
	struct queue_env orig;
	struct dsn d;
	struct dsn_rcpt r = {"b@example.net", NULL, DSN_FAILED, "5.0.0", NULL, NULL, 0};
	char err[256];
	const char *body;
	size_t blen;
	int ofd = make_orig(&sp, &orig);

	if (write_dsn(&orig, ofd, &r, 1, &d, err, sizeof(err)) == -1 || d.nparts != 3) {
		ok(false, "big headers: written (%s)", err);
	} else {
		check_lines(&d, "big headers");
		body = part_body(&d, 2, &blen);
		ok(blen > MIB - 100 && blen < MIB + 200, "big headers: cut near 1 MiB (%zu)", blen);
		ok(blen >= 2 && memcmp(body + blen - 2, "\r\n", 2) == 0 &&
			memmem(body, blen, "\r\n\r\n", 4) == NULL,
		    "big headers: whole lines, no body");
	}
	dsn_free(&d);
	close(ofd);
	queue_env_clear(&orig);
}

/* A hostile remote server's reply cannot add fields, parts or lines. */
static void
test_hostile(void)
{
	static const char *const diags[] = {
	    "550 5.1.1 no\r\nX-Injected: yes\r\n\r\n--BOUNDARY\r\nContent-Type: text/html\r\n",
	    "550 evil\n--=_0123456789abcdef.\r\nFinal-Recipient: rfc822; mallory@evil\r\n",
	    "550 \x1b[31mred\x1b[0m \x01\x02\x7f\xff\xfe tail",
	    "550 \r\n.\r\nMAIL FROM:<x>\r\n",
	};
	struct orig_spec sp = {
	    .from = "a@example.org", .data = "Subject: s\r\n\r\n--=_0123456789abcdef.\r\nbody\r\n"};
	struct queue_env orig;
	struct dsn d;
	struct dsn_rcpt r[2];
	char v[4096], err[256], delim[160], what[64];
	const char *body, *g[8], *p, *end;
	size_t i, blen, glen[8], ng, j, delims;
	bool clean;
	int ofd = make_orig(&sp, &orig);

	for (i = 0; i < sizeof(diags) / sizeof(diags[0]); i++) {
		memset(r, 0, sizeof(r));
		r[0].addr = "b@example.net";
		r[0].action = DSN_FAILED;
		r[0].status = "5.1.1";
		r[0].remote_mta = "mx.evil\r\nX-Host: injected";
		r[0].diag = diags[i];
		r[1].addr = "c@example.net";
		r[1].action = DSN_FAILED;
		r[1].status = "5.1.1";
		(void)snprintf(what, sizeof(what), "hostile %zu", i);
		if (write_dsn(&orig, ofd, r, 2, &d, err, sizeof(err)) == -1) {
			ok(false, "%s: written (%s)", what, err);
			continue;
		}
		check_lines(&d, what);
		is_int(d.nparts, 3, "%s: still three parts", what);
		is_int(field(d.msg.p, d.msg.len, "X-Injected", v, sizeof(v)), 0,
		    "%s: no injected top-level field", what);
		/* Only our own delimiter lines start with "--" outside part 3. */
		(void)snprintf(delim, sizeof(delim), "--%s", d.boundary);
		delims = 0;
		clean = true;
		p = d.msg.p;
		end = d.nparts == 3 ? d.part[2] : d.msg.p + d.msg.len;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t ll = nl == NULL ? (size_t)(end - p) : (size_t)(nl - p);

			if (ll >= 2 && p[0] == '-' && p[1] == '-') {
				if (ll - 1 == strlen(delim) && memcmp(p, delim, ll - 1) == 0)
					delims++;
				else
					clean = false;
			}
			for (j = 0; j < ll; j++)
				if (((unsigned char)p[j] < 0x20 && p[j] != '\r') ||
				    (unsigned char)p[j] >= 0x7f)
					clean = false;
			if (nl == NULL)
				break;
			p = nl + 1;
		}
		ok(clean && delims == 3,
		    "%s: no stray \"--\" line or control octet before "
		    "part 3 (%zu delimiters)",
		    what, delims);
		if (d.nparts == 3) {
			body = part_body(&d, 1, &blen);
			ng = groups(body, blen, g, glen, 8);
			is_int(ng, 3, "%s: still one group per recipient", what);
			if (ng == 3) {
				field(g[1], glen[1], "Diagnostic-Code", v, sizeof(v));
				ok(strncmp(v, "smtp; 550", 9) == 0 && strchr(v, '\r') == NULL &&
					strchr(v, '\n') == NULL,
				    "%s: diagnostic kept on one field: %.60s", what, v);
				is_int(field(g[1], glen[1], "Final-Recipient", v, sizeof(v)), 1,
				    "%s: one Final-Recipient in the group", what);
				field(g[1], glen[1], "Remote-MTA", v, sizeof(v));
				is_str(v, "dns; mx.evil X-Host: injected",
				    "%s: remote host name made printable", what);
				is_int(field(g[1], glen[1], "X-Host", v, sizeof(v)), 0,
				    "%s: no field from the host name", what);
			}
		}
		dsn_free(&d);
	}
	close(ofd);
	queue_env_clear(&orig);
}

/* Long diagnostics: folded at spaces (unfolding restores them), long words cut. */
static void
test_long(void)
{
	struct orig_spec sp = {.from = "a@example.org", .data = "Subject: s\r\n\r\nb\r\n"};
	struct queue_env orig;
	struct dsn d;
	struct dsn_rcpt r = {"b@example.net", NULL, DSN_FAILED, "5.0.0", "mx.example", NULL, 0};
	char *diag = malloc(8192), *want = malloc(8192), *v = malloc(16384);
	char err[256];
	const char *body, *g[4];
	size_t i, o = 0, blen, glen[4];
	int ofd = make_orig(&sp, &orig);

	/* Words of varying length, single spaces: cleaned text equals the input. */
	o = (size_t)snprintf(diag, 8192, "550 5.7.1");
	for (i = 0; o < 1500; i++)
		o += (size_t)snprintf(
		    diag + o, 8192 - o, " w%zu%.*s", i, (int)(i % 13), "abcdefghijklm");
	r.diag = diag;
	if (write_dsn(&orig, ofd, &r, 1, &d, err, sizeof(err)) == 0 && d.nparts == 3) {
		check_lines(&d, "long diagnostic");
		body = part_body(&d, 1, &blen);
		if (groups(body, blen, g, glen, 4) == 2) {
			field(g[1], glen[1], "Diagnostic-Code", v, 16384);
			(void)snprintf(want, 8192, "smtp; %s", diag);
			is_str(v, want, "long diagnostic unfolds to itself");
		} else
			ok(false, "long diagnostic: groups");
	} else
		ok(false, "long diagnostic: written (%s)", err);
	dsn_free(&d);

	/* One 5000-octet word: cut into lines, never over 998, kept to DSN_DIAG_MAX. */
	memcpy(diag, "550 ", 4);
	for (i = 4; i < 5000; i++)
		diag[i] = (char)('a' + i % 26);
	diag[5000] = '\0';
	if (write_dsn(&orig, ofd, &r, 1, &d, err, sizeof(err)) == 0 && d.nparts == 3) {
		check_lines(&d, "one long word");
		body = part_body(&d, 1, &blen);
		ok(memmem(body, blen, "...", 3) != NULL, "one long word: marked as cut");
	} else
		ok(false, "one long word: written (%s)", err);
	dsn_free(&d);
	free(diag);
	free(want);
	free(v);
	close(ofd);
	queue_env_clear(&orig);
}

/* RFC 6533 / RFC 6531: UTF-8 addresses and SMTPUTF8 originals; 8-bit detection. */
static void
test_utf8(void)
{
	static const struct {
		const char *name;
		const char *from, *rcpt, *data;
		bool smtputf8;
		enum smtp_body body;
		bool want_utf8; /* SMTPUTF8 on the DSN */
		bool want_8bit; /* BODY=8BITMIME on the DSN */
		const char *status_type, *part3_type, *final;
	} t[] = {
	    {"UTF-8 sender and recipient",
		"j\xc3\xb6rg@b\xc3\xbc"
		"cher.example",
		"m\xc3\xbcller@example.net",
		"Subject: gr\xc3\xbc\xc3\x9f"
		"e\r\n\r\nhi\r\n",
		true, SMTP_BODY_8BITMIME, true, true, "message/global-delivery-status",
		"message/global", "utf-8; m\xc3\xbcller@example.net"},
	    {"ASCII sender, UTF-8 recipient", "a@example.org", "m\xc3\xbcller@example.net",
		"Subject: s\r\n\r\nhi\r\n", true, SMTP_BODY_8BITMIME, false, true,
		"message/global-delivery-status", "message/global",
		"utf-8; m\xc3\xbcller@example.net"},
	    {"8-bit body", "a@example.org", "b@example.net", "Subject: s\r\n\r\ncaf\xc3\xa9\r\n",
		false, SMTP_BODY_8BITMIME, false, true, "message/delivery-status", "message/rfc822",
		"rfc822; b@example.net"},
	    {"declared 8BITMIME, 7-bit content", "a@example.org", "b@example.net",
		"Subject: s\r\n\r\nplain\r\n", false, SMTP_BODY_8BITMIME, false, false,
		"message/delivery-status", "message/rfc822", "rfc822; b@example.net"},
	};
	struct orig_spec sp;
	struct queue_env orig;
	struct dsn d;
	struct dsn_rcpt r;
	char v[1024], err[256], want[600];
	const char *body, *g[4];
	size_t i, blen, glen[4];
	int ofd;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&sp, 0, sizeof(sp));
		sp.from = t[i].from;
		sp.data = t[i].data;
		sp.smtputf8 = t[i].smtputf8;
		sp.body = t[i].body;
		ofd = make_orig(&sp, &orig);
		memset(&r, 0, sizeof(r));
		r.addr = t[i].rcpt;
		r.action = DSN_FAILED;
		r.status = "5.1.1";
		r.diag = "550 5.1.1 unknown \xc3\xa9"; /* 8-bit from a server: made '?' */
		if (write_dsn(&orig, ofd, &r, 1, &d, err, sizeof(err)) == -1 || d.nparts != 3) {
			ok(false, "%s: written (%s)", t[i].name, err);
			close(ofd);
			queue_env_clear(&orig);
			continue;
		}
		check_lines(&d, t[i].name);
		is_int(d.env.smtputf8, t[i].want_utf8, "%s: SMTPUTF8", t[i].name);
		is_int(d.env.body, t[i].want_8bit ? SMTP_BODY_8BITMIME : SMTP_BODY_7BIT, "%s: BODY",
		    t[i].name);
		is_int(field(d.msg.p, d.msg.len, "Content-Transfer-Encoding", v, sizeof(v)),
		    t[i].want_8bit ? 1 : 0, "%s: top-level CTE 8bit iff 8-bit", t[i].name);
		field(d.msg.p, d.msg.len, "To", v, sizeof(v));
		(void)snprintf(want, sizeof(want), "<%s>", t[i].from);
		is_str(v, want, "%s: To", t[i].name);
		field(d.part[1], d.partlen[1], "Content-Type", v, sizeof(v));
		is_str(v, t[i].status_type, "%s: part 2 type", t[i].name);
		field(d.part[2], d.partlen[2], "Content-Type", v, sizeof(v));
		is_str(v, t[i].part3_type, "%s: part 3 type", t[i].name);
		body = part_body(&d, 1, &blen);
		if (groups(body, blen, g, glen, 4) == 2) {
			field(g[1], glen[1], "Final-Recipient", v, sizeof(v));
			is_str(v, t[i].final, "%s: Final-Recipient", t[i].name);
			field(g[1], glen[1], "Diagnostic-Code", v, sizeof(v));
			is_str(v, "smtp; 550 5.1.1 unknown ??", "%s: 8-bit reply made ASCII",
			    t[i].name);
		} else
			ok(false, "%s: groups", t[i].name);
		dsn_free(&d);
		close(ofd);
		queue_env_clear(&orig);
	}
}

static void
test_refusals(void)
{
	struct orig_spec sp = {.from = "a@example.org", .data = "Subject: s\r\n\r\nb\r\n"};
	struct queue_env orig, bounce;
	struct dsn_rcpt r = {"b@example.net", NULL, DSN_FAILED, "5.0.0", NULL, NULL, 0},
			noaddr = {"", NULL, DSN_FAILED, "5.0.0", NULL, NULL, 0};
	char err[256], path[300];
	int ofd = make_orig(&sp, &orig), fd, torn, ro;
	off_t size;
	uint8_t buf[4096];
	ssize_t k;

	/* Never bounce a bounce. */
	bounce = orig;
	bounce.from[0] = '\0';
	fd = fresh_fd();
	err[0] = '\0';
	is_int(queue_dsn_write(fd, DSNID, HOST, &bounce, ofd, &r, 1, NOW, err, sizeof(err)), -1,
	    "empty sender refused");
	ok(err[0] != '\0', "with a reason: %s", err);
	is_int(lseek(fd, 0, SEEK_END), 0, "and nothing written");
	close(fd);

	fd = fresh_fd();
	is_int(queue_dsn_write(fd, DSNID, HOST, &orig, ofd, &r, 0, NOW, err, sizeof(err)), -1,
	    "no recipients refused: %s", err);
	close(fd);
	fd = fresh_fd();
	is_int(queue_dsn_write(fd, "XYZ", HOST, &orig, ofd, &r, 1, NOW, err, sizeof(err)), -1,
	    "bad queue ID refused: %s", err);
	close(fd);
	fd = fresh_fd();
	is_int(queue_dsn_write(fd, DSNID, "\r\n", &orig, ofd, &r, 1, NOW, err, sizeof(err)), -1,
	    "empty hostname refused: %s", err);
	close(fd);
	fd = fresh_fd();
	is_int(queue_dsn_write(fd, DSNID, HOST, &orig, ofd, &noaddr, 1, NOW, err, sizeof(err)), -1,
	    "recipient without address refused: %s", err);
	close(fd);

	/* An original that does not read back: a torn copy. */
	size = lseek(ofd, 0, SEEK_END);
	torn = fresh_fd();
	k = pread(ofd, buf, sizeof(buf), 0);
	if (k > 10 && k == size && write(torn, buf, (size_t)k - 5) == k - 5) {
		fd = fresh_fd();
		is_int(queue_dsn_write(fd, DSNID, HOST, &orig, torn, &r, 1, NOW, err, sizeof(err)),
		    -1, "torn original refused: %s", err);
		close(fd);
	} else
		ok(false, "torn copy made");
	close(torn);

	/* A write error: the DSN's fd is read-only. */
	(void)snprintf(path, sizeof(path), "%s/ro", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	close(fd);
	ro = open(path, O_RDONLY);
	err[0] = '\0';
	is_int(queue_dsn_write(ro, DSNID, HOST, &orig, ofd, &r, 1, NOW, err, sizeof(err)), -1,
	    "write error reported: %s", err);
	close(ro);
	close(ofd);
	queue_env_clear(&orig);
}

static void
test_wanted(void)
{
	enum {
		F = SMTP_NOTIFY_FAILURE,
		D = SMTP_NOTIFY_DELAY,
		S = SMTP_NOTIFY_SUCCESS,
		N = SMTP_NOTIFY_NEVER
	};
	static const struct {
		unsigned notify;
		bool want[5]; /* FAILED DELAYED DELIVERED RELAYED EXPANDED */
	} t[] = {
	    {0, {true, true, false, false, false}},
	    {N, {false, false, false, false, false}},
	    {F, {true, false, false, false, false}},
	    {D, {false, true, false, false, false}},
	    {S, {false, false, true, true, true}},
	    {F | D, {true, true, false, false, false}},
	    {F | S, {true, false, true, true, true}},
	    {S | D, {false, true, true, true, true}},
	    {F | D | S, {true, true, true, true, true}},
	    {N | F, {false, false, false, false, false}},
	};
	static const enum dsn_action act[5] = {
	    DSN_FAILED, DSN_DELAYED, DSN_DELIVERED, DSN_RELAYED, DSN_EXPANDED};
	size_t i, j;
	bool good;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		good = true;
		for (j = 0; j < 5; j++)
			if (dsn_wanted(t[i].notify, act[j]) != t[i].want[j])
				good = false;
		ok(good, "dsn_wanted row notify=0x%x", t[i].notify);
	}
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_basic();
	test_subject();
	test_ret();
	test_big_headers();
	test_hostile();
	test_long();
	test_utf8();
	test_refusals();
	test_wanted();
	tap_rmtree(tmpdir);
	return done_testing();
}
