/*
 * conf — mxd.conf(5): the parser for `key = value` lines. See conf.h and
 * docs/man/mxd.conf.5 (keep the two in step: every key, default and message).
 *
 * Syntax. One `key = value` per line. `#` starts a comment at the start of a line or after
 * a space or tab (so "a#b" is a value, "a #b" is "a"). Whitespace around keys, values and
 * list items is trimmed; CRLF line ends are accepted. Lists are comma-separated; the
 * repeatable keys (listen, submission, submissions, resolver) add to their list on every
 * line, any other key may appear once. Booleans are yes/no, true/false, on/off.
 *
 * Defaults. conf_load() and conf_load_text() start from conf_defaults(). A key given
 * replaces its default, lists included (relay_networks = 10.0.0.0/8 drops 127.0.0.0/8).
 * Three defaults depend on the whole file and are settled after the last line: listen
 * (0.0.0.0:25 only when no listen line at all), local_domains (the configured hostname,
 * lower-cased) and resolver (/etc/resolv.conf's nameservers; none found is not an
 * error here — the resolver list stays empty and the daemon says so when it needs one).
 *
 * Errors. The first error stops the load: "FILE:LINE: reason" for a line, "FILE: reason"
 * for the file as a whole (cannot read it, tls_cert without tls_key, ...). Values echoed
 * in messages are cut to CONF_SHOW_MAX bytes and their unprintable bytes shown as '?', so
 * a hostile file cannot put escape sequences on an admin's terminal.
 *
 * Limits. The file: CONF_FILE_MAX bytes. A line: CONF_LINE_MAX bytes, not counting its
 * newline. Lists: the array sizes in conf.h. A NUL byte or another control character
 * (tab excepted) in a line is an error: no value ever legitimately holds one.
 */
#include <sys/stat.h>

#include <arpa/inet.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/conf_int.h"

#define CONF_SHOW_MAX 64
#define CONF_RESOLV   "/etc/resolv.conf"
#define CONF_MSG_MAX  512

enum conf_type {
	CT_HOSTNAME, /* a host name (LDH labels) */
	CT_ADDRS,    /* ADDR[:PORT] list into a net_addr array; lo is the default port */
	CT_USER,     /* an account name */
	CT_PATH,     /* an absolute path */
	CT_DOMAINS,  /* local_domains */
	CT_LMTP,     /* unix:PATH or ADDR:PORT */
	CT_CIDRS,    /* relay_networks */
	CT_RESOLVER, /* ADDR[:PORT] list into dns.servers */
	CT_DNSSEC,   /* auto | trust-ad | off */
	CT_DANE,     /* auto | off */
	CT_PORT,     /* 1..65535 into a uint16_t */
	CT_BOOL,
	CT_RELAYHOST, /* [HOST]:PORT or HOST:PORT */
	CT_UINT,      /* decimal, lo..hi, into an unsigned */
	CT_U64,       /* decimal, lo..hi, into a uint64_t */
	CT_DURATION,  /* conf_duration(), lo..hi seconds, into an unsigned */
	CT_LOG        /* stderr | syslog | absolute path */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	bool repeatable;
	size_t off, size; /* the field in struct conf */
	size_t noff;      /* CT_ADDRS: the field counting it */
	unsigned long long lo, hi;
};

#define F(field) offsetof(struct conf, field), sizeof(((struct conf *)0)->field)
#define N(field) offsetof(struct conf, field)

