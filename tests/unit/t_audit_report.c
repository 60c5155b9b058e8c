/*
 * t_audit_report — audit_report.c: the text, JSON and HTML renderings of synthetic runs.
 *
 * Runs are built by hand (their statistics filled in directly, not by audit_judge, so a
 * change in the statistics cannot move these expectations): a random resolver, a weak one
 * (sequential IDs, one fixed port, forgeries accepted, blind race won), an empty run, a run
 * whose qnames, evidence and target are hostile (<script>, quotes, &, bytes >= 0x80,
 * control characters, fields without a NUL), and a run too large to plot every point.
 * Each is rendered to memory; JSON and HTML are also handed to python3 (json, and
 * xml.etree plus html.parser) when it is installed, else those checks are skipped.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "tap.h"

static char tmpdir[] = "/tmp/t_audit_report.XXXXXX";
static bool have_python;

static uint32_t rng = 2463534242u;

static uint32_t
xs32(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* The checker for the files the renderers wrote: "json FILE NQ" or "html FILE". */
static const char checker[] =
    "import sys, json, xml.etree.ElementTree as ET\n"
    "from html.parser import HTMLParser\n"
    "kind, path = sys.argv[1], sys.argv[2]\n"
    "raw = open(path, 'rb').read()\n"
    "text = raw.decode('ascii') if kind == 'html' else raw.decode('utf-8')\n"
    "if kind == 'json':\n"
    "    d = json.loads(text)\n"
    "    nq = int(sys.argv[3])\n"
    "    assert d['nq'] == nq and len(d['queries']) == nq, 'query count'\n"
    "    keys = {'t_us','id','src','sport','qname','qtype','tcp','edns','udp_size',\n"
    "            'do_bit','cookie'}\n"
    "    for q in d['queries']:\n"
    "        assert keys <= set(q), 'query keys'\n"
    "    assert len(d['acc']) == 10, 'matrix rows'\n"
    "    for k in ('ids', 'ports', 'race'):\n"
    "        assert isinstance(d[k], dict), k\n"
    "    assert len(d['ids']['bit_ones']) == 16\n"
    "    sys.exit(0)\n"
    "root = ET.fromstring(text)\n"
    "svg = [e for e in root.iter() if e.tag.endswith('svg')]\n"
    "assert len(svg) == 3, 'svg count %d' % len(svg)\n"
    "assert not [e for e in root.iter() if str(e.tag).lower().endswith('script')]\n"
    "VOID = {'meta','br','link','img','hr','input'}\n"
    "class P(HTMLParser):\n"
    "    def __init__(s):\n"
    "        super().__init__(); s.stack = []; s.bad = []\n"
    "    def handle_starttag(s, tag, attrs):\n"
    "        if tag not in VOID: s.stack.append(tag)\n"
    "        for a, v in attrs:\n"
    "            if a.startswith('on') or (v and 'javascript:' in v.lower()):\n"
    "                s.bad.append(a)\n"
    "    def handle_startendtag(s, tag, attrs):\n"
    "        pass\n"
    "    def handle_endtag(s, tag):\n"
    "        if not s.stack or s.stack.pop() != tag: s.bad.append('/' + tag)\n"
    "p = P(); p.feed(text); p.close()\n"
    "assert not p.bad and not p.stack, (p.bad, p.stack)\n";

static char *
render(void (*fn)(FILE *, const struct audit_run *), const struct audit_run *r, size_t *len)
{
	char *s = NULL;
	FILE *f = open_memstream(&s, len);

	if (f == NULL)
		abort();
	fn(f, r);
	if (fclose(f) != 0)
		abort();
	return s;
}

static size_t
count(const char *s, const char *sub)
{
	size_t n = 0, l = strlen(sub);

	for (s = strstr(s, sub); s != NULL; s = strstr(s + l, sub))
		n++;
	return n;
}

