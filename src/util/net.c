/*
 * net — see net.h.
 */
#include <arpa/inet.h>
#include <bsd/stdlib.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "util/net.h"

int
net_addr_parse(const char *s, uint16_t defport, struct net_addr *a)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	size_t hlen;
	long long p = defport;
	const char *errstr;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return -1;
		hlen = (size_t)(end - s - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
		s++;
	} else {
		end = strrchr(s, ':');
		/* One colon: v4 with port. Several: a bare v6 address. */
		if (end != NULL && strchr(s, ':') == end) {
			hlen = (size_t)(end - s);
			port = end + 1;
		} else
			hlen = strlen(s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (port != NULL) {
		p = strtonum(port, 1, 65535, &errstr);
		if (errstr != NULL)
			return -1;
	}
	sin = (struct sockaddr_in *)&a->ss;
	sin6 = (struct sockaddr_in6 *)&a->ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		a->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		a->len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

const char *
net_addr_host(const struct net_addr *a, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (a->ss.ss_family == AF_INET)
		(void)inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)len);
	else if (a->ss.ss_family == AF_INET6)
		(void)inet_ntop(AF_INET6, &sin6->sin6_addr, buf, (socklen_t)len);
	return buf;
}

const char *
net_addr_str(const struct net_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	net_addr_host(a, host, sizeof(host));
	if (a->ss.ss_family == AF_INET6)
		(void)snprintf(buf, len, "[%s]:%u", host, net_addr_port(a));
	else
		(void)snprintf(buf, len, "%s:%u", host, net_addr_port(a));
	return buf;
}

uint16_t
net_addr_port(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return 0;
}

int
net_addr_family(const struct net_addr *a)
{
	return a->ss.ss_family;
}

bool
net_addr_eq(const struct net_addr *a, const struct net_addr *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)&b->ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->ss;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)&b->ss;

	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss.ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	return false;
}

bool
net_addr_is_loopback(const struct net_addr *a)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
	const uint8_t *b;

	if (a->ss.ss_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (a->ss.ss_family == AF_INET6) {
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return true;
		/* ::ffff:127.x.x.x is loopback too. */
		b = sin6->sin6_addr.s6_addr;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && b[12] == 127;
	}
	return false;
}

void
net_addr_from_raw(struct net_addr *a, int family, const void *raw, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, raw, 4);
		a->len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, raw, 16);
		a->len = sizeof(*sin6);
	}
}

int
net_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}
