/* net_guard.h - which addresses postern may connect to for a mail server
 * host a user typed (allow_any_server): never loopback, private,
 * link-local or other internal ranges, unless the operator listed them
 * (allowed_hosts). Pure: no lookups here; net_conn checks each address it
 * resolved right before connecting to it, so a name cannot resolve to one
 * address for the check and another for the connect (DNS rebinding).
 * Layer: net. Trust: host names and addresses are UNTRUSTED. */
#ifndef POSTERN_NET_NET_GUARD_H
#define POSTERN_NET_NET_GUARD_H

#include <stdbool.h>
#include <sys/socket.h>

#include <stddef.h>

struct net_guard {
    /* NULL-terminated; may be NULL. Each entry is a host name (matches
     * the name as typed, case-insensitively, whatever it resolves to), an
     * IPv4 or IPv6 address, or a CIDR range ("10.1.0.0/16", "fd00::/8"). */
    const char *const *allowed;
};

/* True for addresses no user-typed host may reach: 0.0.0.0/8, 10/8,
 * 100.64/10 (CGNAT), 127/8, 169.254/16, 172.16/12, 192.0.0/24,
 * 192.0.2/24, 192.88.99/24, 192.168/16, 198.18/15, 198.51.100/24,
 * 203.0.113/24, 224/4, 240/4; ::/96 (unspecified, loopback,
 * IPv4-compatible), ::ffff:0:0/96 and 64:ff9b::/96 and 2002::/16 by the
 * IPv4 address inside, 64:ff9b:1::/48, 100::/64, 2001::/32 (Teredo),
 * 2001:db8::/32, fc00::/7, fe80::/10, fec0::/10, ff00::/8. Other
 * families are internal too (AF_UNIX has no business here). */
bool net_guard_is_internal(const struct sockaddr *sa);

/* Whether host (as the user typed it) resolving to sa may be connected
 * to: yes for an address that is not internal, or one allowed by g (a
 * matching name, address or range). g NULL allows everything. */
bool net_guard_allows(const struct net_guard *g, const char *host,
                      const struct sockaddr *sa);

/* "127.0.0.1", "::1": the address of sa for messages, in buf. */
const char *net_guard_addr_str(const struct sockaddr *sa, char *buf,
                               size_t size);

#endif
