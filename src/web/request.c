/* request.c - filling and reading struct request / struct response.
 * Layer: web. Trust: UNTRUSTED; URL, header and cookie sizes are capped. */
#include <string.h>

#include <glib.h>

#include "core/limits.h"
#include "store/store.h"
#include "web/app.h"
#include "web/form.h"
#include "web/request.h"

void
kv_list_add(struct arena *a, struct kv_list *list, const char *name,
            const char *value, size_t value_len)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 8;
        struct kv *items = arena_alloc(a, cap * sizeof(*items));

        if (list->n > 0)
            memcpy(items, list->items, list->n * sizeof(*items));
        list->items = items;
        list->cap = cap;
    }
    list->items[list->n].name = name;
    list->items[list->n].value = value;
    list->items[list->n].value_len = value_len;
    list->n++;
}

const char *
kv_list_get(const struct kv_list *list, const char *name)
{
    for (size_t i = 0; i < list->n; i++) {
        if (strcmp(list->items[i].name, name) == 0)
            return list->items[i].value;
    }
    return NULL;
}

void
request_init(struct request *req, struct arena *arena,
             const struct web_app *app)
{
    memset(req, 0, sizeof(*req));
    req->arena = arena;
    req->app = app;
    req->start_us = g_get_monotonic_time();
    req->method = "GET";
    req->raw_uri = "/";
    req->path = "/";
    req->client_addr = "";
}

int
request_set_uri(struct request *req, const char *method, const char *raw_uri,
                struct err *err)
{
    const char *base = req->app != NULL ? web_app_base_path(req->app) : "/";
    size_t base_len = strlen(base);
    size_t len = strlen(raw_uri);
    const char *q = strchr(raw_uri, '?');
    size_t path_len = q != NULL ? (size_t)(q - raw_uri) : len;
    char *path;
    size_t decoded_len;

    req->query = (struct kv_list){0};
    req->method = arena_strdup(req->arena, method);
    req->raw_uri = arena_strdup(req->arena, raw_uri);
    if (len > LIM_HTTP_URL) {
        err_set(err, ERR_LIMIT, "URL of %zu bytes (limit %u)", len,
                LIM_HTTP_URL);
        return -1;
    }
    if (raw_uri[0] != '/') {
        err_set(err, ERR_INPUT, "request target is not an absolute path");
        return -1;
    }
    /* A fragment never reaches a server; a '#' here is a broken client. */
    if (memchr(raw_uri, '#', len) != NULL) {
        err_set(err, ERR_INPUT, "'#' in request target");
        return -1;
    }
    if (form_decode(req->arena, raw_uri, path_len, false, &path,
                    &decoded_len, err) < 0)
        return -1;
    /* "/webmail" reaches the base "/webmail/" too */
    if (strncmp(path, base, base_len) == 0) {
        path += base_len - 1;
    } else if (decoded_len == base_len - 1 &&
               strncmp(path, base, base_len - 1) == 0) {
        path = arena_strdup(req->arena, "/");
    } else {
        err_set(err, ERR_NOT_FOUND, "path outside base %s", base);
        return -1;
    }
    req->path = path;
    if (q != NULL && form_parse_urlencoded(req->arena, q + 1,
                                           len - path_len - 1, &req->query,
                                           err) < 0)
        return -1;
    return 0;
}

int
request_add_header(struct request *req, const char *name, const char *value,
                   size_t max_bytes, struct err *err)
{
    size_t nlen = strlen(name), vlen = strlen(value);
    char *lname;

    req->header_bytes += nlen + vlen + 4; /* ": " and CRLF, as on the wire */
    if (req->header_bytes > max_bytes) {
        err_set(err, ERR_LIMIT, "request headers over %zu bytes", max_bytes);
        return -1;
    }
    if (req->headers.n >= LIM_HTTP_HEADER_COUNT) {
        err_set(err, ERR_LIMIT, "more than %u request headers",
                LIM_HTTP_HEADER_COUNT);
        return -1;
    }
    lname = arena_strndup(req->arena, name, nlen);
    for (char *p = lname; *p; p++)
        *p = g_ascii_tolower(*p);
    kv_list_add(req->arena, &req->headers, lname,
                arena_strndup(req->arena, value, vlen), vlen);
    return 0;
}

const char *
request_header(const struct request *req, const char *name)
{
    return kv_list_get(&req->headers, name);
}

const char *
request_query(const struct request *req, const char *name)
{
    return kv_list_get(&req->query, name);
}

/* RFC 6265 §4.2: "a=b; c=d". Values are taken as sent (no decoding); a
 * malformed pair is skipped, not fatal: other sites' cookies are not ours
 * to judge. */
static void
request_parse_cookies(struct request *req)
{
    const char *h;

    req->cookies_parsed = true;
    for (size_t i = 0; i < req->headers.n; i++) {
        if (strcmp(req->headers.items[i].name, "cookie") != 0)
            continue;
        h = req->headers.items[i].value;
        while (*h != '\0' && req->cookies.n < LIM_COOKIES) {
            const char *end = strchr(h, ';');
            size_t n = end != NULL ? (size_t)(end - h) : strlen(h);
            const char *eq = memchr(h, '=', n);

            while (n > 0 && (*h == ' ' || *h == '\t'))
                h++, n--, eq = memchr(h, '=', n);
            if (eq != NULL && eq > h) {
                size_t nlen = (size_t)(eq - h);
                size_t vlen = n - nlen - 1;

                while (nlen > 0 && h[nlen - 1] == ' ')
                    nlen--;
                kv_list_add(req->arena, &req->cookies,
                            arena_strndup(req->arena, h, nlen),
                            arena_strndup(req->arena, eq + 1, vlen), vlen);
            }
            h += n;
            if (*h == ';')
                h++;
        }
    }
}

