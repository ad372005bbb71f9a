/* test_net_conn.c - net_conn against servers run by this test on 127.0.0.1:
 * plain and TLS echo, STARTTLS, certificate and name checks, deadlines,
 * closes, refused and unknown hosts. Certificates are made afresh per run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cmocka.h>

#include "net/net_conn.h"
#include "net/net_tls.h"

#define MS 1000 /* microseconds */
#define LINE_MAX_TEST (2u * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* Certificates                                                        */
/* ------------------------------------------------------------------ */

static void
cert_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* A certificate with subject CN=cn for key, signed by issuer (self-signed
 * when issuer is NULL). san != NULL makes a server certificate, else a
 * CA. */
static X509 *
cert_new(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
         const char *san, long serial)
{
    X509 *c = X509_new();
    X509_NAME *name;

    assert_non_null(c);
    assert_int_equal(X509_set_version(c, 2), 1); /* v3 */
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(c), serial), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(c), -3600));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(c), 86400));
    assert_int_equal(X509_set_pubkey(c, key), 1);
    name = X509_get_subject_name(c);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *)cn, -1,
                                                -1, 0),
                     1);
    assert_int_equal(X509_set_issuer_name(c, issuer != NULL
                                                 ? X509_get_subject_name(issuer)
                                                 : name),
                     1);
    if (issuer == NULL) {
        issuer = c;
        issuer_key = key;
    }
    cert_add_ext(c, issuer, NID_subject_key_identifier, "hash");
    cert_add_ext(c, issuer, NID_authority_key_identifier, "keyid:always");
    if (san == NULL) {
        cert_add_ext(c, issuer, NID_basic_constraints, "critical,CA:TRUE");
        cert_add_ext(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        cert_add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE");
        cert_add_ext(c, issuer, NID_key_usage, "critical,digitalSignature");
        cert_add_ext(c, issuer, NID_ext_key_usage, "serverAuth");
        cert_add_ext(c, issuer, NID_subject_alt_name, san);
    }
    assert_true(X509_sign(c, issuer_key, EVP_sha256()) > 0);
    return c;
}

static EVP_PKEY *
key_new(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

    assert_non_null(k);
    return k;
}

static char *
write_pem(const char *dir, const char *name, X509 *cert)
{
    char *path = g_build_filename(dir, name, NULL);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, cert), 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* ------------------------------------------------------------------ */
/* The test servers                                                    */
/* ------------------------------------------------------------------ */

/* Each listener accepts on 127.0.0.1:<ephemeral> and runs each connection
 * on its own thread. Plain and TLS listeners echo lines and obey a few
 * commands; the mute one reads and never answers. */
enum srv_kind { SRV_PLAIN, SRV_TLS, SRV_OLD_TLS, SRV_MUTE };

struct srv {
    enum srv_kind kind;
    int lfd;
    unsigned port;
    int stop[2];
    GThread *thread;
};

/* What a connection's server side saw: pushed once a plain connection is
 * accepted and once each TLS handshake ends. */
struct srv_event {
    bool tls;
    bool ok;
    char sni[256]; /* "" when the client sent none */
};

struct srv_conn {
    enum srv_kind kind;
    int fd;
    SSL *ssl;
};

static struct {
    char *dir, *ca_file, *other_ca_file, *missing_ca_file, *empty_ca_file;
    SSL_CTX *tls_ctx, *old_tls_ctx;
    /* pthread primitives rather than GLib's, so that the file can also run
     * under ThreadSanitizer, which does not see inside GMutex */
    pthread_mutex_t lock;
    pthread_cond_t event_cond; /* CLOCK_MONOTONIC */
    GQueue events;             /* struct srv_event * */
    GPtrArray *conn_threads;
    gint live; /* server-side connections not yet closed */
    struct srv plain, tls, old_tls, mute;
} T;

static void
srv_push_event(bool tls, bool ok, SSL *ssl)
{
    struct srv_event *ev = g_new0(struct srv_event, 1);
    const char *sni =
        ssl != NULL ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;

    ev->tls = tls;
    ev->ok = ok;
    g_strlcpy(ev->sni, sni != NULL ? sni : "", sizeof(ev->sni));
    pthread_mutex_lock(&T.lock);
    g_queue_push_tail(&T.events, ev);
    pthread_cond_signal(&T.event_cond);
    pthread_mutex_unlock(&T.lock);
}

static bool
srv_tls_accept(struct srv_conn *sc, SSL_CTX *ctx)
{
    bool ok;

    sc->ssl = SSL_new(ctx);
    SSL_set_fd(sc->ssl, sc->fd);
    ok = SSL_accept(sc->ssl) == 1;
    srv_push_event(true, ok, sc->ssl);
    ERR_clear_error();
    if (!ok) {
        SSL_free(sc->ssl);
        sc->ssl = NULL;
    }
    return ok;
}

