/* http_env.c - one request over CGI meta-variables, for FastCGI and CGI.
 * Layer: http. Trust: UNTRUSTED; header size and body size are capped. */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "core/arena.h"
#include "core/cfg.h"
#include "web/app.h"
#include "web/request.h"
#include "http/http_env.h"

static const char *
env_get(char **envp, const char *name)
{
    size_t n = strlen(name);

    for (char **e = envp; *e != NULL; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    }
    return NULL;
}

/* HTTP_ACCEPT_LANGUAGE -> accept-language; CONTENT_TYPE and CONTENT_LENGTH
 * are headers too (RFC 3875 §4.1). */
static int
env_fill_headers(struct request *req, char **envp, size_t max_bytes,
                 struct err *err)
{
    for (char **e = envp; *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        const char *name = *e;
        char *hname;

        if (eq == NULL)
            continue;
        if (strncmp(name, "HTTP_", 5) == 0)
            name += 5;
        else if (strncmp(name, "CONTENT_TYPE=", 13) != 0 &&
                 strncmp(name, "CONTENT_LENGTH=", 15) != 0)
            continue;
        hname = arena_strndup(req->arena, name, (size_t)(eq - name));
        for (char *p = hname; *p; p++)
            *p = *p == '_' ? '-' : g_ascii_tolower(*p);
        if (request_add_header(req, hname, eq + 1, max_bytes, err) < 0)
            return -1;
    }
    return 0;
}

static int
env_read_body(struct request *req, const struct http_env_io *io,
              struct err *err)
{
    const char *cl = request_header(req, "content-length");
    const char *ct = request_header(req, "content-type");
    const struct cfg *cfg = req->app->cfg;
    size_t max = cfg->max_body_bytes;
    unsigned long long want;
    char *end, *buf;
    size_t got = 0;

    if (cl == NULL || cl[0] == '\0')
        return 0;
    if (ct != NULL && g_str_has_prefix(ct, "multipart/form-data"))
        /* the form around the files may add up to a urlencoded body's worth,
         * so an oversize attachment reaches the handler, which gives the
         * form back with everything else kept */
        max = cfg->max_upload + cfg->max_body_bytes;
    want = g_ascii_strtoull(cl, &end, 10);
    if (*end != '\0' || cl[0] < '0' || cl[0] > '9') {
        err_set(err, ERR_INPUT, "bad Content-Length");
        return -1;
    }
    if (want > max) {
        err_set(err, ERR_LIMIT, "body of %llu bytes (limit %zu)", want, max);
        return -1;
    }
    buf = arena_alloc(req->arena, (size_t)want + 1);
    while (got < want) {
        ssize_t n = io->read(io->read_ctx, buf + got, (size_t)want - got);

        if (n <= 0) {
            err_set(err, ERR_INPUT, "body ended after %zu of %llu bytes",
                    got, want);
            return -1;
        }
        got += (size_t)n;
    }
    req->body = (const unsigned char *)buf;
    req->body_len = got;
    return 0;
}

static const char *
env_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

static unsigned long long
env_write_response(struct request *req, struct response *resp,
                   const struct http_env_io *io)
{
    GString *head = g_string_sized_new(512);
    bool head_only = strcmp(req->method, "HEAD") == 0 || resp->status == 304;
    unsigned long long sent = 0;
    int rc;

    g_string_append_printf(head, "Status: %d %s\r\n", resp->status,
                           env_reason(resp->status));
    for (size_t i = 0; i < resp->headers.n; i++)
        g_string_append_printf(head, "%s: %s\r\n", resp->headers.items[i].name,
                               resp->headers.items[i].value);
    if (resp->stream == NULL && resp->status != 304)
        g_string_append_printf(head, "Content-Length: %zu\r\n",
                               resp->body->len);
    else if (resp->stream != NULL && resp->stream_len >= 0)
        g_string_append_printf(head, "Content-Length: %lld\r\n",
                               resp->stream_len);
    g_string_append(head, "\r\n");
    rc = io->write(io->write_ctx, head->str, head->len);
    g_string_free(head, TRUE);
    if (rc < 0 || head_only)
        return 0;
    if (resp->stream == NULL) {
        if (io->write(io->write_ctx, resp->body->str, resp->body->len) == 0)
            sent = resp->body->len;
        return sent;
    }
    for (;;) {
        char buf[64 * 1024];
        size_t max = sizeof(buf);
        ssize_t n;

        /* a promised size is what goes out: no byte more, and a stream
         * that ends short fails like one that breaks */
        if (resp->stream_len >= 0) {
            unsigned long long left = (unsigned long long)resp->stream_len -
                                      sent;

            if (left == 0)
                break;
            if (left < max)
                max = (size_t)left;
        }
        n = resp->stream(resp->stream_ctx, buf, max);
        if ((n < 0 || (n == 0 && resp->stream_len >= 0)) &&
            io->abort != NULL)
            io->abort(io->write_ctx);
        if (n <= 0 || io->write(io->write_ctx, buf, (size_t)n) < 0)
            break;
        sent += (unsigned long long)n;
    }
    return sent;
}

void
http_env_serve(struct web_app *app, const struct http_env_io *io)
{
    struct arena *arena = arena_new(0);
    struct request req;
    struct response resp;
    struct err err = {0};
    const char *method = env_get(io->envp, "REQUEST_METHOD");
    const char *uri = env_get(io->envp, "REQUEST_URI");
    const char *addr = env_get(io->envp, "REMOTE_ADDR");
    const char *https = env_get(io->envp, "HTTPS");
    unsigned long long sent;

    request_init(&req, arena, app);
    response_init(&resp, arena);
    req.client_addr = arena_strdup(arena, addr != NULL ? addr : "");
    req.is_https = https != NULL && (g_ascii_strcasecmp(https, "on") == 0 ||
                                     strcmp(https, "1") == 0);
    if (uri == NULL) {
        /* servers that send no REQUEST_URI: rebuild it (RFC 3875 §4.1) */
        const char *script = env_get(io->envp, "SCRIPT_NAME");
        const char *pinfo = env_get(io->envp, "PATH_INFO");
        const char *qs = env_get(io->envp, "QUERY_STRING");

        uri = arena_printf(arena, "%s%s%s%s", script ? script : "",
                           pinfo ? pinfo : "", qs && *qs ? "?" : "",
                           qs && *qs ? qs : "");
        if (uri[0] == '\0')
            uri = "/";
    }
    if (method == NULL || method[0] == '\0') {
        err_set(&err, ERR_INPUT, "no REQUEST_METHOD");
    } else if (request_set_uri(&req, method, uri, &err) == 0 &&
               env_fill_headers(&req, io->envp, app->cfg->max_header_bytes,
                                &err) == 0 &&
               env_read_body(&req, io, &err) == 0) {
        web_app_handle(app, &req, &resp);
    }
    if (err.kind != ERR_NONE)
        web_app_reject(app, &req, &resp, &err);
    sent = env_write_response(&req, &resp, io);
    web_app_request_done(app, &req, resp.status, sent);
    arena_free(&arena);
}
