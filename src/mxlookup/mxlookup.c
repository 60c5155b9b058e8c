/*
 * mxlookup — dig/host for mail: resolves a name with mxd's resolver and shows, beside the
 * records, what protected the answer (transaction ID, source port, 0x20, cookie, AD), or
 * with -x the MX delivery plan mxd would follow.
 *
 * Exit codes (sysexits.h): 0 answer; 64 usage; 65 bad name; 68 NXDOMAIN; 69 NODATA or
 * null MX; 75 temporary failure (timeout, SERVFAIL, REFUSED, malformed); 78 no resolver.
 */
#include <bsd/string.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "dns/dns.h"
#include "util/json.h"
#include "util/log.h"

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: mxlookup [-jLTx] [-s addr[:port]]... [-t type] name\n");
	exit(EX_USAGE);
}

static int
exit_code(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return EX_OK;
	case DNS_NXDOMAIN:
		return EX_NOHOST;
	case DNS_NODATA:
	case DNS_NULLMX:
		return EX_UNAVAILABLE;
	case DNS_INVAL:
		return EX_DATAERR;
	case DNS_RETRY:
		break;
	}
	return EX_TEMPFAIL;
}

static const char *
name_str(const struct dns_name *n, char *buf, size_t len)
{
	dns_name_to_str(n, buf, len);
	return buf;
}

static void
facts_text(const struct dns_facts *f)
{
	char addr[NET_ADDR_STRLEN];

	if (f->from_cache) {
		printf(";; security: from cache\n");
		return;
	}
	printf(";; security: server %s over %s, ID 0x%04x, source port %u, 0x20 %s, "
	       "cookie %s, AD %s, %u replies dropped, %u attempt%s, %u ms\n",
	    net_addr_str(&f->server, addr, sizeof(addr)), f->tcp ? "TCP" : "UDP", f->id, f->sport,
	    f->x20 ? "verified" : "not used", f->cookie ? "verified" : "none",
	    f->ad ? "set (trusted)" : "not set or not trusted", f->dropped, f->attempts,
	    f->attempts == 1 ? "" : "s", f->rtt_ms);
}

static void
facts_json(struct json *j, const struct dns_facts *f)
{
	char addr[NET_ADDR_STRLEN];

	json_open(j, "security", '{');
	json_str(j, "server", f->from_cache ? NULL : net_addr_str(&f->server, addr, sizeof(addr)));
	json_int(j, "id", f->id);
	json_int(j, "sport", f->sport);
	json_str(j, "transport", f->tcp ? "tcp" : "udp");
	json_bool(j, "x20", f->x20);
	json_bool(j, "cookie", f->cookie);
	json_bool(j, "ad", f->ad);
	json_bool(j, "cached", f->from_cache);
	json_int(j, "attempts", f->attempts);
	json_int(j, "dropped", f->dropped);
	json_int(j, "rtt_ms", f->rtt_ms);
	json_close(j, '}');
}

static int
show_records(struct dns_resolver *res, const char *name, uint16_t type, bool js)
{
	struct dns_result r;
	struct json j;
	char owner[DNS_NAME_STRLEN], qn[DNS_NAME_STRLEN];
	char *data;
	size_t dlen = 65536;

	data = malloc(dlen);
	if (data == NULL)
		fatal("malloc");
	dns_resolve(res, name, type, &r);
	if (r.status == DNS_INVAL && r.qname.len == 0)
		strlcpy(qn, name, sizeof(qn));
	else
		name_str(&r.qname, qn, sizeof(qn));
	if (js) {
		json_init(&j, stdout);
		json_open(&j, NULL, '{');
		json_str(&j, "name", qn);
		json_str(&j, "type", dns_type_str(type));
		json_str(&j, "status", dns_status_str(r.status));
		json_str(&j, "why", r.why);
		json_str(&j, "rcode", r.status == DNS_INVAL ? NULL : dns_rcode_str(r.rcode));
		json_open(&j, "answers", '[');
		for (size_t i = 0; i < r.nrr; i++) {
			json_open(&j, NULL, '{');
			json_str(&j, "name", name_str(&r.rr[i].owner, owner, sizeof(owner)));
			json_str(&j, "type", dns_type_str(r.rr[i].type));
			json_int(&j, "ttl", r.rr[i].ttl);
			json_str(&j, "data", dns_rdata_str(&r.rr[i], data, dlen));
			json_close(&j, '}');
		}
		json_close(&j, ']');
		facts_json(&j, &r.facts);
		json_close(&j, '}');
	} else {
		printf("%s %s: %s", qn, dns_type_str(type), dns_status_str(r.status));
		if (r.why != NULL)
			printf(" (%s)", r.why);
		printf("\n");
		for (size_t i = 0; i < r.nrr; i++)
			printf("%s\t%u\tIN\t%s\t%s\n",
			    name_str(&r.rr[i].owner, owner, sizeof(owner)), r.rr[i].ttl,
			    dns_type_str(r.rr[i].type), dns_rdata_str(&r.rr[i], data, dlen));
		if (r.status != DNS_INVAL)
			facts_text(&r.facts);
	}
	free(data);
	dns_result_clear(&r);
	return exit_code(r.status);
}