static bool
srv_write(struct srv_conn *sc, const char *data, size_t len)
{
    if (sc->ssl != NULL)
        return SSL_write(sc->ssl, data, (int)len) == (int)len;
    return send(sc->fd, data, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* One line, byte by byte so that nothing after a STARTTLS is read early.
 * Its length with the LF, 0 at EOF or on an error. */
static size_t
srv_read_line(struct srv_conn *sc, char *buf, size_t max)
{
    size_t n = 0;

    while (n < max) {
        ssize_t r = sc->ssl != NULL ? SSL_read(sc->ssl, buf + n, 1)
                                    : read(sc->fd, buf + n, 1);

        if (r <= 0)
            return 0;
        if (buf[n++] == '\n')
            return n;
    }
    return n;
}

static gpointer
srv_conn_thread(gpointer data)
{
    struct srv_conn *sc = data;
    char *line = g_malloc(LINE_MAX_TEST);
    struct timeval tv = {.tv_sec = 5};
    bool notify = true; /* send close_notify when closing */
    sigset_t pipe_set;
    size_t n;

    /* A client that went away must not kill the test by SIGPIPE (it stays
     * at its default for the client side, see main). */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    /* nothing here may hang a test run for long */
    setsockopt(sc->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(sc->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (sc->kind == SRV_MUTE) {
        srv_push_event(false, true, NULL);
        while (read(sc->fd, line, 4096) > 0)
            continue;
        goto out;
    }
    if (sc->kind == SRV_PLAIN)
        srv_push_event(false, true, NULL);
    else if (!srv_tls_accept(sc,
                             sc->kind == SRV_TLS ? T.tls_ctx : T.old_tls_ctx))
        goto out;
    while ((n = srv_read_line(sc, line, LINE_MAX_TEST)) > 0) {
        if (n == 10 && memcmp(line, "STARTTLS\r\n", n) == 0) {
            if (!srv_write(sc, "OK go\r\n", 7) ||
                !srv_tls_accept(sc, T.tls_ctx))
                break;
        } else if (n == 8 && memcmp(line, "INJECT\r\n", n) == 0) {
            if (!srv_write(sc, "OK go\r\nINJECTED\r\n", 17))
                break;
        } else if (n == 6 && memcmp(line, "DRIP\r\n", n) == 0) {
            /* a slow server: each byte in time, the line 1.2 s late */
            const char *drip = "dripping..\r\n";
            bool sent = true;

            for (size_t i = 0; drip[i] != '\0' && sent; i++) {
                g_usleep(100 * 1000);
                sent = srv_write(sc, drip + i, 1);
            }
            if (!sent)
                break;
        } else if (n == 7 && memcmp(line, "CLOSE\r\n", n) == 0) {
            break;
        } else if (n == 6 && memcmp(line, "DROP\r\n", n) == 0) {
            notify = false;
            break;
        } else if (!srv_write(sc, line, n)) {
            break;
        }
    }
out:
    if (sc->ssl != NULL) {
        if (notify)
            SSL_shutdown(sc->ssl);
        SSL_free(sc->ssl);
    }
    ERR_clear_error();
    close(sc->fd);
    g_free(line);
    g_free(sc);
    g_atomic_int_add(&T.live, -1);
    return NULL;
}

static gpointer
srv_accept_thread(gpointer data)
{
    struct srv *s = data;

    for (;;) {
        struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
                              {.fd = s->stop[0], .events = POLLIN}};
        struct srv_conn *sc;
        int fd;

        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents != 0)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        sc = g_new0(struct srv_conn, 1);
        sc->kind = s->kind;
        sc->fd = fd;
        g_atomic_int_inc(&T.live);
        pthread_mutex_lock(&T.lock);
        g_ptr_array_add(T.conn_threads,
                        g_thread_new("srv-conn", srv_conn_thread, sc));
        pthread_mutex_unlock(&T.lock);
    }
    return NULL;
}

/* A listening socket on 127.0.0.1 with an ephemeral port. */
static int
listen_loopback(int backlog, unsigned *port_out)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, backlog), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port_out = ntohs(a.sin_port);
    return fd;
}

static void
srv_start(struct srv *s, enum srv_kind kind)
{
    s->kind = kind;
    s->lfd = listen_loopback(16, &s->port);
    assert_int_equal(pipe(s->stop), 0);
    s->thread = g_thread_new("srv-accept", srv_accept_thread, s);
}

static void
srv_stop(struct srv *s)
{
    assert_int_equal(write(s->stop[1], "x", 1), 1);
    g_thread_join(s->thread);
    close(s->stop[0]);
    close(s->stop[1]);
    close(s->lfd);
}

static SSL_CTX *
srv_ctx_new(X509 *leaf, EVP_PKEY *leaf_key, X509 *ca, bool old)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate(ctx, leaf), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, leaf_key), 1);
    assert_int_equal(SSL_CTX_add1_chain_cert(ctx, ca), 1);
    assert_int_equal(SSL_CTX_check_private_key(ctx), 1);
    if (old) { /* a server stuck at TLS 1.1 */
        assert_int_equal(SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION), 1);
        assert_int_equal(SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION), 1);
        assert_int_equal(SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0"),
                         1);
    }
    return ctx;
}

