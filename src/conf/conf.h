/*
 * conf — mxd.conf(5): `key = value` lines, `#` comments, lists comma-separated, repeatable
 * keys for listen/submission/submissions/resolver. The keys and defaults are DESIGN.md §5.
 *
 * Errors are reported as "FILE:LINE: reason" (unknown key, bad value, duplicate
 * non-repeatable key, line over CONF_LINE_MAX) and the load fails; mxd then exits 78
 * (EX_CONFIG). Nothing is silently ignored.
 */
#ifndef CONF_CONF_H
#define CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"
#include "util/net.h"

#define CONF_LINE_MAX    4096
#define CONF_LISTEN_MAX  8
#define CONF_DOMAINS_MAX 64
#define CONF_NETS_MAX    64

struct conf_cidr {
	struct net_addr addr; /* port 0 */
	unsigned bits;
};

struct conf {
	char hostname[256];
	struct net_addr listen[CONF_LISTEN_MAX]; /* MX service, no AUTH */
	size_t nlisten;
	struct net_addr submission[CONF_LISTEN_MAX]; /* STARTTLS then AUTH (RFC 6409) */
	size_t nsubmission;
	struct net_addr submissions[CONF_LISTEN_MAX]; /* implicit TLS then AUTH (RFC 8314) */
	size_t nsubmissions;
	char user[64];
	char spool[1024];
	char local_domains[CONF_DOMAINS_MAX][256]; /* lower case */
	size_t nlocal_domains;
	char mailbox_root[1024];
	char lmtp[1024];    /* "" off; "unix:PATH" or "ADDR:PORT" */
	char aliases[1024]; /* "" off */
	struct conf_cidr relay_networks[CONF_NETS_MAX];
	size_t nrelay_networks;
	char users[1024];                   /* "" off */
	char tls_cert[1024], tls_key[1024]; /* "" off */
	struct dns_conf dns;                /* resolver, dnssec */
	bool dane;                          /* dane = auto */
	uint16_t delivery_port;
	bool allow_loopback_mx;
	char relayhost[300]; /* "" off; "[host]:port" */
	uint64_t max_message_size;
	unsigned max_recipients;
	unsigned queue_lifetime, retry_min, retry_max; /* seconds */
	char log[1024];                                /* "stderr", "syslog" or a path */
	/* Limits a busy site may tune; not in DESIGN §5's table but documented in mxd.conf(5). */
	unsigned max_connections, max_per_client;
	unsigned cmd_timeout, data_timeout; /* seconds, RFC 5321 §4.5.3.2 */
	unsigned greet_pause;               /* seconds before the 220 on MX ports; a
						   client talking earlier is refused (default 0) */
	/* Outbound: delivery workers in all and at once per destination; the cap on every
	   RFC 5321 §4.5.3.2 client timeout (their own values when larger than it). */
	unsigned max_deliveries, max_per_destination;
	unsigned smtp_timeout;
};

/* Fills defaults (DESIGN §5). */
void conf_defaults(struct conf *);
/*
 * Loads FILE over the defaults. On error writes "FILE:LINE: reason" into err (always
 * NUL-terminated) and returns -1. A config with no resolver takes /etc/resolv.conf's.
 */
int conf_load(struct conf *, const char *path, char *err, size_t errlen);
/* Same from a string (the embedded default config of `make run`); name is used in errors. */
int conf_load_text(
    struct conf *, const char *name, const char *text, size_t len, char *err, size_t errlen);
/*
 * The clients' way to find mxd's config (mxctl, sendmail): given (-c/-C), else
 * $MXD_CONF, else CONF_DEFAULT_PATH — or, when that does not exist, the defaults.
 * Returns the path read (NULL for the defaults) in *used; -1 with err on a bad file.
 */
#define CONF_DEFAULT_PATH "/etc/mxd/mxd.conf"
int conf_load_client(struct conf *, const char *given, const char **used, char *err, size_t errlen);

/* Durations: "30s", "5m", "4h", "5d", or bare seconds. 0 or -1. */
int conf_duration(const char *, unsigned *);
bool conf_is_local_domain(const struct conf *, const char *domain);
bool conf_in_relay_networks(const struct conf *, const struct net_addr *);

/*
 * users file (conf_users.c): the AUTH credentials of the `users` key, one "name:hash"
 * line each, hash a crypt(5) string ("$y$..." yescrypt, "$6$..." SHA-512); '#' lines are
 * comments. Names are 1..64 of [A-Za-z0-9._@+-]. Errors are "FILE:LINE: reason".
 */
struct conf_users;
/* Loads path; NULL with err set on error. Free with conf_users_free(). */
struct conf_users *conf_users_load(const char *path, char *err, size_t errlen);
/*
 * True when password (pwlen bytes, not necessarily NUL-terminated) is name's. Runs crypt
 * even for an unknown name (or users NULL) so the time taken does not tell which names
 * exist; slow by design (tens of milliseconds for yescrypt).
 */
bool conf_users_check(
    const struct conf_users *, const char *name, const char *password, size_t pwlen);
void conf_users_free(struct conf_users *);

#endif