/* Every byte printable ASCII or a newline, except the verdict line's UTF-8 em dash. */
static bool
clean(const char *s, size_t len, bool allow_dash)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (allow_dash && i + 2 < len && memcmp(s + i, "\xe2\x80\x94", 3) == 0) {
			i += 2;
			continue;
		}
		if (c != '\n' && (c < 0x20 || c > 0x7e))
			return false;
	}
	return true;
}

static int
pycheck(const char *kind, const char *data, size_t len, size_t nq)
{
	char path[128], cmd[512];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/out.%s", tmpdir, kind);
	f = fopen(path, "w");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		return -1;
	(void)snprintf(cmd, sizeof(cmd), "python3 %s/check.py %s %s %zu", tmpdir, kind, path, nq);
	return system(cmd);
}

static void
set_addr(struct net_addr *a, const char *ip, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

	memset(a, 0, sizeof(*a));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	(void)inet_pton(AF_INET, ip, &sin->sin_addr);
	a->len = sizeof(*sin);
}

static void
fill_stats(struct audit_stats *s, size_t n, size_t distinct, uint16_t lo, uint16_t hi, double bits,
    unsigned flags, double eff)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->distinct = distinct;
	s->min = lo;
	s->max = hi;
	s->shannon_bits = bits;
	s->min_entropy_bits = bits - 0.5;
	for (i = 0; i < 16; i++)
		s->bit_ones[i] = 0.5;
	s->bit_entropy = eff;
	s->delta_entropy = bits;
	s->predict[AP_INC] = (flags & AUDIT_F_SEQUENTIAL) ? 0.99 : 0.01;
	s->predict[AP_SAME] = (flags & AUDIT_F_CONSTANT) ? 1.0 : 0.0;
	s->flags = flags;
	s->effective_bits = eff;
}

enum shape { RANDOM, WEAK, HOSTILE };

/* A run of n queries (calloc'ed, caller frees run->q). */
static void
mkrun(struct audit_run *r, size_t n, enum shape sh)
{
	size_t i;
	int k;

	memset(r, 0, sizeof(*r));
	(void)snprintf(r->tool_version, sizeof(r->tool_version), "0.5");
	(void)snprintf(r->mode, sizeof(r->mode), "relay");
	(void)snprintf(r->zone, sizeof(r->zone), "audit.test");
	r->started = 1795000000;
	r->duration_s = 12.5;
	r->nq = n;
	r->q = n > 0 ? calloc(n, sizeof(*r->q)) : NULL;
	for (i = 0; i < n; i++) {
		struct audit_query *q = &r->q[i];

		q->t_us = 1795000000000000ull + i * 1500;
		q->qtype = (i % 2) ? 1 : 15;
		if (sh == WEAK) {
			q->id = (uint16_t)(0xfff0 + i); /* wraps through 0 */
			q->sport = 53000;
			(void)snprintf(q->qname, sizeof(q->qname), "r%zu.audit.test", i);
		} else {
			q->id = (uint16_t)xs32();
			q->sport = (uint16_t)(1024 + xs32() % 64512);
			(void)snprintf(q->qname, sizeof(q->qname), "R%zuAbC.aUdIt.TeSt", i);
			q->edns = true;
			q->udp_size = 1232;
			q->do_bit = true;
			q->cookie = true;
			q->tcp = i % 50 == 0;
		}
		set_addr(&q->src, "127.0.0.1", q->sport);
	}
	if (sh == WEAK) {
		fill_stats(&r->ids, n, n, 0, 65535, 6.6, AUDIT_F_SEQUENTIAL, 0.0);
		fill_stats(&r->ports, n, 1, 53000, 53000, 0, AUDIT_F_CONSTANT, 0.0);
		r->effective_bits = 0.0;
		r->rating = "poor";
	} else {
		fill_stats(&r->ids, n, n, 10, 65500, 7.6, 0, 15.9);
		fill_stats(&r->ports, n, n - 2, 1030, 65400, 7.6, 0, 15.8);
		r->x20_mixed_frac = 1.0;
		r->x20_letters_mean = 12.0;
		r->x20_bits = 10.0;
		r->edns_queries = r->do_queries = r->cookie_queries = (unsigned)n;
		r->tcp_queries = (unsigned)((n + 49) / 50);
		r->effective_bits = 43.7;
		r->rating = "excellent";
	}
	r->matrix_run = true;
	for (k = 0; k < AF_NKINDS; k++) {
		struct audit_accept *a = &r->acc[k];
		bool bad = sh == WEAK &&
		    (k == AF_WRONG_SRC_ADDR || k == AF_WRONG_SRC_PORT || k == AF_OTHER_QNAME);

		a->verdict = bad ? AV_ACCEPTED : AV_REJECTED;
		(void)snprintf(a->domain, sizeof(a->domain), "m%d.audit.test", k);
		(void)snprintf(a->evidence, sizeof(a->evidence),
		    "mail for u@m%d.audit.test "
		    "arrived at the %s",
		    k, bad ? "attacker" : "legitimate MX");
		if (bad)
			r->accepted++;
	}
	r->race.run = true;
	r->race.rounds = 3;
	r->race.forged_sent = 15000;
	r->race.successes = sh == WEAK ? 2 : 0;
	r->race.expected_packets = sh == WEAK ? 1.0 : 2.9e13;
}