static int
group_setup(void **state)
{
    GError *gerr = NULL;
    EVP_PKEY *ca_key = key_new(), *other_key = key_new();
    EVP_PKEY *leaf_key = key_new();
    X509 *ca, *other, *leaf;
    FILE *f;

    (void)state;
    T.dir = g_dir_make_tmp("postern-net-XXXXXX", &gerr);
    assert_non_null(T.dir);
    ca = cert_new("postern test CA", ca_key, NULL, NULL, NULL, 1);
    other = cert_new("unrelated test CA", other_key, NULL, NULL, NULL, 2);
    leaf = cert_new("localhost", leaf_key, ca, ca_key,
                    "DNS:localhost,IP:127.0.0.1", 3);
    T.ca_file = write_pem(T.dir, "ca.pem", ca);
    T.other_ca_file = write_pem(T.dir, "other-ca.pem", other);
    T.missing_ca_file = g_build_filename(T.dir, "missing.pem", NULL);
    T.empty_ca_file = g_build_filename(T.dir, "empty.pem", NULL);
    f = fopen(T.empty_ca_file, "w");
    assert_non_null(f);
    fclose(f);

    T.tls_ctx = srv_ctx_new(leaf, leaf_key, ca, false);
    T.old_tls_ctx = srv_ctx_new(leaf, leaf_key, ca, true);
    X509_free(ca);
    X509_free(other);
    X509_free(leaf);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(leaf_key);

    {
        pthread_condattr_t attr;

        pthread_mutex_init(&T.lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&T.event_cond, &attr);
        pthread_condattr_destroy(&attr);
        g_queue_init(&T.events);
    }
    T.conn_threads = g_ptr_array_new();
    srv_start(&T.plain, SRV_PLAIN);
    srv_start(&T.tls, SRV_TLS);
    srv_start(&T.old_tls, SRV_OLD_TLS);
    srv_start(&T.mute, SRV_MUTE);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    srv_stop(&T.plain);
    srv_stop(&T.tls);
    srv_stop(&T.old_tls);
    srv_stop(&T.mute);
    /* every client has closed by now, so every connection thread ends */
    for (guint i = 0; i < T.conn_threads->len; i++)
        g_thread_join(T.conn_threads->pdata[i]);
    g_ptr_array_free(T.conn_threads, TRUE);
    g_queue_clear_full(&T.events, g_free);
    pthread_cond_destroy(&T.event_cond);
    pthread_mutex_destroy(&T.lock);
    SSL_CTX_free(T.tls_ctx);
    SSL_CTX_free(T.old_tls_ctx);
    net_tls_cleanup();
    g_unlink(T.ca_file);
    g_unlink(T.other_ca_file);
    g_unlink(T.empty_ca_file);
    g_rmdir(T.dir);
    g_free(T.ca_file);
    g_free(T.other_ca_file);
    g_free(T.missing_ca_file);
    g_free(T.empty_ca_file);
    g_free(T.dir);
    return 0;
}

/* Waits until the server side of earlier tests' connections is gone, then
 * forgets their events, so that a late one cannot pass for this test's. */
static int
test_setup(void **state)
{
    struct srv_event *ev;
    int64_t deadline = g_get_monotonic_time() + 3000 * MS;

    (void)state;
    while (g_atomic_int_get(&T.live) > 0 && g_get_monotonic_time() < deadline)
        g_usleep(500);
    pthread_mutex_lock(&T.lock);
    while ((ev = g_queue_pop_head(&T.events)) != NULL)
        g_free(ev);
    pthread_mutex_unlock(&T.lock);
    return 0;
}

/* The next server event; fails the test after 2 s without one. */
static struct srv_event *
next_event(void)
{
    struct timespec until;
    struct srv_event *ev;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&T.lock);
    while ((ev = g_queue_pop_head(&T.events)) == NULL &&
           pthread_cond_timedwait(&T.event_cond, &T.lock, &until) == 0)
        continue;
    if (ev == NULL)
        ev = g_queue_pop_head(&T.events);
    pthread_mutex_unlock(&T.lock);
    assert_non_null(ev);
    return ev;
}

/* ------------------------------------------------------------------ */
/* Client helpers                                                      */
/* ------------------------------------------------------------------ */

static int64_t
in_ms(int64_t ms)
{
    return g_get_monotonic_time() + ms * MS;
}

static struct net_conn *
connect_ok(const char *host, unsigned port)
{
    struct err err = {0};
    struct net_conn *c = net_conn_connect(host, port, in_ms(2000), &err);

    if (c == NULL)
        fail_msg("connect to %s:%u: %s", host, port, err.msg);
    return c;
}

static void
start_tls_ok(struct net_conn *c, const char *ca_file, const char *name)
{
    struct net_tls_opts o = {.ca_file = ca_file, .verify_host = name};
    struct err err = {0};

    if (net_conn_start_tls(c, &o, in_ms(2000), &err) < 0)
        fail_msg("start_tls: %s", err.msg);
    assert_true(net_conn_is_tls(c));
}

static void
read_exact(struct net_conn *c, char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        struct err err = {0};
        ssize_t r = net_conn_read(c, buf + got, n - got, in_ms(5000), &err);

        if (r < 0)
            fail_msg("read: %s", err.msg);
        assert_true(r > 0);
        got += (size_t)r;
    }
}