static const struct conf_key conf_keys[] = {
    {"hostname", CT_HOSTNAME, false, F(hostname), 0, 0, 0},
    {"listen", CT_ADDRS, true, F(listen), N(nlisten), 25, 0},
    {"submission", CT_ADDRS, true, F(submission), N(nsubmission), 587, 0},
    {"submissions", CT_ADDRS, true, F(submissions), N(nsubmissions), 465, 0},
    {"user", CT_USER, false, F(user), 0, 0, 0},
    {"spool", CT_PATH, false, F(spool), 0, 0, 0},
    {"local_domains", CT_DOMAINS, false, F(local_domains), 0, 0, 0},
    {"mailbox_root", CT_PATH, false, F(mailbox_root), 0, 0, 0},
    {"lmtp", CT_LMTP, false, F(lmtp), 0, 0, 0},
    {"aliases", CT_PATH, false, F(aliases), 0, 0, 0},
    {"relay_networks", CT_CIDRS, false, F(relay_networks), 0, 0, 0},
    {"users", CT_PATH, false, F(users), 0, 0, 0},
    {"tls_cert", CT_PATH, false, F(tls_cert), 0, 0, 0},
    {"tls_key", CT_PATH, false, F(tls_key), 0, 0, 0},
    {"resolver", CT_RESOLVER, true, F(dns.servers), 0, 0, 0},
    {"dnssec", CT_DNSSEC, false, F(dns.dnssec), 0, 0, 0},
    {"dane", CT_DANE, false, F(dane), 0, 0, 0},
    {"delivery_port", CT_PORT, false, F(delivery_port), 0, 1, 65535},
    {"allow_loopback_mx", CT_BOOL, false, F(allow_loopback_mx), 0, 0, 0},
    {"relayhost", CT_RELAYHOST, false, F(relayhost), 0, 0, 0},
    {"max_message_size", CT_U64, false, F(max_message_size), 0, 1, 1ULL << 40},
    {"max_recipients", CT_UINT, false, F(max_recipients), 0, 1, 1000000},
    {"queue_lifetime", CT_DURATION, false, F(queue_lifetime), 0, 1, UINT_MAX},
    {"retry_min", CT_DURATION, false, F(retry_min), 0, 1, UINT_MAX},
    {"retry_max", CT_DURATION, false, F(retry_max), 0, 1, UINT_MAX},
    {"log", CT_LOG, false, F(log), 0, 0, 0},
    {"max_connections", CT_UINT, false, F(max_connections), 0, 1, 1000000},
    {"max_per_client", CT_UINT, false, F(max_per_client), 0, 1, 1000000},
    {"cmd_timeout", CT_DURATION, false, F(cmd_timeout), 0, 1, 86400},
    {"data_timeout", CT_DURATION, false, F(data_timeout), 0, 1, 86400},
    /* RFC 5321 §4.5.3.2.1: a client waits 5 minutes for the greeting; stay below. */
    {"greet_pause", CT_DURATION, false, F(greet_pause), 0, 0, 299},
    {"max_deliveries", CT_UINT, false, F(max_deliveries), 0, 1, 256},
    {"max_per_destination", CT_UINT, false, F(max_per_destination), 0, 1, 256},
    {"smtp_timeout", CT_DURATION, false, F(smtp_timeout), 0, 1, 3600},
};

#define CONF_NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/* The state of one load. */
struct conf_parse {
	struct conf *c;
	const char *name;
	size_t line; /* 0: an error about the whole file */
	const struct conf_key *key;
	char *err;
	size_t errlen;
	size_t seen[CONF_NKEYS]; /* line of the first use, 0 if none */
};

/* --- errors ------------------------------------------------------------------------ */

static int conf_err(struct conf_parse *, const char *, ...) __attribute__((format(printf, 2, 3)));

/* Writes "NAME:LINE: msg" (or "NAME: msg") into p->err; returns -1 for tail calls. */
static int
conf_err(struct conf_parse *p, const char *fmt, ...)
{
	char msg[CONF_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->errlen == 0)
		return -1;
	if (p->line > 0)
		(void)snprintf(p->err, p->errlen, "%s:%zu: %s", p->name, p->line, msg);
	else
		(void)snprintf(p->err, p->errlen, "%s: %s", p->name, msg);
	return -1;
}

