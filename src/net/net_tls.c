/* net_tls.c - cached OpenSSL client contexts and the MSG_NOSIGNAL socket BIO.
 * Layer: net. Trust: CA files are operator input; errors name the file. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <glib.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "net/net_tls.h"

/* One lock for the whole cache: contexts are made rarely (once per CA file
 * per process) and reading a CA bundle while holding it keeps two threads
 * from building the same context twice. Lookups hold it only briefly.
 * A pthread mutex, statically initialized, that ThreadSanitizer understands
 * (it does not see inside GMutex). */
static pthread_mutex_t net_tls_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *net_tls_system_ctx;   /* ca_file == NULL */
static GHashTable *net_tls_file_ctxs; /* ca_file -> SSL_CTX * */
static BIO_METHOD *net_tls_bio_method;

/* ------------------------------------------------------------------ */
/* Contexts                                                            */
/* ------------------------------------------------------------------ */

/* The last OpenSSL reason on this thread's error queue, or fallback. The
 * queue is emptied either way, so later calls start clean. */
static const char *
net_tls_reason(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

    ERR_clear_error();
    return r != NULL ? r : fallback;
}

static void
net_tls_ctx_free_value(gpointer p)
{
    SSL_CTX_free(p);
}

/* Loads ca_file into ctx, or says precisely why not. stat() first: OpenSSL's
 * own message for a missing file is a bare "system lib". */
static int
net_tls_ctx_load_file(SSL_CTX *ctx, const char *ca_file, struct err *err)
{
    struct stat st;
    int n_objs;

    if (stat(ca_file, &st) < 0) {
        err_set(err, ERR_CONFIG, "CA file %s: %s", ca_file, g_strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        err_set(err, ERR_CONFIG, "CA file %s: not a regular file", ca_file);
        return -1;
    }
    ERR_clear_error();
    if (SSL_CTX_load_verify_file(ctx, ca_file) != 1) {
        err_set(err, ERR_CONFIG, "CA file %s: %s", ca_file,
                net_tls_reason("cannot be loaded"));
        return -1;
    }
    /* A file OpenSSL read without complaint may still hold nothing usable;
     * every verification would then fail with a confusing reason. */
    n_objs = sk_X509_OBJECT_num(
        X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx)));
    if (n_objs <= 0) {
        err_set(err, ERR_CONFIG, "CA file %s: holds no certificate", ca_file);
        return -1;
    }
    return 0;
}