static void
write_ok(struct net_conn *c, const char *s)
{
    struct err err = {0};

    if (net_conn_write_all(c, s, strlen(s), in_ms(2000), &err) < 0)
        fail_msg("write: %s", err.msg);
}

static void
expect_echo(struct net_conn *c, const char *line)
{
    char buf[256];
    size_t n = strlen(line);

    assert_true(n < sizeof(buf));
    write_ok(c, line);
    read_exact(c, buf, n);
    buf[n] = '\0';
    assert_string_equal(buf, line);
}

/* Fails unless err is of kind and its message contains needle. */
static void
assert_err(const struct err *err, enum err_kind kind, const char *needle)
{
    if (getenv("TEST_VERBOSE") != NULL)
        print_message("# %s: %s\n", err_kind_name(err->kind), err->msg);
    if (err->kind != kind || strstr(err->msg, needle) == NULL)
        fail_msg("expected %s error with \"%s\", got %s: \"%s\"",
                 err_kind_name(kind), needle, err_kind_name(err->kind),
                 err->msg);
}

static int
start_tls_fails(struct net_conn *c, const char *ca_file, const char *name,
                struct err *err)
{
    struct net_tls_opts o = {.ca_file = ca_file, .verify_host = name};

    return net_conn_start_tls(c, &o, in_ms(2000), err);
}

/* ------------------------------------------------------------------ */
/* Tests: plain and TLS                                                */
/* ------------------------------------------------------------------ */

static void
test_plain_connect_write_and_read_echo(void **state)
{
    struct net_conn *c = connect_ok("127.0.0.1", T.plain.port);
    char peer[64];

    (void)state;
    snprintf(peer, sizeof(peer), "127.0.0.1:%u", T.plain.port);
    assert_string_equal(net_conn_peer(c), peer);
    assert_false(net_conn_is_tls(c));
    expect_echo(c, "hello\r\n");
    expect_echo(c, "a second line\r\n");
    net_conn_free(&c);
    assert_null(c);
    net_conn_free(&c); /* NULL-safe */
}

static void
test_implicit_tls_with_the_right_ca_file(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.tls.port);
    struct srv_event *ev;

    (void)state;
    start_tls_ok(c, T.ca_file, "localhost");
    ev = next_event();
    assert_true(ev->ok);
    assert_string_equal(ev->sni, "localhost"); /* SNI was sent */
    g_free(ev);
    expect_echo(c, "over TLS\r\n");
    net_conn_free(&c);
}

static void
test_verify_host_defaults_to_the_connect_host(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.tls.port);
    struct net_tls_opts o = {.ca_file = T.ca_file};
    struct err err = {0};

    (void)state;
    assert_int_equal(net_conn_start_tls(c, &o, in_ms(2000), &err), 0);
    expect_echo(c, "default name\r\n");
    net_conn_free(&c);
}

static void
test_wrong_ca_file_fails_verification(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.tls.port);
    struct err err = {0};
    char buf[8];

    (void)state;
    assert_int_equal(start_tls_fails(c, T.other_ca_file, "localhost", &err),
                     -1);
    assert_err(&err, ERR_CONN, "certificate verify failed");
    assert_non_null(strstr(err.msg, "TLS to localhost:"));
    assert_false(net_conn_is_tls(c));
    /* no silent downgrade: the connection is dead, not plain */
    err = (struct err){0};
    assert_int_equal(net_conn_read(c, buf, sizeof(buf), in_ms(2000), &err), -1);
    assert_err(&err, ERR_CONN, "certificate verify failed");
    err = (struct err){0};
    assert_int_equal(net_conn_write_all(c, "x", 1, in_ms(2000), &err), -1);
    assert_int_equal(err.kind, ERR_CONN);
    net_conn_free(&c);
}

static void
test_wrong_host_name_is_a_hostname_mismatch(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.tls.port);
    struct err err = {0};

    (void)state;
    assert_int_equal(start_tls_fails(c, T.ca_file, "wronghost.example", &err),
                     -1);
    assert_err(&err, ERR_CONN, "certificate verify failed: hostname mismatch");
    net_conn_free(&c);
}

static void
test_verify_by_ip_literal_without_sni(void **state)
{
    struct net_conn *c = connect_ok("127.0.0.1", T.tls.port);
    struct srv_event *ev;

    (void)state;
    start_tls_ok(c, T.ca_file, NULL); /* the connect host, an IP */
    ev = next_event();
    assert_true(ev->ok);
    assert_string_equal(ev->sni, ""); /* RFC 6066: no SNI for addresses */
    g_free(ev);
    expect_echo(c, "by address\r\n");
    net_conn_free(&c);
}

static void
test_wrong_ip_is_an_ip_address_mismatch(void **state)
{
    struct net_conn *c = connect_ok("127.0.0.1", T.tls.port);
    struct err err = {0};

    (void)state;
    assert_int_equal(start_tls_fails(c, T.ca_file, "127.0.0.2", &err), -1);
    assert_err(&err, ERR_CONN, "IP address mismatch");
    net_conn_free(&c);
}