/* A value as it may be shown in a message: printable ASCII, at most CONF_SHOW_MAX bytes. */
static const char *
conf_show(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < CONF_SHOW_MAX && i + 4 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0' && i + 4 <= len) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* "KEY: bad WHAT "VALUE"" and the optional hint. */
static int
conf_bad(struct conf_parse *p, const char *what, const char *v, const char *hint)
{
	char show[CONF_SHOW_MAX + 4];

	return conf_err(
	    p, "%s: bad %s \"%s\"%s", p->key->name, what, conf_show(v, show, sizeof(show)), hint);
}

/* --- small syntax checks ------------------------------------------------------------ */

static bool
conf_isspace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Trims s in place; returns the first non-space byte. */
static char *
conf_trim(char *s)
{
	size_t n;

	while (conf_isspace(*s))
		s++;
	n = strlen(s);
	while (n > 0 && conf_isspace(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/*
 * Splits the next comma-separated item off *cur (trimmed). Returns NULL at the end; an
 * empty item ("a,,b", "a,") comes back as "" and is the caller's error.
 */
static char *
conf_item(char **cur)
{
	char *s = *cur, *comma;

	if (s == NULL)
		return NULL;
	comma = strchr(s, ',');
	if (comma != NULL) {
		*comma = '\0';
		*cur = comma + 1;
	} else
		*cur = NULL;
	return conf_trim(s);
}

/* Decimal digits only (no sign, no space: strtonum alone would take "+5" and " 5"). */
static int
conf_number(const char *s, unsigned long long *out)
{
	const char *errstr;
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	if (i == 0 || i > 18)
		return -1;
	*out = (unsigned long long)strtonum(s, 0, LLONG_MAX, &errstr);
	return errstr == NULL ? 0 : -1;
}

int
conf_duration(const char *s, unsigned *out)
{
	char digits[16];
	size_t n = strlen(s);
	unsigned long long v, mult = 1;

	if (n == 0)
		return -1;
	switch (s[n - 1]) {
	case 's':
		n--;
		break;
	case 'm':
		mult = 60;
		n--;
		break;
	case 'h':
		mult = 3600;
		n--;
		break;
	case 'd':
		mult = 86400;
		n--;
		break;
	default:
		break;
	}
	if (n == 0 || n >= sizeof(digits))
		return -1;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (conf_number(digits, &v) == -1 || v > UINT_MAX / mult)
		return -1;
	*out = (unsigned)(v * mult);
	return 0;
}

/* A host name: LDH labels of 1..63 octets, 253 in all, no trailing dot (RFC 1123 §2.1). */
static bool
conf_hostname_ok(const char *s)
{
	size_t i, label = 0, n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i <= n; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
		if (s[i] == '-' && label == 0)
			return false;
		label++;
	}
	return true;
}

/* An account name as useradd(8) takes them: [A-Za-z0-9._-], not starting with '-'. */
static bool
conf_user_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 32 || s[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL)
			return false;
	return true;
}

static bool
conf_port_ok(const char *s)
{
	unsigned long long v;

	return conf_number(s, &v) == 0 && v >= 1 && v <= 65535;
}

/* A bare IP address (no port, no brackets). */
static bool
conf_ip_ok(const char *s)
{
	struct in6_addr a;

	return inet_pton(AF_INET, s, &a) == 1 || inet_pton(AF_INET6, s, &a) == 1;
}

/*
 * relayhost: "[HOST]:PORT", "[ADDR]:PORT", "HOST:PORT", or either form without ":PORT"
 * (port 25). The brackets say "no MX lookup", as in Postfix; an IPv6 address needs them.
 */
static bool
conf_relayhost_ok(const char *s)
{
	char host[256];
	const char *end, *colon;
	size_t n;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return false;
		n = (size_t)(end - s - 1);
		if (n == 0 || n >= sizeof(host))
			return false;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (!conf_hostname_ok(host) && !conf_ip_ok(host))
			return false;
		if (end[1] == '\0')
			return true;
		return end[1] == ':' && conf_port_ok(end + 2);
	}
	colon = strchr(s, ':');
	n = colon != NULL ? (size_t)(colon - s) : strlen(s);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	if (!conf_hostname_ok(host) && inet_pton(AF_INET, host, &(struct in_addr){0}) != 1)
		return false;
	return colon == NULL || conf_port_ok(colon + 1);
}

/* The bits of byte i of an address that lie past a prefix of `bits` bits. */
static uint8_t
conf_host_mask(size_t i, unsigned bits)
{
	if (bits >= (i + 1) * 8)
		return 0;
	if (bits <= i * 8)
		return 0xff;
	return (uint8_t)(0xffu >> (bits - i * 8));
}

/* "ADDR/BITS" or a bare ADDR (a single host). Host bits must be zero. */
static int
conf_cidr_parse(const char *s, struct conf_cidr *cidr, char *hint, size_t hintlen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash;
	uint8_t raw[16];
	size_t n, i;
	unsigned long long bits;
	int family;
	unsigned max;

	hint[0] = '\0';
	slash = strchr(s, '/');
	n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(addr))
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, raw) == 1) {
		family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, raw) == 1) {
		family = AF_INET6;
		max = 128;
	} else
		return -1;
	bits = max;
	if (slash != NULL && (conf_number(slash + 1, &bits) == -1 || bits > max))
		return -1;
	for (i = 0; i < max / 8; i++)
		if ((raw[i] & conf_host_mask(i, (unsigned)bits)) != 0)
			break;
	if (i < max / 8) {
		/* Say what was probably meant: the network with the host bits cleared. */
		for (i = 0; i < max / 8; i++)
			raw[i] &= (uint8_t)~conf_host_mask(i, (unsigned)bits);
		if (inet_ntop(family, raw, addr, sizeof(addr)) != NULL)
			(void)snprintf(hint, hintlen, " (host bits set; %s/%llu?)", addr, bits);
		return -1;
	}
	net_addr_from_raw(&cidr->addr, family, raw, 0);
	cidr->bits = (unsigned)bits;
	return 0;
}

