/*
 * dns_match — the acceptance filter: a reply is used only if it is exactly the answer to
 * the question we asked. This is the check the 2010 Windows SMTP service lacked
 * (CVE-2010-1690: any reply with the right ID was believed).
 *
 * The source address and port are enforced before we get here: every UDP attempt uses a
 * connect()ed socket, so the kernel never hands us a datagram from anyone but the server
 * we asked (RFC 5452 §9.1 lists address, port, ID and question as what must match).
 *
 * Order of checks, each with its own drop reason so forgeries can be counted: header
 * length, ID, QR, opcode, QDCOUNT, full parse, qname (case folded), qname byte for byte
 * (0x20), qtype, qclass, cookie. Pure function: no I/O, no state.
 *
 * An accepted msg borrows pkt (dns_msg_parse_borrow: the parse that copies nothing), so
 * the caller keeps pkt alive and unchanged until dns_msg_clear(msg); the resolver passes
 * its receive buffer and is done with the msg before it reads again.
 */
#include <string.h>

#include "dns/dns_int.h"

static bool
dns_drop(enum dns_drop reason, enum dns_drop *why)
{
	*why = reason;
	return false;
}

bool
dns_match(const uint8_t *pkt, size_t len, const struct dns_want *w, struct dns_msg *msg,
    enum dns_drop *why)
{
	struct buf_rd b;
	uint16_t id, flags, qd;
	const char *perr;

	dns_msg_init(msg);
	if (len < DNS_HDR_LEN)
		return dns_drop(DNS_DROP_SHORT, why);
	buf_rd_init(&b, pkt, len);
	id = buf_get16(&b);
	flags = buf_get16(&b);
	qd = buf_get16(&b);
	/* RFC 5452 §4.3: the ID must match; §9.1 lists the full set of checks. */
	if (id != w->id)
		return dns_drop(DNS_DROP_ID, why);
	if ((flags & DNS_F_QR) == 0)
		return dns_drop(DNS_DROP_QR, why);
	if ((flags & DNS_F_OPMASK) != 0)
		return dns_drop(DNS_DROP_OPCODE, why);
	/*
	 * Exactly one question, echoed. A reply without a question (some servers answer
	 * FORMERR that way) is dropped too: accepting it would let anyone who guesses the ID
	 * alone end our query.
	 */
	if (qd != 1)
		return dns_drop(DNS_DROP_QDCOUNT, why);
	if (dns_msg_parse_borrow(msg, pkt, len, &perr) == -1) {
		dns_msg_clear(msg);
		return dns_drop(DNS_DROP_MALFORMED, why);
	}
	if (!dns_name_eq(&msg->qname, w->qname)) {
		dns_msg_clear(msg);
		return dns_drop(DNS_DROP_QNAME, why);
	}
	/* draft-vixie-dnsext-dns0x20: the random case we sent must come back as sent. */
	if (w->case_exact && !dns_name_eq_exact(&msg->qname, w->qname)) {
		dns_msg_clear(msg);
		return dns_drop(DNS_DROP_QCASE, why);
	}
	if (msg->qtype != w->qtype) {
		dns_msg_clear(msg);
		return dns_drop(DNS_DROP_QTYPE, why);
	}
	if (msg->qclass != w->qclass) {
		dns_msg_clear(msg);
		return dns_drop(DNS_DROP_QCLASS, why);
	}
	if (w->ccookie != NULL) {
		/*
		 * RFC 7873 §5.3: a reply carrying a COOKIE option whose client cookie is not
		 * ours is discarded; once a server has shown it supports cookies, a reply
		 * without its cookie is discarded as well.
		 */
		/* A response's COOKIE must carry a server cookie (16-40 octets in all). */
		if (msg->edns.has_cookie &&
		    (msg->edns.scookie_len == 0 ||
			memcmp(msg->edns.ccookie, w->ccookie, DNS_COOKIE_CLIENT) != 0)) {
			dns_msg_clear(msg);
			return dns_drop(DNS_DROP_COOKIE, why);
		}
		if (w->need_scookie && (!msg->edns.has_cookie || msg->edns.scookie_len == 0)) {
			dns_msg_clear(msg);
			return dns_drop(DNS_DROP_COOKIE, why);
		}
	}
	return true;
}

const char *
dns_drop_str(enum dns_drop d)
{
	static const char *names[DNS_DROP_NMAX] = {
	    [DNS_DROP_SHORT] = "short",
	    [DNS_DROP_SOURCE] = "source",
	    [DNS_DROP_ID] = "id",
	    [DNS_DROP_QR] = "qr",
	    [DNS_DROP_OPCODE] = "opcode",
	    [DNS_DROP_QDCOUNT] = "qdcount",
	    [DNS_DROP_QNAME] = "qname",
	    [DNS_DROP_QCASE] = "qcase",
	    [DNS_DROP_QTYPE] = "qtype",
	    [DNS_DROP_QCLASS] = "qclass",
	    [DNS_DROP_COOKIE] = "cookie",
	    [DNS_DROP_MALFORMED] = "malformed",
	};

	if ((unsigned)d >= DNS_DROP_NMAX)
		return "unknown";
	return names[d];
}

uint64_t
dns_stats_dropped(const struct dns_stats *s)
{
	uint64_t n = 0;

	for (int i = 0; i < DNS_DROP_NMAX; i++)
		n += s->dropped[i];
	return n;
}