static void
test_starttls_upgrades_the_same_socket(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.plain.port);
    struct srv_event *ev;
    char buf[8];

    (void)state;
    g_free(next_event()); /* the plain accept */
    expect_echo(c, "before\r\n");
    write_ok(c, "STARTTLS\r\n");
    read_exact(c, buf, 7);
    assert_memory_equal(buf, "OK go\r\n", 7);
    start_tls_ok(c, T.ca_file, "localhost");
    ev = next_event();
    assert_true(ev->tls);
    assert_true(ev->ok);
    g_free(ev);
    expect_echo(c, "after\r\n");
    net_conn_free(&c);
}

static void
test_starttls_refused_when_plaintext_is_pending(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.plain.port);
    struct err err = {0};
    char buf[8];

    (void)state;
    write_ok(c, "INJECT\r\n");
    read_exact(c, buf, 7); /* "OK go\r\n"; "INJECTED\r\n" stays unread */
    assert_memory_equal(buf, "OK go\r\n", 7);
    /* the server wrote both in one send(): the rest is here by now, but
     * give a slow scheduler a moment rather than a flaky test */
    for (int i = 0; i < 100 && !net_conn_is_readable(c); i++)
        g_usleep(1000);
    assert_int_equal(start_tls_fails(c, T.ca_file, "localhost", &err), -1);
    assert_err(&err, ERR_PROTO, "unread plaintext");
    assert_false(net_conn_is_tls(c));
    net_conn_free(&c);
}

static void
test_tls_1_1_server_is_refused(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.old_tls.port);
    struct err err = {0};

    (void)state;
    assert_int_equal(start_tls_fails(c, T.ca_file, "localhost", &err), -1);
    assert_err(&err, ERR_CONN, "protocol");
    net_conn_free(&c);
}

static void
test_missing_or_empty_ca_file_names_the_file(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.tls.port);
    struct err err = {0};

    (void)state;
    assert_int_equal(start_tls_fails(c, T.missing_ca_file, "localhost", &err),
                     -1);
    assert_err(&err, ERR_CONFIG, T.missing_ca_file);
    assert_non_null(strstr(err.msg, "No such file"));
    net_conn_free(&c);

    c = connect_ok("localhost", T.tls.port);
    err = (struct err){0};
    assert_int_equal(start_tls_fails(c, T.empty_ca_file, "localhost", &err),
                     -1);
    assert_err(&err, ERR_CONFIG, T.empty_ca_file);
    net_conn_free(&c);
}

static void
test_contexts_are_cached_per_ca_file(void **state)
{
    struct err err = {0};
    SSL_CTX *a = net_tls_ctx_get(T.ca_file, &err);
    SSL_CTX *b = net_tls_ctx_get(T.ca_file, &err);
    SSL_CTX *o = net_tls_ctx_get(T.other_ca_file, &err);
    SSL_CTX *s1 = net_tls_ctx_get(NULL, &err);
    SSL_CTX *s2 = net_tls_ctx_get(NULL, &err);

    (void)state;
    assert_int_equal(err.kind, ERR_NONE);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, o);
    assert_non_null(s1);
    assert_ptr_equal(s1, s2);
    assert_ptr_not_equal(s1, a);
    assert_int_equal(SSL_CTX_get_min_proto_version(a), TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_get_verify_mode(a), SSL_VERIFY_PEER);
}

static void
test_system_store_does_not_trust_the_test_ca(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.tls.port);
    struct err err = {0};

    (void)state;
    assert_int_equal(start_tls_fails(c, NULL, "localhost", &err), -1);
    assert_err(&err, ERR_CONN, "certificate verify failed");
    net_conn_free(&c);
}

/* Many threads, one context: each opens its own TLS connection at the same
 * time and exchanges a few lines. */
#define PAR_THREADS 6

static gpointer
parallel_client(gpointer data)
{
    struct err err = {0};
    struct net_tls_opts o = {.ca_file = T.ca_file, .verify_host = "localhost"};
    struct net_conn *c;
    intptr_t ok = 0;

    (void)data;
    c = net_conn_connect("localhost", T.tls.port, in_ms(5000), &err);
    if (c != NULL && net_conn_start_tls(c, &o, in_ms(5000), &err) == 0) {
        ok = 1;
        for (int i = 0; i < 20 && ok; i++) {
            char line[32], buf[32];
            size_t n = (size_t)snprintf(line, sizeof(line), "line %d\r\n", i);
            size_t got = 0;

            if (net_conn_write_all(c, line, n, in_ms(5000), &err) < 0)
                ok = 0;
            while (ok && got < n) {
                ssize_t r =
                    net_conn_read(c, buf + got, n - got, in_ms(5000), &err);

                if (r < 0)
                    ok = 0;
                else
                    got += (size_t)r;
            }
            if (ok && memcmp(buf, line, n) != 0)
                ok = 0;
        }
    }
    net_conn_free(&c);
    return (gpointer)ok;
}

static void
test_parallel_tls_connections_on_many_threads(void **state)
{
    GThread *t[PAR_THREADS];

    (void)state;
    for (int i = 0; i < PAR_THREADS; i++)
        t[i] = g_thread_new("client", parallel_client, NULL);
    for (int i = 0; i < PAR_THREADS; i++)
        assert_true((intptr_t)g_thread_join(t[i]) == 1);
}

