/* net_conn.c - TCP with deadlines: resolve, connect, TLS (implicit/STARTTLS),
 * read some, write all, idle check. Layer: net. Trust: the peer is
 * UNTRUSTED; nothing it sends is interpreted here, certificates are checked. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/net_conn.h"
#include "net/net_guard.h"
#include "net/net_tls.h"

struct net_conn {
    int fd;
    SSL *ssl;          /* NULL while plain */
    bool broken;       /* failed: no more I/O, no close_notify */
    char *host;        /* as given to connect */
    char *peer;        /* "host:port" */
    char failure[256]; /* the error that broke it, repeated to later calls */
    /* net_conn_limit_total: when what follows must be done (0: no limit) */
    int64_t total_end_us, total_span_us;
    /* net_conn_limit_paced: each window_us of waiting brings min_bytes */
    int64_t paced_window_us, paced_waited_us;
    size_t paced_min_bytes, paced_bytes;
};

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/* "30 s", "0.3 s": how long a call was given, for timeout messages. */
static const char *
net_conn_span(char *buf, size_t size, int64_t span_us)
{
    if (span_us < 0)
        span_us = 0;
    if (span_us % G_USEC_PER_SEC == 0 || span_us >= 10 * G_USEC_PER_SEC)
        snprintf(buf, size, "%.0f s", (double)span_us / G_USEC_PER_SEC);
    else
        snprintf(buf, size, "%.1f s", (double)span_us / G_USEC_PER_SEC);
    return buf;
}

static void
net_conn_set_timeout(struct err *err, const char *what, const char *peer,
                     int64_t start_us, int64_t deadline_us)
{
    char span[32];

    err_set(err, ERR_TIMEOUT, "%s %s: timed out after %s", what, peer,
            net_conn_span(span, sizeof(span), deadline_us - start_us));
}

/* The earlier of a call's own deadline and the connection's total limit. */
static int64_t
net_conn_cap(const struct net_conn *c, int64_t deadline_us)
{
    if (c->total_end_us != 0 && c->total_end_us < deadline_us)
        return c->total_end_us;
    return deadline_us;
}

/* Waits until fd is ready for events, or fails with ERR_TIMEOUT when
 * deadline_us passes. Readiness includes errors and hang-ups: the I/O call
 * that follows reports them. Never returns before the deadline without the
 * fd being ready (poll's timeout is rounded up). */