static int
show_plan(struct dns_resolver *res, const char *name, unsigned flags, bool js)
{
	struct dns_mx_plan p;
	struct json j;
	char dom[DNS_NAME_STRLEN], host[DNS_NAME_STRLEN];
	char addr[NET_ADDR_STRLEN];

	dns_mx_resolve(res, name, flags, &p);
	if (p.domain.len == 0)
		strlcpy(dom, name, sizeof(dom));
	else
		name_str(&p.domain, dom, sizeof(dom));
	if (js) {
		json_init(&j, stdout);
		json_open(&j, NULL, '{');
		json_str(&j, "domain", dom);
		json_str(&j, "status", dns_status_str(p.status));
		json_str(&j, "why", p.why);
		json_bool(&j, "implicit", p.implicit);
		json_bool(&j, "secure", p.secure);
		json_open(&j, "hosts", '[');
		for (size_t i = 0; i < p.nhosts; i++) {
			json_open(&j, NULL, '{');
			json_str(&j, "host", name_str(&p.hosts[i].name, host, sizeof(host)));
			json_int(&j, "pref", p.hosts[i].pref);
			json_open(&j, "addrs", '[');
			for (size_t k = 0; k < p.hosts[i].naddr; k++)
				json_str(&j, NULL,
				    net_addr_host(&p.hosts[i].addr[k], addr, sizeof(addr)));
			json_close(&j, ']');
			json_bool(&j, "secure", p.hosts[i].secure);
			json_str(&j, "refused", p.hosts[i].refused);
			json_close(&j, '}');
		}
		json_close(&j, ']');
		facts_json(&j, &p.facts);
		json_close(&j, '}');
	} else {
		printf("delivery plan for %s: %s", dom, dns_status_str(p.status));
		if (p.why != NULL)
			printf(" (%s)", p.why);
		printf("%s\n", p.implicit ? " — no MX records, implicit MX (RFC 5321 §5.1)" : "");
		for (size_t i = 0; i < p.nhosts; i++) {
			const struct dns_mx_host *h = &p.hosts[i];

			printf("  %zu. %s pref %u", i + 1, name_str(&h->name, host, sizeof(host)),
			    h->pref);
			if (h->refused != NULL)
				printf("  refused: %s", h->refused);
			for (size_t k = 0; h->refused == NULL && k < h->naddr; k++)
				printf("%s%s", k == 0 ? "  " : ", ",
				    net_addr_host(&h->addr[k], addr, sizeof(addr)));
			printf("%s\n", h->secure ? "  (DNSSEC secure)" : "");
		}
		printf(";; MX RRset: %s\n",
		    p.secure ? "DNSSEC secure (AD from a trusted resolver)" : "not DNSSEC-secure");
		if (p.status != DNS_INVAL || p.facts.attempts > 0)
			facts_text(&p.facts);
	}
	dns_mx_plan_clear(&p);
	return exit_code(p.status);
}

int
main(int argc, char *argv[])
{
	struct dns_conf conf;
	struct dns_resolver *res;
	int ch, type = -1, rc;
	bool plan = false, js = false;
	unsigned flags = 0;

	log_init("mxlookup", false);
	dns_conf_init(&conf);
	while ((ch = getopt(argc, argv, "hjLs:t:Tx")) != -1) {
		switch (ch) {
		case 'j':
			js = true;
			break;
		case 'L':
			flags |= DNS_MX_ALLOW_LOOPBACK;
			break;
		case 's':
			if (dns_conf_add_server(&conf, optarg) == -1) {
				fprintf(stderr, "mxlookup: bad server address: %s\n", optarg);
				exit(EX_USAGE);
			}
			break;
		case 't':
			type = dns_type_from_str(optarg);
			if (type <= 0) {
				fprintf(stderr, "mxlookup: unknown type: %s\n", optarg);
				exit(EX_USAGE);
			}
			break;
		case 'T':
			conf.tcp_only = true;
			break;
		case 'x':
			plan = true;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	if (plan && type != -1 && type != DNS_T_MX)
		usage();
	if (conf.nservers == 0 && dns_conf_resolv(&conf, "/etc/resolv.conf") == -1) {
		fprintf(stderr, "mxlookup: no resolver: give -s or list one in /etc/resolv.conf\n");
		exit(EX_CONFIG);
	}
	conf.cache = false;
	res = dns_resolver_new(&conf);
	if (res == NULL)
		fatal("resolver");
	if (plan)
		rc = show_plan(res, argv[0], flags, js);
	else
		rc = show_records(res, argv[0], type == -1 ? DNS_T_A : (uint16_t)type, js);
	if (rc == EX_DATAERR && !js)
		fprintf(stderr, "mxlookup: invalid domain name: %s\n", argv[0]);
	dns_resolver_free(res);
	return rc;
}
