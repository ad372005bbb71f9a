/* test_smtp_client.c - smtp_send() against a scripted fake SMTP server on
 * 127.0.0.1 run in a thread of this test. The fake is here only for what a
 * real server will not do on demand (refusals, 535, STARTTLS refused or
 * missing, injected bytes, 552, closing mid-DATA, stalls); every test
 * checks the exact bytes the client sent. Certificates are made per run. */
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
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cmocka.h>

#include "net/net_tls.h"
#include "smtp/smtp_client.h"
#include "smtp/smtp_reply.h"

/* ------------------------------------------------------------------ */
/* Certificates: a CA, a server certificate for 127.0.0.1 it signed,   */
/* and another CA that signed nothing the server shows                 */
/* ------------------------------------------------------------------ */

static struct {
    char *dir, *ca_file, *other_ca_file;
    SSL_CTX *srv_ctx;
} T;

static void
cert_ext(X509 *cert, X509 *issuer, int nid, const char *value)
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

/* A CA when ca is NULL (self-signed), else a server certificate for
 * 127.0.0.1 and localhost signed by ca. */
static X509 *
cert_make(const char *cn, EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key)
{
    X509 *c = X509_new();
    X509_NAME *name;

    assert_non_null(c);
    assert_int_equal(X509_set_version(c, 2), 1);
    assert_int_equal(
        ASN1_INTEGER_set(X509_get_serialNumber(c), ca == NULL ? 1 : 2), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(c), -3600));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(c), 86400));
    assert_int_equal(X509_set_pubkey(c, key), 1);
    name = X509_get_subject_name(c);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *)cn, -1,
                                                -1, 0),
                     1);
    assert_int_equal(
        X509_set_issuer_name(c, ca != NULL ? X509_get_subject_name(ca) : name),
        1);
    if (ca == NULL) {
        cert_ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
        cert_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
        cert_ext(c, c, NID_subject_key_identifier, "hash");
        assert_true(X509_sign(c, key, EVP_sha256()) > 0);
    } else {
        cert_ext(c, ca, NID_basic_constraints, "critical,CA:FALSE");
        cert_ext(c, ca, NID_ext_key_usage, "serverAuth");
        cert_ext(c, ca, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
        assert_true(X509_sign(c, ca_key, EVP_sha256()) > 0);
    }
    return c;
}

static char *
pem_write(const char *name, X509 *cert)
{
    char *path = g_build_filename(T.dir, name, NULL);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, cert), 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

