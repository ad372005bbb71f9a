/* net_conn.h - one TCP connection to a mail server, plain or TLS (implicit or
 * STARTTLS), every operation bounded by a deadline. Knows no protocol.
 * Layer: net. Trust: the peer is UNTRUSTED; certificates are always
 * verified. */
#ifndef POSTERN_NET_NET_CONN_H
#define POSTERN_NET_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/attr.h"
#include "core/err.h"

/* Deadlines are absolute times on the g_get_monotonic_time() clock, in
 * microseconds. A deadline already past still allows one attempt that does
 * not wait (data already there is read). Timeout messages read "... timed
 * out after N s", N being the time the call was given.
 *
 * A connection is used by one thread at a time; different connections may
 * be used on different threads at once. After any error other than a read
 * timeout the connection is broken: later reads and writes fail at once
 * with the first error's message (as ERR_CONN), and the only thing left to
 * do is net_conn_free(). */
struct net_conn;

struct net_tls_opts {
    const char *ca_file;     /* NULL: the system trust store (OpenSSL
                              * default paths) */
    const char *verify_host; /* name (or IP literal) the certificate must
                              * match; NULL: the host given to connect */
};

/* Resolves host (getaddrinfo, run on a helper thread so that a hung
 * resolver cannot outlast the deadline; IP literals are parsed directly)
 * and tries each address in turn with a non-blocking connect; each attempt
 * may use an equal share of the time left, so one black-holed address does
 * not use it all. The socket gets TCP_NODELAY and SO_KEEPALIVE.
 * ERR_CONN "connect to HOST:PORT: <reason>" (refused, unreachable, unknown
 * host, bad port), ERR_TIMEOUT "connect to HOST:PORT: timed out after N s".
 * The result belongs to the caller (net_conn_free()). */
ATTR_NODISCARD struct net_conn *net_conn_connect(const char *host,
                                                 unsigned port,
                                                 int64_t deadline_us,
                                                 struct err *err);

struct net_guard;

/* The same, connecting only to addresses guard allows (net_guard.h),
 * each checked right before its connect. When guard refuses every address
 * host resolved to: ERR_INPUT "HOST leads to ADDR, an internal address ...".
 * guard NULL allows all (net_conn_connect). */
ATTR_NODISCARD struct net_conn *net_conn_connect_guarded(
    const char *host, unsigned port, const struct net_guard *guard,
    int64_t deadline_us, struct err *err);

/* TLS handshake on a plain connection: right after connect for implicit
 * TLS, or after the protocol said go for STARTTLS. TLS 1.2 or newer; SNI set
 * unless the name is an IP literal; the chain is verified against
 * opts->ca_file or the system store and the name against
 * opts->verify_host (X509_VERIFY_PARAM_set1_host, or set1_ip_asc for an IP
 * literal). opts may be NULL (system store, the connect host).
 *
 * Plaintext left unread (STARTTLS response injection, CVE-2011-0411): this
 * layer buffers nothing itself, so the bytes can sit in two places. Bytes
 * still in the socket are checked here: a server sends nothing before our
 * ClientHello, so any byte waiting is refused with ERR_PROTO. Bytes the
 * caller already read into its own buffer are the caller's to refuse
 * before calling (imap_conn does); net_conn cannot see them.
 *
 * Errors: ERR_CONN "TLS to HOST:PORT: certificate verify failed: <OpenSSL
 * reason>" (e.g. "self-signed certificate in certificate chain", "hostname
 * mismatch", "IP address mismatch"), ERR_CONN "TLS to HOST:PORT: <reason>"
 * for other handshake failures, ERR_TIMEOUT, ERR_CONFIG when the CA file
 * cannot be loaded (the message names it). Never a silent fallback to
 * plaintext: on failure the connection is broken. Calling it on a
 * connection that already speaks TLS is a bug (assertion). */
ATTR_NODISCARD int net_conn_start_tls(struct net_conn *c,
                                      const struct net_tls_opts *opts,
                                      int64_t deadline_us, struct err *err);

/* Reads what is available, at least 1 byte and at most max (> 0), into buf,
 * waiting until deadline_us. Returns the number of bytes; never 0. -1 with
 * ERR_TIMEOUT ("read from HOST:PORT: timed out after N s"; the connection
 * stays usable), or ERR_CONN: "connection closed by HOST:PORT" at the end
 * of the stream (TLS: with or without close_notify), or the system's or
 * TLS's reason. */
ATTR_NODISCARD ssize_t net_conn_read(struct net_conn *c, void *buf, size_t max,
                                     int64_t deadline_us, struct err *err);

/* Writes all len bytes before deadline_us: 0, or -1 with ERR_TIMEOUT or
 * ERR_CONN. A timeout may leave part of the data sent, so it breaks the
 * connection too. Never raises SIGPIPE (MSG_NOSIGNAL, also under TLS). */
ATTR_NODISCARD int net_conn_write_all(struct net_conn *c, const void *data,
                                      size_t len, int64_t deadline_us,
                                      struct err *err);

/* Everything from now on (one command and its whole reply, say) must be
 * done within span_us, whatever each call's own deadline: a peer that
 * answers a byte at a time, each one just within the read timeout, cannot
 * hold the caller for ever. Such a timeout reads "read from HOST:PORT: no
 * complete reply within N s in all". 0 lifts the limit. Replaces any
 * limit set before, net_conn_limit_paced's too. */
void net_conn_limit_total(struct net_conn *c, int64_t span_us);

/* A download the browser paces, from now on: no total limit (the browser
 * may take its time), but every window_us spent waiting for the peer must
 * bring min_bytes, so a peer that sends a byte now and then, each within
 * the read timeout, cannot hold the caller for ever either. Time spent
 * between reads does not count. window_us 0: no floor. Lifted by the next
 * net_conn_limit_total. */
void net_conn_limit_paced(struct net_conn *c, int64_t window_us,
                          size_t min_bytes);

/* True when the peer has closed the connection, sent bytes nobody asked
 * for yet, or the connection is broken; false on a healthy idle
 * connection. Never blocks and costs no round trip (poll with a zero
 * timeout). Under TLS only application data and closure count: TLS 1.3
 * session tickets and key updates arriving after the handshake are
 * consumed here and do not make an idle connection look readable. */
bool net_conn_is_readable(struct net_conn *c);

/* True once net_conn_start_tls() has succeeded. */
bool net_conn_is_tls(const struct net_conn *c);

/* "host:port" ("[v6]:port" for an IPv6 literal) as given to connect, for
 * messages. Valid as long as c. */
const char *net_conn_peer(const struct net_conn *c);

/* Closes the connection; under TLS it first sends close_notify if the
 * connection is healthy, without waiting for the peer's. Sets *c to NULL;
 * NULL-safe. */
void net_conn_free(struct net_conn **c);

#endif
