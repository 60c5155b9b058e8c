/*
 * mxaudit.h — private to the mxaudit program: the state of one audit run, shared by its
 * three parts.
 *
 *   mxaudit.c   options, the phases (sampling, acceptance matrix, blind race), the poll(2)
 *               loop and its timers, the verdicts, the report and the exit status;
 *   mxa_dns.c   the target's DNS server for the audit zone (UDP, and TCP with the RFC 1035
 *               §4.2.2 length prefix): true answers, the on-path forgeries of the matrix,
 *               the blind burst of the race, the record of every query;
 *   mxa_smtp.c  the two SMTP receivers (the legitimate MX and the attacker) and the
 *               trigger client that makes the target look names up.
 *
 * One process, one thread, one poll(2) loop: nothing here locks. Every table has a fixed
 * bound (the MXA_* limits below) with a defined answer when it is full: a query past
 * AUDIT_QUERIES_MAX is answered but not recorded, a connection past its table's bound is
 * closed at once, an input line past its cap is refused.
 */
#ifndef MXAUDIT_MXAUDIT_H
#define MXAUDIT_MXAUDIT_H

#include <bsd/string.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "dns/dns.h"
#include "smtp/smtp.h"
#include "util/net.h"

#define MXA_VERSION           "0.1"
#define MXA_LOOKUPS_MAX       10000  /* -n */
#define MXA_LABEL_LEN         12     /* fresh label: 8 random letters + 4 letters of index */
#define MXA_RACE_ROUNDS       3      /* blind race rounds (fewer with -n below 3) */
#define MXA_RACE_PACKETS_MAX  100000 /* --race-packets bound, per round */
#define MXA_RACE_HOLD_MS      300    /* the true answer waits this long in a race round */
#define MXA_FORGE_PER_DOMAIN  16     /* forgeries sent for one matrix domain at most */
#define MXA_HELD_MAX          64     /* true answers held back at once */
#define MXA_DNS_TCP_MAX       64     /* DNS TCP connections at once */
#define MXA_DNS_TCP_IDLE_MS   10000
#define MXA_DNS_TCP_OUT_MAX   (4 * 65537) /* unsent answers per connection */
#define MXA_SMTPD_MAX         64          /* receiver sessions at once (both receivers) */
#define MXA_SMTPD_IDLE_MS     60000
#define MXA_SMTPD_IN_MAX      (SMTP_CMD_EXT_MAX + 2)
#define MXA_SMTPD_MSG_MAX     (10u * 1024 * 1024) /* DATA beyond this is refused (552) */
#define MXA_SMTPD_RCPT_MAX    100                 /* recipients noted per message */
#define MXA_SNIPPET_MAX       65536 /* body kept from a bounce to find the domain in it */
#define MXA_CLIENT_TIMEOUT_MS 30000 /* trigger client: per reply */
#define MXA_WINDOW_MIN_MS     3000  /* verdict window bounds (see mxaudit.c) */
#define MXA_WINDOW_MAX_MS     20000
#define MXA_POLL_MAX          (4 + MXA_DNS_TCP_MAX + MXA_SMTPD_MAX + 1)

enum mxa_mode { MXA_RELAY, MXA_BOUNCE, MXA_PASSIVE };
enum mxa_purpose { DP_SAMPLE, DP_MATRIX, DP_RACE };
enum mxa_rcv { RCV_LEGIT, RCV_ATTACKER, RCV_N };

/* A fresh domain R.ZONE and everything seen about it. */
struct mxa_domain {
	char label[MXA_LABEL_LEN + 1];
	char name[DNS_NAME_MAX + 16]; /* "R.zone", lower case, no dot */
	enum mxa_purpose purpose;
	enum audit_forge kind; /* DP_MATRIX */
	/* the trigger */
	bool queued;    /* waiting for the trigger client */
	bool triggered; /* its transaction ended (well or not) */
	bool trigger_failed;
	char trigger_err[160];
	uint64_t t_trigger; /* clock_ms() when the transaction ended */
	/* DNS */
	unsigned nq, nq_udp, nq_tcp;
	unsigned nq_after_forge; /* queries after the first forgery */
	uint64_t t_first_q, t_last_q;
	unsigned forged; /* forgeries sent (matrix) */
	bool evil_asked; /* the target asked for evil.R.ZONE */
	/* mail */
	unsigned mail[RCV_N];   /* messages addressed to the domain, per receiver */
	unsigned bounce[RCV_N]; /* null-sender messages that name the domain */
	uint64_t t_mail;
	/* the race */
	bool burst_sent;
	uint64_t burst_packets;
	/* verdict (matrix) */
	bool decided;
};

