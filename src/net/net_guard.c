/* net_guard.c - internal address ranges and the operator's allow-list for
 * hosts users type. Layer: net. Pure: no lookups, no I/O.
 * Trust: UNTRUSTED host names and addresses; only compared. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/net_guard.h"

struct v4_range {
    uint32_t net;
    unsigned bits;
};

/* RFC 6890 special-purpose IPv4 ranges a mail server on the internet is
 * never in. */
static const struct v4_range v4_internal[] = {
    {0x00000000, 8},  /* "this network" */
    {0x0a000000, 8},  /* RFC 1918 */
    {0x64400000, 10}, /* 100.64/10, carrier-grade NAT (RFC 6598) */
    {0x7f000000, 8},  /* loopback */
    {0xa9fe0000, 16}, /* link-local, cloud metadata at 169.254.169.254 */
    {0xac100000, 12}, /* RFC 1918 */
    {0xc0000000, 24}, /* IETF protocol assignments */
    {0xc0000200, 24}, /* TEST-NET-1 */
    {0xc0586300, 24}, /* 6to4 relay anycast */
    {0xc0a80000, 16}, /* RFC 1918 */
    {0xc6120000, 15}, /* benchmarking */
    {0xc6336400, 24}, /* TEST-NET-2 */
    {0xcb007100, 24}, /* TEST-NET-3 */
    {0xe0000000, 4},  /* multicast */
    {0xf0000000, 4},  /* reserved, and 255.255.255.255 */
};

static bool
v4_in(uint32_t a, uint32_t net, unsigned bits)
{
    uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);

    return (a & mask) == (net & mask);
}

static bool
v4_is_internal(uint32_t a)
{
    for (size_t i = 0; i < sizeof(v4_internal) / sizeof(v4_internal[0]);
         i++) {
        if (v4_in(a, v4_internal[i].net, v4_internal[i].bits))
            return true;
    }
    return false;
}

static uint32_t
v4_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Whether the first bits of a match those of b. */
static bool
v6_prefix(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;

    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

static bool
v6_is_internal(const unsigned char *a)
{
    static const unsigned char zero[16] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
    static const unsigned char nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
    static const unsigned char discard[8] = {0x01, 0x00};
    static const unsigned char teredo[4] = {0x20, 0x01, 0, 0};
    static const unsigned char doc[4] = {0x20, 0x01, 0x0d, 0xb8};
    static const unsigned char six_to_four[2] = {0x20, 0x02};

    if (v6_prefix(a, zero, 96))  /* ::, ::1, IPv4-compatible */
        return true;
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return v4_is_internal(v4_at(a + 12));
    if (memcmp(a, six_to_four, 2) == 0)
        return v4_is_internal(v4_at(a + 2));
    if (v6_prefix(a, nat64_local, 48) || v6_prefix(a, discard, 64) ||
        v6_prefix(a, teredo, 32) || v6_prefix(a, doc, 32))
        return true;
    if ((a[0] & 0xfe) == 0xfc)                    /* fc00::/7, ULA */
        return true;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)    /* fe80::/10 */
        return true;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)    /* fec0::/10 */
        return true;
    return a[0] == 0xff;                          /* multicast */
}

bool
net_guard_is_internal(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        return v4_is_internal(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        return v6_is_internal(in6->sin6_addr.s6_addr);
    }
    return true;
}

/* The address of sa as 16 bytes (IPv4 as ::ffff:a.b.c.d), so that an
 * entry "10.0.0.5" also matches ::ffff:10.0.0.5. */
static bool
guard_addr16(const struct sockaddr *sa, unsigned char out[16])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0xff, 0xff};

    if (sa->sa_family == AF_INET) {
        memcpy(out, mapped, 12);
        memcpy(out + 12,
               &((const struct sockaddr_in *)sa)->sin_addr.s_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(out, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr,
               16);
        return true;
    }
    return false;
}

/* An entry "ADDR" or "ADDR/BITS" as 16 bytes and a prefix length over
 * them; false when the entry is no address (a host name, then). */
static bool
guard_parse_range(const char *entry, unsigned char net[16], unsigned *bits)
{
    char buf[64];
    const char *slash = strchr(entry, '/');
    size_t n = slash != NULL ? (size_t)(slash - entry) : strlen(entry);
    struct in_addr v4;
    bool is_v4;
    long b;
    char *end;

    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, entry, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                                 0, 0, 0, 0, 0xff, 0xff};

        memcpy(net, mapped, 12);
        memcpy(net + 12, &v4.s_addr, 4);
        is_v4 = true;
    } else if (inet_pton(AF_INET6, buf, net) == 1) {
        is_v4 = false;
    } else {
        return false;
    }
    *bits = 128;
    if (slash == NULL)
        return true;
    b = strtol(slash + 1, &end, 10);
    if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || b < 0 ||
        b > (is_v4 ? 32 : 128))
        return false;
    *bits = (unsigned)b + (is_v4 ? 96u : 0u);
    return true;
}

static bool
guard_name_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    /* "mail.lan." is "mail.lan" */
    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

bool
net_guard_allows(const struct net_guard *g, const char *host,
                 const struct sockaddr *sa)
{
    unsigned char addr[16];

    if (g == NULL || !net_guard_is_internal(sa))
        return true;
    if (g->allowed == NULL || !guard_addr16(sa, addr))
        return false;
    for (const char *const *e = g->allowed; *e != NULL; e++) {
        unsigned char net[16];
        unsigned bits;

        if (guard_parse_range(*e, net, &bits)) {
            if (v6_prefix(addr, net, bits))
                return true;
        } else if (host != NULL && guard_name_equal(*e, host)) {
            return true;
        }
    }
    return false;
}

const char *
net_guard_addr_str(const struct sockaddr *sa, char *buf, size_t size)
{
    const void *a = NULL;

    if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t)size) ==
                         NULL)
        snprintf(buf, size, "(address family %d)", sa->sa_family);
    return buf;
}
