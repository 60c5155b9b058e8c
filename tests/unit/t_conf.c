/*
 * t_conf — mxd.conf parsing: defaults, every key, every error message verbatim (with
 * FILE:LINE), CIDR matching (/0, /32, /128, v4-mapped clients), durations, local domains,
 * and conf_load() on real files (missing, not regular, over the size limit).
 */
#include <sys/stat.h>

#include <bsd/string.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "tap.h"

static struct conf c;
static char err[1024];

static int
load(const char *text)
{
	return conf_load_text(&c, "t.conf", text, strlen(text), err, sizeof(err));
}

static const char *
addr(const struct net_addr *a)
{
	static char buf[NET_ADDR_STRLEN];

	return net_addr_str(a, buf, sizeof(buf));
}

/* --- errors --------------------------------------------------------------------- */

struct bad {
	const char *text;
	const char *err;
};

static const struct bad bad[] = {
    /* Structure of a line. */
    {"foo = bar\n", "t.conf:1: unknown key \"foo\""},
    {"Listen = 127.0.0.1\n", "t.conf:1: unknown key \"Listen\""},
    {"\n# comment\nlisten 1.2.3.4\n", "t.conf:3: missing '=' in \"listen 1.2.3.4\""},
    {"user = a\n = x\n", "t.conf:2: missing key before '='"},
    {"user =\n", "t.conf:1: user: empty value"},
    {"user =   # nothing but a comment\n", "t.conf:1: user: empty value"},
    {"user = a\r\nuser = b\r\n", "t.conf:2: user: given twice (first on line 1)"},
    {"user = a\n\n\nspool = /x\nuser = b\n", "t.conf:5: user: given twice (first on line 1)"},
    {"dnssec = off\ndnssec = off\n", "t.conf:2: dnssec: given twice (first on line 1)"},
    {"relay_networks = none\nrelay_networks = none\n",
	"t.conf:2: relay_networks: given twice (first on line 1)"},
    {"user = a\x01"
     "b\n",
	"t.conf:1: control character 0x01"},
    {"user = a\rb\n", "t.conf:1: control character 0x0d"},
    {"user = a\x7f\n", "t.conf:1: control character 0x7f"},
    {"k\xc3\xa9y = 1\n", "t.conf:1: unknown key \"k??y\""},
    {"listen = "
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	"t.conf:1: listen: bad address "
	"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\""},
    /* Addresses. */
    {"listen = localhost:25\n", "t.conf:1: listen: bad address \"localhost:25\""},
    {"listen = 127.0.0.1:0\n", "t.conf:1: listen: bad address \"127.0.0.1:0\""},
    {"listen = 127.0.0.1:65536\n", "t.conf:1: listen: bad address \"127.0.0.1:65536\""},
    {"submission = [::1\n", "t.conf:1: submission: bad address \"[::1\""},
    {"listen = 127.0.0.1,,127.0.0.2\n", "t.conf:1: listen: empty list item"},
    {"listen = 127.0.0.1,\n", "t.conf:1: listen: empty list item"},
    {"listen = 127.0.0.1:2525, 127.0.0.1:2525\n", "t.conf:1: listen: 127.0.0.1:2525 given twice"},
    {"listen = 127.0.0.1:2525\nsubmissions = 127.0.0.1:2525\n",
	"t.conf:2: submissions: 127.0.0.1:2525 given twice"},
    {"listen = 127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3, 127.0.0.1:4\n"
     "listen = 127.0.0.1:5, 127.0.0.1:6, 127.0.0.1:7, 127.0.0.1:8\n"
     "listen = 127.0.0.1:9\n",
	"t.conf:3: listen: more than 8 items"},
    {"resolver = 127.0.0.53:0\n", "t.conf:1: resolver: bad address \"127.0.0.53:0\""},
    {"resolver = ns.example\n", "t.conf:1: resolver: bad address \"ns.example\""},
    {"resolver = 127.0.0.1, 127.0.0.2, 127.0.0.3, 127.0.0.4, 127.0.0.5\n"
     "resolver = 127.0.0.6, 127.0.0.7, 127.0.0.8, 127.0.0.9\n",
	"t.conf:2: resolver: more than 8 items"},
    /* CIDRs. */
    {"relay_networks = 10.0.0.0/33\n", "t.conf:1: relay_networks: bad CIDR \"10.0.0.0/33\""},
    {"relay_networks = ::/129\n", "t.conf:1: relay_networks: bad CIDR \"::/129\""},
    {"relay_networks = 10.0.0.0/\n", "t.conf:1: relay_networks: bad CIDR \"10.0.0.0/\""},
    {"relay_networks = 10.0.0.0/+8\n", "t.conf:1: relay_networks: bad CIDR \"10.0.0.0/+8\""},
    {"relay_networks = 10.0.0.0/8/8\n", "t.conf:1: relay_networks: bad CIDR \"10.0.0.0/8/8\""},
    {"relay_networks = /8\n", "t.conf:1: relay_networks: bad CIDR \"/8\""},
    {"relay_networks = [::1]/128\n", "t.conf:1: relay_networks: bad CIDR \"[::1]/128\""},
    {"relay_networks = 127.0.0.1:25\n", "t.conf:1: relay_networks: bad CIDR \"127.0.0.1:25\""},
    {"relay_networks = 10.0.0.0/8, 10.1.2.3/8\n",
	"t.conf:1: relay_networks: bad CIDR \"10.1.2.3/8\" (host bits set; 10.0.0.0/8?)"},
    {"relay_networks = 192.168.1.0/23\n",
	"t.conf:1: relay_networks: bad CIDR \"192.168.1.0/23\" (host bits set; "
	"192.168.0.0/23?)"},
    {"relay_networks = fe80::1/10\n",
	"t.conf:1: relay_networks: bad CIDR \"fe80::1/10\" (host bits set; fe80::/10?)"},
    {"relay_networks = 1.2.3.4/0\n",
	"t.conf:1: relay_networks: bad CIDR \"1.2.3.4/0\" (host bits set; 0.0.0.0/0?)"},
    {"relay_networks = 10.0.0.0/8 ,, ::1\n", "t.conf:1: relay_networks: empty list item"},
    /* Names and paths. */
    {"hostname = mx example\n", "t.conf:1: hostname: bad host name \"mx example\""},
    {"hostname = mx..example\n", "t.conf:1: hostname: bad host name \"mx..example\""},
    {"hostname = mx.example.\n", "t.conf:1: hostname: bad host name \"mx.example.\""},
    {"hostname = -mx.example\n", "t.conf:1: hostname: bad host name \"-mx.example\""},
    {"hostname = mx-.example\n", "t.conf:1: hostname: bad host name \"mx-.example\""},
    {"hostname = mx_1.example\n", "t.conf:1: hostname: bad host name \"mx_1.example\""},
    {"hostname = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\n",
	"t.conf:1: hostname: bad host name "
	"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\""},
    {"local_domains = example.org, exa mple.net\n",
	"t.conf:1: local_domains: bad domain \"exa mple.net\""},
    {"local_domains = example.org,\n", "t.conf:1: local_domains: empty list item"},
    {"local_domains = [192.0.2.1]\n", "t.conf:1: local_domains: bad domain \"[192.0.2.1]\""},
    {"user = -mxd\n", "t.conf:1: user: bad user name \"-mxd\""},
    {"user = mx d\n", "t.conf:1: user: bad user name \"mx d\""},
    {"user = abcdefghijklmnopqrstuvwxyz0123456\n",
	"t.conf:1: user: bad user name \"abcdefghijklmnopqrstuvwxyz0123456\""},
    {"spool = var/spool/mxd\n", "t.conf:1: spool: bad path \"var/spool/mxd\" (must be absolute)"},
    {"mailbox_root = ~/Maildir\n",
	"t.conf:1: mailbox_root: bad path \"~/Maildir\" (must be absolute)"},
    {"aliases = aliases\n", "t.conf:1: aliases: bad path \"aliases\" (must be absolute)"},
    {"users = ./users\n", "t.conf:1: users: bad path \"./users\" (must be absolute)"},
    {"tls_cert = cert.pem\n", "t.conf:1: tls_cert: bad path \"cert.pem\" (must be absolute)"},
    {"tls_key = key.pem\n", "t.conf:1: tls_key: bad path \"key.pem\" (must be absolute)"},
    {"lmtp = unix:lmtp.sock\n",
	"t.conf:1: lmtp: bad value \"unix:lmtp.sock\" (unix:/PATH or ADDR:PORT)"},
    {"lmtp = 127.0.0.1\n", "t.conf:1: lmtp: bad value \"127.0.0.1\" (unix:/PATH or ADDR:PORT)"},
    {"lmtp = lmtp.example:24\n",
	"t.conf:1: lmtp: bad value \"lmtp.example:24\" (unix:/PATH or ADDR:PORT)"},
    {"relayhost = [smart.example]:x\n",
	"t.conf:1: relayhost: bad value \"[smart.example]:x\" ([HOST]:PORT or HOST:PORT)"},
    {"relayhost = []:25\n", "t.conf:1: relayhost: bad value \"[]:25\" ([HOST]:PORT or HOST:PORT)"},
    {"relayhost = [smart.example\n",
	"t.conf:1: relayhost: bad value \"[smart.example\" ([HOST]:PORT or HOST:PORT)"},
    {"relayhost = [smart.example]25\n",
	"t.conf:1: relayhost: bad value \"[smart.example]25\" ([HOST]:PORT or HOST:PORT)"},
    {"relayhost = ::1:25\n",
	"t.conf:1: relayhost: bad value \"::1:25\" ([HOST]:PORT or HOST:PORT)"},
    {"relayhost = smart.example:0\n",
	"t.conf:1: relayhost: bad value \"smart.example:0\" ([HOST]:PORT or HOST:PORT)"},
    {"relayhost = smart_host:25\n",
	"t.conf:1: relayhost: bad value \"smart_host:25\" ([HOST]:PORT or HOST:PORT)"},
    {"log = mxd.log\n",
	"t.conf:1: log: bad value \"mxd.log\" (stderr, syslog or an absolute path)"},
    {"log = Syslog\n", "t.conf:1: log: bad value \"Syslog\" (stderr, syslog or an absolute path)"},
    /* Enumerations and booleans. */
    {"dnssec = yes\n", "t.conf:1: dnssec: bad value \"yes\" (auto, trust-ad or off)"},
    {"dane = on\n", "t.conf:1: dane: bad value \"on\" (auto or off)"},
    {"allow_loopback_mx = maybe\n",
	"t.conf:1: allow_loopback_mx: bad boolean \"maybe\" (yes or no)"},
    {"allow_loopback_mx = 1\n", "t.conf:1: allow_loopback_mx: bad boolean \"1\" (yes or no)"},
    /* Numbers. */
    {"max_recipients = 12x\n", "t.conf:1: max_recipients: bad number \"12x\""},
    {"max_recipients = -1\n", "t.conf:1: max_recipients: bad number \"-1\""},
    {"max_recipients = +5\n", "t.conf:1: max_recipients: bad number \"+5\""},
    {"max_recipients = 0x10\n", "t.conf:1: max_recipients: bad number \"0x10\""},
    {"max_recipients = 0\n", "t.conf:1: max_recipients: must not be 0"},
    {"max_recipients = 1000001\n",
	"t.conf:1: max_recipients: \"1000001\" is above the maximum 1000000"},
    {"max_message_size = 0\n", "t.conf:1: max_message_size: must not be 0"},
    {"max_message_size = 10M\n", "t.conf:1: max_message_size: bad number \"10M\""},
    {"max_message_size = 99999999999999999999\n",
	"t.conf:1: max_message_size: bad number \"99999999999999999999\""},
    {"max_message_size = 1099511627777\n",
	"t.conf:1: max_message_size: \"1099511627777\" is above the maximum 1099511627776"},
    {"max_connections = 0\n", "t.conf:1: max_connections: must not be 0"},
    {"max_per_client = none\n", "t.conf:1: max_per_client: bad number \"none\""},
    {"delivery_port = 0\n", "t.conf:1: delivery_port: must not be 0"},
    {"delivery_port = 65536\n", "t.conf:1: delivery_port: \"65536\" is above the maximum 65535"},
    {"delivery_port = smtp\n", "t.conf:1: delivery_port: bad port \"smtp\""},
    /* Durations. */
    {"retry_min = 0\n", "t.conf:1: retry_min: must not be 0"},
    {"retry_min = 0m\n", "t.conf:1: retry_min: must not be 0"},
    {"retry_max = 5 m\n", "t.conf:1: retry_max: bad duration \"5 m\" (e.g. 30s, 5m, 4h, 5d)"},
    {"queue_lifetime = 1w\n",
	"t.conf:1: queue_lifetime: bad duration \"1w\" (e.g. 30s, 5m, 4h, 5d)"},
    {"queue_lifetime = 49711d\n",
	"t.conf:1: queue_lifetime: bad duration \"49711d\" (e.g. 30s, 5m, 4h, 5d)"},
    {"cmd_timeout = 2d\n", "t.conf:1: cmd_timeout: \"2d\" is above the maximum 86400 seconds"},
    {"data_timeout = 0s\n", "t.conf:1: data_timeout: must not be 0"},
    {"greet_pause = 5m\n", "t.conf:1: greet_pause: \"5m\" is above the maximum 299 seconds"},
    /* Over-long values for fixed-size fields. */
    {"relayhost = [a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l"
     ".m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c"
     ".d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t"
     ".u.v.w.x.y.z.a.b.c]:25\n",
	"t.conf:1: relayhost: bad value "
	"\"[a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f...\" "
	"([HOST]:PORT or HOST:PORT)"},
    /* The file as a whole. */
    {"tls_cert = /etc/mxd/cert.pem\n", "t.conf: tls_cert and tls_key go together"},
    {"tls_key = /etc/mxd/key.pem\n", "t.conf: tls_cert and tls_key go together"},
    {"submission = 127.0.0.1:587\n",
	"t.conf: submission and submissions need tls_cert and tls_key"},
    {"submissions = 127.0.0.1:465\ntls_cert = /c\ntls_key = /k\n",
	"t.conf: submission and submissions need users (AUTH is required)"},
    {"retry_min = 5h\n", "t.conf: retry_min (18000 s) is greater than retry_max (14400 s)"},
    {"retry_min = 10m\nretry_max = 5m\n",
	"t.conf: retry_min (600 s) is greater than retry_max (300 s)"},
};

