/* netaddr.h - IPv4/IPv6 addresses and networks ("10.0.0.0/8", "::1") for
 * the trusted_proxies list. Layer: core. Trust: parses UNTRUSTED strings
 * (X-Forwarded-For entries) as strictly as inet_pton does. */
#ifndef POSTERN_CORE_NETADDR_H
#define POSTERN_CORE_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

/* An address, or a network when prefix is shorter than the address. */
struct netaddr {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char bytes[16]; /* network byte order; 4 used for AF_INET */
    unsigned prefix;         /* leading bits that must match: 0..32/128 */
};

/* Parses an address ("192.0.2.1", "2001:db8::1") or, when allow_prefix,
 * a network ("192.0.2.0/24", "fd00::/8"; host bits are cleared). An
 * IPv4-mapped IPv6 address (::ffff:192.0.2.1) becomes the IPv4 address,
 * so a dual-stack socket's peer matches an IPv4 entry. false (out
 * untouched) for anything else, including empty strings, zone ids and
 * surrounding spaces. */
bool netaddr_parse(const char *s, bool allow_prefix, struct netaddr *out);

/* True when addr (an address) lies inside net. Families must agree. */
bool netaddr_contains(const struct netaddr *net, const struct netaddr *addr);

/* True when the address string addr parses and lies in one of the n
 * networks of list (which may be NULL when n is 0). */
bool netaddr_list_contains(const struct netaddr *list, size_t n,
                           const char *addr);

/* Writes the canonical text of an address (inet_ntop) into out, which
 * holds at least 46 bytes; the prefix is ignored. */
void netaddr_format(const struct netaddr *a, char *out, size_t size);

#endif