/* --- key setters --------------------------------------------------------------------- */

static void *
conf_field(struct conf_parse *p)
{
	return (char *)p->c + p->key->off;
}

static int
conf_set_string(struct conf_parse *p, const char *v)
{
	if (strlcpy(conf_field(p), v, p->key->size) >= p->key->size)
		return conf_err(
		    p, "%s: value longer than %zu bytes", p->key->name, p->key->size - 1);
	return 0;
}

static int
conf_set_path(struct conf_parse *p, const char *v)
{
	if (v[0] != '/')
		return conf_bad(p, "path", v, " (must be absolute)");
	return conf_set_string(p, v);
}

/* True when a is already one of the listen, submission or submissions addresses. */
static bool
conf_addr_used(const struct conf *c, const struct net_addr *a)
{
	size_t i;

	for (i = 0; i < c->nlisten; i++)
		if (net_addr_eq(&c->listen[i], a))
			return true;
	for (i = 0; i < c->nsubmission; i++)
		if (net_addr_eq(&c->submission[i], a))
			return true;
	for (i = 0; i < c->nsubmissions; i++)
		if (net_addr_eq(&c->submissions[i], a))
			return true;
	return false;
}

static int
conf_set_addrs(struct conf_parse *p, char *v)
{
	struct net_addr *arr = conf_field(p), a;
	size_t *n = (size_t *)((char *)p->c + p->key->noff);
	size_t max = p->key->size / sizeof(*arr);
	char *item, show[NET_ADDR_STRLEN];

	while ((item = conf_item(&v)) != NULL) {
		if (item[0] == '\0')
			return conf_err(p, "%s: empty list item", p->key->name);
		if (net_addr_parse(item, (uint16_t)p->key->lo, &a) == -1)
			return conf_bad(p, "address", item, "");
		if (conf_addr_used(p->c, &a))
			return conf_err(p, "%s: %s given twice", p->key->name,
			    net_addr_str(&a, show, sizeof(show)));
		if (*n == max)
			return conf_err(p, "%s: more than %zu items", p->key->name, max);
		arr[(*n)++] = a;
	}
	return 0;
}

static int
conf_set_domains(struct conf_parse *p, char *v)
{
	struct conf *c = p->c;
	char *item;
	size_t i;

	c->nlocal_domains = 0;
	while ((item = conf_item(&v)) != NULL) {
		if (item[0] == '\0')
			return conf_err(p, "%s: empty list item", p->key->name);
		if (!conf_hostname_ok(item))
			return conf_bad(p, "domain", item, "");
		if (c->nlocal_domains == CONF_DOMAINS_MAX)
			return conf_err(
			    p, "%s: more than %d items", p->key->name, CONF_DOMAINS_MAX);
		for (i = 0; item[i] != '\0'; i++)
			item[i] = (char)tolower((unsigned char)item[i]);
		(void)strlcpy(
		    c->local_domains[c->nlocal_domains++], item, sizeof(c->local_domains[0]));
	}
	return 0;
}