static void
test_errors(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 'x';
		err[1] = '\0';
		is_int(load(bad[i].text), -1, "refused: %s", bad[i].err);
		is_str(err, bad[i].err, "message %zu", i);
	}
}

/* Errors that need bytes a string literal table cannot hold, or long generated lines. */
static void
test_errors_generated(void)
{
	char *big;
	char nul[] = "user = mxd\nspool = /var/x\0y\n";
	size_t i, n;

	is_int(conf_load_text(&c, "t.conf", nul, sizeof(nul) - 1, err, sizeof(err)), -1,
	    "NUL refused");
	is_str(err, "t.conf:2: NUL byte", "NUL message");

	big = malloc(2 * CONF_LINE_MAX + 64);
	if (big == NULL)
		abort();
	/* Exactly CONF_LINE_MAX bytes (a comment) is fine; one more is not. */
	memset(big, '#', CONF_LINE_MAX);
	memcpy(big + CONF_LINE_MAX, "\nuser = a\n", 11);
	is_int(load(big), 0, "a line of exactly CONF_LINE_MAX bytes is fine");
	is_str(c.user, "a", "and the next line is read");
	memset(big, '#', CONF_LINE_MAX + 1);
	memcpy(big + CONF_LINE_MAX + 1, "\n", 2);
	is_int(load(big), -1, "CONF_LINE_MAX + 1 refused");
	is_str(err, "t.conf:1: line longer than 4096 bytes", "message");
	n = (size_t)snprintf(big, 64, "user = mxd\nspool = /");
	memset(big + n, 'a', 1100);
	big[n + 1100] = '\0';
	is_int(load(big), -1, "over-long path refused");
	is_str(err, "t.conf:2: spool: value longer than 1023 bytes", "message");
	/* A long line without a newline at the end of the text. */
	memset(big, 'a', CONF_LINE_MAX + 10);
	big[CONF_LINE_MAX + 10] = '\0';
	is_int(load(big), -1, "over-long last line without newline");
	is_str(err, "t.conf:1: line longer than 4096 bytes", "message");

	/* 65 local domains, 65 networks. */
	n = (size_t)snprintf(big, 32, "local_domains = ");
	for (i = 0; i <= CONF_DOMAINS_MAX; i++)
		n += (size_t)snprintf(big + n, 32, "d%zu.example,", i);
	big[n - 1] = '\n';
	big[n] = '\0';
	is_int(load(big), -1, "65 local domains refused");
	is_str(err, "t.conf:1: local_domains: more than 64 items", "message");
	n = (size_t)snprintf(big, 32, "relay_networks = ");
	for (i = 0; i <= CONF_NETS_MAX; i++)
		n += (size_t)snprintf(big + n, 32, "10.%zu.0.0/16, ", i);
	big[n] = '\0';
	is_int(load(big), -1, "65 networks refused");
	is_str(err, "t.conf:1: relay_networks: more than 64 items", "message");
	free(big);

	/* err always NUL-terminated, even when cut. */
	memset(err, 'x', sizeof(err));
	is_int(conf_load_text(&c, "t.conf", "foo = 1", 7, err, 8), -1, "small err buffer");
	is_str(err, "t.conf:", "message cut to 7 bytes and terminated");
}