static void
test_large_payload_crosses_tls_both_ways(void **state)
{
    size_t n = 1024 * 1024;
    char *out = g_malloc(n), *in = g_malloc(n);
    struct net_conn *c = connect_ok("localhost", T.tls.port);
    struct err err = {0};
    size_t got = 0;

    (void)state;
    start_tls_ok(c, T.ca_file, "localhost");
    for (size_t i = 0; i < n - 2; i++)
        out[i] = (char)('a' + i % 26);
    out[n - 2] = '\r';
    out[n - 1] = '\n';
    if (net_conn_write_all(c, out, n, in_ms(10000), &err) < 0)
        fail_msg("write: %s", err.msg);
    while (got < n) {
        ssize_t r = net_conn_read(c, in + got, n - got, in_ms(10000), &err);

        if (r < 0)
            fail_msg("read: %s", err.msg);
        got += (size_t)r;
    }
    assert_memory_equal(in, out, n);
    net_conn_free(&c);
    g_free(out);
    g_free(in);
}

/* ------------------------------------------------------------------ */
/* Tests: failures and deadlines                                       */
/* ------------------------------------------------------------------ */

static void
test_connection_refused_fails_fast(void **state)
{
    unsigned port;
    int fd = listen_loopback(1, &port);
    struct err err = {0};
    int64_t t0;
    struct net_conn *c;

    (void)state;
    close(fd); /* nobody listens there now */
    t0 = g_get_monotonic_time();
    c = net_conn_connect("127.0.0.1", port, in_ms(5000), &err);
    assert_null(c);
    assert_err(&err, ERR_CONN, "refused");
    assert_non_null(strstr(err.msg, "connect to 127.0.0.1:"));
    assert_true(g_get_monotonic_time() - t0 < 1000 * MS);
}

static void
test_unknown_host_fails_fast(void **state)
{
    struct err err = {0};
    int64_t t0 = g_get_monotonic_time();
    struct net_conn *c;

    (void)state;
    c = net_conn_connect("no-such-host.invalid", 143, in_ms(5000), &err);
    assert_null(c);
    assert_err(&err, ERR_CONN, "connect to no-such-host.invalid:143: ");
    assert_true(g_get_monotonic_time() - t0 < 2000 * MS);
}

static void
test_bad_port_and_empty_host_are_refused(void **state)
{
    struct err err = {0};

    (void)state;
    assert_null(net_conn_connect("127.0.0.1", 0, in_ms(1000), &err));
    assert_err(&err, ERR_CONN, "port");
    err = (struct err){0};
    assert_null(net_conn_connect("127.0.0.1", 70000, in_ms(1000), &err));
    assert_err(&err, ERR_CONN, "port");
    err = (struct err){0};
    assert_null(net_conn_connect("", 143, in_ms(1000), &err));
    assert_err(&err, ERR_CONN, "no host");
}

/* Checks a timeout came at the deadline: not before, not much after. */
static void
assert_at_deadline(int64_t deadline)
{
    int64_t now = g_get_monotonic_time();

    if (now < deadline)
        fail_msg("returned %lld us before the deadline",
                 (long long)(deadline - now));
    if (now > deadline + 1000 * MS)
        fail_msg("returned %lld us after the deadline",
                 (long long)(now - deadline));
}

static void
test_connect_times_out_at_the_deadline(void **state)
{
    unsigned port;
    int lfd = listen_loopback(0, &port);
    int fill[4];
    struct sockaddr_in a = {.sin_family = AF_INET};
    struct err err = {0};
    int64_t deadline;
    struct net_conn *c;

    (void)state;
    /* Nobody accepts and the backlog is full: Linux drops further SYNs, so
     * the next connect hangs like one to a black-holed address. */
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    for (size_t i = 0; i < N_ELEMENTS(fill); i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(fill[i] >= 0);
        if (connect(fill[i], (struct sockaddr *)&a, sizeof(a)) < 0)
            assert_int_equal(errno, EINPROGRESS);
    }
    deadline = in_ms(300);
    c = net_conn_connect("127.0.0.1", port, deadline, &err);
    assert_at_deadline(deadline);
    assert_null(c);
    assert_err(&err, ERR_TIMEOUT, "connect to 127.0.0.1:");
    assert_non_null(strstr(err.msg, "timed out after 0.3 s"));
    for (size_t i = 0; i < N_ELEMENTS(fill); i++)
        close(fill[i]);
    close(lfd);
}

static void
test_read_times_out_at_the_deadline_and_stays_usable(void **state)
{
    const unsigned ports[2] = {T.plain.port, T.tls.port};

    (void)state;
    for (int tls = 0; tls < 2; tls++) {
        struct net_conn *c = connect_ok("localhost", ports[tls]);
        struct err err = {0};
        char buf[16];
        int64_t deadline;

        if (tls)
            start_tls_ok(c, T.ca_file, "localhost");
        deadline = in_ms(300);
        assert_int_equal(net_conn_read(c, buf, sizeof(buf), deadline, &err),
                         -1);
        assert_at_deadline(deadline);
        assert_err(&err, ERR_TIMEOUT, "read from localhost:");
        assert_non_null(strstr(err.msg, "timed out after 0.3 s"));
        expect_echo(c, "still here\r\n"); /* a read timeout breaks nothing */
        net_conn_free(&c);
    }
}

