/* request_client.h - who is on the other end of a request: the address and
 * whether they came over HTTPS, believing X-Forwarded-For and
 * X-Forwarded-Proto only from the configured trusted_proxies. Layer: web.
 * Trust: those headers are UNTRUSTED unless the peer is a trusted proxy. */
#ifndef POSTERN_WEB_REQUEST_CLIENT_H
#define POSTERN_WEB_REQUEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/netaddr.h"
#include "web/request.h"

/* Runs once per request (again it does nothing), after the front end set
 * client_addr / is_https from its transport and added the headers.
 *
 * When the peer is in trusted (n entries): X-Forwarded-For (all such
 * headers, in order) is read from the right, each entry replacing the
 * client address while the hop before it is trusted too, stopping at the
 * first untrusted or malformed entry and after LIM_HTTP_FORWARDED_HOPS
 * entries; the address is kept in canonical form. The last value of
 * X-Forwarded-Proto ("https" or "http", any case) sets is_https. From any
 * other peer both headers are ignored. peer_addr keeps the peer. */
void request_client_resolve(struct request *req, const struct netaddr *trusted,
                            size_t n);

/* The client's address ("" when the front end knew none), valid for the
 * request. Logs and per-address limits (login throttling) use this,
 * never a header. */
const char *request_client_addr(const struct request *req);

/* True when the client reached postern over HTTPS: directly (TLS on the
 * embedded server, HTTPS=on from the web server) or through a trusted
 * proxy that says so. Decides the cookie's Secure flag and HSTS. */
bool request_client_is_https(const struct request *req);

#endif