static int
conf_set_cidrs(struct conf_parse *p, char *v)
{
	struct conf *c = p->c;
	char *item, hint[128];

	c->nrelay_networks = 0;
	if (strcasecmp(v, "none") == 0)
		return 0;
	while ((item = conf_item(&v)) != NULL) {
		if (item[0] == '\0')
			return conf_err(p, "%s: empty list item", p->key->name);
		if (c->nrelay_networks == CONF_NETS_MAX)
			return conf_err(p, "%s: more than %d items", p->key->name, CONF_NETS_MAX);
		if (conf_cidr_parse(
			item, &c->relay_networks[c->nrelay_networks], hint, sizeof(hint)) == -1)
			return conf_bad(p, "CIDR", item, hint);
		c->nrelay_networks++;
	}
	return 0;
}

static int
conf_set_resolver(struct conf_parse *p, char *v)
{
	struct dns_conf *d = &p->c->dns;
	char *item;

	while ((item = conf_item(&v)) != NULL) {
		if (item[0] == '\0')
			return conf_err(p, "%s: empty list item", p->key->name);
		if (d->nservers == DNS_MAX_SERVERS)
			return conf_err(p, "%s: more than %d items", p->key->name, DNS_MAX_SERVERS);
		if (dns_conf_add_server(d, item) == -1)
			return conf_bad(p, "address", item, "");
	}
	return 0;
}

static int
conf_set_lmtp(struct conf_parse *p, const char *v)
{
	struct net_addr a;

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] != '/')
			return conf_bad(p, "value", v, " (unix:/PATH or ADDR:PORT)");
	} else if (net_addr_parse(v, 0, &a) == -1 || net_addr_port(&a) == 0)
		return conf_bad(p, "value", v, " (unix:/PATH or ADDR:PORT)");
	return conf_set_string(p, v);
}

static int
conf_set_bool(struct conf_parse *p, const char *v, bool *out)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0)
		*out = true;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 ||
	    strcasecmp(v, "off") == 0)
		*out = false;
	else
		return conf_bad(p, "boolean", v, " (yes or no)");
	return 0;
}

/* Numbers and durations share the range messages. */
static int
conf_range(struct conf_parse *p, const char *v, unsigned long long n, const char *unit)
{
	char show[CONF_SHOW_MAX + 4];

	if (n < p->key->lo) {
		if (p->key->lo == 1)
			return conf_err(p, "%s: must not be 0", p->key->name);
		return conf_err(p, "%s: \"%s\" is below the minimum %llu%s", p->key->name,
		    conf_show(v, show, sizeof(show)), p->key->lo, unit);
	}
	if (n > p->key->hi)
		return conf_err(p, "%s: \"%s\" is above the maximum %llu%s", p->key->name,
		    conf_show(v, show, sizeof(show)), p->key->hi, unit);
	return 0;
}

static int
conf_set(struct conf_parse *p, char *v)
{
	unsigned long long n;
	unsigned d;

	switch (p->key->type) {
	case CT_HOSTNAME:
		if (!conf_hostname_ok(v))
			return conf_bad(p, "host name", v, "");
		return conf_set_string(p, v);
	case CT_ADDRS:
		return conf_set_addrs(p, v);
	case CT_USER:
		if (!conf_user_ok(v))
			return conf_bad(p, "user name", v, "");
		return conf_set_string(p, v);
	case CT_PATH:
		return conf_set_path(p, v);
	case CT_DOMAINS:
		return conf_set_domains(p, v);
	case CT_LMTP:
		return conf_set_lmtp(p, v);
	case CT_CIDRS:
		return conf_set_cidrs(p, v);
	case CT_RESOLVER:
		return conf_set_resolver(p, v);
	case CT_DNSSEC:
		if (strcasecmp(v, "auto") == 0)
			p->c->dns.dnssec = DNS_DNSSEC_AUTO;
		else if (strcasecmp(v, "trust-ad") == 0)
			p->c->dns.dnssec = DNS_DNSSEC_TRUST_AD;
		else if (strcasecmp(v, "off") == 0)
			p->c->dns.dnssec = DNS_DNSSEC_OFF;
		else
			return conf_bad(p, "value", v, " (auto, trust-ad or off)");
		return 0;
	case CT_DANE:
		if (strcasecmp(v, "auto") == 0)
			p->c->dane = true;
		else if (strcasecmp(v, "off") == 0)
			p->c->dane = false;
		else
			return conf_bad(p, "value", v, " (auto or off)");
		return 0;
	case CT_PORT:
		if (conf_number(v, &n) == -1)
			return conf_bad(p, "port", v, "");
		if (conf_range(p, v, n, "") == -1)
			return -1;
		*(uint16_t *)conf_field(p) = (uint16_t)n;
		return 0;
	case CT_BOOL:
		return conf_set_bool(p, v, conf_field(p));
	case CT_RELAYHOST:
		if (!conf_relayhost_ok(v))
			return conf_bad(p, "value", v, " ([HOST]:PORT or HOST:PORT)");
		return conf_set_string(p, v);
	case CT_UINT:
	case CT_U64:
		if (conf_number(v, &n) == -1)
			return conf_bad(p, "number", v, "");
		if (conf_range(p, v, n, "") == -1)
			return -1;
		if (p->key->type == CT_UINT)
			*(unsigned *)conf_field(p) = (unsigned)n;
		else
			*(uint64_t *)conf_field(p) = n;
		return 0;
	case CT_DURATION:
		if (conf_duration(v, &d) == -1)
			return conf_bad(p, "duration", v, " (e.g. 30s, 5m, 4h, 5d)");
		if (conf_range(p, v, d, " seconds") == -1)
			return -1;
		*(unsigned *)conf_field(p) = d;
		return 0;
	case CT_LOG:
		if (strcmp(v, "stderr") != 0 && strcmp(v, "syslog") != 0 && v[0] != '/')
			return conf_bad(p, "value", v, " (stderr, syslog or an absolute path)");
		return conf_set_string(p, v);
	}
	return conf_err(p, "%s: internal error", p->key->name);
}

