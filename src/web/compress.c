/* compress.c - gzip for response bodies held in memory (pages, JSON,
 * static files). Streamed bodies (attachments, sources) are left alone.
 * Layer: web. Trust: Accept-Encoding is UNTRUSTED. */
#include <string.h>

#include <glib.h>
#include <zlib.h>

#include "web/app.h"
#include "web/compress.h"

/* RFC 9110 §12.4.2: q = 0 [ "." 0*3("0") ] means "not acceptable". */
static bool
compress_q_is_zero(const char *params)
{
    const char *q = params;

    while ((q = strchr(q, ';')) != NULL) {
        q++;
        while (*q == ' ' || *q == '\t')
            q++;
        if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
            const char *v = q + 2;

            if (*v != '0')
                return false;
            v++;
            if (*v == '.')
                for (v++; *v == '0'; v++)
                    ;
            while (*v == ' ' || *v == '\t')
                v++;
            return *v == '\0' || *v == ';';
        }
    }
    return false;
}

bool
compress_accepts_gzip(const char *accept_encoding)
{
    int gzip = -1, star = -1; /* -1 unmentioned, 0 refused, 1 accepted */
    char **items;

    if (accept_encoding == NULL)
        return false;
    items = g_strsplit(accept_encoding, ",", 64);
    for (char **it = items; *it != NULL; it++) {
        char *item = g_strstrip(*it);
        size_t n = strcspn(item, "; \t");
        int ok = compress_q_is_zero(item + n) ? 0 : 1;

        if ((n == 4 && g_ascii_strncasecmp(item, "gzip", 4) == 0) ||
            (n == 6 && g_ascii_strncasecmp(item, "x-gzip", 6) == 0))
            gzip = gzip == 0 ? 0 : ok; /* a refusal sticks */
        else if (n == 1 && item[0] == '*')
            star = ok;
    }
    g_strfreev(items);
    return gzip >= 0 ? gzip == 1 : star == 1;
}

bool
compress_type_is_text(const char *ct)
{
    static const char *const types[] = {
        "text/html",        "text/css",
        "text/javascript",  "text/plain",
        "application/json", "application/javascript",
        "image/svg+xml",    "application/manifest+json",
    };
    size_t n;

    if (ct == NULL)
        return false;
    n = strcspn(ct, "; \t");
    for (size_t i = 0; i < N_ELEMENTS(types); i++) {
        if (strlen(types[i]) == n && g_ascii_strncasecmp(ct, types[i], n) == 0)
            return true;
    }
    return false;
}

int
compress_gzip(const void *in, size_t len, GString *out, struct err *err)
{
    z_stream z = {0};
    size_t start = out->len;
    uLong bound;
    int rc;

    /* windowBits 15 + 16: a gzip header and trailer, not zlib's */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        err_set(err, ERR_INTERNAL, "deflateInit2 failed");
        return -1;
    }
    bound = deflateBound(&z, (uLong)len);
    g_string_set_size(out, start + bound);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->str + start;
    z.avail_out = (uInt)bound;
    /* the bound holds the whole output, so one call finishes */
    rc = deflate(&z, Z_FINISH);
    g_string_set_size(out, start + z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        g_string_set_size(out, start);
        err_set(err, ERR_INTERNAL, "deflate: %d", rc);
        return -1;
    }
    return 0;
}

static void
compress_gstring_free(void *s)
{
    g_string_free(s, TRUE);
}

void
compress_response(const struct request *req, struct response *resp)
{
    const char *ct = response_header(resp, "Content-Type");
    struct err err = {0};
    GString *gz;

    if (!compress_type_is_text(ct))
        return;
    if (response_header(resp, "Vary") == NULL)
        response_set_header(resp, req->arena, "Vary", "Accept-Encoding");
    if (!req->app->cfg->compress || resp->stream != NULL ||
        resp->body == NULL || resp->body->len < COMPRESS_MIN_BYTES ||
        resp->status == 204 || resp->status == 304 ||
        response_header(resp, "Content-Encoding") != NULL ||
        !compress_accepts_gzip(request_header(req, "accept-encoding")))
        return;
    xassert(resp->body->len < G_MAXUINT); /* bodies in memory are capped */
    gz = g_string_sized_new(resp->body->len / 3 + 64);
    if (compress_gzip(resp->body->str, resp->body->len, gz, &err) < 0) {
        g_string_free(gz, TRUE);
        return; /* zlib out of memory: the plain body is still right */
    }
    arena_defer(req->arena, compress_gstring_free, gz);
    resp->body = gz; /* the old body stays deferred in the arena too */
    response_set_header(resp, req->arena, "Content-Encoding", "gzip");
}