/* --- defaults ------------------------------------------------------------------- */

static void
test_defaults(void)
{
	char host[256] = "";
	struct dns_conf rc;
	size_t i;
	bool same = true;

	if (gethostname(host, sizeof(host) - 1) == -1 || host[0] == '\0')
		strlcpy(host, "localhost", sizeof(host));
	conf_defaults(&c);
	is_str(c.hostname, host, "hostname: gethostname()");
	is_int(c.nlisten, 1, "one listen address");
	is_str(addr(&c.listen[0]), "0.0.0.0:25", "listen 0.0.0.0:25");
	is_int(c.nsubmission + c.nsubmissions, 0, "no submission ports");
	is_str(c.user, "mxd", "user");
	is_str(c.spool, "/var/spool/mxd", "spool");
	is_int(c.nlocal_domains, 1, "one local domain");
	for (i = 0; host[i] != '\0'; i++)
		host[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
	is_str(c.local_domains[0], host, "local_domains: the host name, lower case");
	is_str(c.mailbox_root, "/var/mail/mxd", "mailbox_root");
	is_str(c.lmtp, "", "lmtp off");
	is_str(c.aliases, "", "aliases off");
	is_int(c.nrelay_networks, 2, "two relay networks");
	is_str(addr(&c.relay_networks[0].addr), "127.0.0.0:0", "127.0.0.0");
	is_int(c.relay_networks[0].bits, 8, "/8");
	is_str(addr(&c.relay_networks[1].addr), "[::1]:0", "::1");
	is_int(c.relay_networks[1].bits, 128, "/128");
	is_str(c.users, "", "users off");
	is_str(c.tls_cert, "", "tls_cert off");
	is_str(c.tls_key, "", "tls_key off");
	is_int(c.dns.nservers, 0, "conf_defaults reads no resolv.conf");
	is_int(c.dns.dnssec, DNS_DNSSEC_AUTO, "dnssec auto");
	ok(c.dane, "dane auto");
	is_int(c.delivery_port, 25, "delivery_port");
	ok(!c.allow_loopback_mx, "allow_loopback_mx no");
	is_str(c.relayhost, "", "relayhost off");
	is_int(c.max_message_size, 52428800, "max_message_size");
	is_int(c.max_recipients, 1000, "max_recipients");
	is_int(c.queue_lifetime, 5 * 86400, "queue_lifetime 5d");
	is_int(c.retry_min, 60, "retry_min 1m");
	is_int(c.retry_max, 4 * 3600, "retry_max 4h");
	is_str(c.log, "stderr", "log");
	is_int(c.max_connections, 1000, "max_connections");
	is_int(c.max_per_client, 50, "max_per_client");
	is_int(c.cmd_timeout, 300, "cmd_timeout 5 min (RFC 5321 §4.5.3.2.7)");
	is_int(c.data_timeout, 300, "data_timeout 5 min");
	is_int(c.greet_pause, 0, "greet_pause 0");

	/* An empty file: the same, plus resolv.conf's servers. */
	is_int(load(""), 0, "empty config loads");
	is_str(addr(&c.listen[0]), "0.0.0.0:25", "default listen");
	is_int(c.nlisten, 1, "only it");
	is_str(c.local_domains[0], host, "default local domain");
	dns_conf_init(&rc);
	(void)dns_conf_resolv(&rc, "/etc/resolv.conf");
	is_int(c.dns.nservers, rc.nservers, "resolvers: /etc/resolv.conf's (%zu)", rc.nservers);
	for (i = 0; i < rc.nservers && i < c.dns.nservers; i++)
		same = same && net_addr_eq(&rc.servers[i], &c.dns.servers[i]);
	ok(same, "the same addresses, in order");
	is_int(c.dns.timeout_ms, rc.timeout_ms, "and resolv.conf's options");

	is_int(load("# only comments\n\n   \n\t# indented\n"), 0, "comments and blanks only");
}

/* --- every key ------------------------------------------------------------------ */

static void
test_keys(void)
{
	const char *text = "# a full configuration\n"
			   "hostname = MX1.Example.ORG\n"
			   "listen = 127.0.0.1:2525\n"
			   "listen = [::1]:2525, 127.0.0.2   # port 25 when none\n"
			   "submission = 127.0.0.1:587\n"
			   "submissions = [::1]:465,127.0.0.1:4650\n"
			   "  user\t=\tmail   \n"
			   "spool = /var/spool/mxd-test\n"
			   "local_domains = Example.ORG,example.net , MX1.example.org\n"
			   "mailbox_root = /srv/mail\n"
			   "lmtp = unix:/run/dovecot/lmtp\n"
			   "aliases = /etc/mxd/aliases\n"
			   "relay_networks = 192.0.2.0/24, 2001:db8::/32, 198.51.100.7\n"
			   "users = /etc/mxd/users\n"
			   "tls_cert = /etc/mxd/cert.pem\n"
			   "tls_key = /etc/mxd/key.pem\n"
			   "resolver = 127.0.0.53\n"
			   "resolver = [::1]:5353, 127.0.0.1:5300\n"
			   "dnssec = trust-ad\n"
			   "dane = off\n"
			   "delivery_port = 2526\n"
			   "allow_loopback_mx = yes\n"
			   "relayhost = [smart.example.net]:587\n"
			   "max_message_size = 10485760\n"
			   "max_recipients = 100\n"
			   "queue_lifetime = 2d\n"
			   "retry_min = 30s\n"
			   "retry_max = 2h\n"
			   "log = /var/log/mxd.log\n"
			   "max_connections = 500\n"
			   "max_per_client = 10\n"
			   "cmd_timeout = 10m\n"
			   "data_timeout = 600\n"
			   "greet_pause = 3s"; /* no newline at the end */

	is_int(load(text), 0, "full config loads");
	is_str(err, "", "no error");
	is_str(c.hostname, "MX1.Example.ORG", "hostname kept as written");
	is_int(c.nlisten, 3, "three listen addresses (the default dropped)");
	is_str(addr(&c.listen[0]), "127.0.0.1:2525", "listen 1");
	is_str(addr(&c.listen[1]), "[::1]:2525", "listen 2");
	is_str(addr(&c.listen[2]), "127.0.0.2:25", "listen 3, default port 25");
	is_int(c.nsubmission, 1, "one submission");
	is_str(addr(&c.submission[0]), "127.0.0.1:587", "submission");
	is_int(c.nsubmissions, 2, "two submissions");
	is_str(addr(&c.submissions[0]), "[::1]:465", "submissions 1");
	is_str(addr(&c.submissions[1]), "127.0.0.1:4650", "submissions 2");
	is_str(c.user, "mail", "user (tabs and spaces trimmed)");
	is_str(c.spool, "/var/spool/mxd-test", "spool");
	is_int(c.nlocal_domains, 3, "three local domains");
	is_str(c.local_domains[0], "example.org", "lower-cased");
	is_str(c.local_domains[1], "example.net", "second");
	is_str(c.local_domains[2], "mx1.example.org", "third");
	is_str(c.mailbox_root, "/srv/mail", "mailbox_root");
	is_str(c.lmtp, "unix:/run/dovecot/lmtp", "lmtp");
	is_str(c.aliases, "/etc/mxd/aliases", "aliases");
	is_int(c.nrelay_networks, 3, "relay_networks replaced");
	is_str(addr(&c.relay_networks[0].addr), "192.0.2.0:0", "net 1");
	is_int(c.relay_networks[0].bits, 24, "/24");
	is_str(addr(&c.relay_networks[1].addr), "[2001:db8::]:0", "net 2");
	is_int(c.relay_networks[1].bits, 32, "/32");
	is_int(c.relay_networks[2].bits, 32, "bare address: /32");
	is_str(c.users, "/etc/mxd/users", "users");
	is_str(c.tls_cert, "/etc/mxd/cert.pem", "tls_cert");
	is_str(c.tls_key, "/etc/mxd/key.pem", "tls_key");
	is_int(c.dns.nservers, 3, "three resolvers, no resolv.conf");
	is_str(addr(&c.dns.servers[0]), "127.0.0.53:53", "resolver 1, port 53");
	is_str(addr(&c.dns.servers[1]), "[::1]:5353", "resolver 2");
	is_str(addr(&c.dns.servers[2]), "127.0.0.1:5300", "resolver 3");
	is_int(c.dns.dnssec, DNS_DNSSEC_TRUST_AD, "dnssec trust-ad");
	ok(!c.dane, "dane off");
	is_int(c.delivery_port, 2526, "delivery_port");
	ok(c.allow_loopback_mx, "allow_loopback_mx");
	is_str(c.relayhost, "[smart.example.net]:587", "relayhost");
	is_int(c.max_message_size, 10485760, "max_message_size");
	is_int(c.max_recipients, 100, "max_recipients");
	is_int(c.queue_lifetime, 2 * 86400, "queue_lifetime");
	is_int(c.retry_min, 30, "retry_min");
	is_int(c.retry_max, 7200, "retry_max");
	is_str(c.log, "/var/log/mxd.log", "log");
	is_int(c.max_connections, 500, "max_connections");
	is_int(c.max_per_client, 10, "max_per_client");
	is_int(c.cmd_timeout, 600, "cmd_timeout");
	is_int(c.data_timeout, 600, "data_timeout (bare seconds)");
	is_int(c.greet_pause, 3, "greet_pause");

	/* The default local domain follows a configured hostname. */
	is_int(load("hostname = MX.Example.COM\n"), 0, "hostname only");
	is_int(c.nlocal_domains, 1, "one local domain");
	is_str(c.local_domains[0], "mx.example.com", "the configured hostname, lower case");

	/* Small things one at a time. */
	struct {
		const char *text;
		const char *want;
		const char *what;
	} one[] = {
	    {"spool = /a#b\n", "/a#b", "'#' inside a value is not a comment"},
	    {"spool = /ab # c\n", "/ab", "'#' after a space is"},
	    {"spool = /ab\t#c\n", "/ab", "'#' after a tab is"},
	    {"spool=/ab\r\n", "/ab", "no spaces, CRLF"},
	    {"spool = /ab", "/ab", "no final newline"},
	    {"# c\n  \t spool = /ab  \t\n", "/ab", "leading and trailing blanks"},
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		is_int(load(one[i].text), 0, "%s: loads", one[i].what);
		is_str(c.spool, one[i].want, "%s", one[i].what);
	}
	is_str(err, "", "err cleared on success");
	is_int(load("spool = /a=b\n"), 0, "a value may hold '='");
	is_str(c.spool, "/a=b", "the first '=' splits");

	struct {
		const char *v;
		bool want;
	} bools[] = {
	    {"yes", true},
	    {"no", false},
	    {"true", true},
	    {"false", false},
	    {"on", true},
	    {"off", false},
	    {"YES", true},
	    {"Off", false},
	};
	char buf[64];
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(buf, sizeof(buf), "allow_loopback_mx = %s\n", bools[i].v);
		is_int(load(buf), 0, "boolean %s", bools[i].v);
		is_int(c.allow_loopback_mx, bools[i].want, "boolean %s value", bools[i].v);
	}
	is_int(load("dnssec = off\n"), 0, "dnssec off");
	is_int(c.dns.dnssec, DNS_DNSSEC_OFF, "DNS_DNSSEC_OFF");
	is_int(load("dnssec = auto\ndane = auto\n"), 0, "dnssec auto, dane auto");
	is_int(c.dns.dnssec, DNS_DNSSEC_AUTO, "DNS_DNSSEC_AUTO");
	ok(c.dane, "dane on");
	is_int(load("relay_networks = none\n"), 0, "relay_networks none");
	is_int(c.nrelay_networks, 0, "no relay networks");
	is_int(load("log = syslog\n"), 0, "log syslog");
	is_str(c.log, "syslog", "syslog");
	is_int(load("lmtp = [::1]:24\n"), 0, "lmtp ADDR:PORT");
	is_str(c.lmtp, "[::1]:24", "lmtp v6");

	static const char *relay_ok[] = {
	    "[smart.example]:25",
	    "[smart.example]",
	    "smart.example:2525",
	    "smart.example",
	    "[192.0.2.1]:25",
	    "[2001:db8::1]:587",
	    "192.0.2.1:25",
	    "[::1]",
	};
	for (size_t i = 0; i < sizeof(relay_ok) / sizeof(relay_ok[0]); i++) {
		snprintf(buf, sizeof(buf), "relayhost = %s\n", relay_ok[i]);
		is_int(load(buf), 0, "relayhost %s", relay_ok[i]);
	}
	is_int(load("retry_min = 4h\nretry_max = 4h\n"), 0, "retry_min == retry_max is fine");
	is_int(load("greet_pause = 299\n"), 0, "greet_pause 299");
	is_int(load("max_message_size = 1099511627776\n"), 0, "max_message_size 1 TiB");
	is_int(c.max_message_size, 1ULL << 40, "1 TiB");
	is_int(load("submission = 127.0.0.1:587\ntls_cert = /c\ntls_key = /k\nusers = /u\n"), 0,
	    "submission with TLS and users");
	is_int(load("user = abcdefghijklmnopqrstuvwxyz012345\n"), 0, "32-byte user name");
	is_int(load("hostname = a-b.c0\n"), 0, "hyphen and digits in a host name");
	is_int(load("hostname = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"),
	    0, "63-octet label");
}