static int
net_conn_wait(const struct net_conn *c, short events, const char *what,
              int64_t start_us, int64_t deadline_us, struct err *err)
{
    for (;;) {
        int64_t now = g_get_monotonic_time();
        int64_t ms;
        struct pollfd p = {.fd = c->fd, .events = events};
        int r;

        if (now >= deadline_us && deadline_us == c->total_end_us) {
            /* not "timed out after 0.2 s": the last call is not to blame */
            char span[32];

            err_set(err, ERR_TIMEOUT, "%s %s: no complete reply within %s "
                    "in all", what, c->peer,
                    net_conn_span(span, sizeof(span), c->total_span_us));
            return -1;
        }
        if (now >= deadline_us) {
            net_conn_set_timeout(err, what, c->peer, start_us, deadline_us);
            return -1;
        }
        ms = (deadline_us - now + 999) / 1000;
        r = poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR) {
            err_set(err, ERR_INTERNAL, "%s %s: poll: %s", what, c->peer,
                    g_strerror(errno));
            return -1;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Failures                                                            */
/* ------------------------------------------------------------------ */

/* Marks c broken and reports kind with the message, which later calls on
 * c repeat (as ERR_CONN). */
static int net_conn_fail(struct net_conn *c, struct err *err,
                         enum err_kind kind, const char *fmt, ...)
    ATTR_PRINTF(4, 5);

static int
net_conn_fail(struct net_conn *c, struct err *err, enum err_kind kind,
              const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->failure, sizeof(c->failure), fmt, ap);
    va_end(ap);
    c->broken = true;
    err_set(err, kind, "%s", c->failure);
    return -1;
}

/* Marks c broken by the error just set in err (by a helper that does not
 * know c). */
static void
net_conn_break(struct net_conn *c, const struct err *err)
{
    c->broken = true;
    g_strlcpy(c->failure, err->msg, sizeof(c->failure));
}

static int
net_conn_fail_again(struct net_conn *c, struct err *err)
{
    err_set(err, ERR_CONN, "%s", c->failure);
    return -1;
}

/* Why an SSL call failed, in OpenSSL's words, for "VERB PEER: <this>";
 * true when the reason is that the peer closed the stream (with or without
 * close_notify). Reads errno and the thread's error queue, then empties the
 * queue so that nothing stale is left for the next OpenSSL user on this
 * thread. */
static bool
net_conn_tls_reason(SSL *ssl, int ssl_err, int saved_errno, char *buf,
                    size_t size)
{
    unsigned long e = ERR_peek_last_error();
    long v = SSL_get_verify_result(ssl);

    if (ssl_err == SSL_ERROR_SSL && v != X509_V_OK) {
        snprintf(buf, size, "certificate verify failed: %s",
                 X509_verify_cert_error_string(v));
    } else if (ssl_err == SSL_ERROR_ZERO_RETURN ||
               (ssl_err == SSL_ERROR_SYSCALL && saved_errno == 0) ||
               (ssl_err == SSL_ERROR_SSL && ERR_GET_LIB(e) == ERR_LIB_SSL &&
                ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        snprintf(buf, size, "connection closed by the server");
        ERR_clear_error();
        return true;
    } else if (ssl_err == SSL_ERROR_SYSCALL) {
        snprintf(buf, size, "%s", g_strerror(saved_errno));
    } else if (e != 0 && ERR_reason_error_string(e) != NULL) {
        snprintf(buf, size, "%s", ERR_reason_error_string(e));
    } else if (e != 0) {
        char code[128];

        ERR_error_string_n(e, code, sizeof(code));
        snprintf(buf, size, "%s", code);
    } else {
        snprintf(buf, size, "TLS error %d", ssl_err);
    }
    ERR_clear_error();
    return false;
}

/* ------------------------------------------------------------------ */
/* Name resolution                                                     */
/* ------------------------------------------------------------------ */

/* getaddrinfo() has no timeout and cannot be cancelled. It runs on a helper
 * thread; the caller waits on a condition until its deadline. Whoever of
 * the two finishes last frees the job, so a lookup that outlives the
 * caller's patience cleans up after itself. (pthread rather than GMutex:
 * ThreadSanitizer sees through the former only.) */
struct net_resolve_job {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC, like deadlines */
    int refs;
    bool done;
    int rc;
    int sys_errno; /* for EAI_SYSTEM */
    struct addrinfo *res;
    char *host;
    char service[8];
};

static void
net_resolve_job_unref(struct net_resolve_job *job)
{
    bool last;

    pthread_mutex_lock(&job->lock);
    last = --job->refs == 0;
    pthread_mutex_unlock(&job->lock);
    if (!last)
        return;
    if (job->res != NULL)
        freeaddrinfo(job->res);
    pthread_mutex_destroy(&job->lock);
    pthread_cond_destroy(&job->cond);
    g_free(job->host);
    g_free(job);
}

static void
net_resolve_hints(struct addrinfo *hints, int flags)
{
    memset(hints, 0, sizeof(*hints));
    hints->ai_family = AF_UNSPEC;
    hints->ai_socktype = SOCK_STREAM;
    /* no AI_ADDRCONFIG: with only loopback configured, glibc would then
     * refuse to resolve "localhost" */
    hints->ai_flags = AI_NUMERICSERV | flags;
}

static void *
net_resolve_thread(void *data)
{
    struct net_resolve_job *job = data;
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    int rc;

    net_resolve_hints(&hints, 0);
    rc = getaddrinfo(job->host, job->service, &hints, &res);
    pthread_mutex_lock(&job->lock);
    job->rc = rc;
    job->sys_errno = errno;
    job->res = res;
    job->done = true;
    pthread_cond_signal(&job->cond);
    pthread_mutex_unlock(&job->lock);
    net_resolve_job_unref(job);
    return NULL;
}

static void
net_resolve_set_error(int rc, int sys_errno, const char *peer, struct err *err)
{
    switch (rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        err_set(err, ERR_CONN, "connect to %s: unknown host (%s)", peer,
                gai_strerror(rc));
        break;
    case EAI_SYSTEM:
        err_set(err, ERR_CONN, "connect to %s: name lookup failed: %s", peer,
                g_strerror(sys_errno));
        break;
    default:
        err_set(err, ERR_CONN, "connect to %s: name lookup failed: %s", peer,
                gai_strerror(rc));
        break;
    }
}

/* The addresses of host, in getaddrinfo's order, in *res_out (the caller
 * frees them with freeaddrinfo). */
static int
net_resolve(const char *host, unsigned port, const char *peer, int64_t start_us,
            int64_t deadline_us, struct addrinfo **res_out, struct err *err)
{
    struct addrinfo hints;
    struct net_resolve_job *job;
    char service[8];
    pthread_t t;
    pthread_condattr_t attr;
    struct timespec until = {
        .tv_sec = deadline_us / G_USEC_PER_SEC,
        .tv_nsec = (deadline_us % G_USEC_PER_SEC) * 1000,
    };
    int rc, sys_errno;
    bool done;

    snprintf(service, sizeof(service), "%u", port);
    net_resolve_hints(&hints, AI_NUMERICHOST);
    rc = getaddrinfo(host, service, &hints, res_out);
    if (rc == 0)
        return 0; /* an IP literal: no lookup, no thread */
    if (rc != EAI_NONAME) {
        net_resolve_set_error(rc, errno, peer, err);
        return -1;
    }

    job = g_new0(struct net_resolve_job, 1);
    pthread_mutex_init(&job->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&job->cond, &attr);
    pthread_condattr_destroy(&attr);
    job->refs = 2;
    job->host = g_strdup(host);
    memcpy(job->service, service, sizeof(service));
    rc = pthread_create(&t, NULL, net_resolve_thread, job);
    if (rc != 0) {
        err_set(err, ERR_INTERNAL, "connect to %s: no resolver thread: %s",
                peer, g_strerror(rc));
        job->refs = 1;
        net_resolve_job_unref(job);
        return -1;
    }
    pthread_detach(t); /* it frees the job if we stop waiting */

    pthread_mutex_lock(&job->lock);
    while (!job->done) {
        if (pthread_cond_timedwait(&job->cond, &job->lock, &until) == ETIMEDOUT)
            break;
    }
    done = job->done;
    rc = job->rc;
    sys_errno = job->sys_errno;
    *res_out = job->res;
    job->res = NULL;
    pthread_mutex_unlock(&job->lock);
    net_resolve_job_unref(job);
    if (!done) {
        net_conn_set_timeout(err, "connect to", peer, start_us, deadline_us);
        return -1;
    }
    if (rc != 0) {
        net_resolve_set_error(rc, sys_errno, peer, err);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Connect                                                             */
/* ------------------------------------------------------------------ */

/* One non-blocking connect to ai, waiting until deadline_us. The socket, or
 * -1 with *errno_out (ETIMEDOUT when the deadline passed). */
static int
net_conn_try_addr(const struct addrinfo *ai, int64_t deadline_us,
                  int *errno_out)
{
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (fd < 0) {
        *errno_out = errno;
        return -1;
    }
    /* EINTR: the connection goes on in the background, as EINPROGRESS */
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS && errno != EINTR) {
        *errno_out = errno;
        close(fd);
        return -1;
    }
    for (;;) {
        int64_t now = g_get_monotonic_time();
        int64_t ms = now < deadline_us ? (deadline_us - now + 999) / 1000 : 0;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int r = poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms);

        if (r > 0)
            break;
        if (r < 0 && errno != EINTR) {
            *errno_out = errno;
            close(fd);
            return -1;
        }
        if (g_get_monotonic_time() >= deadline_us) {
            *errno_out = ETIMEDOUT;
            close(fd);
            return -1;
        }
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr != 0) {
        *errno_out = soerr;
        close(fd);
        return -1;
    }
    return fd;
}

static void
net_conn_tune(int fd, int family)
{
    int one = 1;

    /* Best effort: commands go out whole in one write and wait for their
     * reply, so Nagle only adds delay; keepalive lets the kernel notice a
     * peer that vanished while a pooled connection sat idle. Neither
     * failing changes correctness. */
    if (family == AF_INET || family == AF_INET6) {
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
            /* ignored, see above */
        }
    }
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0) {
        /* ignored, see above */
    }
}