/* --- lines --------------------------------------------------------------------------- */

static const struct conf_key *
conf_key_find(const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0) {
			*idx = i;
			return &conf_keys[i];
		}
	return NULL;
}

/* One line, NUL-terminated, without its newline. */
static int
conf_line(struct conf_parse *p, char *line)
{
	char *eq, *key, *v, show[CONF_SHOW_MAX + 4];
	size_t i, k;

	/* '#' begins a comment at the start of the line or after a blank. */
	for (i = 0; line[i] != '\0'; i++)
		if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
			line[i] = '\0';
			break;
		}
	line = conf_trim(line);
	if (line[0] == '\0')
		return 0;
	for (i = 0; line[i] != '\0'; i++)
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
			return conf_err(p, "control character 0x%02x", (unsigned char)line[i]);
	eq = strchr(line, '=');
	if (eq == NULL)
		return conf_err(p, "missing '=' in \"%s\"", conf_show(line, show, sizeof(show)));
	*eq = '\0';
	key = conf_trim(line);
	v = conf_trim(eq + 1);
	if (key[0] == '\0')
		return conf_err(p, "missing key before '='");
	p->key = conf_key_find(key, &k);
	if (p->key == NULL)
		return conf_err(p, "unknown key \"%s\"", conf_show(key, show, sizeof(show)));
	if (p->seen[k] != 0 && !p->key->repeatable)
		return conf_err(p, "%s: given twice (first on line %zu)", key, p->seen[k]);
	if (p->seen[k] == 0)
		p->seen[k] = p->line;
	if (v[0] == '\0')
		return conf_err(p, "%s: empty value", key);
	return conf_set(p, v);
}

static bool
conf_seen(const struct conf_parse *p, const char *name)
{
	size_t k;

	return conf_key_find(name, &k) != NULL && p->seen[k] != 0;
}