/* The EXAMPLES of mxd.conf(5): kept loadable. */
static void
test_man_examples(void)
{
	is_int(load("hostname       = mx1.example.org\n"
		    "listen         = 0.0.0.0:25, [::]:25\n"
		    "local_domains  = example.org, example.net\n"
		    "relay_networks = 127.0.0.0/8, ::1/128, 192.0.2.0/24\n"
		    "tls_cert       = /etc/mxd/cert.pem\n"
		    "tls_key        = /etc/mxd/key.pem\n"
		    "submission  = 0.0.0.0:587\n"
		    "submissions = 0.0.0.0:465\n"
		    "users       = /etc/mxd/users\n"
		    "relayhost   = [smtp.provider.example]:587\n"
		    "resolver    = 127.0.0.1        # a local validating resolver\n"
		    "dnssec      = auto\n"),
	    0, "mxd.conf(5) examples 1 and 2: %s", err);
	is_int(load("listen            = 127.0.0.1:2525\n"
		    "spool             = /tmp/mxd/spool\n"
		    "mailbox_root      = /tmp/mxd/mail\n"
		    "local_domains     = example.test\n"
		    "resolver          = 127.0.0.1:5353\n"
		    "delivery_port     = 2526\n"
		    "allow_loopback_mx = yes\n"
		    "retry_min         = 5s\n"
		    "retry_max         = 1m\n"),
	    0, "mxd.conf(5) example 3: %s", err);
}

