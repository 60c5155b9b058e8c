/*
 * t_dns_conf — resolv.conf parsing and server addresses.
 */
#include <string.h>

#include "dns/dns.h"
#include "tap.h"

int
main(void)
{
	struct dns_conf c;
	char buf[NET_ADDR_STRLEN];
	const char *rc = "# comment\n; other comment\nsearch example.test\n"
			 "nameserver 127.0.0.53\nnameserver ::1\nnameserver not-an-address\n"
			 "options ndots:2 timeout:3 attempts:4 rotate\n"
			 "nameserver\n";

	dns_conf_init(&c);
	ok(dns_conf_resolv_text(&c, rc, strlen(rc)) == 0, "resolv.conf parsed");
	is_int(c.nservers, 2, "two usable nameservers");
	is_str(net_addr_str(&c.servers[0], buf, sizeof(buf)), "127.0.0.53:53", "first, port 53");
	is_str(net_addr_str(&c.servers[1], buf, sizeof(buf)), "[::1]:53", "v6");
	is_int(c.timeout_ms, 3000, "timeout:3");
	is_int(c.attempts, 4, "attempts:4");
	ok(c.rotate, "rotate");

	dns_conf_init(&c);
	rc = "options timeout:99 attempts:0\n";
	ok(dns_conf_resolv_text(&c, rc, strlen(rc)) == -1, "no nameserver is an error");
	is_int(c.timeout_ms, 2000, "out-of-range timeout ignored");
	is_int(c.attempts, 2, "out-of-range attempts ignored");

	dns_conf_init(&c);
	ok(dns_conf_add_server(&c, "127.0.0.1:5353") == 0, "addr:port");
	ok(dns_conf_add_server(&c, "[::1]:5353") == 0, "[v6]:port");
	ok(dns_conf_add_server(&c, "127.0.0.1:0") == -1, "port 0 refused");
	ok(dns_conf_add_server(&c, "127.0.0.1:65536") == -1, "port 65536 refused");
	ok(dns_conf_add_server(&c, "localhost") == -1,
	    "names refused (no lookup to find a resolver)");
	ok(dns_conf_add_server(&c, "[::1") == -1, "unterminated bracket refused");
	is_str(net_addr_str(&c.servers[1], buf, sizeof(buf)), "[::1]:5353", "v6 with port");
	for (int i = 0; i < 6; i++)
		dns_conf_add_server(&c, "127.0.0.2");
	ok(dns_conf_add_server(&c, "127.0.0.3") == -1, "at most DNS_MAX_SERVERS");
	return done_testing();
}