struct rendered {
	char *text, *json, *html;
	size_t tlen, jlen, hlen;
};

static void
render_all(const struct audit_run *r, struct rendered *o)
{
	o->text = render(audit_report_text, r, &o->tlen);
	o->json = render(audit_report_json, r, &o->jlen);
	o->html = render(audit_report_html, r, &o->hlen);
}

static void
free_all(struct rendered *o)
{
	free(o->text);
	free(o->json);
	free(o->html);
}

/* What every rendering of every run must satisfy. */
static void
common_checks(const char *name, const struct audit_run *r, const struct rendered *o)
{
	char want[128];

	(void)snprintf(want, sizeof(want), "effective %.1f bits \xe2\x80\x94 %s", r->effective_bits,
	    r->rating != NULL ? r->rating : "unrated");
	ok(strstr(o->text, want) != NULL, "%s: text has the verdict line", name);
	ok(clean(o->text, o->tlen, true), "%s: text is printable ASCII", name);
	ok(clean(o->json, o->jlen, false), "%s: JSON is printable ASCII", name);
	ok(clean(o->html, o->hlen, false), "%s: HTML is printable ASCII", name);
	is_int(count(o->html, "<svg"), 3, "%s: HTML has three <svg>", name);
	ok(strstr(o->html, "<script") == NULL && strstr(o->html, "<SCRIPT") == NULL,
	    "%s: HTML has no <script", name);
	is_int(count(o->html, "http"),
	    count(o->html, "http://www.w3.org/2000/svg\"") + count(o->html, "http-equiv"),
	    "%s: HTML names no URL but the SVG namespace", name);
	ok(strstr(o->html, " src=\"") == NULL && strstr(o->html, "href=\"") == NULL &&
		strstr(o->html, "url(") == NULL,
	    "%s: HTML loads nothing", name);
	if (!have_python) {
		ok(true, "# SKIP %s: no python3 to parse JSON", name);
		ok(true, "# SKIP %s: no python3 to parse HTML", name);
		return;
	}
	is_int(pycheck("json", o->json, o->jlen, r->q != NULL ? r->nq : 0), 0,
	    "%s: JSON parses, has every query and field", name);
	is_int(pycheck("html", o->html, o->hlen, 0), 0,
	    "%s: HTML parses as XML and as balanced HTML, three svg, no script", name);
}

/*
 * How many different points the n-th SVG (1-based) draws: each point is written
 * "Mx yh0", so the text between an "h0" and the 'M' before it is the point.
 */