/* --- durations ---------------------------------------------------------------------- */

static void
test_durations(void)
{
	static const struct {
		const char *s;
		int rc;
		unsigned v;
	} d[] = {
	    {"30s", 0, 30},
	    {"5m", 0, 300},
	    {"4h", 0, 14400},
	    {"5d", 0, 432000},
	    {"17", 0, 17},
	    {"0", 0, 0},
	    {"0s", 0, 0},
	    {"007m", 0, 420},
	    {"4294967295", 0, UINT_MAX},
	    {"49710d", 0, 49710u * 86400u},
	    {"4294967296", -1, 0},
	    {"49711d", -1, 0},
	    {"71582789m", -1, 0},
	    {"", -1, 0},
	    {"s", -1, 0},
	    {"5x", -1, 0},
	    {"5w", -1, 0},
	    {"-5", -1, 0},
	    {"+5", -1, 0},
	    {" 5", -1, 0},
	    {"5 ", -1, 0},
	    {"5S", -1, 0},
	    {"1.5h", -1, 0},
	    {"5ms", -1, 0},
	    {"5mm", -1, 0},
	    {"99999999999999999999", -1, 0},
	};
	unsigned v;

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		v = 12345;
		is_int(conf_duration(d[i].s, &v), d[i].rc, "duration \"%s\"", d[i].s);
		if (d[i].rc == 0)
			is_int(v, d[i].v, "duration \"%s\" = %u", d[i].s, d[i].v);
		else
			is_int(v, 12345, "duration \"%s\" leaves the output alone", d[i].s);
	}
}

