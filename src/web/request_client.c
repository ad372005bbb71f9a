/* request_client.c - the client's address and scheme behind trusted
 * reverse proxies. Layer: web. Trust: X-Forwarded-* are UNTRUSTED unless
 * they come from a trusted proxy; entries are parsed, not copied. */
#include <netinet/in.h>
#include <string.h>

#include <glib.h>

#include "core/limits.h"
#include "web/request_client.h"

/* Collects the comma-separated entries of every header called name, in
 * order, trimmed; at most max of the last ones are kept. */
static GPtrArray *
request_client_entries(const struct request *req, const char *name, size_t max)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

    for (size_t i = 0; i < req->headers.n; i++) {
        char **items;

        if (strcmp(req->headers.items[i].name, name) != 0)
            continue;
        items = g_strsplit(req->headers.items[i].value, ",", -1);
        for (char **it = items; *it != NULL; it++) {
            g_ptr_array_add(out, g_strdup(g_strstrip(*it)));
            if (out->len > max)
                g_ptr_array_remove_index(out, 0);
        }
        g_strfreev(items);
    }
    return out;
}

void
request_client_resolve(struct request *req, const struct netaddr *trusted,
                       size_t n)
{
    GPtrArray *xff, *xfp;

    if (req->client_resolved)
        return;
    req->client_resolved = true;
    req->peer_addr = req->client_addr;
    if (!netaddr_list_contains(trusted, n, req->client_addr))
        return; /* whatever it says about itself is not believed */

    xff =
        request_client_entries(req, "x-forwarded-for", LIM_HTTP_FORWARDED_HOPS);
    for (guint i = xff->len; i > 0; i--) {
        struct netaddr a;
        char text[INET6_ADDRSTRLEN + 8];

        if (!netaddr_parse(g_ptr_array_index(xff, i - 1), false, &a))
            break; /* garbage (or a port) from a trusted hop: stop here */
        netaddr_format(&a, text, sizeof(text));
        req->client_addr = arena_strdup(req->arena, text);
        if (!netaddr_list_contains(trusted, n, text))
            break; /* the first address no trusted proxy vouches for */
    }
    g_ptr_array_free(xff, TRUE);

    /* the nearest proxy writes last; anything before it may be forged */
    xfp = request_client_entries(req, "x-forwarded-proto", 1);
    if (xfp->len == 1) {
        const char *proto = g_ptr_array_index(xfp, 0);

        if (g_ascii_strcasecmp(proto, "https") == 0)
            req->is_https = true;
        else if (g_ascii_strcasecmp(proto, "http") == 0)
            req->is_https = false;
    }
    g_ptr_array_free(xfp, TRUE);
}

const char *
request_client_addr(const struct request *req)
{
    return req->client_addr != NULL ? req->client_addr : "";
}

bool
request_client_is_https(const struct request *req)
{
    return req->is_https;
}