static size_t
distinct_points(const char *html, int nth)
{
	const char *s = html, *end, *h, *m;
	char first[32] = "";
	size_t distinct = 0, l;
	int i;

	for (i = 0; i < nth && s != NULL; i++)
		s = strstr(i == 0 ? s : s + 1, "<svg");
	if (s == NULL)
		return 0;
	end = strstr(s, "</svg>");
	for (h = strstr(s, "h0"); h != NULL && h < end; h = strstr(h + 2, "h0")) {
		for (m = h; m > s && *m != 'M'; m--)
			;
		l = (size_t)(h - m);
		if (*m != 'M' || l >= sizeof(first))
			return 999;
		if (first[0] == '\0') {
			memcpy(first, m, l);
			first[l] = '\0';
			distinct = 1;
		} else if (strlen(first) != l || memcmp(first, m, l) != 0)
			distinct++;
	}
	return distinct;
}

static void
test_random(void)
{
	struct audit_run r;
	struct rendered o;

	mkrun(&r, 300, RANDOM);
	render_all(&r, &o);
	common_checks("random", &r, &o);
	ok(strstr(o.text, "excellent") != NULL, "random: text has the rating");
	ok(strstr(o.text,
	       "IDs and source ports look random (15.9 + 15.8 bits, and 0x20 adds "
	       "10.0); no forged answer was believed and the blind race failed.") != NULL,
	    "random: the reason names where the bits came from");
	ok(strstr(o.text, "300 distinct of 300") != NULL, "random: ID distinct count");
	ok(strstr(o.text, "best predictor \"next = last + 1\" right 1.0%") != NULL,
	    "random: best predictor and its rate");
	ok(strstr(o.text, "range 1030..65400") != NULL, "random: port range");
	ok(strstr(o.text,
	       "100% of names in mixed case, 12.0 letters a name; counted 10.0 "
	       "bits") != NULL,
	    "random: 0x20 line");
	ok(strstr(o.text, "DO bit 300; cookies 300; TCP 6") != NULL, "random: EDNS line");
	ok(strstr(o.text, "3 rounds, 15000 forged answers, 0 successes") != NULL,
	    "random: blind race line");
	ok(strstr(o.text, "2.9e+13") != NULL, "random: expected packets");
	is_int(count(o.text, "rejected"), AF_NKINDS, "random: every matrix row rejected");
	ok(strstr(o.json, "\"rating\":\"excellent\"") != NULL, "random: JSON rating");
	ok(strstr(o.json, "\"qname\":\"R0AbC.aUdIt.TeSt\"") != NULL,
	    "random: JSON keeps the 0x20 case");
	ok(strstr(o.html, "class=\"badge r-excellent\"") != NULL, "random: rating badge");
	is_int(count(o.html, "class=\"v v-rejected\""), AF_NKINDS, "random: verdict colours");
	ok(count(o.html, "class=\"bar\"") > 20, "random: ports spread over many bins");
	ok(distinct_points(o.html, 2) > 250, "random: phase-space points spread (%zu)",
	    distinct_points(o.html, 2));
	ok(strstr(o.html, "subsampled") == NULL, "random: 300 points not subsampled");
	free_all(&o);
	free(r.q);
}

