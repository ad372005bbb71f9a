/* static.c - in-memory static files with strong ETags, gzip-coded once at
 * start-up, under URLs that carry a hash of their content.
 * Layer: web. Trust: the request names a file; only a table lookup follows. */
#include <string.h>

#include <glib.h>

#include "web/app.h"
#include "web/compress.h"
#include "web/static.h"

#define STATIC_MAX_FILES 256u
#define STATIC_MAX_FILE (4u * 1024 * 1024)

struct static_file {
    char *data;
    size_t len;
    const char *type;
    char etag[24]; /* "\"" + 16 hex + "\"" */
    GString *gz;   /* the gzip coding; NULL when it would not be smaller */
    char gz_etag[28];
};

struct web_static {
    GHashTable *files; /* name -> struct static_file */
    char version[WEB_STATIC_VERSION_LEN + 1];
};

static const struct {
    const char *suffix, *type;
} static_types[] = {
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
    {".woff2", "font/woff2"},
};

static void
static_file_free(gpointer p)
{
    struct static_file *f = p;

    g_free(f->data);
    if (f->gz != NULL)
        g_string_free(f->gz, TRUE);
    g_free(f);
}

static void
static_file_compress(struct static_file *f)
{
    struct err err = {0};

    if (!compress_type_is_text(f->type) || f->len < COMPRESS_MIN_BYTES)
        return;
    f->gz = g_string_new(NULL);
    if (compress_gzip(f->data, f->len, f->gz, &err) < 0 ||
        f->gz->len >= f->len) {
        g_string_free(f->gz, TRUE); /* served plain: still right */
        f->gz = NULL;
    }
}

/* A character that continues a name or a number (CSS Syntax §4.2). */
static bool
css_name_char(char c)
{
    return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '\\' ||
           (unsigned char)c >= 0x80;
}

/* Whether prev and next, with nothing between, would make one token of
 * what a comment kept as two: "a" "b", "1" "px", "1" ".5". */
static bool
css_would_join(char prev, char next)
{
    return css_name_char(prev) &&
           (css_name_char(next) || (next == '.' && g_ascii_isdigit(prev)));
}

/* "url(" at css[at] (any case, not inside a longer name) opening an
 * unquoted URL. */
static bool
css_unquoted_url_at(const char *css, size_t at, size_t len)
{
    size_t i = at + 4;

    if (len - at < 4 || g_ascii_strncasecmp(css + at, "url(", 4) != 0 ||
        (at > 0 && (g_ascii_isalnum(css[at - 1]) || css[at - 1] == '-' ||
                    css[at - 1] == '_')))
        return false;
    while (i < len && g_ascii_isspace(css[i]))
        i++;
    return i < len && css[i] != '"' && css[i] != '\'';
}

size_t
web_static_minify_css(char *css, size_t len)
{
    size_t in = 0, out = 0;
    char quote = '\0';

    while (in < len) {
        char c = css[in];

        if (quote != '\0') {
            if (c == '\\' && in + 1 < len)
                css[out++] = css[in++];
            else if (c == quote)
                quote = '\0';
            css[out++] = css[in++];
        } else if (c == '"' || c == '\'') {
            quote = c;
            css[out++] = css[in++];
        } else if (css_unquoted_url_at(css, in, len)) {
            /* an unquoted url( ... ) is one token, comment marks and all
             * (CSS Syntax §4.3.6) */
            while (in < len && css[in] != ')')
                css[out++] = css[in++];
        } else if (c == '/' && in + 1 < len && css[in + 1] == '*') {
            const char *end = g_strstr_len(css + in + 2,
                                           (gssize)(len - in - 2), "*/");

            /* an unterminated comment runs to the end (CSS Syntax §4.3.2) */
            in = end != NULL ? (size_t)(end - css) + 2 : len;
            if (in < len && css[in] == '\n' &&
                (out == 0 || css[out - 1] == '\n')) {
                in++; /* a comment's own line goes with it */
            } else if (out > 0 && in < len &&
                       css_would_join(css[out - 1], css[in])) {
                /* it kept two tokens apart ("1px", comment, "2px"): an
                 * empty comment does the same; a space could mean more
                 * (a descendant selector) */
                memcpy(css + out, "/**/", 4);
                out += 4;
            }
        } else if (c == '\n' &&
                   (out == 0 || memchr("{};", css[out - 1], 3) != NULL)) {
            in++; /* after a delimiter a line break separates nothing */
        } else {
            css[out++] = css[in++];
        }
    }
    return out;
}

static gint
static_name_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(a, b);
}

/* SHA-256 over every name and content hash, in name order: any change to
 * any file (or a file more or less) gives a new version. */
static void
static_version(struct web_static *st)
{
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    GList *names = g_list_sort(g_hash_table_get_keys(st->files),
                               static_name_cmp);

    for (GList *l = names; l != NULL; l = l->next) {
        const char *name = l->data;
        const struct static_file *f = g_hash_table_lookup(st->files, name);

        g_checksum_update(sum, (const guchar *)name, (gssize)strlen(name) + 1);
        g_checksum_update(sum, (const guchar *)f->etag,
                          (gssize)strlen(f->etag) + 1);
    }
    g_snprintf(st->version, sizeof(st->version), "%s",
               g_checksum_get_string(sum));
    g_list_free(names);
    g_checksum_free(sum);
}

