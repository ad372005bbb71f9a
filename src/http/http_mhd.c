/* http_mhd.c - the embedded HTTP(S) server (libmicrohttpd), one thread per
 * connection so a slow mail server stalls only its own request, and the
 * plain-HTTP listener that only redirects to HTTPS.
 * Layer: http. Trust: UNTRUSTED; URL, headers and body are capped. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <microhttpd.h>

#include "core/arena.h"
#include "core/cfg.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/http.h"
#include "http/http_tls.h"
#include "web/app.h"
#include "web/request.h"

/* What the callbacks of one daemon share. */
struct mhd_server {
    struct web_app *app;
    bool https;              /* the listener speaks TLS */
};

/* Per-connection-request state, born in the URI callback (the first thing
 * libmicrohttpd tells us) and freed in the completion callback. */
struct mhd_ctx {
    struct web_app *app;
    struct arena *arena;
    struct request req;
    struct response resp;
    struct err err;          /* set when the request is refused early */
    GString *body;           /* arena-deferred */
    size_t body_max;
    bool started;
    bool queued;
    unsigned long long sent;
    size_t discarded;        /* body bytes dropped after going over the cap */
};

static void
mhd_gstring_free(void *s)
{
    g_string_free(s, TRUE);
}

static void *
mhd_uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
    const struct mhd_server *srv = cls;
    struct web_app *app = srv->app;
    struct arena *arena = arena_new(0);
    struct mhd_ctx *ctx = arena_alloc(arena, sizeof(*ctx));
    const union MHD_ConnectionInfo *ci;
    char addr[INET6_ADDRSTRLEN] = "";

    ctx->app = app;
    ctx->arena = arena;
    request_init(&ctx->req, arena, app);
    response_init(&ctx->resp, arena);
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;

        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
                      addr, sizeof(addr));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6,
                      &((const struct sockaddr_in6 *)sa)->sin6_addr, addr,
                      sizeof(addr));
    }
    ctx->req.client_addr = arena_strdup(arena, addr);
    ctx->req.is_https = srv->https;
    /* the raw target, query included: the same parser as FastCGI uses */
    ctx->req.raw_uri = arena_strdup(arena, uri);
    return ctx;
}

static enum MHD_Result
mhd_header_cb(void *cls, enum MHD_ValueKind kind, const char *key,
              const char *value)
{
    struct mhd_ctx *ctx = cls;

    (void)kind;
    if (request_add_header(&ctx->req, key, value != NULL ? value : "",
                           ctx->app->cfg->max_header_bytes, &ctx->err) < 0)
        return MHD_NO; /* stop iterating */
    return MHD_YES;
}

static ssize_t
mhd_stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct mhd_ctx *ctx = cls;
    ssize_t n;

    (void)pos;
    n = ctx->resp.stream(ctx->resp.stream_ctx, buf, max);
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    ctx->sent += (unsigned long long)n;
    return n;
}

static enum MHD_Result
mhd_queue(struct MHD_Connection *conn, struct mhd_ctx *ctx)
{
    struct response *resp = &ctx->resp;
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (resp->stream != NULL) {
        r = MHD_create_response_from_callback(
            resp->stream_len >= 0 ? (uint64_t)resp->stream_len
                                  : MHD_SIZE_UNKNOWN,
            256 * 1024, mhd_stream_cb, ctx, NULL);
    } else {
        /* the body lives until the completion callback frees the arena */
        r = MHD_create_response_from_buffer(resp->body->len, resp->body->str,
                                            MHD_RESPMEM_PERSISTENT);
        if (strcmp(ctx->req.method, "HEAD") != 0)
            ctx->sent = resp->body->len;
    }
    if (r == NULL)
        return MHD_NO;
    for (size_t i = 0; i < resp->headers.n; i++)
        MHD_add_response_header(r, resp->headers.items[i].name,
                                resp->headers.items[i].value);
    ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    ctx->queued = true;
    return ret;
}