static SSL_CTX *
net_tls_ctx_create(const char *ca_file, struct err *err)
{
    SSL_CTX *ctx;

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        err_set(err, ERR_INTERNAL, "TLS context: %s",
                net_tls_reason("SSL_CTX_new failed"));
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        err_set(err, ERR_INTERNAL, "TLS context: cannot require TLS 1.2: %s",
                net_tls_reason("unknown reason"));
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* write_all keeps calling SSL_write with what is left; partial writes
     * let it count progress record by record. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (ca_file != NULL) {
        if (net_tls_ctx_load_file(ctx, ca_file, err) < 0) {
            SSL_CTX_free(ctx);
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        err_set(err, ERR_CONFIG, "system CA store: %s",
                net_tls_reason("cannot be loaded"));
        SSL_CTX_free(ctx);
        return NULL;
    }
    ERR_clear_error();
    return ctx;
}

SSL_CTX *
net_tls_ctx_get(const char *ca_file, struct err *err)
{
    SSL_CTX *ctx;

    pthread_mutex_lock(&net_tls_lock);
    if (ca_file == NULL) {
        if (net_tls_system_ctx == NULL)
            net_tls_system_ctx = net_tls_ctx_create(NULL, err);
        ctx = net_tls_system_ctx;
    } else {
        if (net_tls_file_ctxs == NULL)
            net_tls_file_ctxs = g_hash_table_new_full(
                g_str_hash, g_str_equal, g_free, net_tls_ctx_free_value);
        ctx = g_hash_table_lookup(net_tls_file_ctxs, ca_file);
        if (ctx == NULL) {
            ctx = net_tls_ctx_create(ca_file, err);
            if (ctx != NULL)
                g_hash_table_insert(net_tls_file_ctxs, g_strdup(ca_file), ctx);
        }
    }
    pthread_mutex_unlock(&net_tls_lock);
    return ctx;
}

/* ------------------------------------------------------------------ */
/* Socket BIO                                                          */
/* ------------------------------------------------------------------ */

/* OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE when
 * the peer has gone. This one sends with MSG_NOSIGNAL, so a closed server
 * is an error return and never a signal, whatever the process does with
 * SIGPIPE. The fd lives in the BIO's data pointer. */

static int
net_tls_bio_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int
net_tls_bio_write(BIO *b, const char *data, int len)
{
    ssize_t n;

    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    n = send(net_tls_bio_fd(b), data, (size_t)len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(b);
    return (int)n;
}

static int
net_tls_bio_read(BIO *b, char *buf, int len)
{
    ssize_t n;

    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    n = recv(net_tls_bio_fd(b), buf, (size_t)len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_read(b);
    else if (n == 0)
        BIO_set_flags(b, BIO_FLAGS_IN_EOF);
    return (int)n;
}

static int
net_tls_bio_puts(BIO *b, const char *s)
{
    size_t len = strlen(s);

    return net_tls_bio_write(b, s, len > INT32_MAX ? INT32_MAX : (int)len);
}

static long
net_tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    switch (cmd) {
    case BIO_CTRL_FLUSH: /* nothing is buffered here */
    case BIO_CTRL_DUP:
        return 1;
    case BIO_CTRL_EOF: /* SSL tells a truncated stream by this */
        return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    case BIO_C_GET_FD:
        if (ptr != NULL)
            *(int *)ptr = net_tls_bio_fd(b);
        return net_tls_bio_fd(b);
    default: /* anything else (kTLS, datagram, ...) is unsupported: 0 */
        return 0;
    }
}

static int
net_tls_bio_destroy(BIO *b)
{
    /* the fd belongs to net_conn, which closes it */
    BIO_set_data(b, NULL);
    BIO_set_init(b, 0);
    return 1;
}

BIO *
net_tls_bio_new(int fd)
{
    BIO *b;

    pthread_mutex_lock(&net_tls_lock);
    if (net_tls_bio_method == NULL) {
        BIO_METHOD *m = BIO_meth_new(
            BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
            "postern socket");
        bool ok = m != NULL && BIO_meth_set_write(m, net_tls_bio_write) == 1 &&
                  BIO_meth_set_read(m, net_tls_bio_read) == 1 &&
                  BIO_meth_set_puts(m, net_tls_bio_puts) == 1 &&
                  BIO_meth_set_ctrl(m, net_tls_bio_ctrl) == 1 &&
                  BIO_meth_set_destroy(m, net_tls_bio_destroy) == 1;

        xassert(ok); /* only fails on OOM */
        net_tls_bio_method = m;
    }
    b = BIO_new(net_tls_bio_method);
    pthread_mutex_unlock(&net_tls_lock);
    xassert(b != NULL);
    BIO_set_data(b, (void *)(intptr_t)fd);
    BIO_set_init(b, 1);
    return b;
}

void
net_tls_cleanup(void)
{
    pthread_mutex_lock(&net_tls_lock);
    SSL_CTX_free(net_tls_system_ctx);
    net_tls_system_ctx = NULL;
    if (net_tls_file_ctxs != NULL)
        g_hash_table_destroy(net_tls_file_ctxs);
    net_tls_file_ctxs = NULL;
    BIO_meth_free(net_tls_bio_method);
    net_tls_bio_method = NULL;
    pthread_mutex_unlock(&net_tls_lock);
}