struct mxa_dns_tcp {
	int fd;
	uint8_t *in; /* MXA 2 + 65535 octets */
	size_t inlen;
	uint8_t *out;
	size_t outlen, outoff;
	uint64_t last;
	struct net_addr peer;
};

struct mxa_held { /* a true answer released later (the race) */
	bool used;
	uint64_t due;
	struct net_addr to;
	size_t len;
	uint8_t pkt[1232];
};

struct mxa_smtpd; /* mxa_smtp.c */
struct mxa_client;

struct mxa {
	/* options */
	enum mxa_mode mode;
	struct net_addr target; /* -s */
	bool have_target;
	struct net_addr dns, legit, attacker, alt;
	bool alt_ok;                 /* --alt-addr given or derived */
	char zone[DNS_NAME_MAX + 1]; /* lower case, no final dot, no escapes */
	struct dns_name zone_name;
	char rcpt[SMTP_ADDR_MAX + 1]; /* -r */
	unsigned lookups;             /* -n */
	unsigned seconds;             /* -T */
	bool quiet, no_matrix, no_race, fail_on_accept;
	unsigned race_packets;
	double min_bits;

	/* sockets */
	int udp, tcp_listen;
	int udp_alt; /* -1 when the wrong-address kind cannot run */
	char alt_err[128];
	int udp_port2; /* the right address, another port */
	int smtp_listen[RCV_N];
	struct mxa_dns_tcp tcp[MXA_DNS_TCP_MAX];
	struct mxa_smtpd *smtpd[MXA_SMTPD_MAX];
	struct mxa_client *client;
	struct mxa_held held[MXA_HELD_MAX];

	/* the record */
	struct audit_query *q; /* grows to AUDIT_QUERIES_MAX */
	size_t nq, qcap, nq_dropped;
	size_t nq_phase1;       /* queries recorded by the end of phase 1 */
	struct mxa_domain *dom; /* -n + AF_NKINDS + MXA_RACE_ROUNDS + 8 */
	size_t ndom, ndom_max;
	uint64_t t_last_event; /* last query or mail, clock_ms() */
	unsigned malformed, refused, send_errors, mails, tcp_refused;

	/* trigger queue: indices into dom[] */
	size_t *trig;
	size_t ntrig, trig_next;

	/* the race's knowledge, from phase 1 */
	struct audit_stats ids1, ports1;
	struct net_addr race_to; /* the target's query source address */
	bool race_to_ok;

	uint64_t deadline;          /* clock_ms() end of the whole run (-T) */
	volatile sig_atomic_t stop; /* a signal arrived */
};

/* mxaudit.c */
struct mxa_domain *mxa_domain_by_label(struct mxa *, const uint8_t *label, size_t len);
void mxa_fresh_label(char *out, size_t idx);

/* mxa_dns.c */
int mxa_dns_open(struct mxa *); /* 0, or -1 with a message logged */
void mxa_dns_udp_read(struct mxa *, int fd);
void mxa_dns_tcp_accept(struct mxa *);
void mxa_dns_tcp_io(struct mxa *, struct mxa_dns_tcp *, short revents);
void mxa_dns_timers(struct mxa *, uint64_t now);
void mxa_dns_close(struct mxa *);
void mxa_dns_send(struct mxa *, int fd, const void *, size_t, const struct net_addr *);
/* The blind forged answer "R.ZONE MX 10 evil.R.ZONE" with ID 0; returns its length or 0. */
size_t mxa_dns_blind_mx(const struct mxa *, const struct mxa_domain *, uint8_t *, size_t);

/* mxa_race.c: the blind race's burst for domain d; returns the packets sent. */
uint64_t mxa_race_burst(struct mxa *, struct mxa_domain *);

/* mxa_smtp.c */
int mxa_smtp_open(struct mxa *); /* the two receivers; 0 or -1 */
void mxa_smtp_accept(struct mxa *, enum mxa_rcv);
int mxa_smtpd_pollfd(const struct mxa_smtpd *, short *events);
void mxa_smtpd_io(struct mxa *, size_t slot, short revents);
void mxa_smtp_timers(struct mxa *, uint64_t now);
/* The trigger client: starts a session when domains are queued and none is open. */
void mxa_client_kick(struct mxa *);
int mxa_client_pollfd(const struct mxa *, short *events);
void mxa_client_io(struct mxa *, short revents);
bool mxa_client_busy(const struct mxa *);
void mxa_smtp_close(struct mxa *);

#endif