/* Reads one line, each read given 1 s: the bytes read, -1 at an error. */
static ssize_t
read_line_slowly(struct net_conn *c, char *buf, size_t max, struct err *err)
{
    size_t n = 0;

    while (n < max && (n == 0 || buf[n - 1] != '\n')) {
        ssize_t r = net_conn_read(c, buf + n, 1, in_ms(1000), err);

        if (r < 0)
            return -1;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

static void
test_total_limit_stops_a_server_that_drips(void **state)
{
    const unsigned ports[2] = {T.plain.port, T.tls.port};

    (void)state;
    for (int tls = 0; tls < 2; tls++) {
        struct net_conn *c = connect_ok("localhost", ports[tls]);
        struct err err = {0};
        char buf[64];
        int64_t end;

        if (tls)
            start_tls_ok(c, T.ca_file, "localhost");
        net_conn_limit_total(c, 300 * MS);
        end = g_get_monotonic_time() + 300 * MS;
        write_ok(c, "DRIP\r\n");
        /* every byte comes within its read's 1 s; the line never in time */
        assert_int_equal(read_line_slowly(c, buf, sizeof(buf), &err), -1);
        assert_at_deadline(end);
        assert_err(&err, ERR_TIMEOUT, "read from localhost:");
        if (strstr(err.msg, "no complete reply within 0.3 s in all") == NULL)
            fail_msg("tls=%d: %s", tls, err.msg);
        net_conn_free(&c);
    }
}

static void
test_lifted_total_limit_lets_a_slow_reply_through(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.plain.port);
    struct err err = {0};
    char buf[64];
    ssize_t n;

    (void)state;
    net_conn_limit_total(c, 300 * MS);
    net_conn_limit_total(c, 0); /* a download the browser paces */
    write_ok(c, "DRIP\r\n");
    n = read_line_slowly(c, buf, sizeof(buf) - 1, &err);
    if (n < 0)
        fail_msg("read: %s", err.msg);
    buf[n] = '\0';
    assert_string_equal(buf, "dripping..\r\n");
    /* a limit set again holds what follows, counted from now */
    net_conn_limit_total(c, 300 * MS);
    expect_echo(c, "still here\r\n");
    write_ok(c, "DRIP\r\n");
    assert_int_equal(read_line_slowly(c, buf, sizeof(buf) - 1, &err), -1);
    assert_int_equal(err.kind, ERR_TIMEOUT);
    net_conn_free(&c);
}

/* A paced download: the time the caller spends between reads is free, the
 * time it waits for a dripping peer is not. */
static void
test_paced_limit_counts_only_the_waiting(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.plain.port);
    struct err err = {0};
    char buf[64];
    int64_t end;

    (void)state;
    net_conn_limit_paced(c, 300 * MS, 8);
    write_ok(c, "slow reader\r\n");
    g_usleep(500 * 1000); /* a browser taking its time */
    assert_int_equal(read_line_slowly(c, buf, sizeof(buf), &err), 13);
    net_conn_limit_paced(c, 300 * MS, 8);
    end = g_get_monotonic_time() + 300 * MS;
    write_ok(c, "DRIP\r\n"); /* a byte every 100 ms: 3 in the window */
    assert_int_equal(read_line_slowly(c, buf, sizeof(buf), &err), -1);
    assert_at_deadline(end);
    assert_err(&err, ERR_TIMEOUT, "read from localhost:");
    if (strstr(err.msg, "in 0.3 s of waiting, under the 8") == NULL)
        fail_msg("%s", err.msg);
    net_conn_free(&c);
}

static void
test_tls_handshake_times_out_against_a_mute_server(void **state)
{
    struct net_conn *c = connect_ok("localhost", T.mute.port);
    struct err err = {0};
    struct net_tls_opts o = {.ca_file = T.ca_file};
    int64_t deadline = in_ms(300);

    (void)state;
    assert_int_equal(net_conn_start_tls(c, &o, deadline, &err), -1);
    assert_at_deadline(deadline);
    assert_err(&err, ERR_TIMEOUT, "TLS to localhost:");
    net_conn_free(&c);
}

static void
test_server_close_is_conn_closed(void **state)
{
    /* plain; TLS with close_notify; TLS without it (a bare TCP close) */
    static const struct {
        bool tls;
        const char *cmd;
    } cases[] = {{false, "CLOSE\r\n"}, {true, "CLOSE\r\n"}, {true, "DROP\r\n"}};

    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
        struct net_conn *c =
            connect_ok("localhost", cases[i].tls ? T.tls.port : T.plain.port);
        struct err err = {0};
        char buf[16];

        if (cases[i].tls)
            start_tls_ok(c, T.ca_file, "localhost");
        write_ok(c, cases[i].cmd);
        assert_int_equal(net_conn_read(c, buf, sizeof(buf), in_ms(2000), &err),
                         -1);
        assert_err(&err, ERR_CONN, "connection closed by localhost:");
        /* and again, at once, with the same reason */
        err = (struct err){0};
        assert_int_equal(net_conn_read(c, buf, sizeof(buf), in_ms(2000), &err),
                         -1);
        assert_err(&err, ERR_CONN, "closed");
        net_conn_free(&c);
    }
}