const char *
request_cookie(struct request *req, const char *name)
{
    if (!req->cookies_parsed)
        request_parse_cookies(req);
    return kv_list_get(&req->cookies, name);
}

int
request_parse_form(struct request *req, struct err *err)
{
    const char *ct = request_header(req, "content-type");

    if (req->form_parsed)
        return 0;
    req->form_parsed = true;
    if (req->body_len == 0)
        return 0;
    if (ct == NULL ||
        g_ascii_strncasecmp(ct, "application/x-www-form-urlencoded",
                            strlen("application/x-www-form-urlencoded")) !=
            0) {
        err_set(err, ERR_INPUT, "form body of type %s",
                ct != NULL ? ct : "(none)");
        return -1;
    }
    return form_parse_urlencoded(req->arena, (const char *)req->body,
                                 req->body_len, &req->form, err);
}

const char *
request_form_get(const struct request *req, const char *name)
{
    return kv_list_get(&req->form, name);
}

int
request_param_uint(const struct request *req, const char *name,
                   unsigned dflt, unsigned min, unsigned max, unsigned *out,
                   struct err *err)
{
    const char *v = request_query(req, name);
    guint64 n;
    char *end;

    if (v == NULL || *v == '\0') {
        *out = dflt;
        return 0;
    }
    if (!g_ascii_isdigit(v[0]) || strlen(v) > 10)
        goto bad;
    n = g_ascii_strtoull(v, &end, 10);
    if (*end != '\0' || n < min)
        goto bad;
    /* past the maximum is clamped: "page 99999999" means the last page */
    *out = n > max ? max : (unsigned)n;
    return 0;
bad:
    err_set(err, ERR_INPUT, "parameter %s is not a number from %u", name,
            min);
    return -1;
}

int
request_param_id(const struct request *req, const char *name,
                 const char **out, struct err *err)
{
    const char *v = request_query(req, name);

    if (!store_id_is_valid(v)) {
        err_set(err, ERR_INPUT, "parameter %s is not a message id", name);
        return -1;
    }
    *out = v;
    return 0;
}

int
request_param_bool(const struct request *req, const char *name, bool *out,
                   struct err *err)
{
    const char *v = request_query(req, name);

    *out = false;
    if (v == NULL || *v == '\0' || strcmp(v, "0") == 0)
        return 0;
    if (strcmp(v, "1") == 0) {
        *out = true;
        return 0;
    }
    err_set(err, ERR_INPUT, "parameter %s is not 0 or 1", name);
    return -1;
}

static bool
request_text_ok(const char *v, size_t max)
{
    if (strlen(v) > max || !g_utf8_validate(v, -1, NULL))
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

int
request_param_folder(const struct request *req, const char *name,
                     const char **out, struct err *err)
{
    const char *v = request_query(req, name);

    if (v == NULL || *v == '\0') {
        err_set(err, ERR_INPUT, "parameter %s (a folder) is missing", name);
        return -1;
    }
    if (!request_text_ok(v, 1000)) {
        err_set(err, ERR_INPUT, "parameter %s is not a folder name", name);
        return -1;
    }
    *out = v;
    return 0;
}

int
request_param_text(const struct request *req, const char *name, size_t max,
                   const char **out, struct err *err)
{
    const char *v = request_query(req, name);

    *out = NULL;
    if (v == NULL || *v == '\0')
        return 0;
    if (strlen(v) > max) {
        err_set(err, ERR_LIMIT, "parameter %s over %zu bytes", name, max);
        return -1;
    }
    if (!request_text_ok(v, max)) {
        err_set(err, ERR_INPUT, "parameter %s is not text", name);
        return -1;
    }
    *out = v;
    return 0;
}

bool
request_wants_json(const struct request *req)
{
    const char *fmt = request_query(req, "format");
    const char *accept = request_header(req, "accept");

    if (fmt != NULL)
        return strcmp(fmt, "json") == 0;
    if (accept == NULL)
        return false;
    /* A browser's Accept lists text/html first; only a client that names
     * JSON and not HTML gets JSON. */
    return strstr(accept, "application/json") != NULL &&
           strstr(accept, "text/html") == NULL;
}

static void
request_gstring_free(void *s)
{
    g_string_free(s, TRUE);
}

void
response_init(struct response *resp, struct arena *arena)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;
    resp->body = g_string_sized_new(1024);
    arena_defer(arena, request_gstring_free, resp->body);
    resp->stream_len = -1;
}

void
response_set_header(struct response *resp, struct arena *a, const char *name,
                    const char *value)
{
    xassert(strpbrk(value, "\r\n") == NULL);
    for (size_t i = 0; i < resp->headers.n; i++) {
        if (g_ascii_strcasecmp(resp->headers.items[i].name, name) == 0) {
            resp->headers.items[i].value = arena_strdup(a, value);
            resp->headers.items[i].value_len = strlen(value);
            return;
        }
    }
    kv_list_add(a, &resp->headers, arena_strdup(a, name),
                arena_strdup(a, value), strlen(value));
}

const char *
response_header(const struct response *resp, const char *name)
{
    for (size_t i = 0; i < resp->headers.n; i++) {
        if (g_ascii_strcasecmp(resp->headers.items[i].name, name) == 0)
            return resp->headers.items[i].value;
    }
    return NULL;
}