/* Defaults that depend on the whole file, and checks across keys. */
static int
conf_finish(struct conf_parse *p)
{
	struct conf *c = p->c;
	size_t i;

	p->line = 0;
	if (c->nlisten == 0)
		(void)net_addr_parse("0.0.0.0", 25, &c->listen[c->nlisten++]);
	if (!conf_seen(p, "local_domains")) {
		(void)strlcpy(c->local_domains[0], c->hostname, sizeof(c->local_domains[0]));
		for (i = 0; c->local_domains[0][i] != '\0'; i++)
			c->local_domains[0][i] =
			    (char)tolower((unsigned char)c->local_domains[0][i]);
		c->nlocal_domains = 1;
	}
	/* No resolver key: resolv.conf's; none there is the daemon's problem, not ours. */
	if (c->dns.nservers == 0)
		(void)dns_conf_resolv(&c->dns, CONF_RESOLV);
	if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0'))
		return conf_err(p, "tls_cert and tls_key go together");
	/* RFC 8314 §3 needs a certificate; RFC 6409 §4.3 submission needs AUTH, which needs TLS. */
	if ((c->nsubmission > 0 || c->nsubmissions > 0) && c->tls_cert[0] == '\0')
		return conf_err(p, "submission and submissions need tls_cert and tls_key");
	if ((c->nsubmission > 0 || c->nsubmissions > 0) && c->users[0] == '\0')
		return conf_err(p, "submission and submissions need users (AUTH is required)");
	if (c->retry_min > c->retry_max)
		return conf_err(p, "retry_min (%u s) is greater than retry_max (%u s)",
		    c->retry_min, c->retry_max);
	return 0;
}

void
conf_defaults(struct conf *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	if (gethostname(c->hostname, sizeof(c->hostname) - 1) == -1 || c->hostname[0] == '\0')
		(void)strlcpy(c->hostname, "localhost", sizeof(c->hostname));
	(void)net_addr_parse("0.0.0.0", 25, &c->listen[0]);
	c->nlisten = 1;
	(void)strlcpy(c->user, "mxd", sizeof(c->user));
	(void)strlcpy(c->spool, "/var/spool/mxd", sizeof(c->spool));
	(void)strlcpy(c->local_domains[0], c->hostname, sizeof(c->local_domains[0]));
	for (i = 0; c->local_domains[0][i] != '\0'; i++)
		c->local_domains[0][i] = (char)tolower((unsigned char)c->local_domains[0][i]);
	c->nlocal_domains = 1;
	(void)strlcpy(c->mailbox_root, "/var/mail/mxd", sizeof(c->mailbox_root));
	net_addr_from_raw(
	    &c->relay_networks[0].addr, AF_INET, &(struct in_addr){htonl(0x7f000000)}, 0);
	c->relay_networks[0].bits = 8;
	net_addr_from_raw(&c->relay_networks[1].addr, AF_INET6, &in6addr_loopback, 0);
	c->relay_networks[1].bits = 128;
	c->nrelay_networks = 2;
	dns_conf_init(&c->dns);
	c->dane = true;
	c->delivery_port = 25;
	c->allow_loopback_mx = false;
	c->max_message_size = 52428800;
	c->max_recipients = 1000;
	c->queue_lifetime = 5 * 86400;
	c->retry_min = 60;
	c->retry_max = 4 * 3600;
	(void)strlcpy(c->log, "stderr", sizeof(c->log));
	c->max_connections = 1000;
	c->max_per_client = 50;
	/* RFC 5321 §4.5.3.2.7: a server SHOULD wait at least 5 minutes for a command. */
	c->cmd_timeout = 300;
	/*
	 * While a message comes in, the client waits at most 3 minutes for each block it
	 * sends to be taken (§4.5.3.2.5), so 5 minutes without a byte means it has given
	 * up; the same 5-minute floor as for commands (§4.5.3.2.7) keeps slow links working.
	 */
	c->data_timeout = 300;
	c->greet_pause = 0;
	c->max_deliveries = 20;
	c->max_per_destination = 10;
	/* RFC 5321 §4.5.3.2: the longest client timeout is 10 minutes (after the final "."). */
	c->smtp_timeout = 600;
}

void
conf_lines_init(struct conf_lines *l, const char *text, size_t len)
{
	l->text = text;
	l->len = len;
	l->off = 0;
	l->lineno = 0;
}

enum conf_line_status
conf_lines_next(struct conf_lines *l, char line[CONF_LINE_MAX + 1])
{
	const char *start = l->text + l->off, *nl;
	size_t n;

	if (l->off >= l->len)
		return CONF_LINE_END;
	l->lineno++;
	nl = memchr(start, '\n', l->len - l->off);
	n = nl != NULL ? (size_t)(nl - start) : l->len - l->off;
	if (n > CONF_LINE_MAX)
		return CONF_LINE_LONG;
	if (memchr(start, '\0', n) != NULL)
		return CONF_LINE_NUL;
	memcpy(line, start, n);
	line[n] = '\0';
	l->off += n + 1;
	return CONF_LINE_OK;
}