static char *
net_conn_peer_new(const char *host, unsigned port)
{
    if (strchr(host, ':') != NULL) /* IPv6 literal */
        return g_strdup_printf("[%s]:%u", host, port);
    return g_strdup_printf("%s:%u", host, port);
}

struct net_conn *
net_conn_connect(const char *host, unsigned port, int64_t deadline_us,
                 struct err *err)
{
    return net_conn_connect_guarded(host, port, NULL, deadline_us, err);
}

struct net_conn *
net_conn_connect_guarded(const char *host, unsigned port,
                         const struct net_guard *guard, int64_t deadline_us,
                         struct err *err)
{
    int64_t start_us = g_get_monotonic_time();
    char *peer;
    struct addrinfo *res = NULL;
    size_t n_addr = 0, i = 0, n_refused = 0;
    int fd = -1, family = AF_UNSPEC, last_errno = 0;
    char refused[INET6_ADDRSTRLEN + 32] = "";
    struct net_conn *c;

    xassert(host != NULL);
    peer = net_conn_peer_new(host, port);
    if (host[0] == '\0' || port == 0 || port > 65535) {
        err_set(err, ERR_CONN, "connect to %s: %s", peer,
                host[0] == '\0' ? "no host name" : "port out of range");
        g_free(peer);
        return NULL;
    }
    if (net_resolve(host, port, peer, start_us, deadline_us, &res, err) < 0) {
        g_free(peer);
        return NULL;
    }
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        n_addr++;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next, i++) {
        int64_t now = g_get_monotonic_time();
        int e = 0;

        /* Checked here, on the very address connected to next: a name
         * cannot pass with one address and connect to another. */
        if (!net_guard_allows(guard, host, ai->ai_addr)) {
            if (n_refused++ == 0)
                net_guard_addr_str(ai->ai_addr, refused, sizeof(refused));
            continue;
        }

        if (now >= deadline_us && i > 0)
            break;
        /* Each address gets an equal share of what is left; one that
         * fails fast leaves more for the next. */
        fd = net_conn_try_addr(
            ai, now + (deadline_us - now) / (int64_t)(n_addr - i), &e);
        if (fd >= 0) {
            family = ai->ai_family;
            break;
        }
        if (e != ETIMEDOUT || last_errno == 0)
            last_errno = e;
    }
    freeaddrinfo(res);
    if (fd < 0 && n_refused == n_addr) {
        err_set(err, ERR_INPUT, "%s leads to %s, an internal address "
                "(loopback, private or link-local): postern connects to such "
                "mail servers only when allowed_hosts lists them", host,
                refused);
        g_free(peer);
        return NULL;
    }
    if (fd < 0) {
        if (last_errno == ETIMEDOUT || last_errno == 0)
            net_conn_set_timeout(err, "connect to", peer, start_us,
                                 deadline_us);
        else
            err_set(err, ERR_CONN, "connect to %s: %s", peer,
                    g_strerror(last_errno));
        g_free(peer);
        return NULL;
    }
    net_conn_tune(fd, family);

    c = g_new0(struct net_conn, 1);
    c->fd = fd;
    c->host = g_strdup(host);
    c->peer = peer;
    return c;
}