static void
test_weak(void)
{
	struct audit_run r;
	struct rendered o;
	char fl[256];

	mkrun(&r, 100, WEAK);
	render_all(&r, &o);
	common_checks("weak", &r, &o);
	ok(strstr(o.text, "poor") != NULL, "weak: text has the rating");
	fl[0] = '\0';
	(void)audit_flags_str(AUDIT_F_SEQUENTIAL, fl, sizeof(fl));
	ok(fl[0] != '\0' && strstr(o.text, fl) != NULL, "weak: text names the ID flag \"%s\"", fl);
	ok(strstr(o.text, "blind off-path burst poisoned 2 of 3") != NULL,
	    "weak: the reason starts with the won race");
	ok(strstr(o.text, "believed 3 forged answers") != NULL, "weak: and the forgeries");
	ok(strstr(o.text, "one source port (53000)") != NULL, "weak: and the fixed port");
	ok(strstr(o.text, "range 53000..53000 (1 value wide)") != NULL, "weak: port range");
	is_int(count(o.text, "accepted"), 3, "weak: three matrix rows accepted");
	ok(strstr(o.text, "first queries:    id 0xfff0 port 53000") != NULL,
	    "weak: first queries listed");
	is_int(count(o.html, "class=\"v v-accepted\""), 3, "weak: accepted rows coloured");
	ok(strstr(o.html, "class=\"badge r-poor\"") != NULL, "weak: poor badge");
	is_int(distinct_points(o.html, 2), 1,
	    "weak: sequential IDs collapse to one point in phase space, across the wrap");
	is_int(count(o.html, "class=\"bar\""), 1, "weak: one histogram bar for a fixed port");
	ok(strstr(o.json, "\"successes\":2") != NULL && strstr(o.json, "\"accepted\":3") != NULL,
	    "weak: JSON race and accepted counts");
	free_all(&o);
	free(r.q);
}

static void
test_empty(void)
{
	struct audit_run r;
	struct rendered o;

	memset(&r, 0, sizeof(r));
	render_all(&r, &o);
	common_checks("empty", &r, &o);
	ok(strstr(o.text, "Only 0 queries were seen") != NULL, "empty: says too few");
	ok(strstr(o.text, "acceptance matrix: not run") != NULL, "empty: no matrix");
	ok(strstr(o.text, "blind race: not run") != NULL, "empty: no race");
	ok(strstr(o.json, "\"rating\":null") != NULL, "empty: JSON rating null");
	ok(strstr(o.json, "\"queries\":[]") != NULL, "empty: JSON queries empty");
	is_int(count(o.html, "no queries"), 2, "empty: two plots say no queries");
	ok(strstr(o.html, "fewer than 3 queries") != NULL, "empty: phase plot says why");
	ok(strstr(o.html, "r-unrated") != NULL, "empty: unrated badge");
	free_all(&o);
}

static void
test_hostile(void)
{
	static const char *const names[] = {
	    "<script>alert(1)</script>.x.audit.test",
	    "a\"b'c&d.audit.test",
	    "\xff\xfe\x1b[31m\xc3\xa9.audit.test",
	};
	struct audit_run r;
	struct rendered o;
	char want[DNS_NAME_STRLEN + 8];
	size_t i;

	mkrun(&r, 40, RANDOM);
	for (i = 0; i < r.nq; i++)
		(void)snprintf(r.q[i].qname, sizeof(r.q[i].qname), "%s", names[i % 3]);
	/* A target and a qname that fill their arrays without a NUL. */
	memset(r.target, 'T', sizeof(r.target));
	memset(r.q[39].qname, 'q', sizeof(r.q[39].qname));
	(void)snprintf(r.acc[AF_WRONG_ID].evidence, sizeof(r.acc[0].evidence),
	    "<img src=x onerror=alert(1)> & \"quoted\"\x07");
	r.rating = "fair";
	render_all(&r, &o);
	common_checks("hostile", &r, &o);

	ok(strstr(o.text, "fair") != NULL, "hostile: text has the rating");
	ok(strstr(o.text, "\\255\\254\\027[31m\\195\\169.audit.test") != NULL,
	    "hostile: text writes non-printable bytes as \\DDD");
	ok(strstr(o.json, "\"qname\":\"<script>alert(1)</script>.x.audit.test\"") != NULL,
	    "hostile: JSON keeps <script> as data");
	ok(strstr(o.json, "\"qname\":\"a\\\"b'c&d.audit.test\"") != NULL,
	    "hostile: JSON escapes the quote");
	ok(strstr(o.json, "\"qname\":\"\\\\255\\\\254\\\\027[31m\\\\195\\\\169.audit.test\"") !=
		NULL,
	    "hostile: JSON holds \\DDD, escaped");
	ok(strstr(o.html, "&lt;script&gt;alert(1)&lt;/script&gt;.x.audit.test") != NULL,
	    "hostile: HTML escapes <script>");
	ok(strstr(o.html, "a&quot;b&#39;c&amp;d.audit.test") != NULL,
	    "hostile: HTML escapes quotes and &");
	ok(strstr(o.html, "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;\\007") !=
		NULL,
	    "hostile: HTML escapes the evidence");
	ok(strstr(o.html, "<img") == NULL, "hostile: no tag from the network survives");
	memset(want, 'T', sizeof(r.target));
	(void)snprintf(want + sizeof(r.target), sizeof(want) - sizeof(r.target), "\n");
	ok(strstr(o.text, want) != NULL, "hostile: unterminated target stops at its array");
	want[0] = '"';
	memset(want + 1, 'q', sizeof(r.q[39].qname));
	(void)snprintf(
	    want + 1 + sizeof(r.q[39].qname), sizeof(want) - 1 - sizeof(r.q[39].qname), "\",");
	ok(strstr(o.json, want) != NULL, "hostile: unterminated qname stops at its array");
	free_all(&o);
	free(r.q);
}

