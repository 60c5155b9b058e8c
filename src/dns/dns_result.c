/*
 * dns_result — classify an accepted reply and keep only what may be used.
 *
 * "Parse, then scrub, then use": from an accepted message we keep the answer-section
 * records on the CNAME chain that starts at the question name (at most DNS_CNAME_MAX
 * links) and the records of the asked type at its end. Everything else — authority,
 * additional, answer records for other names — is counted and thrown away, so a reply
 * can never teach us about a name we did not ask for (RFC 2181 §5.4.1 ranks additional
 * data lowest; we do not use it at all). The SOA in the authority section is read only
 * for the negative TTL (RFC 2308 §5) and then discarded.
 *
 * A result owns its records and their RDATA (one allocation each); dns_result_clear()
 * frees them and dns_result_copy() makes an independent copy.
 */
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"

const char *
dns_status_str(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "OK";
	case DNS_NODATA:
		return "NODATA";
	case DNS_NXDOMAIN:
		return "NXDOMAIN";
	case DNS_NULLMX:
		return "NULLMX";
	case DNS_RETRY:
		return "RETRY";
	case DNS_INVAL:
		return "INVAL";
	}
	return "UNKNOWN";
}

void
dns_result_clear(struct dns_result *r)
{
	free(r->rr);
	free(r->rdata);
	r->rr = NULL;
	r->rdata = NULL;
	r->nrr = 0;
	r->rdata_len = 0;
}

/* Copies n records (and their RDATA) into r, which must hold none. */
static int
dns_result_set_rrs(struct dns_result *r, const struct dns_rr *const *rrs, size_t n)
{
	size_t total = 0, off = 0;

	r->rr = NULL;
	r->rdata = NULL;
	r->nrr = 0;
	r->rdata_len = 0;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		total += rrs[i]->rdlen;
	/* Not zeroed: every element is assigned whole below. */
	r->rr = reallocarray(NULL, n, sizeof(*r->rr));
	r->rdata = malloc(total > 0 ? total : 1);
	if (r->rr == NULL || r->rdata == NULL) {
		dns_result_clear(r);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		r->rr[i] = *rrs[i];
		if (rrs[i]->rdlen > 0)
			memcpy(r->rdata + off, rrs[i]->rdata, rrs[i]->rdlen);
		r->rr[i].rdata = r->rdata + off;
		off += rrs[i]->rdlen;
	}
	r->nrr = n;
	r->rdata_len = total;
	return 0;
}

int
dns_result_copy(struct dns_result *dst, const struct dns_result *src)
{
	const struct dns_rr **list = NULL;
	int rc;

	*dst = *src;
	if (src->nrr == 0) {
		dst->rr = NULL;
		dst->rdata = NULL;
		return 0;
	}
	list = calloc(src->nrr, sizeof(*list));
	if (list == NULL) {
		dst->rr = NULL;
		dst->rdata = NULL;
		dst->nrr = 0;
		return -1;
	}
	for (size_t i = 0; i < src->nrr; i++)
		list[i] = &src->rr[i];
	rc = dns_result_set_rrs(dst, list, src->nrr);
	free(list);
	return rc;
}

void
dns_result_fail(struct dns_result *r, const struct dns_name *qname, uint16_t qtype,
    enum dns_status st, const char *why)
{
	memset(r, 0, sizeof(*r));
	r->status = st;
	r->why = why;
	if (qname != NULL) {
		r->qname = *qname;
		r->final = *qname;
	}
	r->qtype = qtype;
}

/* RFC 2181 §8: a TTL with the top bit set is to be taken as 0. */
static uint32_t
dns_ttl(uint32_t ttl)
{
	return ttl > INT32_MAX ? 0 : ttl;
}

/* RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and its MINIMUM. */
static uint32_t
dns_neg_ttl(const struct dns_msg *m, uint32_t cap)
{
	for (size_t i = 0; i < m->nrr; i++) {
		const struct dns_rr *rr = &m->rr[i];
		uint32_t t;

		if (rr->section != DNS_S_NS || rr->type != DNS_T_SOA)
			continue;
		t = dns_ttl(rr->ttl) < rr->u.soa.minimum ? dns_ttl(rr->ttl) : rr->u.soa.minimum;
		return t < cap ? t : cap;
	}
	return 0; /* no SOA: do not cache the negative answer */
}

/* An authority section with NS records and no SOA. */
static bool
dns_is_referral(const struct dns_msg *m)
{
	bool ns = false;

	for (size_t i = 0; i < m->nrr; i++) {
		if (m->rr[i].section != DNS_S_NS)
			continue;
		if (m->rr[i].type == DNS_T_SOA)
			return false;
		if (m->rr[i].type == DNS_T_NS)
			ns = true;
	}
	return ns;
}

