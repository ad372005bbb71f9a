/* netaddr.c - address and network parsing and matching over inet_pton.
 * Layer: core. Trust: UNTRUSTED strings; nothing beyond inet_pton's
 * grammar and a decimal prefix is accepted. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "core/attr.h"
#include "core/netaddr.h"

#define NETADDR_TEXT_MAX 64u /* longer than any address with a prefix */

static const unsigned char netaddr_v4_mapped[12] = {0, 0, 0, 0, 0,    0,
                                                    0, 0, 0, 0, 0xff, 0xff};

static bool
netaddr_parse_prefix(const char *s, unsigned max, unsigned *out)
{
    unsigned v = 0;

    if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
        return false; /* empty, or a leading zero */
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (unsigned)(*s - '0');
        if (v > max)
            return false;
    }
    *out = v;
    return true;
}

bool
netaddr_parse(const char *s, bool allow_prefix, struct netaddr *out)
{
    char text[NETADDR_TEXT_MAX];
    struct netaddr a = {0};
    const char *slash;
    size_t len = s != NULL ? strnlen(s, sizeof(text)) : 0;
    unsigned max;

    if (len == 0 || len >= sizeof(text))
        return false;
    memcpy(text, s, len + 1);
    slash = strchr(text, '/');
    if (slash != NULL) {
        if (!allow_prefix)
            return false;
        text[slash - text] = '\0';
    }
    if (inet_pton(AF_INET, text, a.bytes) == 1) {
        a.family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, text, a.bytes) == 1) {
        a.family = AF_INET6;
        max = 128;
    } else {
        return false;
    }
    a.prefix = max;
    if (slash != NULL && !netaddr_parse_prefix(slash + 1, max, &a.prefix))
        return false;
    if (a.family == AF_INET6 &&
        memcmp(a.bytes, netaddr_v4_mapped, sizeof(netaddr_v4_mapped)) == 0 &&
        (slash == NULL || a.prefix >= 96)) {
        memmove(a.bytes, a.bytes + 12, 4);
        memset(a.bytes + 4, 0, 12);
        a.family = AF_INET;
        a.prefix = slash == NULL ? 32 : a.prefix - 96;
    }
    /* clear the host bits, so that contains() compares whole bytes */
    for (unsigned bit = a.prefix; bit < max; bit++)
        a.bytes[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
    *out = a;
    return true;
}

bool
netaddr_contains(const struct netaddr *net, const struct netaddr *addr)
{
    unsigned full = net->prefix / 8, rest = net->prefix % 8;

    if (net->family != addr->family)
        return false;
    if (memcmp(net->bytes, addr->bytes, full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((net->bytes[full] ^ addr->bytes[full]) &
            (unsigned char)(0xff00u >> rest)) == 0;
}

bool
netaddr_list_contains(const struct netaddr *list, size_t n, const char *addr)
{
    struct netaddr a;

    if (n == 0 || !netaddr_parse(addr, false, &a))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (netaddr_contains(&list[i], &a))
            return true;
    }
    return false;
}

void
netaddr_format(const struct netaddr *a, char *out, size_t size)
{
    xassert(size >= INET6_ADDRSTRLEN);
    if (inet_ntop(a->family, a->bytes, out, (socklen_t)size) == NULL)
        xassert_unreached(); /* the buffer is large enough */
}