static void
test_large(void)
{
	struct audit_run r;
	struct rendered o;
	size_t pts;

	mkrun(&r, 12000, RANDOM);
	render_all(&r, &o);
	common_checks("large", &r, &o);
	pts = count(o.html, "h0M") + count(o.html, "h0\"");
	is_int(pts, 2 * 5000, "large: each scatter plot capped at 5000 points");
	is_int(count(o.html, "subsampled evenly"), 2, "large: both plots say they subsample");
	ok(strstr(o.html, "Showing 5000 of 12000 points") != NULL, "large: the note counts");
	ok(o.hlen < 1000000, "large: HTML stays under 1 MB (%zu bytes)", o.hlen);
	is_int(count(o.json, "\"t_us\":"), 12000, "large: JSON lists every query");
	is_int(count(o.html, "<tr><td>"), 100 + AF_NKINDS, "large: HTML lists 100 queries");
	free_all(&o);
	free(r.q);
}

/* The same renderers over a run judged by audit_judge: whatever it concludes is shown. */
static void
test_judged(void)
{
	struct audit_run r;
	struct rendered o;
	enum shape shapes[2] = {RANDOM, WEAK};
	int s;

	for (s = 0; s < 2; s++) {
		mkrun(&r, 200, shapes[s]);
		audit_judge(&r);
		render_all(&r, &o);
		common_checks(s == 0 ? "judged random" : "judged weak", &r, &o);
		ok(r.rating != NULL && strstr(o.text, r.rating) != NULL,
		    "judged: text has the rating %s", r.rating ? r.rating : "(null)");
		free_all(&o);
		free(r.q);
	}
}

int
main(void)
{
	char path[128];
	FILE *f;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	(void)snprintf(path, sizeof(path), "%s/check.py", tmpdir);
	f = fopen(path, "w");
	if (f == NULL || fputs(checker, f) == EOF || fclose(f) != 0)
		return 1;
	have_python = system("command -v python3 >/dev/null 2>&1") == 0;
	if (!have_python)
		diag("python3 not found: JSON and HTML parse checks skipped");

	test_random();
	test_weak();
	test_empty();
	test_hostile();
	test_large();
	test_judged();

	(void)snprintf(path, sizeof(path), "%s/check.py", tmpdir);
	(void)unlink(path);
	(void)snprintf(path, sizeof(path), "%s/out.json", tmpdir);
	(void)unlink(path);
	(void)snprintf(path, sizeof(path), "%s/out.html", tmpdir);
	(void)unlink(path);
	(void)rmdir(tmpdir);
	return done_testing();
}