/* ------------------------------------------------------------------ */
/* TLS                                                                 */
/* ------------------------------------------------------------------ */

static bool
net_conn_is_ip_literal(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, name, buf) == 1 ||
           inet_pton(AF_INET6, name, buf) == 1;
}

/* Sets SNI and the name the certificate must carry. */
static int
net_conn_tls_set_name(struct net_conn *c, SSL *ssl, const char *name,
                      struct err *err)
{
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

    /* "*.example.com" matches "a.example.com", never "a.b.example.com"
     * nor "xa.example.com" */
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (net_conn_is_ip_literal(name)) {
        /* RFC 6066 §3: SNI carries host names only, never addresses */
        if (X509_VERIFY_PARAM_set1_ip_asc(vp, name) == 1)
            return 0;
    } else if (SSL_set_tlsext_host_name(ssl, name) == 1 &&
               X509_VERIFY_PARAM_set1_host(vp, name, 0) == 1) {
        return 0;
    }
    ERR_clear_error();
    return net_conn_fail(c, err, ERR_CONN, "TLS to %s: unusable name \"%s\"",
                         c->peer, name);
}

/* A byte waiting in the socket before our ClientHello. Nothing legitimate
 * sends one: TLS servers speak second. */
static bool
net_conn_has_plain_pending(struct net_conn *c)
{
    unsigned char b;

    return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

int
net_conn_start_tls(struct net_conn *c, const struct net_tls_opts *opts,
                   int64_t deadline_us, struct err *err)
{
    int64_t start_us = g_get_monotonic_time();
    const char *name = c->host;
    const char *ca_file = NULL;
    SSL_CTX *ctx;
    SSL *ssl;

    xassert(c->ssl == NULL);
    if (c->broken)
        return net_conn_fail_again(c, err);
    if (opts != NULL) {
        ca_file = opts->ca_file;
        if (opts->verify_host != NULL)
            name = opts->verify_host;
    }
    if (net_conn_has_plain_pending(c))
        return net_conn_fail(c, err, ERR_PROTO,
                             "TLS to %s: refused, unread plaintext is waiting "
                             "(injected after STARTTLS?)",
                             c->peer);
    ctx = net_tls_ctx_get(ca_file, err);
    if (ctx == NULL) {
        /* the message names the CA file; later calls repeat it */
        net_conn_break(c, err);
        return -1;
    }
    ERR_clear_error();
    ssl = SSL_new(ctx);
    if (ssl == NULL) {
        ERR_clear_error();
        return net_conn_fail(c, err, ERR_INTERNAL, "TLS to %s: SSL_new",
                             c->peer);
    }
    {
        BIO *bio = net_tls_bio_new(c->fd);

        SSL_set_bio(ssl, bio, bio); /* one BIO both ways: one reference */
    }
    if (net_conn_tls_set_name(c, ssl, name, err) < 0) {
        SSL_free(ssl);
        return -1;
    }
    SSL_set_connect_state(ssl);
    deadline_us = net_conn_cap(c, deadline_us);
    for (;;) {
        int r, e, saved_errno;
        char why[160];

        ERR_clear_error();
        errno = 0;
        r = SSL_connect(ssl);
        if (r == 1)
            break;
        saved_errno = errno;
        e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            short ev = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;

            if (net_conn_wait(c, ev, "TLS to", start_us, deadline_us,
                              err) == 0)
                continue;
            ERR_clear_error();
            net_conn_break(c, err);
            SSL_free(ssl);
            return -1;
        }
        /* closed or not, the handshake failed: the reason says which */
        (void)net_conn_tls_reason(ssl, e, saved_errno, why, sizeof(why));
        SSL_free(ssl);
        return net_conn_fail(c, err, ERR_CONN, "TLS to %s: %s", c->peer, why);
    }
    /* SSL_VERIFY_PEER already stops a handshake that fails verification;
     * this is the second lock on the same door. */
    {
        long v = SSL_get_verify_result(ssl);
        bool has_cert = SSL_get0_peer_certificate(ssl) != NULL;

        if (v != X509_V_OK || !has_cert) {
            SSL_free(ssl);
            return net_conn_fail(
                c, err, ERR_CONN, "TLS to %s: certificate verify failed: %s",
                c->peer,
                has_cert ? X509_verify_cert_error_string(v) : "no certificate");
        }
    }
    c->ssl = ssl;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Read and write                                                      */
/* ------------------------------------------------------------------ */

/* net_conn_limit_paced's count: n bytes came. */
static ssize_t
net_conn_paced_got(struct net_conn *c, ssize_t n)
{
    if (c->paced_window_us != 0)
        c->paced_bytes += (size_t)n;
    return n;
}

/* Waits for the peer as net_conn_wait does, counting the wait against
 * net_conn_limit_paced's window: a window of waiting that brought too few
 * bytes is ERR_TIMEOUT; one that brought enough starts the next. */
static int
net_conn_wait_paced(struct net_conn *c, short events, int64_t start_us,
                    int64_t deadline_us, struct err *err)
{
    if (c->paced_window_us == 0)
        return net_conn_wait(c, events, "read from", start_us, deadline_us,
                             err);
    for (;;) {
        int64_t now = g_get_monotonic_time();
        int64_t window_end = now + c->paced_window_us - c->paced_waited_us;
        struct err werr = {0};
        char span[32];
        int rc;

        if (deadline_us <= window_end) {
            rc = net_conn_wait(c, events, "read from", start_us,
                               deadline_us, err);
            c->paced_waited_us += g_get_monotonic_time() - now;
            return rc;
        }
        rc = net_conn_wait(c, events, "read from", start_us, window_end,
                           &werr);
        c->paced_waited_us += g_get_monotonic_time() - now;
        if (rc == 0)
            return 0; /* what comes counts: the next wait judges */
        if (c->paced_bytes < c->paced_min_bytes) {
            err_set(err, ERR_TIMEOUT, "read from %s: %zu bytes in %s of "
                    "waiting, under the %zu a download needs", c->peer,
                    c->paced_bytes,
                    net_conn_span(span, sizeof(span), c->paced_window_us),
                    c->paced_min_bytes);
            return -1;
        }
        c->paced_waited_us = 0; /* well fed: the next window */
        c->paced_bytes = 0;
    }
}

ssize_t
net_conn_read(struct net_conn *c, void *buf, size_t max, int64_t deadline_us,
              struct err *err)
{
    int64_t start_us = g_get_monotonic_time();

    xassert(max > 0);
    if (c->broken)
        return net_conn_fail_again(c, err);
    deadline_us = net_conn_cap(c, deadline_us);
    if (max > INT_MAX)
        max = INT_MAX; /* SSL_read's limit; recv would take more, no need */
    for (;;) {
        short ev = POLLIN;

        if (c->ssl != NULL) {
            int r, e, saved_errno;
            char why[160];

            ERR_clear_error();
            errno = 0;
            r = SSL_read(c->ssl, buf, (int)max);
            if (r > 0)
                return net_conn_paced_got(c, r);
            saved_errno = errno;
            e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_WRITE) {
                ev = POLLOUT; /* a key update's reply is waiting to go */
            } else if (e != SSL_ERROR_WANT_READ) {
                if (net_conn_tls_reason(c->ssl, e, saved_errno, why,
                                        sizeof(why)))
                    return net_conn_fail(c, err, ERR_CONN,
                                         "connection closed by %s", c->peer);
                return net_conn_fail(c, err, ERR_CONN, "read from %s: %s",
                                     c->peer, why);
            }
        } else {
            ssize_t n = recv(c->fd, buf, max, 0);

            if (n > 0)
                return net_conn_paced_got(c, n);
            if (n == 0)
                return net_conn_fail(c, err, ERR_CONN,
                                     "connection closed by %s", c->peer);
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return net_conn_fail(c, err, ERR_CONN, "read from %s: %s",
                                     c->peer, g_strerror(errno));
        }
        /* a read timeout leaves the stream intact: not broken */
        if (net_conn_wait_paced(c, ev, start_us, deadline_us, err) < 0)
            return -1;
    }
}