int
dns_result_from_msg(struct dns_result *r, const struct dns_msg *m, const struct dns_name *qname,
    uint16_t qtype, const struct dns_conf *conf, uint64_t *ignored)
{
	const struct dns_rr *used[DNS_RR_MAX];
	size_t nused = 0, links = 0;
	struct dns_name cur = *qname;
	bool progress;
	uint32_t ttl = UINT32_MAX;

	dns_result_fail(r, qname, qtype, DNS_OK, NULL);
	r->rcode = m->rcode;
	switch (m->rcode) {
	case DNS_R_NOERROR:
	case DNS_R_NXDOMAIN:
		break;
	case DNS_R_SERVFAIL:
		r->status = DNS_RETRY;
		r->why = "SERVFAIL";
		return 0;
	case DNS_R_REFUSED:
		r->status = DNS_RETRY;
		r->why = "REFUSED";
		return 0;
	default:
		r->status = DNS_RETRY;
		r->why = "server error";
		return 0;
	}

	/* Follow the CNAME chain through the answer section (RFC 1034 §3.6.2). */
	do {
		progress = false;
		if (qtype == DNS_T_CNAME)
			break;
		for (size_t i = 0; i < m->nrr; i++) {
			const struct dns_rr *rr = &m->rr[i];

			if (rr->section != DNS_S_AN || rr->type != DNS_T_CNAME ||
			    rr->class != DNS_C_IN || !dns_name_eq(&rr->owner, &cur))
				continue;
			if (links == DNS_CNAME_MAX) {
				r->status = DNS_RETRY;
				r->why = "CNAME chain too long";
				return 0;
			}
			/* A chain that comes back to a name already on it is a loop. */
			for (size_t j = 0; j < nused; j++)
				if (dns_name_eq(&used[j]->owner, &rr->u.name)) {
					r->status = DNS_RETRY;
					r->why = "CNAME loop";
					return 0;
				}
			if (dns_name_eq(&rr->u.name, qname)) {
				r->status = DNS_RETRY;
				r->why = "CNAME loop";
				return 0;
			}
			used[nused++] = rr;
			ttl = dns_ttl(rr->ttl) < ttl ? dns_ttl(rr->ttl) : ttl;
			cur = rr->u.name;
			links++;
			progress = true;
			break;
		}
	} while (progress);
	r->final = cur;
	dns_name_lower(&r->final);

	if (m->rcode == DNS_R_NXDOMAIN) {
		r->status = DNS_NXDOMAIN;
		r->why = "no such domain";
	} else {
		for (size_t i = 0; i < m->nrr && nused < DNS_RR_MAX; i++) {
			const struct dns_rr *rr = &m->rr[i];

			if (rr->section != DNS_S_AN || rr->type != qtype || rr->class != DNS_C_IN ||
			    !dns_name_eq(&rr->owner, &cur))
				continue;
			used[nused++] = rr;
			ttl = dns_ttl(rr->ttl) < ttl ? dns_ttl(rr->ttl) : ttl;
		}
		r->status = nused > links ? DNS_OK : DNS_NODATA;
		if (r->status == DNS_NODATA)
			r->why = "no records of that type";
		/*
		 * RFC 2308 §2.2: a NODATA answer carries the zone's SOA. NOERROR with nothing
		 * but NS records is a referral or a lame server, not a statement that the name
		 * has no such records (for MX it would wrongly make an implicit MX).
		 */
		if (r->status == DNS_NODATA && links == 0 && dns_is_referral(m)) {
			r->status = DNS_RETRY;
			r->why = "referral or lame answer";
			return 0;
		}
	}
	if (r->status == DNS_OK)
		r->ttl = ttl < conf->ttl_max ? ttl : conf->ttl_max;
	else
		r->ttl = dns_neg_ttl(m, conf->neg_ttl_max);
	if (links > 0 && r->status != DNS_OK && ttl < r->ttl)
		r->ttl = ttl;
	*ignored += m->nrr - nused;
	if (dns_result_set_rrs(r, used, nused) == -1)
		return -1;
	/* The 0x20 case we sent is echoed in the records; show names as people write them. */
	for (size_t i = 0; i < r->nrr; i++) {
		dns_name_lower(&r->rr[i].owner);
		if (r->rr[i].type == DNS_T_CNAME || r->rr[i].type == DNS_T_NS ||
		    r->rr[i].type == DNS_T_PTR)
			dns_name_lower(&r->rr[i].u.name);
		else if (r->rr[i].type == DNS_T_MX)
			dns_name_lower(&r->rr[i].u.mx.host);
	}
	return 0;
}