static int
group_setup(void **state)
{
    EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *srv_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *ca, *other, *srv;

    (void)state;
    T.dir = g_dir_make_tmp("test_smtp_client-XXXXXX", NULL);
    assert_non_null(T.dir);
    ca = cert_make("postern test CA", ca_key, NULL, NULL);
    other = cert_make("some other CA", other_key, NULL, NULL);
    srv = cert_make("localhost", srv_key, ca, ca_key);
    T.ca_file = pem_write("ca.pem", ca);
    T.other_ca_file = pem_write("other-ca.pem", other);
    T.srv_ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(T.srv_ctx);
    assert_int_equal(SSL_CTX_use_certificate(T.srv_ctx, srv), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(T.srv_ctx, srv_key), 1);
    X509_free(ca);
    X509_free(other);
    X509_free(srv);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(srv_key);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    SSL_CTX_free(T.srv_ctx);
    net_tls_cleanup();
    g_unlink(T.ca_file);
    g_unlink(T.other_ca_file);
    g_rmdir(T.dir);
    g_free(T.ca_file);
    g_free(T.other_ca_file);
    g_free(T.dir);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The fake server                                                     */
/* ------------------------------------------------------------------ */

/* A script is a NULL-terminated list of steps. The first plain one (the
 * greeting) is sent as soon as the connection is accepted (or its TLS
 * handshake done); every later plain step is sent after one
 * unit of client input was read: a line, or after a reply starting "354",
 * the message up to its CRLF "." CRLF. Steps starting with '!' read
 * nothing first:
 *   "!tls"    TLS handshake now (after a "220" to STARTTLS, or first)
 *   "!read"   read one unit and do not answer
 *   "!eat N"  read N more bytes
 *   "!close"  close the connection
 *   "!stall"  answer nothing more; read until the client gives up
 * After the last step the fake reads until the client closes, so the
 * transcript holds everything the client sent. "[tls]\r\n" marks the end
 * of a handshake in it. */
struct fake {
    const char *const *script;
    int lfd, stop[2];
    unsigned port;
    GThread *thread;
    int fd;
    SSL *ssl;
    GString *seen; /* every byte received (and the [tls] marks) */
    size_t unit;   /* where the next unit starts in seen */
    bool accepted;
    bool tls_failed; /* a handshake did not complete */
};

/* Reads what comes, appending it to seen; false at EOF, on an error or
 * after 10 s of silence. */
static bool
fake_read_more(struct fake *f)
{
    char buf[4096];
    ssize_t n;

    if (f->ssl != NULL)
        n = SSL_read(f->ssl, buf, sizeof(buf));
    else
        n = read(f->fd, buf, sizeof(buf));
    if (n <= 0)
        return false;
    g_string_append_len(f->seen, buf, n);
    return true;
}

/* Where the unit starting at f->unit ends, or 0 while it is incomplete. */
static size_t
fake_unit_end(const struct fake *f, bool data)
{
    const char *start = f->seen->str + f->unit;
    size_t left = f->seen->len - f->unit;
    const char *hit;

    if (!data) {
        hit = memchr(start, '\n', left);
        return hit != NULL ? (size_t)(hit - f->seen->str) + 1 : 0;
    }
    if (left >= 3 && memcmp(start, ".\r\n", 3) == 0)
        return f->unit + 3;
    hit = g_strstr_len(start, (gssize)left, "\r\n.\r\n");
    return hit != NULL ? (size_t)(hit - f->seen->str) + 5 : 0;
}

static bool
fake_read_unit(struct fake *f, bool data)
{
    size_t end;

    while ((end = fake_unit_end(f, data)) == 0) {
        if (!fake_read_more(f))
            return false;
    }
    f->unit = end;
    return true;
}

static bool
fake_write(struct fake *f, const char *s)
{
    size_t len = strlen(s);

    if (f->ssl != NULL)
        return SSL_write(f->ssl, s, (int)len) == (int)len;
    return send(f->fd, s, len, MSG_NOSIGNAL) == (ssize_t)len;
}

static void
fake_play(struct fake *f)
{
    bool data = false, greeted = false;

    for (size_t i = 0; f->script[i] != NULL; i++) {
        const char *s = f->script[i];

        if (s[0] != '!') {
            if (greeted && !fake_read_unit(f, data))
                return;
            greeted = true;
            data = strncmp(s, "354", 3) == 0;
            if (!fake_write(f, s))
                return;
        } else if (strcmp(s, "!tls") == 0) {
            f->ssl = SSL_new(T.srv_ctx);
            SSL_set_fd(f->ssl, f->fd);
            if (SSL_accept(f->ssl) != 1) {
                f->tls_failed = true;
                return;
            }
            g_string_append(f->seen, "[tls]\r\n");
            f->unit = f->seen->len;
        } else if (strcmp(s, "!read") == 0) {
            if (!fake_read_unit(f, data))
                return;
        } else if (strncmp(s, "!eat ", 5) == 0) {
            size_t want = f->unit + strtoul(s + 5, NULL, 10);

            while (f->seen->len < want) {
                if (!fake_read_more(f))
                    return;
            }
        } else if (strcmp(s, "!close") == 0) {
            return;
        } else if (strcmp(s, "!stall") == 0) {
            while (fake_read_more(f))
                continue;
            return;
        } else {
            xassert_unreached(); /* a typo in a script */
        }
    }
    while (fake_read_more(f))
        continue;
}

static gpointer
fake_thread(gpointer data)
{
    struct fake *f = data;
    struct pollfd p[2] = {{.fd = f->lfd, .events = POLLIN},
                          {.fd = f->stop[0], .events = POLLIN}};
    struct timeval tv = {.tv_sec = 10};
    sigset_t pipe_set;

    /* a client that went away must not kill the test by SIGPIPE */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    if (poll(p, 2, 10000) <= 0 || !(p[0].revents & POLLIN))
        return NULL;
    f->fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (f->fd < 0)
        return NULL;
    f->accepted = true;
    setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(f->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    fake_play(f);
    if (f->ssl != NULL) {
        SSL_shutdown(f->ssl);
        SSL_free(f->ssl);
        f->ssl = NULL;
    }
    ERR_clear_error();
    close(f->fd);
    return NULL;
}

/* A listening socket on 127.0.0.1 with an ephemeral port. */
static int
listen_loopback(unsigned *port_out)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port_out = ntohs(a.sin_port);
    return fd;
}

static void
fake_start(struct fake *f, const char *const *script)
{
    memset(f, 0, sizeof(*f));
    f->script = script;
    f->seen = g_string_new(NULL);
    f->fd = -1;
    f->lfd = listen_loopback(&f->port);
    assert_int_equal(pipe(f->stop), 0);
    f->thread = g_thread_new("fake-smtp", fake_thread, f);
}

/* Waits for the fake to end (the client has closed by now). */
static void
fake_finish(struct fake *f)
{
    assert_int_equal(write(f->stop[1], "x", 1), 1);
    g_thread_join(f->thread);
    close(f->lfd);
    close(f->stop[0]);
    close(f->stop[1]);
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */
/* ------------------------------------------------------------------ */

struct msg_src {
    const char *data;
    size_t len, off, chunk;
    bool fails; /* read returns -1 once fail_at bytes were handed out */
    size_t fail_at;
};

static ssize_t
msg_read(void *ctx, void *buf, size_t max)
{
    struct msg_src *s = ctx;
    size_t n = s->len - s->off;

    if (s->fails && s->off >= s->fail_at)
        return -1;
    if (n > max)
        n = max;
    if (n > s->chunk)
        n = s->chunk;
    memcpy(buf, s->data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

struct send {
    /* in: zero fields take the defaults of send_run() */
    const char *const *script;
    bool starttls, implicit; /* neither: CFG_TLS_NONE */
    const char *ca_file;
    unsigned io_timeout;
    const char *helo;
    const char *user, *password; /* NULL: no AUTH */
    const char *from;
    const char *const *rcpts;
    size_t n_rcpts;
    uint64_t size_hint;
    const char *msg;
    size_t msg_len, chunk;
    bool read_fails;
    size_t fail_at;
    bool no_server; /* connect to a port nobody listens on */
    /* out */
    int rc;
    struct err err;
    struct smtp_result res;
    char *seen;
    bool accepted, tls_failed;
    double seconds;
};

static const char *const default_rcpts[] = {"bob@example.org"};

static void
send_run(struct send *s)
{
    struct fake f;
    struct smtp_opts o = {
        .host = "127.0.0.1",
        .tls = s->starttls   ? CFG_TLS_STARTTLS
               : s->implicit ? CFG_TLS_IMPLICIT
                             : CFG_TLS_NONE,
        .ca_file = s->ca_file != NULL ? s->ca_file : T.ca_file,
        .connect_timeout = 5,
        .io_timeout = s->io_timeout > 0 ? s->io_timeout : 5,
        .helo = s->helo != NULL ? s->helo : "postern.test",
    };
    const char *msg = s->msg != NULL ? s->msg : "Subject: hi\r\n\r\nHello\r\n";
    struct msg_src src = {
        .data = msg,
        .len = s->msg_len > 0 ? s->msg_len : strlen(msg),
        .chunk = s->chunk > 0 ? s->chunk : 4096,
        .fails = s->read_fails,
        .fail_at = s->fail_at,
    };
    int64_t t0;

    fake_start(&f, s->script);
    o.port = f.port;
    if (s->no_server) {
        unsigned port;
        int fd = listen_loopback(&port);

        close(fd); /* nobody listens there now */
        o.port = port;
    }
    t0 = g_get_monotonic_time();
    s->rc = smtp_send(&o, s->user, s->password,
                      s->from != NULL ? s->from : "alice@example.org",
                      s->rcpts != NULL ? s->rcpts : default_rcpts,
                      s->rcpts != NULL ? s->n_rcpts : 1, s->size_hint, msg_read,
                      &src, &s->res, &s->err);
    s->seconds = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
    fake_finish(&f);
    s->accepted = f.accepted;
    s->tls_failed = f.tls_failed;
    s->seen = g_string_free(f.seen, FALSE);
}

static void
send_done(struct send *s)
{
    smtp_result_clear(&s->res);
    g_free(s->seen);
}

/* The transcript must be exactly want; shows both escaped if not. */
static void
assert_wire(const char *seen, const char *want)
{
    if (strcmp(seen, want) != 0) {
        gchar *a = g_strescape(seen, NULL);
        gchar *b = g_strescape(want, NULL);

        fail_msg("the client sent\n  \"%s\"\nexpected\n  \"%s\"", a, b);
    }
}

static void
assert_ok(const struct send *s)
{
    if (s->rc != 0)
        fail_msg("smtp_send failed: %s: %s", err_kind_name(s->err.kind),
                 s->err.msg);
}

static void
assert_err(const struct send *s, enum err_kind kind, const char *part)
{
    if (s->rc != -1 || s->err.kind != kind || strstr(s->err.msg, part) == NULL)
        fail_msg("want -1, %s with \"%s\"; got %d, %s \"%s\"",
                 err_kind_name(kind), part, s->rc, err_kind_name(s->err.kind),
                 s->err.msg);
}

#define GREETING "220 fake.test ESMTP\r\n"
#define EHLO_FULL                                                              \
    "250-fake.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"                 \
    "250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"
#define EHLO_PLAIN "250-fake.test\r\n250 PIPELINING\r\n"
#define BYE "221 2.0.0 Bye\r\n"
#define AUTH_PLAIN_ALICE "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"

/* ------------------------------------------------------------------ */
/* The whole way through                                               */
/* ------------------------------------------------------------------ */

static void
test_a_message_goes_through_with_auth_plain_and_size(void **state)
{
    static const char *const script[] = {
        GREETING,
        EHLO_FULL,
        "235 2.7.0 Authentication successful\r\n",
        "250 2.1.0 Ok\r\n",
        "250 2.1.5 Ok\r\n",
        "251 2.1.5 forwarded\r\n",
        "354 End data with <CR><LF>.<CR><LF>\r\n",
        "250 2.0.0 Ok: queued as 4ABC\r\n",
        BYE,
        NULL};
    static const char *const rcpts[] = {"bob@example.org", "carol@example.net"};
    struct send s = {.script = script,
                     .user = "alice",
                     .password = "secret",
                     .rcpts = rcpts,
                     .n_rcpts = 2,
                     .size_hint = 23,
                     .msg = "Subject: hi\r\n\r\nHello\r\n"};

    (void)state;
    send_run(&s);
    assert_ok(&s);
    assert_wire(s.seen,
                "EHLO postern.test\r\n" AUTH_PLAIN_ALICE
                "MAIL FROM:<alice@example.org> SIZE=23 BODY=8BITMIME\r\n"
                "RCPT TO:<bob@example.org>\r\n"
                "RCPT TO:<carol@example.net>\r\n"
                "DATA\r\n"
                "Subject: hi\r\n\r\nHello\r\n.\r\n"
                "QUIT\r\n");
    assert_int_equal(s.res.last_code, 250);
    assert_null(s.res.failed_rcpts);
    send_done(&s);
}

static void
test_the_body_is_dot_stuffed_on_the_wire(void **state)
{
    static const char *const script[] = {
        GREETING,     EHLO_PLAIN,   "250 Ok\r\n", "250 Ok\r\n",
        "354 go\r\n", "250 Ok\r\n", BYE,          NULL};
    struct send s = {.script = script,
                     .msg = ".starts with a dot\n.\r\nmid.dle\n"
                            "a\r.\r\nQUIT\r\nno final newline",
                     .chunk = 1};

    (void)state;
    send_run(&s);
    assert_ok(&s);
    assert_wire(s.seen, "EHLO postern.test\r\n"
                        "MAIL FROM:<alice@example.org>\r\n"
                        "RCPT TO:<bob@example.org>\r\n"
                        "DATA\r\n"
                        "..starts with a dot\r\n..\r\nmid.dle\r\n"
                        "a\r\n..\r\nQUIT\r\nno final newline\r\n.\r\n"
                        "QUIT\r\n");
    send_done(&s);
}

static void
test_an_empty_message_and_an_empty_sender(void **state)
{
    static const char *const script[] = {
        GREETING,     EHLO_PLAIN,   "250 Ok\r\n", "250 Ok\r\n",
        "354 go\r\n", "250 Ok\r\n", BYE,          NULL};
    struct send s = {.script = script, .from = "", .msg = ""};

    (void)state;
    send_run(&s);
    assert_ok(&s);
    assert_wire(s.seen, "EHLO postern.test\r\nMAIL FROM:<>\r\n"
                        "RCPT TO:<bob@example.org>\r\nDATA\r\n.\r\n"
                        "QUIT\r\n");
    send_done(&s);
}

static void
test_no_size_parameter_without_a_hint_or_without_size(void **state)
{
    static const char *const script[] = {
        GREETING,     EHLO_PLAIN,   "250 Ok\r\n", "250 Ok\r\n",
        "354 go\r\n", "250 Ok\r\n", BYE,          NULL};
    struct send s = {.script = script, .size_hint = 5000};

    (void)state;
    send_run(&s); /* SIZE not offered: no parameter */
    assert_ok(&s);
    assert_non_null(strstr(s.seen, "MAIL FROM:<alice@example.org>\r\n"));
    send_done(&s);
}

/* ------------------------------------------------------------------ */
/* Hello and AUTH                                                      */
/* ------------------------------------------------------------------ */

static void
test_auth_login_when_plain_is_not_offered(void **state)
{
    static const char *const script[] = {
        GREETING,
        "250-fake.test\r\n250-AUTH=LOGIN\r\n250 AUTH CRAM-MD5 LOGIN\r\n",
        "334 VXNlcm5hbWU6\r\n",
        "334 UGFzc3dvcmQ6\r\n",
        "235 2.7.0 Authentication successful\r\n",
        "250 Ok\r\n",
        "250 Ok\r\n",
        "354 go\r\n",
        "250 Ok\r\n",
        BYE,
        NULL};
    struct send s = {.script = script, .user = "alice", .password = "secret"};

    (void)state;
    send_run(&s);
    assert_ok(&s);
    assert_wire(s.seen, "EHLO postern.test\r\nAUTH LOGIN\r\nYWxpY2U=\r\n"
                        "c2VjcmV0\r\n"
                        "MAIL FROM:<alice@example.org>\r\n"
                        "RCPT TO:<bob@example.org>\r\nDATA\r\n"
                        "Subject: hi\r\n\r\nHello\r\n.\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_long_credentials_use_auth_plain_without_initial_response(void **state)
{
    static const char *const script[] = {
        GREETING,     EHLO_FULL,    "334 \r\n",   "235 2.7.0 Ok\r\n",
        "250 Ok\r\n", "250 Ok\r\n", "354 go\r\n", "250 Ok\r\n",
        BYE,          NULL};
    char *password = g_strnfill(400, 'p');
    char *raw = g_strdup_printf("%calice%c%s", 0, 0, password);
    gchar *b64 = g_base64_encode((const guchar *)raw, 7 + 400);
    char *want =
        g_strdup_printf("EHLO postern.test\r\nAUTH PLAIN\r\n%s\r\n"
                        "MAIL FROM:<alice@example.org> BODY=8BITMIME\r\n",
                        b64);
    struct send s = {.script = script, .user = "alice", .password = password};

    (void)state;
    send_run(&s);
    assert_ok(&s);
    assert_true(g_str_has_prefix(s.seen, want));
    send_done(&s);
    g_free(want);
    g_free(b64);
    g_free(raw);
    g_free(password);
}

static void
test_auth_535_is_err_auth_and_the_password_stays_out(void **state)
{
    static const char *const script[] = {
        GREETING, EHLO_FULL,
        "535 5.7.8 Error: authentication failed: bad secret\r\n", BYE, NULL};
    struct send s = {.script = script, .user = "alice", .password = "secret"};

    (void)state;
    send_run(&s);
    /* the server's words are there, but "secret" is the password here: a
     * server repeating it gets it redacted (err_redact) */
    assert_err(&s, ERR_AUTH,
               "the mail server refused the login for "
               "sending: 535 5.7.8 Error: authentication "
               "failed: bad (secret)");
    /* our secret and its base64 are not */
    assert_null(strstr(s.err.msg, "AGFsaWNlAHNlY3JldA"));
    assert_null(strstr(s.err.msg, "c2VjcmV0"));
    assert_wire(s.seen, "EHLO postern.test\r\n" AUTH_PLAIN_ALICE "QUIT\r\n");
    assert_int_equal(s.res.last_code, 535);
    send_done(&s);
}

static void
test_auth_login_refused_at_the_password_is_err_auth(void **state)
{
    static const char *const script[] = {GREETING,
                                         "250-fake.test\r\n250 AUTH LOGIN\r\n",
                                         "334 VXNlcm5hbWU6\r\n",
                                         "334 UGFzc3dvcmQ6\r\n",
                                         "535 5.7.8 nope\r\n",
                                         BYE,
                                         NULL};
    struct send s = {.script = script, .user = "alice", .password = "secret"};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_AUTH, "535 5.7.8 nope");
    assert_null(strstr(s.err.msg, "secret"));
    assert_wire(s.seen, "EHLO postern.test\r\nAUTH LOGIN\r\nYWxpY2U=\r\n"
                        "c2VjcmV0\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_530_and_534_are_err_auth_and_454_is_refused(void **state)
{
    static const char *const codes[] = {"530 5.7.0 Must issue STARTTLS\r\n",
                                        "534 5.7.9 mechanism too weak\r\n",
                                        "454 4.7.0 Temporary failure\r\n"};
    static const enum err_kind kinds[] = {ERR_AUTH, ERR_AUTH, ERR_REFUSED};

    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(codes); i++) {
        const char *script[] = {GREETING, EHLO_FULL, codes[i], BYE, NULL};
        struct send s = {.script = script, .user = "u", .password = "p"};

        send_run(&s);
        assert_err(&s, kinds[i], "");
        send_done(&s);
    }
}

static void
test_no_auth_without_a_password_or_when_not_offered(void **state)
{
    static const char *const script_full[] = {
        GREETING,     EHLO_FULL,    "250 Ok\r\n", "250 Ok\r\n",
        "354 go\r\n", "250 Ok\r\n", BYE,          NULL};
    static const char *const script_plain[] = {
        GREETING,     EHLO_PLAIN,   "250 Ok\r\n", "250 Ok\r\n",
        "354 go\r\n", "250 Ok\r\n", BYE,          NULL};
    struct send a = {.script = script_full, .user = "alice"};
    struct send b = {
        .script = script_plain, .user = "alice", .password = "secret"};

    (void)state;
    send_run(&a);
    assert_ok(&a);
    assert_true(g_str_has_prefix(a.seen, "EHLO postern.test\r\nMAIL FROM:"));
    send_run(&b);
    assert_ok(&b);
    assert_true(g_str_has_prefix(b.seen, "EHLO postern.test\r\nMAIL FROM:"));
    send_done(&a);
    send_done(&b);
}

static void
test_auth_without_plain_or_login_is_unsupported(void **state)
{
    static const char *const script[] = {
        GREETING, "250-fake.test\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n", BYE, NULL};
    struct send s = {.script = script, .user = "alice", .password = "secret"};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_UNSUPPORTED, "neither PLAIN nor LOGIN");
    assert_wire(s.seen, "EHLO postern.test\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_helo_when_ehlo_is_refused(void **state)
{
    static const char *const script[] = {
        GREETING,
        "502 5.5.2 Error: command not recognized\r\n",
        "250 fake.test\r\n",
        "250 Ok\r\n",
        "250 Ok\r\n",
        "354 go\r\n",
        "250 Ok\r\n",
        BYE,
        NULL};
    struct send s = {.script = script,
                     .user = "alice",
                     .password = "secret",
                     .size_hint = 99};

    (void)state;
    send_run(&s);
    assert_ok(&s);
    /* no extensions after HELO: no AUTH, no SIZE */
    assert_wire(s.seen, "EHLO postern.test\r\nHELO postern.test\r\n"
                        "MAIL FROM:<alice@example.org>\r\n"
                        "RCPT TO:<bob@example.org>\r\nDATA\r\n"
                        "Subject: hi\r\n\r\nHello\r\n.\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_a_refused_greeting_is_err_refused(void **state)
{
    static const char *const script[] = {
        "554 5.7.1 fake.test: no SMTP service here\r\n", BYE, NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_REFUSED, "554 5.7.1 fake.test: no SMTP service here");
    assert_wire(s.seen, "QUIT\r\n");
    assert_int_equal(s.res.last_code, 554);
    send_done(&s);
}

/* ------------------------------------------------------------------ */
/* TLS                                                                 */
/* ------------------------------------------------------------------ */

static void
test_starttls_not_offered_is_err_conn(void **state)
{
    static const char *const script[] = {GREETING, EHLO_FULL, BYE, NULL};
    struct send s = {.script = script,
                     .starttls = true,
                     .user = "alice",
                     .password = "secret"};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_CONN, "does not offer STARTTLS");
    /* no silent downgrade: no AUTH, no MAIL in clear */
    assert_wire(s.seen, "EHLO postern.test\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_starttls_not_offered_after_helo_is_err_conn(void **state)
{
    static const char *const script[] = {GREETING, "500 what\r\n",
                                         "250 fake.test\r\n", BYE, NULL};
    struct send s = {.script = script, .starttls = true};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_CONN, "does not offer STARTTLS");
    assert_wire(s.seen, "EHLO postern.test\r\nHELO postern.test\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_starttls_refused_is_err_conn(void **state)
{
    static const char *const script[] = {
        GREETING, "250-fake.test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n",
        "454 4.7.0 TLS not available due to local problem\r\n", BYE, NULL};
    struct send s = {.script = script,
                     .starttls = true,
                     .user = "alice",
                     .password = "secret"};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_CONN,
               "refused STARTTLS, and tls = starttls requires "
               "it: 454 4.7.0 TLS not available");
    assert_wire(s.seen, "EHLO postern.test\r\nSTARTTLS\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_bytes_after_the_starttls_reply_are_refused(void **state)
{
    /* CVE-2011-0411: a reply planted before the handshake */
    static const char *const script[] = {
        GREETING, "250-fake.test\r\n250 STARTTLS\r\n",
        "220 2.0.0 Ready to start TLS\r\n250-evil\r\n250 AUTH PLAIN\r\n", NULL};
    struct send s = {.script = script,
                     .starttls = true,
                     .user = "alice",
                     .password = "secret"};

    (void)state;
    send_run(&s);
    /* our check, or net_conn's if the bytes were still in the socket */
    assert_err(&s, ERR_PROTO, "");
    assert_wire(s.seen, "EHLO postern.test\r\nSTARTTLS\r\n");
    send_done(&s);
}

static void
test_starttls_upgrades_and_forgets_what_came_before(void **state)
{
    /* before TLS: AUTH PLAIN and a small SIZE; after: only AUTH LOGIN and
     * no SIZE. The client must go by what it heard over TLS. */
    static const char *const script[] = {
        GREETING,
        "250-fake.test\r\n250-STARTTLS\r\n250-SIZE 10\r\n250 AUTH PLAIN\r\n",
        "220 2.0.0 Ready to start TLS\r\n",
        "!tls",
        "250-fake.test\r\n250 AUTH LOGIN\r\n",
        "334 VXNlcm5hbWU6\r\n",
        "334 UGFzc3dvcmQ6\r\n",
        "235 2.7.0 Ok\r\n",
        "250 Ok\r\n",
        "250 Ok\r\n",
        "354 go\r\n",
        "250 Ok\r\n",
        BYE,
        NULL};
    struct send s = {.script = script,
                     .starttls = true,
                     .user = "alice",
                     .password = "secret",
                     .size_hint = 500};

    (void)state;
    send_run(&s);
    assert_ok(&s);
    assert_wire(s.seen, "EHLO postern.test\r\nSTARTTLS\r\n[tls]\r\n"
                        "EHLO postern.test\r\nAUTH LOGIN\r\nYWxpY2U=\r\n"
                        "c2VjcmV0\r\nMAIL FROM:<alice@example.org>\r\n"
                        "RCPT TO:<bob@example.org>\r\nDATA\r\n"
                        "Subject: hi\r\n\r\nHello\r\n.\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_helo_after_starttls_keeps_nothing_from_before(void **state)
{
    /* EHLO refused over TLS: HELO, and the AUTH and SIZE heard in clear
     * must not be used */
    static const char *const script[] = {
        GREETING,
        "250-fake.test\r\n250-STARTTLS\r\n250-SIZE 10\r\n250 AUTH PLAIN\r\n",
        "220 2.0.0 Ready to start TLS\r\n",
        "!tls",
        "502 5.5.2 no EHLO here\r\n",
        "250 fake.test\r\n",
        "250 Ok\r\n",
        "250 Ok\r\n",
        "354 go\r\n",
        "250 Ok\r\n",
        BYE,
        NULL};
    struct send s = {.script = script,
                     .starttls = true,
                     .user = "alice",
                     .password = "secret",
                     .size_hint = 500};

    (void)state;
    send_run(&s);
    assert_ok(&s);
    assert_wire(s.seen, "EHLO postern.test\r\nSTARTTLS\r\n[tls]\r\n"
                        "EHLO postern.test\r\nHELO postern.test\r\n"
                        "MAIL FROM:<alice@example.org>\r\n"
                        "RCPT TO:<bob@example.org>\r\nDATA\r\n"
                        "Subject: hi\r\n\r\nHello\r\n.\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_starttls_to_an_untrusted_certificate_fails(void **state)
{
    static const char *const script[] = {GREETING,
                                         "250-fake.test\r\n250 STARTTLS\r\n",
                                         "220 2.0.0 Ready to start TLS\r\n",
                                         "!tls",
                                         EHLO_FULL,
                                         NULL};
    struct send s = {.script = script,
                     .starttls = true,
                     .ca_file = T.other_ca_file,
                     .user = "alice",
                     .password = "secret"};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_CONN, "certificate verify failed");
    assert_true(s.tls_failed);
    assert_wire(s.seen, "EHLO postern.test\r\nSTARTTLS\r\n");
    send_done(&s);
}

static void
test_implicit_tls(void **state)
{
    static const char *const script[] = {
        "!tls",       GREETING,     EHLO_FULL,    "235 2.7.0 Ok\r\n",
        "250 Ok\r\n", "250 Ok\r\n", "354 go\r\n", "250 Ok\r\n",
        BYE,          NULL};
    struct send s = {.script = script,
                     .implicit = true,
                     .user = "alice",
                     .password = "secret"};

    (void)state;
    send_run(&s);
    assert_ok(&s);
    assert_wire(s.seen, "[tls]\r\nEHLO postern.test\r\n" AUTH_PLAIN_ALICE
                        "MAIL FROM:<alice@example.org> BODY=8BITMIME\r\n"
                        "RCPT TO:<bob@example.org>\r\nDATA\r\n"
                        "Subject: hi\r\n\r\nHello\r\n.\r\nQUIT\r\n");
    send_done(&s);
}

/* ------------------------------------------------------------------ */
/* Refusals                                                            */
/* ------------------------------------------------------------------ */

static void
test_a_refused_recipient_sends_no_message(void **state)
{
    static const char *const script[] = {
        GREETING,
        EHLO_FULL,
        "235 2.7.0 Ok\r\n",
        "250 2.1.0 Ok\r\n",
        "250 2.1.5 Ok\r\n",
        "550 5.1.1 <nobody@example.org>: Recipient address rejected: User "
        "unknown\r\n",
        "450-4.2.0 <carol@example.net>: try\r\n450 4.2.0 again later\r\n",
        "250 2.1.5 Ok\r\n",
        "250 2.0.0 Ok\r\n",
        BYE,
        NULL};
    static const char *const rcpts[] = {"bob@example.org", "nobody@example.org",
                                        "carol@example.net",
                                        "dave@example.org"};
    struct send s = {.script = script,
                     .user = "alice",
                     .password = "secret",
                     .rcpts = rcpts,
                     .n_rcpts = 4};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_REFUSED,
               "the mail server refused 2 of 4 recipients: "
               "nobody@example.org (550 5.1.1 "
               "<nobody@example.org>: Recipient address "
               "rejected: User unknown), carol@example.net "
               "(450 4.2.0 <carol@example.net>: try again "
               "later)");
    assert_string_equal(s.res.failed_rcpts,
                        "nobody@example.org (550 5.1.1 <nobody@example.org>: "
                        "Recipient address rejected: User unknown), "
                        "carol@example.net (450 4.2.0 <carol@example.net>: "
                        "try again later)");
    assert_wire(s.seen, "EHLO postern.test\r\n" AUTH_PLAIN_ALICE
                        "MAIL FROM:<alice@example.org> BODY=8BITMIME\r\n"
                        "RCPT TO:<bob@example.org>\r\n"
                        "RCPT TO:<nobody@example.org>\r\n"
                        "RCPT TO:<carol@example.net>\r\n"
                        "RCPT TO:<dave@example.org>\r\n"
                        "RSET\r\nQUIT\r\n");
    assert_int_equal(s.res.last_code, 450);
    send_done(&s);
}

static void
test_a_huge_refusal_text_is_shortened_in_the_list(void **state)
{
    char *text = g_strnfill(2000, 'z');
    char *reply = g_strdup_printf("550 5.1.1 %s\r\n", text);
    const char *script[] = {GREETING,     EHLO_PLAIN, "250 Ok\r\n", reply,
                            "250 Ok\r\n", BYE,        NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    assert_int_equal(s.err.kind, ERR_REFUSED);
    assert_non_null(s.res.failed_rcpts);
    assert_true(strlen(s.res.failed_rcpts) < 600);
    assert_true(g_str_has_suffix(s.res.failed_rcpts, "zzz...)"));
    send_done(&s);
    g_free(reply);
    g_free(text);
}

static void
test_size_over_the_servers_limit_is_refused_before_mail(void **state)
{
    static const char *const script[] = {
        GREETING, "250-fake.test\r\n250-SIZE 1000\r\n250 AUTH PLAIN\r\n", BYE,
        NULL};
    struct send s = {.script = script,
                     .user = "alice",
                     .password = "secret",
                     .size_hint = 1001};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_LIMIT,
               "the message (1001 bytes) is larger than the "
               "mail server's limit of 1000 bytes");
    assert_wire(s.seen, "EHLO postern.test\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_size_at_the_servers_limit_is_sent(void **state)
{
    static const char *const script[] = {
        GREETING,     "250-fake.test\r\n250 SIZE 1000\r\n",
        "250 Ok\r\n", "250 Ok\r\n",
        "354 go\r\n", "250 Ok\r\n",
        BYE,          NULL};
    struct send s = {.script = script, .size_hint = 1000};

    (void)state;
    send_run(&s);
    assert_ok(&s);
    assert_non_null(strstr(s.seen, "MAIL FROM:<alice@example.org> "
                                   "SIZE=1000\r\n"));
    send_done(&s);
}

static void
test_552_after_the_data_is_err_limit(void **state)
{
    static const char *const script[] = {
        GREETING,     EHLO_PLAIN,   "250 Ok\r\n",
        "250 Ok\r\n", "354 go\r\n", "552 5.3.4 Error: message file too big\r\n",
        BYE,          NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_LIMIT, "552 5.3.4 Error: message file too big");
    assert_true(g_str_has_suffix(s.seen, "Hello\r\n.\r\nQUIT\r\n"));
    assert_int_equal(s.res.last_code, 552);
    send_done(&s);
}

static void
test_452_to_mail_is_err_limit(void **state)
{
    static const char *const script[] = {
        GREETING, EHLO_FULL, "452 4.3.1 Insufficient system storage\r\n", BYE,
        NULL};
    struct send s = {.script = script, .size_hint = 10};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_LIMIT, "452 4.3.1 Insufficient system storage");
    assert_wire(
        s.seen,
        "EHLO postern.test\r\n"
        "MAIL FROM:<alice@example.org> SIZE=10 BODY=8BITMIME\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_a_refused_sender_is_err_refused_with_the_servers_text(void **state)
{
    static const char *const script[] = {
        GREETING, EHLO_PLAIN,
        "553 5.7.1 <alice@example.org>: Sender address rejected: not owned "
        "by user alice\r\n",
        BYE, NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_REFUSED,
               "the mail server refused the sender: 553 "
               "5.7.1 <alice@example.org>: Sender address "
               "rejected");
    assert_wire(s.seen, "EHLO postern.test\r\n"
                        "MAIL FROM:<alice@example.org>\r\nQUIT\r\n");
    send_done(&s);
}

static void
test_a_refused_message_is_err_refused(void **state)
{
    static const char *const script[] = {
        GREETING,     EHLO_PLAIN,           "250 Ok\r\n", "250 Ok\r\n",
        "354 go\r\n", "554 5.7.1 spam\r\n", BYE,          NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_REFUSED,
               "the mail server refused the message: 554 "
               "5.7.1 spam");
    send_done(&s);
}

static void
test_a_refused_data_command_is_err_refused(void **state)
{
    static const char *const script[] = {
        GREETING,
        EHLO_PLAIN,
        "250 Ok\r\n",
        "250 Ok\r\n",
        "554 5.5.1 Error: no valid recipients\r\n",
        BYE,
        NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_REFUSED, "refused DATA: 554 5.5.1");
    assert_true(g_str_has_suffix(s.seen, "DATA\r\nQUIT\r\n"));
    send_done(&s);
}

static void
test_421_ends_the_session_without_quit(void **state)
{
    static const char *const script[] = {
        GREETING,     EHLO_PLAIN,
        "250 Ok\r\n", "421 4.3.2 Service shutting down\r\n",
        "!close",     NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_REFUSED, "closing the session (RCPT): 421 4.3.2");
    assert_null(s.res.failed_rcpts);
    assert_true(g_str_has_suffix(s.seen, "RCPT TO:<bob@example.org>\r\n"));
    send_done(&s);
}

/* ------------------------------------------------------------------ */
/* Broken servers and networks                                         */
/* ------------------------------------------------------------------ */

static void
test_a_server_closing_mid_data_is_err_conn(void **state)
{
    static const char *const script[] = {
        GREETING,     EHLO_PLAIN,  "250 Ok\r\n", "250 Ok\r\n",
        "354 go\r\n", "!eat 1000", "!close",     NULL};
    size_t len = 8u * 1024 * 1024;
    char *msg = g_malloc(len);
    struct send s = {.script = script, .msg = msg, .msg_len = len};

    (void)state;
    for (size_t i = 0; i < len; i++)
        msg[i] = (i % 80 == 79) ? '\n' : 'x';
    send_run(&s);
    assert_err(&s, ERR_CONN, "");
    send_done(&s);
    g_free(msg);
}

static void
test_a_server_closing_instead_of_replying_is_err_conn(void **state)
{
    static const char *const script[] = {GREETING, "!read", "!close", NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_CONN, "connection closed by");
    assert_wire(s.seen, "EHLO postern.test\r\n");
    send_done(&s);
}

static void
test_a_stalled_server_times_out(void **state)
{
    static const char *const script[] = {GREETING, "!read", "!stall", NULL};
    struct send s = {.script = script, .io_timeout = 1};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_TIMEOUT, "timed out after 1");
    assert_true(s.seconds >= 0.9 && s.seconds < 3.0);
    /* out of step after a timeout: no QUIT */
    assert_wire(s.seen, "EHLO postern.test\r\n");
    send_done(&s);
}

static void
test_a_server_stalling_after_the_final_dot_times_out(void **state)
{
    static const char *const script[] = {
        GREETING,     EHLO_PLAIN, "250 Ok\r\n", "250 Ok\r\n",
        "354 go\r\n", "!stall",   NULL};
    struct send s = {.script = script, .io_timeout = 1};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_TIMEOUT, "timed out");
    assert_true(g_str_has_suffix(s.seen, "Hello\r\n.\r\n"));
    send_done(&s);
}

static void
test_no_server_is_err_conn(void **state)
{
    static const char *const script[] = {NULL};
    struct send s = {.script = script, .no_server = true};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_CONN, "connect to 127.0.0.1:");
    assert_int_equal(s.res.last_code, 0);
    send_done(&s);
}

static void
test_garbage_instead_of_a_greeting_is_err_proto(void **state)
{
    static const char *const script[] = {"HTTP/1.1 400 Bad Request\r\n", NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_PROTO, "not a reply code");
    assert_wire(s.seen, "");
    send_done(&s);
}

static void
test_a_greeting_over_the_line_cap_is_err_proto(void **state)
{
    char *text = g_strnfill(SMTP_REPLY_LINE_MAX, 'g');
    char *greeting = g_strdup_printf("220 %s\r\n", text);
    const char *script[] = {greeting, NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    /* the server's fault: a 502 page, not "request too large" */
    assert_err(&s, ERR_PROTO, "over the cap of 4096 bytes");
    send_done(&s);
    g_free(greeting);
    g_free(text);
}

static void
test_bytes_nobody_asked_for_are_err_proto(void **state)
{
    static const char *const script[] = {
        GREETING, EHLO_PLAIN "250 2.0.0 Ok: queued as EVIL\r\n", NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_PROTO, "sent data nobody asked for");
    assert_wire(s.seen, "EHLO postern.test\r\n");
    send_done(&s);
}

static void
test_an_unexpected_reply_code_is_err_proto(void **state)
{
    static const char *const script[] = {GREETING, EHLO_PLAIN,
                                         "354 go ahead?\r\n", NULL};
    struct send s = {.script = script};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_PROTO, "unexpected reply to the sender: 354");
    send_done(&s);
}

static void
test_a_reader_error_drops_the_message(void **state)
{
    static const char *const script[] = {
        GREETING,     EHLO_PLAIN,   "250 Ok\r\n", "250 Ok\r\n",
        "354 go\r\n", "250 Ok\r\n", BYE,          NULL};
    struct send s = {.script = script,
                     .msg = "line one\r\nline two\r\n",
                     .chunk = 10,
                     .read_fails = true,
                     .fail_at = 10};

    (void)state;
    send_run(&s);
    assert_err(&s, ERR_ABORTED, "reading the message to send failed");
    /* no final dot and no QUIT: the server must throw the message away */
    assert_wire(s.seen, "EHLO postern.test\r\n"
                        "MAIL FROM:<alice@example.org>\r\n"
                        "RCPT TO:<bob@example.org>\r\nDATA\r\n"
                        "line one\r\n");
    send_done(&s);
}

/* ------------------------------------------------------------------ */
/* Input checks                                                        */
/* ------------------------------------------------------------------ */

static void
test_injection_attempts_are_refused_before_connecting(void **state)
{
    static const char *const script[] = {GREETING, EHLO_FULL, NULL};
    static const char *const bad[] = {
        "a@b>\r\nRCPT TO:<evil@x",
        "a@b\r\nDATA",
        "a@b\nQUIT",
        "a@b\rQUIT",
        "<a@b>",
        "a@b>",
        "x<y@z",
        "a@b>,<c@d",
        "a@b> SIZE=1",
        "a b@c",
        "a@b\tc",
        "a@b\x7f",
        "a@b\x1b[0m",
        "a@\xff\xfe",
    };

    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
        const char *one[] = {bad[i]};
        const char *two[] = {"ok@example.org", bad[i]};
        struct send as_rcpt = {.script = script, .rcpts = two, .n_rcpts = 2};
        struct send as_from = {.script = script, .from = bad[i]};
        struct send only = {.script = script, .rcpts = one, .n_rcpts = 1};

        send_run(&as_rcpt);
        assert_err(&as_rcpt, ERR_INPUT, "recipient 2: address");
        assert_false(as_rcpt.accepted);
        send_run(&as_from);
        assert_err(&as_from, ERR_INPUT, "sender: address");
        assert_false(as_from.accepted);
        send_run(&only);
        assert_err(&only, ERR_INPUT, "recipient 1");
        assert_false(only.accepted);
        send_done(&as_rcpt);
        send_done(&as_from);
        send_done(&only);
    }
}

static void
test_bad_names_counts_and_lengths_are_refused_before_connecting(void **state)
{
    static const char *const script[] = {GREETING, EHLO_FULL, NULL};
    static const char *const empty[] = {""};
    char *long_addr = g_strnfill(SMTP_ADDRESS_MAX + 1, 'a');
    char *max_addr = g_strnfill(SMTP_ADDRESS_MAX, 'a');
    const char *too_long[] = {long_addr};
    const char **many = g_new0(const char *, SMTP_RCPTS_MAX + 1);
    struct send cases[] = {
        {.script = script, .rcpts = empty, .n_rcpts = 1},
        {.script = script, .rcpts = too_long, .n_rcpts = 1},
        {.script = script, .from = long_addr},
        {.script = script, .rcpts = empty, .n_rcpts = 0},
        {.script = script, .rcpts = many, .n_rcpts = SMTP_RCPTS_MAX + 1},
        {.script = script, .helo = "post ern"},
        {.script = script, .helo = "postern\r\nMAIL FROM:<x@y>"},
        {.script = script, .helo = ""},
        {.script = script, .password = "secret"}, /* and no user */
    };
    static const enum err_kind kinds[] = {ERR_INPUT, ERR_INPUT, ERR_INPUT,
                                          ERR_INPUT, ERR_LIMIT, ERR_INPUT,
                                          ERR_INPUT, ERR_INPUT, ERR_INPUT};
    static const char *const parts[] = {
        "recipient 1: empty address",
        "recipient 1: address longer than 254 bytes",
        "sender: address longer than 254 bytes",
        "no recipients",
        "1001 recipients, more than the cap of 1000",
        "EHLO name",
        "EHLO name",
        "EHLO name must have 1 to 255 bytes",
        "a password without a user name"};

    (void)state;
    for (size_t i = 0; i <= SMTP_RCPTS_MAX; i++)
        many[i] = "x@example.org";
    for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
        send_run(&cases[i]);
        assert_err(&cases[i], kinds[i], parts[i]);
        assert_false(cases[i].accepted);
        assert_null(strstr(cases[i].err.msg, "secret"));
        send_done(&cases[i]);
    }
    {
        /* at the cap: goes out */
        static const char *const ok[] = {
            GREETING,     EHLO_PLAIN,   "250 Ok\r\n", "250 Ok\r\n",
            "354 go\r\n", "250 Ok\r\n", BYE,          NULL};
        const char *at[] = {max_addr};
        struct send s = {
            .script = ok, .rcpts = at, .n_rcpts = 1, .from = max_addr};

        send_run(&s);
        assert_ok(&s);
        send_done(&s);
    }
    g_free(many);
    g_free(long_addr);
    g_free(max_addr);
}

static void
test_as_many_recipients_as_the_cap_go_out(void **state)
{
    const char **script = g_new0(const char *, SMTP_RCPTS_MAX + 8);
    const char **rcpts = g_new0(const char *, SMTP_RCPTS_MAX);
    size_t k = 0;
    struct send s = {.rcpts = rcpts, .n_rcpts = SMTP_RCPTS_MAX};

    (void)state;
    script[k++] = GREETING;
    script[k++] = EHLO_PLAIN;
    script[k++] = "250 Ok\r\n";
    for (size_t i = 0; i < SMTP_RCPTS_MAX; i++) {
        rcpts[i] = "x@example.org";
        script[k++] = "250 Ok\r\n";
    }
    script[k++] = "354 go\r\n";
    script[k++] = "250 Ok\r\n";
    script[k++] = BYE;
    s.script = script;
    send_run(&s);
    assert_ok(&s);
    assert_true(g_str_has_suffix(s.seen, "RCPT TO:<x@example.org>\r\nDATA\r\n"
                                         "Subject: hi\r\n\r\nHello\r\n.\r\n"
                                         "QUIT\r\n"));
    send_done(&s);
    g_free(rcpts);
    g_free(script);
}

static void
test_non_ascii_addresses_need_smtputf8(void **state)
{
    static const char *const without[] = {GREETING, EHLO_FULL, BYE, NULL};
    static const char *const with[] = {
        GREETING,     "250-fake.test\r\n250 SMTPUTF8\r\n",
        "250 Ok\r\n", "250 Ok\r\n",
        "354 go\r\n", "250 Ok\r\n",
        BYE,          NULL};
    static const char *const rcpts[] = {"j\xc3\xb6rg@b\xc3\xbc"
                                        "cher.de"};
    struct send a = {.script = without, .rcpts = rcpts, .n_rcpts = 1};
    struct send b = {.script = with, .rcpts = rcpts, .n_rcpts = 1};

    (void)state;
    send_run(&a);
    assert_err(&a, ERR_UNSUPPORTED, "no SMTPUTF8");
    assert_wire(a.seen, "EHLO postern.test\r\nQUIT\r\n");
    send_run(&b);
    assert_ok(&b);
    assert_non_null(strstr(b.seen, "MAIL FROM:<alice@example.org> "
                                   "SMTPUTF8\r\nRCPT TO:<j\xc3\xb6rg@"
                                   "b\xc3\xbc"
                                   "cher.de>\r\n"));
    send_done(&a);
    send_done(&b);
}

static void
test_result_clear_is_null_safe_and_repeatable(void **state)
{
    struct smtp_result r = {.failed_rcpts = g_strdup("x"), .last_code = 5};

    (void)state;
    smtp_result_clear(&r);
    assert_null(r.failed_rcpts);
    assert_int_equal(r.last_code, 0);
    smtp_result_clear(&r);
    smtp_result_clear(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_message_goes_through_with_auth_plain_and_size),
        cmocka_unit_test(test_the_body_is_dot_stuffed_on_the_wire),
        cmocka_unit_test(test_an_empty_message_and_an_empty_sender),
        cmocka_unit_test(test_no_size_parameter_without_a_hint_or_without_size),
        cmocka_unit_test(test_auth_login_when_plain_is_not_offered),
        cmocka_unit_test(
            test_long_credentials_use_auth_plain_without_initial_response),
        cmocka_unit_test(test_auth_535_is_err_auth_and_the_password_stays_out),
        cmocka_unit_test(test_auth_login_refused_at_the_password_is_err_auth),
        cmocka_unit_test(test_530_and_534_are_err_auth_and_454_is_refused),
        cmocka_unit_test(test_no_auth_without_a_password_or_when_not_offered),
        cmocka_unit_test(test_auth_without_plain_or_login_is_unsupported),
        cmocka_unit_test(test_helo_when_ehlo_is_refused),
        cmocka_unit_test(test_a_refused_greeting_is_err_refused),
        cmocka_unit_test(test_starttls_not_offered_is_err_conn),
        cmocka_unit_test(test_starttls_not_offered_after_helo_is_err_conn),
        cmocka_unit_test(test_starttls_refused_is_err_conn),
        cmocka_unit_test(test_bytes_after_the_starttls_reply_are_refused),
        cmocka_unit_test(test_starttls_upgrades_and_forgets_what_came_before),
        cmocka_unit_test(test_helo_after_starttls_keeps_nothing_from_before),
        cmocka_unit_test(test_starttls_to_an_untrusted_certificate_fails),
        cmocka_unit_test(test_implicit_tls),
        cmocka_unit_test(test_a_refused_recipient_sends_no_message),
        cmocka_unit_test(test_a_huge_refusal_text_is_shortened_in_the_list),
        cmocka_unit_test(
            test_size_over_the_servers_limit_is_refused_before_mail),
        cmocka_unit_test(test_size_at_the_servers_limit_is_sent),
        cmocka_unit_test(test_552_after_the_data_is_err_limit),
        cmocka_unit_test(test_452_to_mail_is_err_limit),
        cmocka_unit_test(
            test_a_refused_sender_is_err_refused_with_the_servers_text),
        cmocka_unit_test(test_a_refused_message_is_err_refused),
        cmocka_unit_test(test_a_refused_data_command_is_err_refused),
        cmocka_unit_test(test_421_ends_the_session_without_quit),
        cmocka_unit_test(test_a_server_closing_mid_data_is_err_conn),
        cmocka_unit_test(test_a_server_closing_instead_of_replying_is_err_conn),
        cmocka_unit_test(test_a_stalled_server_times_out),
        cmocka_unit_test(test_a_server_stalling_after_the_final_dot_times_out),
        cmocka_unit_test(test_no_server_is_err_conn),
        cmocka_unit_test(test_garbage_instead_of_a_greeting_is_err_proto),
        cmocka_unit_test(test_a_greeting_over_the_line_cap_is_err_proto),
        cmocka_unit_test(test_bytes_nobody_asked_for_are_err_proto),
        cmocka_unit_test(test_an_unexpected_reply_code_is_err_proto),
        cmocka_unit_test(test_a_reader_error_drops_the_message),
        cmocka_unit_test(test_injection_attempts_are_refused_before_connecting),
        cmocka_unit_test(
            test_bad_names_counts_and_lengths_are_refused_before_connecting),
        cmocka_unit_test(test_as_many_recipients_as_the_cap_go_out),
        cmocka_unit_test(test_non_ascii_addresses_need_smtputf8),
        cmocka_unit_test(test_result_clear_is_null_safe_and_repeatable),
    };

    return cmocka_run_group_tests_name("smtp_client", tests, group_setup,
                                       group_teardown);
}
