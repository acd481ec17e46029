/* helper_dns.h: a tiny DNS server for unit tests, so that resolver tests
 * never send a packet off the machine. It answers over UDP on a loopback
 * address of the test's choosing (and over TCP on the same port), from a
 * fixed table (see helper_dns.c), in a thread of its own. */
#ifndef TW_HELPER_DNS_H
#define TW_HELPER_DNS_H

#include <stdint.h>

typedef struct test_dns test_dns;

/* Bind ip:0 (an ephemeral port) and start serving. Returns 0 or -errno. */
int test_dns_start(test_dns **out, const char *ip);
/* Stop the thread, close the socket, free. */
void test_dns_stop(test_dns *s);
/* "ip:port", for tw_resolver_opts.servers. */
const char *test_dns_servers(const test_dns *s);
/* How long "delay.test" waits before it is answered (default 0). Set it
 * before sending the query. */
void test_dns_set_delay(test_dns *s, uint64_t ns);
/* Queries received so far (every name, answered or not). */
unsigned test_dns_queries(const test_dns *s);
/* Queries received over TCP so far. */
unsigned test_dns_tcp_queries(const test_dns *s);
/* Queries for `name` received so far (UDP and TCP). */
unsigned test_dns_queries_for(test_dns *s, const char *name);

#endif
