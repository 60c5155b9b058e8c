/*
 * net — socket addresses: parse "ADDR", "ADDR:PORT", "[V6ADDR]:PORT", print them, and
 * small socket helpers. Only numeric addresses are accepted: no name lookup happens here
 * (a resolver configured by name would need a resolver to find it).
 */
#ifndef UTIL_NET_H
#define UTIL_NET_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

#define NET_ADDR_STRLEN (INET6_ADDRSTRLEN + 8) /* "[addr]:65535" */

/* Parses s into a; port is used when s has none. Returns 0, or -1 on a malformed string. */
int net_addr_parse(const char *, uint16_t, struct net_addr *);
/* Writes "1.2.3.4:53" or "[::1]:53" into buf (always NUL-terminated); returns buf. */
const char *net_addr_str(const struct net_addr *, char *, size_t);
/* Only the address, no port. */
const char *net_addr_host(const struct net_addr *, char *, size_t);
uint16_t net_addr_port(const struct net_addr *);
bool net_addr_eq(const struct net_addr *, const struct net_addr *);
bool net_addr_is_loopback(const struct net_addr *);
int net_addr_family(const struct net_addr *);
/* Builds an address from raw A (4 bytes) or AAAA (16 bytes) data. */
void net_addr_from_raw(struct net_addr *, int, const void *, uint16_t);
int net_set_nonblock(int);

#endif