const char *
web_static_version(const struct web_static *st)
{
    return st->version;
}

struct web_static *
web_static_load(const char *dir, struct err *err)
{
    struct web_static *st = g_new0(struct web_static, 1);
    GError *gerr = NULL;
    GDir *d = g_dir_open(dir, 0, &gerr);
    const char *entry;

    st->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      static_file_free);
    if (d == NULL) {
        err_set(err, ERR_CONFIG, "static files: %s", gerr->message);
        g_error_free(gerr);
        web_static_free(&st);
        return NULL;
    }
    while ((entry = g_dir_read_name(d)) != NULL) {
        char *path = g_build_filename(dir, entry, NULL);
        struct static_file *f;
        gchar *sum;
        gsize len;

        if (!g_file_test(path, G_FILE_TEST_IS_REGULAR) || entry[0] == '.') {
            g_free(path);
            continue;
        }
        if (g_hash_table_size(st->files) >= STATIC_MAX_FILES) {
            err_set(err, ERR_CONFIG, "%s: more than %u static files", dir,
                    STATIC_MAX_FILES);
            g_free(path);
            break;
        }
        f = g_new0(struct static_file, 1);
        if (!g_file_get_contents(path, &f->data, &len, &gerr)) {
            err_set(err, ERR_CONFIG, "%s: %s", path, gerr->message);
            g_error_free(gerr);
            static_file_free(f);
            g_free(path);
            break;
        }
        g_free(path);
        if (len > STATIC_MAX_FILE) {
            err_set(err, ERR_CONFIG, "%s/%s: larger than %u bytes", dir,
                    entry, STATIC_MAX_FILE);
            static_file_free(f);
            break;
        }
        f->type = "application/octet-stream";
        for (size_t i = 0; i < N_ELEMENTS(static_types); i++) {
            if (g_str_has_suffix(entry, static_types[i].suffix))
                f->type = static_types[i].type;
        }
        if (g_str_has_suffix(entry, ".css")) {
            len = web_static_minify_css(f->data, len);
            f->data[len] = '\0';
        }
        f->len = len;
        sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                          (const guchar *)f->data, len);
        g_snprintf(f->etag, sizeof(f->etag), "\"%.16s\"", sum);
        /* a different coding is a different representation (RFC 9110
         * §8.8.3): its own strong tag */
        g_snprintf(f->gz_etag, sizeof(f->gz_etag), "\"%.16s-gz\"", sum);
        g_free(sum);
        static_file_compress(f);
        g_hash_table_insert(st->files, g_strdup(entry), f);
    }
    g_dir_close(d);
    if (err != NULL && err->kind != ERR_NONE) {
        web_static_free(&st);
        return NULL;
    }
    static_version(st);
    return st;
}

void
web_static_free(struct web_static **stp)
{
    struct web_static *st = *stp;

    if (st == NULL)
        return;
    g_hash_table_destroy(st->files);
    g_free(st);
    *stp = NULL;
}

/* RFC 9110 §13.1.2: a list of entity tags, or "*". */
static bool
static_etag_matches(const char *if_none_match, const char *etag)
{
    const char *p = if_none_match;
    size_t elen = strlen(etag);

    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, elen) == 0 &&
            (p[elen] == '\0' || p[elen] == ',' || p[elen] == ' '))
            return true;
        while (*p != '\0' && *p != ',')
            p++;
    }
    return false;
}

int
web_static_serve(const struct web_static *st, struct request *req,
                 struct response *resp, const char *name, bool versioned,
                 struct err *err)
{
    const struct static_file *f = g_hash_table_lookup(st->files, name);
    const char *inm = request_header(req, "if-none-match");
    bool gz;

    if (f == NULL) {
        err_set(err, ERR_NOT_FOUND, "no static file %s", name);
        return -1;
    }
    gz = f->gz != NULL && req->app->cfg->compress &&
         compress_accepts_gzip(request_header(req, "accept-encoding"));
    response_set_header(resp, req->arena, "ETag", gz ? f->gz_etag : f->etag);
    /* the URL names this very content: it never changes under it */
    response_set_header(resp, req->arena, "Cache-Control",
                        versioned ? "public, max-age=31536000, immutable"
                                  : "public, max-age=3600");
    if (compress_type_is_text(f->type))
        response_set_header(resp, req->arena, "Vary", "Accept-Encoding");
    if (inm != NULL && static_etag_matches(inm, gz ? f->gz_etag : f->etag)) {
        resp->status = 304;
        return 0;
    }
    response_set_header(resp, req->arena, "Content-Type", f->type);
    /* for HEAD the front end sends the length and drops the body */
    if (gz) {
        response_set_header(resp, req->arena, "Content-Encoding", "gzip");
        g_string_append_len(resp->body, f->gz->str, (gssize)f->gz->len);
    } else {
        g_string_append_len(resp->body, f->data, (gssize)f->len);
    }
    return 0;
}