/* --- CIDR matching -------------------------------------------------------------- */

static void
test_cidr(void)
{
	static const struct {
		const char *nets;
		const char *addr;
		bool want;
	} m[] = {
	    {NULL, "127.0.0.1", true}, /* NULL: the defaults */
	    {NULL, "127.255.255.254", true},
	    {NULL, "128.0.0.1", false},
	    {NULL, "126.255.255.255", false},
	    {NULL, "::1", true},
	    {NULL, "::2", false},
	    {NULL, "::ffff:127.0.0.1", true},
	    {NULL, "::ffff:10.0.0.1", false},
	    {"0.0.0.0/0", "1.2.3.4", true},
	    {"0.0.0.0/0", "255.255.255.255", true},
	    {"0.0.0.0/0", "::ffff:1.2.3.4", true},
	    {"0.0.0.0/0", "::1", false},
	    {"0.0.0.0/0", "2001:db8::1", false},
	    {"::/0", "::1", true},
	    {"::/0", "2001:db8::1", true},
	    {"::/0", "1.2.3.4", false},
	    {"::/0", "::ffff:1.2.3.4", true}, /* it is a v6 address too */
	    {"192.0.2.7/32", "192.0.2.7", true},
	    {"192.0.2.7/32", "192.0.2.6", false},
	    {"192.0.2.7/32", "192.0.2.8", false},
	    {"192.0.2.7/32", "::ffff:192.0.2.7", true},
	    {"192.0.2.7/32", "::ffff:192.0.2.8", false},
	    {"192.0.2.7/32", "::192.0.2.7", false}, /* v4-compatible is not mapped */
	    {"192.0.2.7", "192.0.2.7", true},
	    {"10.0.0.0/8", "10.255.255.255", true},
	    {"10.0.0.0/8", "11.0.0.0", false},
	    {"10.0.0.0/8", "9.255.255.255", false},
	    {"192.168.0.0/23", "192.168.1.255", true},
	    {"192.168.0.0/23", "192.168.2.0", false},
	    {"192.168.0.0/23", "::ffff:192.168.1.1", true},
	    {"128.0.0.0/1", "200.1.1.1", true},
	    {"128.0.0.0/1", "127.255.255.255", false},
	    {"2001:db8::/32", "2001:db8:ffff::1", true},
	    {"2001:db8::/32", "2001:db9::", false},
	    {"2001:db8::1/128", "2001:db8::1", true},
	    {"2001:db8::1/128", "2001:db8::2", false},
	    {"2001:db8::1/128", "2001:db8::", false},
	    {"fe80::/10", "fe80::1", true},
	    {"fe80::/10", "febf:ffff::1", true},
	    {"fe80::/10", "fec0::1", false},
	    {"::ffff:0:0/96", "::ffff:10.0.0.1", true},
	    {"::ffff:0:0/96", "10.0.0.1", false}, /* v6 CIDRs match v6 clients only */
	    {"10.0.0.0/8, 2001:db8::/32", "2001:db8::5", true},
	    {"10.0.0.0/8, 2001:db8::/32", "10.1.1.1", true},
	    {"10.0.0.0/8, 2001:db8::/32", "127.0.0.1", false},
	    {"none", "127.0.0.1", false},
	};
	struct net_addr a;
	char text[128];

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (m[i].nets == NULL)
			is_int(load(""), 0, "defaults");
		else {
			snprintf(text, sizeof(text), "relay_networks = %s\n", m[i].nets);
			is_int(load(text), 0, "relay_networks = %s", m[i].nets);
		}
		if (net_addr_parse(m[i].addr, 4242, &a) == -1) {
			ok(0, "test address %s parses", m[i].addr);
			continue;
		}
		is_int(conf_in_relay_networks(&c, &a), m[i].want, "%s %s %s",
		    m[i].nets ? m[i].nets : "(defaults)", m[i].want ? "has" : "lacks", m[i].addr);
	}
	memset(&a, 0, sizeof(a));
	ok(!conf_in_relay_networks(&c, &a), "AF_UNSPEC never matches");
}