static enum MHD_Result
mhd_reject(struct MHD_Connection *conn, struct mhd_ctx *ctx)
{
    web_app_reject(ctx->app, &ctx->req, &ctx->resp, &ctx->err);
    /* the body may be half read: do not keep the connection */
    response_set_header(&ctx->resp, ctx->arena, "Connection", "close");
    return mhd_queue(conn, ctx);
}

static enum MHD_Result
mhd_first_call(struct MHD_Connection *conn, struct mhd_ctx *ctx,
               const char *method)
{
    const struct cfg *cfg = ctx->app->cfg;
    const char *cl, *ct;

    ctx->started = true;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, mhd_header_cb, ctx);
    if (ctx->err.kind != ERR_NONE ||
        request_set_uri(&ctx->req, method, ctx->req.raw_uri, &ctx->err) < 0)
        return mhd_reject(conn, ctx);

    ct = request_header(&ctx->req, "content-type");
    ctx->body_max = ct != NULL && g_str_has_prefix(ct, "multipart/form-data")
                        ? cfg->max_upload + cfg->max_body_bytes
                        : cfg->max_body_bytes;
    cl = request_header(&ctx->req, "content-length");
    if (cl != NULL && g_ascii_strtoull(cl, NULL, 10) > ctx->body_max) {
        err_set(&ctx->err, ERR_LIMIT, "Content-Length %s over %zu", cl,
                ctx->body_max);
        return mhd_reject(conn, ctx);
    }
    return MHD_YES;
}

static enum MHD_Result
mhd_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
              const char *method, const char *version,
              const char *upload_data, size_t *upload_data_size,
              void **req_cls)
{
    struct mhd_ctx *ctx = *req_cls;

    (void)cls;
    (void)url;
    (void)version;
    if (ctx == NULL)
        return MHD_NO; /* no URI callback ran: cannot happen */
    if (!ctx->started)
        return mhd_first_call(conn, ctx, method);
    if (ctx->queued) {
        *upload_data_size = 0; /* refused already: drain and drop */
        return MHD_YES;
    }
    if (ctx->err.kind != ERR_NONE) {
        /* A body without Content-Length went over the cap. libmicrohttpd
         * takes no response while it hands us upload data, so the rest is
         * read and dropped until the end, where the 413 goes out; a body
         * that goes on and on is cut off instead. */
        if (*upload_data_size == 0)
            return mhd_reject(conn, ctx);
        ctx->discarded += *upload_data_size;
        *upload_data_size = 0;
        return ctx->discarded > LIM_HTTP_DISCARD ? MHD_NO : MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (ctx->body == NULL) {
            ctx->body = g_string_sized_new(*upload_data_size);
            arena_defer(ctx->arena, mhd_gstring_free, ctx->body);
        }
        if (ctx->body->len + *upload_data_size > ctx->body_max) {
            err_set(&ctx->err, ERR_LIMIT, "body over %zu bytes",
                    ctx->body_max);
            ctx->discarded = *upload_data_size;
            *upload_data_size = 0;
            return MHD_YES;
        }
        g_string_append_len(ctx->body, upload_data,
                            (gssize)*upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (ctx->body != NULL) {
        ctx->req.body = (const unsigned char *)ctx->body->str;
        ctx->req.body_len = ctx->body->len;
    }
    web_app_handle(ctx->app, &ctx->req, &ctx->resp);
    return mhd_queue(conn, ctx);
}

static void
mhd_completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
                 enum MHD_RequestTerminationCode toe)
{
    struct mhd_ctx *ctx = *req_cls;
    struct arena *arena;

    (void)cls;
    (void)conn;
    if (ctx == NULL)
        return;
    if (ctx->queued)
        web_app_request_done(ctx->app, &ctx->req,
                             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
                                 ? ctx->resp.status
                                 : 499, /* the client went away */
                             ctx->sent);
    arena = ctx->arena;
    arena_free(&arena); /* ctx lives in it */
    *req_cls = NULL;
}

/* fmt comes from libmicrohttpd; the attribute lets clang check it as one */
ATTR_PRINTF(2, 0) static void
mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
    char buf[512];

    (void)cls;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    g_strchomp(buf);
    log_warn("http: %s", buf);
}