int
conf_load_text(
    struct conf *c, const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	struct conf_parse p;
	struct conf_lines l;
	char line[CONF_LINE_MAX + 1];

	memset(&p, 0, sizeof(p));
	p.c = c;
	p.name = name;
	p.err = err;
	p.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	conf_defaults(c);
	/* Settled after the last line (conf_finish), so the first listen line starts afresh. */
	c->nlisten = 0;
	conf_lines_init(&l, text, len);
	for (;;) {
		switch (conf_lines_next(&l, line)) {
		case CONF_LINE_END:
			return conf_finish(&p);
		case CONF_LINE_LONG:
			p.line = l.lineno;
			return conf_err(&p, "line longer than %d bytes", CONF_LINE_MAX);
		case CONF_LINE_NUL:
			p.line = l.lineno;
			return conf_err(&p, "NUL byte");
		case CONF_LINE_OK:
			p.line = l.lineno;
			if (conf_line(&p, line) == -1)
				return -1;
			break;
		}
	}
}

int
conf_read_file(const char *path, char **bufp, size_t *lenp, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t r = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	buf = malloc(CONF_FILE_MAX + 1);
	if (buf == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Read one byte past the limit to tell "exactly at the limit" from "over it". */
	while (len < CONF_FILE_MAX + 1) {
		r = read(fd, buf + len, CONF_FILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	if (r == -1)
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (len > CONF_FILE_MAX)
		(void)snprintf(err, errlen, "%s: larger than %d bytes", path, CONF_FILE_MAX);
	close(fd);
	if (r == -1 || len > CONF_FILE_MAX) {
		explicit_bzero(buf, len);
		free(buf);
		return -1;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	if (conf_read_file(path, &buf, &len, err, errlen) == -1)
		return -1;
	rc = conf_load_text(c, path, buf, len, err, errlen);
	free(buf);
	return rc;
}

/* --- queries ------------------------------------------------------------------------- */

bool
conf_is_local_domain(const struct conf *c, const char *domain)
{
	size_t i;

	for (i = 0; i < c->nlocal_domains; i++)
		if (strcasecmp(c->local_domains[i], domain) == 0)
			return true;
	return false;
}

/* The first `bits` bits of a and net agree. */
static bool
conf_prefix_eq(const uint8_t *a, const uint8_t *net, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff00u >> rest);
	return (a[full] & mask) == (net[full] & mask);
}

bool
conf_in_relay_networks(const struct conf *c, const struct net_addr *a)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const struct conf_cidr *n;
	const uint8_t *v4 = NULL, *v6 = NULL;
	size_t i;

	if (a->ss.ss_family == AF_INET) {
		sin = (const struct sockaddr_in *)&a->ss;
		v4 = (const uint8_t *)&sin->sin_addr;
	} else if (a->ss.ss_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)&a->ss;
		v6 = sin6->sin6_addr.s6_addr;
		/* A dual-stack socket shows a v4 client as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2). */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			v4 = v6 + 12;
	} else
		return false;
	for (i = 0; i < c->nrelay_networks; i++) {
		n = &c->relay_networks[i];
		if (n->addr.ss.ss_family == AF_INET && v4 != NULL) {
			sin = (const struct sockaddr_in *)&n->addr.ss;
			if (conf_prefix_eq(v4, (const uint8_t *)&sin->sin_addr, n->bits))
				return true;
		} else if (n->addr.ss.ss_family == AF_INET6 && v6 != NULL) {
			sin6 = (const struct sockaddr_in6 *)&n->addr.ss;
			if (conf_prefix_eq(v6, sin6->sin6_addr.s6_addr, n->bits))
				return true;
		}
	}
	return false;
}

int
conf_load_client(struct conf *c, const char *given, const char **used, char *err, size_t errlen)
{
	const char *path = given;
	struct stat st;

	*used = NULL;
	if (path == NULL)
		path = getenv("MXD_CONF");
	if (path == NULL || path[0] == '\0') {
		path = CONF_DEFAULT_PATH;
		/* No config at all: mxd's documented defaults. */
		if (stat(path, &st) == -1 && errno == ENOENT) {
			conf_defaults(c);
			return 0;
		}
	}
	*used = path;
	return conf_load(c, path, err, errlen);
}