static void
test_local_domains(void)
{
	is_int(load("local_domains = example.com, Mail.Example.NET\n"), 0, "two domains");
	ok(conf_is_local_domain(&c, "example.com"), "exact");
	ok(conf_is_local_domain(&c, "EXAMPLE.Com"), "case-insensitive");
	ok(conf_is_local_domain(&c, "mail.example.net"), "second, configured in mixed case");
	ok(!conf_is_local_domain(&c, "example.com."), "trailing dot is another string");
	ok(!conf_is_local_domain(&c, "sub.example.com"), "no subdomains");
	ok(!conf_is_local_domain(&c, "xample.com"), "no suffixes");
	ok(!conf_is_local_domain(&c, "example.co"), "no prefixes");
	ok(!conf_is_local_domain(&c, ""), "empty");
}

/* --- real files ----------------------------------------------------------------- */

static void
test_files(void)
{
	char dir[] = "/tmp/t_conf.XXXXXX", path[256], want[512];
	FILE *f;
	char *big;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/mxd.conf", dir);
	f = fopen(path, "w");
	fputs("user = mxd\n# fine\nlisten = 127.0.0.1:2525\nfrobnicate = yes\n", f);
	fclose(f);
	is_int(conf_load(&c, path, err, sizeof(err)), -1, "file with an unknown key");
	snprintf(want, sizeof(want), "%s:4: unknown key \"frobnicate\"", path);
	is_str(err, want, "FILE:LINE from conf_load");

	f = fopen(path, "w");
	fputs("listen = 127.0.0.1:2525\nresolver = 127.0.0.1:5353\n", f);
	fclose(f);
	is_int(conf_load(&c, path, err, sizeof(err)), 0, "good file");
	is_str(addr(&c.listen[0]), "127.0.0.1:2525", "read from the file");

	big = malloc(1024 * 1024 + 1);
	if (big == NULL)
		abort();
	memset(big, '#', 1024 * 1024 + 1);
	big[1000] = '\n';
	for (size_t i = 2000; i < 1024 * 1024; i += 2000)
		big[i] = '\n';
	f = fopen(path, "w");
	fwrite(big, 1, 1024 * 1024, f);
	fclose(f);
	is_int(conf_load(&c, path, err, sizeof(err)), 0, "a file of exactly 1 MiB");
	f = fopen(path, "w");
	fwrite(big, 1, 1024 * 1024 + 1, f);
	fclose(f);
	is_int(conf_load(&c, path, err, sizeof(err)), -1, "1 MiB + 1 refused");
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
	is_str(err, want, "message");
	free(big);
	unlink(path);

	is_int(conf_load(&c, path, err, sizeof(err)), -1, "missing file");
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	is_str(err, want, "message");
	is_int(conf_load(&c, dir, err, sizeof(err)), -1, "a directory");
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	is_str(err, want, "message");
	rmdir(dir);
}

int
main(void)
{
	test_errors();
	test_errors_generated();
	test_defaults();
	test_keys();
	test_man_examples();
	test_durations();
	test_cidr();
	test_local_domains();
	test_files();
	return done_testing();
}