static int
mhd_resolve(const struct cfg *cfg, const char *key, const char *host,
            unsigned port, struct sockaddr_storage *ss, struct err *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char portstr[8];
    int rc;

    g_snprintf(portstr, sizeof(portstr), "%u", port);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        err_set(err, ERR_CONFIG, "%s: [postern] %s: %s: %s", cfg->path, key,
                host, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* ---- the redirecting listener (redirect_listen) ---------------------- */

/* The raw request target, kept from the URI callback to the answer. */
static void *
mhd_redirect_uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    return g_strdup(uri);
}

static void
mhd_redirect_completed_cb(void *cls, struct MHD_Connection *conn,
                          void **req_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    g_free(*req_cls);
    *req_cls = NULL;
}

/* The host part of a Host header ("name", "name:port", "[v6]:port"), in
 * host_out (size bytes), or false when it is not a plausible host. */
static bool
mhd_redirect_host(const char *hdr, char *host_out, size_t size)
{
    size_t n;

    if (hdr == NULL || hdr[0] == '\0')
        return false;
    if (hdr[0] == '[') {
        const char *close = strchr(hdr, ']');

        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return false;
        n = (size_t)(close - hdr) + 1;
        for (size_t i = 1; i + 1 < n; i++) {
            if (!g_ascii_isxdigit(hdr[i]) && hdr[i] != ':' && hdr[i] != '.')
                return false;
        }
    } else {
        n = strcspn(hdr, ":");
        for (size_t i = 0; i < n; i++) {
            if (!g_ascii_isalnum(hdr[i]) && hdr[i] != '-' && hdr[i] != '.')
                return false;
        }
    }
    if (n == 0 || n >= size)
        return false;
    memcpy(host_out, hdr, n);
    host_out[n] = '\0';
    return true;
}

static enum MHD_Result
mhd_redirect_answer(struct MHD_Connection *conn, unsigned status,
                    const char *location, const char *text)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                        MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (location != NULL)
        MHD_add_response_header(r, "Location", location);
    /* a body may follow; it is not read */
    MHD_add_response_header(r, "Connection", "close");
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Every request gets 301 (GET, HEAD) or 308 (the method kept) to the same
 * target on the HTTPS listener, under the host name the browser used. */
static enum MHD_Result
mhd_redirect_access_cb(void *cls, struct MHD_Connection *conn,
                       const char *url, const char *method,
                       const char *version, const char *upload_data,
                       size_t *upload_data_size, void **req_cls)
{
    const struct cfg *cfg = cls;
    const char *target = *req_cls;
    char host[256];
    char *location;
    enum MHD_Result ret;
    bool safe;

    (void)url;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    if (target == NULL || target[0] != '/' ||
        strlen(target) > LIM_HTTP_URL ||
        strpbrk(target, " \t\r\n\\") != NULL)
        return mhd_redirect_answer(conn, 400, NULL, "Bad request target.\n");
    if (!mhd_redirect_host(MHD_lookup_connection_value(conn,
                                                       MHD_HEADER_KIND,
                                                       "Host"),
                           host, sizeof(host)))
        return mhd_redirect_answer(conn, 400, NULL,
                                   "A Host header is needed.\n");
    safe = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    location = cfg->listen_port == 443
                   ? g_strdup_printf("https://%s%s", host, target)
                   : g_strdup_printf("https://%s:%u%s", host,
                                     cfg->listen_port, target);
    ret = mhd_redirect_answer(conn, safe ? 301 : 308, location,
                              "This site is served over HTTPS.\n");
    g_free(location);
    return ret;
}

static struct MHD_Daemon *
mhd_redirect_start(const struct cfg *cfg, struct err *err)
{
    struct sockaddr_storage ss = {0};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     MHD_USE_ITC;
    struct MHD_Daemon *d;

    if (mhd_resolve(cfg, "redirect_listen", cfg->redirect_host,
                    cfg->redirect_port, &ss, err) < 0)
        return NULL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    d = MHD_start_daemon(
        flags, (uint16_t)cfg->redirect_port, NULL, NULL,
        mhd_redirect_access_cb, (void *)cfg,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_URI_LOG_CALLBACK, mhd_redirect_uri_cb, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, mhd_redirect_completed_cb, NULL,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->client_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(cfg->max_header_bytes + 32 * 1024),
        MHD_OPTION_END);
    if (d == NULL)
        err_set(err, ERR_CONFIG, "%s: [postern] redirect_listen: cannot "
                "listen on %s:%u: %s", cfg->path, cfg->redirect_host,
                cfg->redirect_port,
                errno != 0 ? strerror(errno) : "libmicrohttpd refused");
    return d;
}

/* ---- start, run until a signal, stop --------------------------------- */

/* Stops accepting, lets the requests in flight end (bounded), stops. */
static void
mhd_stop(struct MHD_Daemon *d, gint64 deadline)
{
    const union MHD_DaemonInfo *info;
    MHD_socket fd;

    if (d == NULL)
        return;
    fd = MHD_quiesce_daemon(d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    while (g_get_monotonic_time() < deadline) {
        info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (info == NULL || info->num_connections == 0)
            break;
        g_usleep(20 * 1000);
    }
    MHD_stop_daemon(d);
}

int
http_mhd_run(struct web_app *app, struct err *err)
{
    const struct cfg *cfg = app->cfg;
    struct mhd_server srv = {.app = app};
    struct sockaddr_storage ss = {0};
    struct MHD_Daemon *d, *redirect = NULL;
    struct http_tls tls;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     MHD_USE_ITC;
    struct MHD_OptionItem tls_opts[4] = {{MHD_OPTION_END, 0, NULL}};
    sigset_t set;
    int sig;

    if (http_tls_load(cfg, &tls, err) < 0)
        return -1;
    if (tls.cert_pem != NULL) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            err_set(err, ERR_CONFIG, "%s: [postern] tls_cert: this "
                    "libmicrohttpd is built without TLS", cfg->path);
            http_tls_deinit(&tls);
            return -1;
        }
        srv.https = true;
        flags |= MHD_USE_TLS;
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                              tls.cert_pem};
        tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                              tls.key_pem};
        tls_opts[2] = (struct MHD_OptionItem){
            MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTP_TLS_PRIORITIES};
    }
    if (mhd_resolve(cfg, "listen", cfg->listen_host, cfg->listen_port, &ss,
                    err) < 0) {
        http_tls_deinit(&tls);
        return -1;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    d = MHD_start_daemon(
        flags, (uint16_t)cfg->listen_port, NULL, NULL, mhd_access_cb, &srv,
        /* first, so that every message of libmicrohttpd goes through it */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_URI_LOG_CALLBACK, mhd_uri_cb, &srv,
        MHD_OPTION_NOTIFY_COMPLETED, mhd_completed_cb, &srv,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->client_timeout,
        /* headers must fit in the connection's memory with room to spare
         * for the read buffer; request_add_header() enforces the cap */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(cfg->max_header_bytes + 32 * 1024),
        MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (d == NULL) {
        err_set(err, ERR_CONFIG, "cannot listen on %s:%u: %s",
                cfg->listen_host, cfg->listen_port,
                errno != 0 ? strerror(errno) : "libmicrohttpd refused");
        http_tls_deinit(&tls);
        return -1;
    }
    if (cfg->redirect_host != NULL) {
        redirect = mhd_redirect_start(cfg, err);
        if (redirect == NULL) {
            MHD_stop_daemon(d);
            http_tls_deinit(&tls);
            return -1;
        }
        log_info("postern serve: redirecting http://%s:%u to HTTPS",
                 cfg->redirect_host, cfg->redirect_port);
    }
    log_info("postern serve: listening on %s://%s:%u%s",
             srv.https ? "https" : "http", cfg->listen_host,
             cfg->listen_port, cfg->base_path);

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigwait(&set, &sig);
    log_info("signal %d: finishing requests in flight", sig);

    mhd_stop(redirect, g_get_monotonic_time());
    mhd_stop(d, g_get_monotonic_time() + 10 * G_USEC_PER_SEC);
    http_tls_deinit(&tls);
    return 0;
}