int
net_conn_write_all(struct net_conn *c, const void *data, size_t len,
                   int64_t deadline_us, struct err *err)
{
    int64_t start_us = g_get_monotonic_time();
    const unsigned char *p = data;
    size_t left = len;

    if (c->broken)
        return net_conn_fail_again(c, err);
    deadline_us = net_conn_cap(c, deadline_us);
    while (left > 0) {
        short ev = POLLOUT;

        if (c->ssl != NULL) {
            int chunk = left > INT_MAX ? INT_MAX : (int)left;
            int r, e, saved_errno;
            char why[160];

            ERR_clear_error();
            errno = 0;
            r = SSL_write(c->ssl, p, chunk);
            if (r > 0) {
                p += r;
                left -= (size_t)r;
                continue;
            }
            saved_errno = errno;
            e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ) {
                ev = POLLIN;
            } else if (e != SSL_ERROR_WANT_WRITE) {
                /* the reason names a close too */
                (void)net_conn_tls_reason(c->ssl, e, saved_errno, why,
                                          sizeof(why));
                return net_conn_fail(c, err, ERR_CONN, "write to %s: %s",
                                     c->peer, why);
            }
        } else {
            ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL);

            if (n > 0) {
                p += n;
                left -= (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                return net_conn_fail(c, err, ERR_CONN, "write to %s: %s",
                                     c->peer, g_strerror(errno));
        }
        if (net_conn_wait(c, ev, "write to", start_us, deadline_us,
                          err) < 0) {
            /* part of the data may be gone: the stream is out of step */
            net_conn_break(c, err);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

void
net_conn_limit_total(struct net_conn *c, int64_t span_us)
{
    c->total_span_us = span_us > 0 ? span_us : 0;
    c->total_end_us = span_us > 0 ? g_get_monotonic_time() + span_us : 0;
    c->paced_window_us = 0;
}

void
net_conn_limit_paced(struct net_conn *c, int64_t window_us, size_t min_bytes)
{
    net_conn_limit_total(c, 0);
    c->paced_window_us = window_us > 0 ? window_us : 0;
    c->paced_min_bytes = min_bytes;
    c->paced_waited_us = 0;
    c->paced_bytes = 0;
}

bool
net_conn_is_readable(struct net_conn *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    unsigned char b;
    int r, e, saved_errno;
    char why[160];

    if (c->broken)
        return true;
    r = poll(&p, 1, 0);
    if (c->ssl == NULL)
        return r != 0; /* data, EOF, an error, or poll failing */
    if (r == 0 && !SSL_has_pending(c->ssl))
        return false;
    /* Bytes arrived, but under TLS 1.3 they may be session tickets sent
     * after the handshake: only SSL_peek() tells, by processing them. It
     * consumes no application data, and on a non-blocking socket it does
     * not wait. */
    ERR_clear_error();
    errno = 0;
    r = SSL_peek(c->ssl, &b, 1);
    if (r > 0)
        return true;
    saved_errno = errno;
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return false;
    }
    /* Closed or failed. The SSL object is done for, and a later SSL_read
     * would only say so vaguely: keep the reason for the caller's read. */
    if (net_conn_tls_reason(c->ssl, e, saved_errno, why, sizeof(why)))
        net_conn_fail(c, NULL, ERR_CONN, "connection closed by %s", c->peer);
    else
        net_conn_fail(c, NULL, ERR_CONN, "read from %s: %s", c->peer, why);
    return true;
}

bool
net_conn_is_tls(const struct net_conn *c)
{
    return c->ssl != NULL;
}

const char *
net_conn_peer(const struct net_conn *c)
{
    return c->peer;
}

void
net_conn_free(struct net_conn **cp)
{
    struct net_conn *c = *cp;

    if (c == NULL)
        return;
    if (c->ssl != NULL) {
        if (!c->broken) {
            ERR_clear_error();
            /* One non-blocking attempt to send close_notify; the peer's
             * reply is not awaited and a failure changes nothing now. */
            if (SSL_shutdown(c->ssl) < 0) {
                /* ignored: the socket is closed below either way */
            }
        }
        ERR_clear_error();
        SSL_free(c->ssl);
    }
    close(c->fd);
    g_free(c->host);
    g_free(c->peer);
    g_free(c);
    *cp = NULL;
}