/* Polls net_conn_is_readable() for up to ms milliseconds. */
static bool
readable_within(struct net_conn *c, int ms)
{
    int64_t deadline = in_ms(ms);

    while (!net_conn_is_readable(c)) {
        if (g_get_monotonic_time() >= deadline)
            return false;
        g_usleep(1000);
    }
    return true;
}

static void
test_is_readable_on_idle_data_and_close(void **state)
{
    /* plain; TLS closed with close_notify; TLS closed without it */
    static const struct {
        bool tls;
        const char *cmd;
    } cases[] = {{false, "CLOSE\r\n"}, {true, "CLOSE\r\n"}, {true, "DROP\r\n"}};

    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
        struct net_conn *c =
            connect_ok("localhost", cases[i].tls ? T.tls.port : T.plain.port);
        struct err err = {0};
        char buf[8];

        if (cases[i].tls)
            start_tls_ok(c, T.ca_file, "localhost");
        /* the server is done with its side of the handshake, so TLS 1.3
         * session tickets are on their way; they are not data */
        g_free(next_event());
        assert_false(readable_within(c, 100));
        write_ok(c, "ping\r\n");
        assert_true(readable_within(c, 1000));
        read_exact(c, buf, 6);
        assert_memory_equal(buf, "ping\r\n", 6);
        assert_false(net_conn_is_readable(c));
        write_ok(c, cases[i].cmd);
        assert_true(readable_within(c, 1000));
        assert_true(net_conn_is_readable(c)); /* and it stays so */
        /* what the check saw is what the read reports */
        assert_int_equal(net_conn_read(c, buf, sizeof(buf), in_ms(1000), &err),
                         -1);
        assert_err(&err, ERR_CONN, "connection closed by localhost:");
        net_conn_free(&c);
    }
}

static void
test_writing_to_a_closed_peer_never_raises_sigpipe(void **state)
{
    (void)state;
    /* SIGPIPE is at its default here (main): a raised one kills the test */
    for (int tls = 0; tls < 2; tls++) {
        struct net_conn *c =
            connect_ok("localhost", tls ? T.tls.port : T.plain.port);
        struct err err = {0};
        char chunk[4096];
        int i;

        if (tls)
            start_tls_ok(c, T.ca_file, "localhost");
        write_ok(c, "CLOSE\r\n");
        assert_true(readable_within(c, 1000));
        memset(chunk, 'x', sizeof(chunk));
        /* the first write may still be accepted; a later one hits the
         * peer's RST and gets EPIPE */
        for (i = 0; i < 200; i++) {
            if (net_conn_write_all(c, chunk, sizeof(chunk), in_ms(1000), &err) <
                0)
                break;
            g_usleep(1000);
        }
        assert_true(i < 200);
        assert_int_equal(err.kind, ERR_CONN);
        net_conn_free(&c);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_setup(f, test_setup)
        T_(test_plain_connect_write_and_read_echo),
        T_(test_implicit_tls_with_the_right_ca_file),
        T_(test_verify_host_defaults_to_the_connect_host),
        T_(test_wrong_ca_file_fails_verification),
        T_(test_wrong_host_name_is_a_hostname_mismatch),
        T_(test_verify_by_ip_literal_without_sni),
        T_(test_wrong_ip_is_an_ip_address_mismatch),
        T_(test_starttls_upgrades_the_same_socket),
        T_(test_starttls_refused_when_plaintext_is_pending),
        T_(test_tls_1_1_server_is_refused),
        T_(test_missing_or_empty_ca_file_names_the_file),
        T_(test_contexts_are_cached_per_ca_file),
        T_(test_system_store_does_not_trust_the_test_ca),
        T_(test_parallel_tls_connections_on_many_threads),
        T_(test_large_payload_crosses_tls_both_ways),
        T_(test_connection_refused_fails_fast),
        T_(test_unknown_host_fails_fast),
        T_(test_bad_port_and_empty_host_are_refused),
        T_(test_connect_times_out_at_the_deadline),
        T_(test_read_times_out_at_the_deadline_and_stays_usable),
        T_(test_total_limit_stops_a_server_that_drips),
        T_(test_lifted_total_limit_lets_a_slow_reply_through),
        T_(test_paced_limit_counts_only_the_waiting),
        T_(test_tls_handshake_times_out_against_a_mute_server),
        T_(test_server_close_is_conn_closed),
        T_(test_is_readable_on_idle_data_and_close),
        T_(test_writing_to_a_closed_peer_never_raises_sigpipe),
#undef T_
    };

    /* net_conn must not depend on the program ignoring SIGPIPE */
    signal(SIGPIPE, SIG_DFL);
    return cmocka_run_group_tests_name("net_conn", tests, group_setup,
                                       group_teardown);
}
