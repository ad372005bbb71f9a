/* form_multipart.c - RFC 7578 form data: a delimiter scanner over the body in
 * memory, GMime for the header values, files spooled to private temp files.
 * Layer: web. Trust: UNTRUSTED; every count and size checked before use. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "core/limits.h"
#include "mime/mime_decode.h"
#include "web/form_multipart.h"

/*
 * Why the framing is scanned here and not by g_mime_parser: the body is
 * already one buffer, so finding "CRLF--boundary" with memmem() costs no
 * copy and no allocation per part, the part count is checked before a part
 * is touched, and a missing close delimiter is an error we see, not a
 * parser warning. GMime's parser would need the body copied (or a custom
 * stream class), builds an object tree for every part before any count can
 * be checked (about 150 MB of objects for a 1 MB body of empty parts,
 * measured with GMime 3.2), only warns about truncation, and keeps a stray
 * CR on the last part when the close delimiter ends the body without CRLF.
 * What is subtle in a part - Content-Disposition and Content-Type with
 * their quoting, RFC 2231 and RFC 2047 - is left to GMime and to
 * mime_param_filename().
 */

#define SPOOL_TEMPLATE "postern-upload-XXXXXX"
#define BOUNDARY_MAX 70u    /* RFC 2046 §5.1.1 */
#define NAME_IN_MESSAGE 60u /* bytes of a name quoted in an error */

/* ---------------------------------------------------------------------
 * Messages a person can act on
 */

/* "512 bytes", "40 KB", "3.5 MB", "31 MB" (binary units, the way file
 * managers round them). */
static void
size_text(uint64_t n, char *buf, size_t size)
{
    const double kib = 1024.0, mib = 1024.0 * 1024.0;

    if (n < 1024)
        snprintf(buf, size, "%" PRIu64 " bytes", n);
    else if (n < 1024 * 1024)
        snprintf(buf, size, "%.0f KB", (double)n / kib);
    else if (n < 10 * 1024 * 1024)
        snprintf(buf, size, "%.1f MB", (double)n / mib);
    else
        snprintf(buf, size, "%.0f MB", (double)n / mib);
}

/* Fills have and limit; when rounding would make them read the same ("25 MB;
 * the limit is 25 MB") both are given in bytes. */
static void
size_pair_text(uint64_t have, uint64_t limit, char *have_buf, char *limit_buf,
               size_t size)
{
    size_text(have, have_buf, size);
    size_text(limit, limit_buf, size);
    if (strcmp(have_buf, limit_buf) == 0) {
        snprintf(have_buf, size, "%" PRIu64 " bytes", have);
        snprintf(limit_buf, size, "%" PRIu64 " bytes", limit);
    }
}

/* A name short enough to quote in an error message, cut at a character
 * boundary. */
static const char *
name_for_message(struct arena *a, const char *name)
{
    size_t n = strlen(name);

    if (n <= NAME_IN_MESSAGE)
        return name;
    n = NAME_IN_MESSAGE;
    while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
        n--;
    return arena_printf(a, "%.*s...", (int)n, name);
}

/* ---------------------------------------------------------------------
 * The boundary and the delimiters (RFC 2046 §5.1.1)
 */

static bool
is_bchar(unsigned char c)
{
    return g_ascii_isalnum(c) || (c != '\0' && strchr("'()+_,-./:=? ", c));
}

static bool
boundary_is_valid(const char *b)
{
    size_t n = strlen(b);

    if (n == 0 || n > BOUNDARY_MAX || b[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_bchar((unsigned char)b[i]))
            return false;
    }
    return true;
}

/* The boundary of a multipart/form-data content type, arena-owned. */
static int
boundary_get(struct arena *a, const char *content_type,
             const char **boundary_out, struct err *err)
{
    GMimeContentType *ct;
    const char *b;
    int rc = -1;

    if (content_type == NULL) {
        err_set(err, ERR_INPUT, "multipart body without a content type");
        return -1;
    }
    ct = g_mime_content_type_parse(g_mime_parser_options_get_default(),
                                   content_type);
    if (ct == NULL) {
        err_set(err, ERR_INPUT, "content type is not multipart/form-data");
        return -1;
    }
    if (!g_mime_content_type_is_type(ct, "multipart", "form-data")) {
        err_set(err, ERR_INPUT, "content type is not multipart/form-data");
        goto out;
    }
    b = g_mime_content_type_get_parameter(ct, "boundary");
    if (b == NULL) {
        err_set(err, ERR_INPUT, "multipart/form-data without a boundary");
        goto out;
    }
    if (!boundary_is_valid(b)) {
        err_set(err, ERR_INPUT, "bad multipart boundary");
        goto out;
    }
    *boundary_out = arena_strdup(a, b);
    rc = 0;
out:
    g_object_unref(ct);
    return rc;
}

struct scan {
    const unsigned char *body;
    size_t len;
    const char *boundary;
    size_t blen;
};

/* Whether "--boundary" at pos starts a delimiter line: it must be followed
 * by "--" (the close delimiter) or by optional white space and CRLF. A line
 * that merely begins with the boundary is content. *next_out gets the
 * offset after the line (after "--" for the close delimiter). */
static bool
delimiter_at(const struct scan *s, size_t pos, size_t *next_out,
             bool *is_close_out)
{
    size_t p = pos + 2 + s->blen;

    if (s->len - pos < 2 + s->blen || s->body[pos] != '-' ||
        s->body[pos + 1] != '-' ||
        memcmp(s->body + pos + 2, s->boundary, s->blen) != 0)
        return false;
    if (s->len - p >= 2 && s->body[p] == '-' && s->body[p + 1] == '-') {
        *next_out = p + 2;
        *is_close_out = true;
        return true;
    }
    while (p < s->len && (s->body[p] == ' ' || s->body[p] == '\t'))
        p++; /* transport padding */
    if (s->len - p >= 2 && s->body[p] == '\r' && s->body[p + 1] == '\n') {
        *next_out = p + 2;
        *is_close_out = false;
        return true;
    }
    return false;
}

/* Finds the next "CRLF--boundary" delimiter at or after from. *at_out is
 * where its CRLF starts: the end of the content before it. */
static bool
delimiter_find(const struct scan *s, size_t from, size_t *at_out,
               size_t *next_out, bool *is_close_out)
{
    while (from < s->len) {
        const unsigned char *hit;
        size_t at;

        hit = memmem(s->body + from, s->len - from, "\r\n--", 4);
        if (hit == NULL)
            return false;
        at = (size_t)(hit - s->body);
        if (delimiter_at(s, at + 2, next_out, is_close_out)) {
            *at_out = at;
            return true;
        }
        from = at + 2;
    }
    return false;
}

/* ---------------------------------------------------------------------
 * Part headers
 */

struct part_headers {
    char *disposition; /* unfolded values, arena-owned, or NULL */
    char *content_type;
};

static bool
is_token_char(unsigned char c)
{
    /* RFC 2045 §5.1 token: printable ASCII without tspecials */
    return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Where a kept header's value lies in the block, continuations included. */
struct header_span {
    const char *start;
    size_t len;
};

/* The value of a span with its folding CRLFs removed (RFC 5322 §2.2.3),
 * trimmed, arena-owned; NULL for an unused span. */
static char *
header_unfold(struct arena *a, const struct header_span *span)
{
    char *out, *o;

    if (span->start == NULL)
        return NULL;
    out = arena_alloc(a, span->len + 1);
    o = out;
    for (size_t i = 0; i < span->len; i++) {
        if (span->start[i] == '\r' && i + 1 < span->len &&
            span->start[i + 1] == '\n') {
            i++;
            continue;
        }
        *o++ = span->start[i];
    }
    *o = '\0';
    return g_strstrip(out);
}

/* Parses the header block h[0..n), whose every line ends in CRLF. Lines
 * that begin with white space continue the previous one. Only
 * Content-Disposition and Content-Type are kept (the first of each). Linear
 * in n, however the lines are folded. */
static int
headers_parse(struct arena *a, const unsigned char *h, size_t n,
              struct part_headers *out, struct err *err)
{
    struct header_span disp = {0}, type = {0};
    struct header_span *last = NULL; /* the span a continuation extends */
    bool is_first = true;
    size_t pos = 0;

    if (memchr(h, '\0', n) != NULL) {
        err_set(err, ERR_INPUT, "NUL byte in multipart part headers");
        return -1;
    }
    while (pos < n) {
        const unsigned char *eol = memmem(h + pos, n - pos, "\r\n", 2);
        size_t line_len = (size_t)(eol - (h + pos)); /* eol is never NULL */
        const char *line = (const char *)h + pos;
        const char *colon;

        pos += line_len + 2;
        if (memchr(line, '\r', line_len) != NULL ||
            memchr(line, '\n', line_len) != NULL) {
            err_set(err, ERR_INPUT, "bare CR or LF in multipart part headers");
            return -1;
        }
        if (line[0] == ' ' || line[0] == '\t') {
            if (is_first) {
                err_set(err, ERR_INPUT,
                        "multipart part headers start with a continuation");
                return -1;
            }
            if (last != NULL) /* else it continues a header we skip */
                last->len = (size_t)(line + line_len - last->start);
            continue;
        }
        is_first = false;
        colon = memchr(line, ':', line_len);
        if (colon == NULL || colon == line) {
            err_set(err, ERR_INPUT, "malformed multipart part header");
            return -1;
        }
        for (const char *c = line; c < colon; c++) {
            if (!is_token_char((unsigned char)*c)) {
                err_set(err, ERR_INPUT, "malformed multipart part header");
                return -1;
            }
        }
        last = NULL;
        if ((size_t)(colon - line) == 19 &&
            g_ascii_strncasecmp(line, "content-disposition", 19) == 0 &&
            disp.start == NULL)
            last = &disp;
        else if ((size_t)(colon - line) == 12 &&
                 g_ascii_strncasecmp(line, "content-type", 12) == 0 &&
                 type.start == NULL)
            last = &type;
        if (last != NULL) {
            last->start = colon + 1;
            last->len = line_len - (size_t)(colon + 1 - line);
        }
    }
    out->disposition = header_unfold(a, &disp);
    out->content_type = header_unfold(a, &type);
    return 0;
}

/* WHATWG HTML "multipart/form-data encoding algorithm": browsers write '"'
 * in names as %22 (and CR, LF as %0D, %0A, which cleaning would drop). */
static char *
quote_unescape(struct arena *a, const char *s)
{
    char *out = arena_strdup(a, s);
    char *o = out;

    for (const char *p = s; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == '2' && p[2] == '2') {
            *o++ = '"';
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* The field name and the raw filename (NULL: not a file) from a
 * Content-Disposition value, decoded by GMime. */
static int
disposition_parse(struct arena *a, const char *value, const char **name_out,
                  const char **filename_out, struct err *err)
{
    GMimeContentDisposition *cd;
    GMimeParamList *params;
    const char *disp;
    const char *name = NULL, *filename = NULL;
    bool filename_is_ext = false;
    int rc = -1;

    if (value == NULL) {
        err_set(err, ERR_INPUT, "multipart part without Content-Disposition");
        return -1;
    }
    cd = g_mime_content_disposition_parse(g_mime_parser_options_get_default(),
                                          value);
    disp = g_mime_content_disposition_get_disposition(cd);
    if (disp == NULL || g_ascii_strcasecmp(disp, "form-data") != 0) {
        err_set(err, ERR_INPUT, "multipart part is not form-data");
        goto out;
    }
    params = g_mime_content_disposition_get_parameters(cd);
    for (int i = 0; i < g_mime_param_list_length(params); i++) {
        GMimeParam *p = g_mime_param_list_get_parameter_at(params, i);
        const char *pname = g_mime_param_get_name(p);
        const char *pvalue = g_mime_param_get_value(p);
        bool is_ext = g_mime_param_get_encoding_method(p) ==
                      GMIME_PARAM_ENCODING_METHOD_RFC2231;

        if (pname == NULL || pvalue == NULL)
            continue;
        if (g_ascii_strcasecmp(pname, "name") == 0 && name == NULL) {
            name = is_ext ? arena_strdup(a, pvalue) : quote_unescape(a, pvalue);
        } else if (g_ascii_strcasecmp(pname, "filename") == 0 &&
                   (filename == NULL || (is_ext && !filename_is_ext))) {
            /* filename* (RFC 5987) wins over a plain filename */
            filename =
                is_ext ? arena_strdup(a, pvalue) : quote_unescape(a, pvalue);
            filename_is_ext = is_ext;
        }
    }
    if (name == NULL) {
        err_set(err, ERR_INPUT, "multipart part without a field name");
        goto out;
    }
    *name_out = name;
    *filename_out = filename;
    rc = 0;
out:
    g_object_unref(cd);
    return rc;
}

/* The safe download name for a raw filename, or "". */
static const char *
filename_clean(struct arena *a, const char *raw)
{
    static const char *const key = "filename";
    char *clean;
    const char *result;

    if (raw == NULL || raw[0] == '\0')
        return "";
    clean = mime_param_filename(&key, &raw, 1);
    if (clean == NULL)
        return "";
    result = arena_strdup(a, clean);
    g_free(clean);
    return result;
}

/* The content type as sent when it starts with a type/subtype of token
 * characters and holds no control character; else the safe default. */
static const char *
content_type_clean(struct arena *a, const char *ct)
{
    const char *p = ct;
    size_t n;

    if (ct == NULL)
        return "application/octet-stream";
    n = 0;
    while (is_token_char((unsigned char)p[n]))
        n++;
    if (n == 0 || p[n] != '/')
        return "application/octet-stream";
    p += n + 1;
    n = 0;
    while (is_token_char((unsigned char)p[n]))
        n++;
    if (n == 0 || (p[n] != '\0' && p[n] != ';' && p[n] != ' ' && p[n] != '\t'))
        return "application/octet-stream";
    for (p = ct; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return "application/octet-stream";
    }
    return arena_strdup(a, ct);
}

/* ---------------------------------------------------------------------
 * Spooling
 */

static void
spool_unlink(void *path)
{
    (void)unlink(path);
}

/* Writes data[0..len) to a new private file in dir; its path is
 * arena-owned and the file is unlinked when the arena is freed. */
static int
spool_write(struct arena *a, const char *dir, const unsigned char *data,
            size_t len, const char **path_out, struct err *err)
{
    char *path = arena_printf(a, "%s/" SPOOL_TEMPLATE, dir);
    size_t done = 0;
    int fd;

    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        err_set(err, ERR_INTERNAL, "cannot create upload file in %s: %s", dir,
                strerror(errno));
        return -1;
    }
    arena_defer(a, spool_unlink, path); /* before anything can fail */
    if (fchmod(fd, 0600) < 0)
        goto fail;
    while (done < len) {
        ssize_t n;

        errno = 0;
        n = write(fd, data + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        done += (size_t)n;
    }
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    *path_out = path;
    return 0;
fail:
    err_set(err, ERR_INTERNAL, "cannot write upload file %s: %s", path,
            errno != 0 ? strerror(errno) : "short write");
    if (fd >= 0)
        (void)close(fd);
    return -1;
}

/* ---------------------------------------------------------------------
 * The parser
 */

struct file_list {
    struct form_file *items; /* arena-owned */
    size_t n, cap;
    uint64_t total;
};

static struct form_file *
file_list_add(struct arena *a, struct file_list *list)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 4;
        struct form_file *items = arena_alloc(a, cap * sizeof(*items));

        if (list->n > 0)
            memcpy(items, list->items, list->n * sizeof(*items));
        list->items = items;
        list->cap = cap;
    }
    return &list->items[list->n++];
}

struct limits {
    const char *spool_dir;
    size_t max_field;
    uint64_t max_file, max_total;
};

static int
part_file(struct arena *a, const struct limits *lim, const char *name,
          const char *raw_filename, const char *content_type,
          const unsigned char *data, size_t len, struct file_list *files,
          struct err *err)
{
    const char *filename = filename_clean(a, raw_filename);
    const char *shown;
    char have[48], limit[48];
    struct form_file *f;
    const char *path;

    if (raw_filename[0] == '\0' && len == 0)
        return 0; /* a file input with no file chosen */
    shown = filename[0] != '\0' ? arena_printf(a, "attachment \"%s\"",
                                               name_for_message(a, filename))
                                : arena_printf(a, "the file in field \"%s\"",
                                               name_for_message(a, name));
    if ((uint64_t)len > lim->max_file) {
        size_pair_text(len, lim->max_file, have, limit, sizeof(have));
        err_set(err, ERR_LIMIT, "%s is %s; the limit is %s", shown, have,
                limit);
        return -1;
    }
    if ((uint64_t)len > lim->max_total - files->total) { /* total <= max */
        size_pair_text(files->total + len, lim->max_total, have, limit,
                       sizeof(have));
        err_set(err, ERR_LIMIT,
                "with %s the attachments come to %s; the limit is %s", shown,
                have, limit);
        return -1;
    }
    if (spool_write(a, lim->spool_dir, data, len, &path, err) < 0)
        return -1;
    files->total += len;
    f = file_list_add(a, files);
    f->field = name;
    f->filename = filename;
    f->content_type = content_type_clean(a, content_type);
    f->path = path;
    f->size = len;
    return 0;
}

static int
part_field(struct arena *a, const struct limits *lim, const char *name,
           const unsigned char *data, size_t len, struct kv_list *fields_out,
           struct err *err)
{
    char have[48], limit[48];

    if (len > lim->max_field) {
        size_pair_text(len, lim->max_field, have, limit, sizeof(have));
        err_set(err, ERR_LIMIT, "the field \"%s\" is %s; the limit is %s",
                name_for_message(a, name), have, limit);
        return -1;
    }
    if (memchr(data, '\0', len) != NULL) {
        err_set(err, ERR_INPUT, "NUL byte in the field \"%s\"",
                name_for_message(a, name));
        return -1;
    }
    kv_list_add(a, fields_out, name, arena_strndup(a, (const char *)data, len),
                len);
    return 0;
}

/* One part: body[start..end), headers first. */
static int
part_handle(struct arena *a, const struct limits *lim, const struct scan *s,
            size_t start, size_t end, struct kv_list *fields_out,
            struct file_list *files, struct err *err)
{
    const unsigned char *p = s->body + start;
    size_t n = end - start;
    size_t hlen, data_off;
    struct part_headers h = {0};
    const char *name, *filename;

    if (n >= 2 && p[0] == '\r' && p[1] == '\n') {
        hlen = 0; /* no headers at all */
        data_off = 2;
    } else {
        /* the block, its last CRLF included, is at most LIM_HTTP_HEADERS */
        size_t window =
            n < (size_t)LIM_HTTP_HEADERS + 2 ? n : (size_t)LIM_HTTP_HEADERS + 2;
        const unsigned char *blank = memmem(p, window, "\r\n\r\n", 4);

        if (blank == NULL) {
            if (window < n)
                err_set(err, ERR_LIMIT, "multipart part headers over %u bytes",
                        LIM_HTTP_HEADERS);
            else
                err_set(err, ERR_INPUT,
                        "multipart part headers not ended by an empty line");
            return -1;
        }
        hlen = (size_t)(blank - p) + 2;
        data_off = hlen + 2;
    }
    if (headers_parse(a, p, hlen, &h, err) < 0 ||
        disposition_parse(a, h.disposition, &name, &filename, err) < 0)
        return -1;
    if (filename != NULL)
        return part_file(a, lim, name, filename, h.content_type, p + data_off,
                         n - data_off, files, err);
    return part_field(a, lim, name, p + data_off, n - data_off, fields_out,
                      err);
}

int
form_parse_multipart(struct arena *a, const char *content_type,
                     const unsigned char *body, size_t len,
                     const char *spool_dir, size_t max_field, uint64_t max_file,
                     uint64_t max_total, struct kv_list *fields_out,
                     struct form_file **files_out, size_t *n_files_out,
                     struct err *err)
{
    const struct limits lim = {
        .spool_dir = spool_dir != NULL ? spool_dir : g_get_tmp_dir(),
        .max_field = max_field,
        .max_file = max_file,
        .max_total = max_total,
    };
    struct file_list files = {0};
    struct scan s = {.body = body, .len = body != NULL ? len : 0};
    size_t at, next, parts = 0;
    bool is_close;

    if (boundary_get(a, content_type, &s.boundary, err) < 0)
        return -1;
    s.blen = strlen(s.boundary);

    /* The first delimiter may open the body; else it follows a preamble. */
    if (!delimiter_at(&s, 0, &next, &is_close) &&
        !delimiter_find(&s, 0, &at, &next, &is_close)) {
        err_set(err, ERR_INPUT, "multipart body without its boundary");
        return -1;
    }
    while (!is_close) {
        size_t start = next;

        if (!delimiter_find(&s, start, &at, &next, &is_close)) {
            err_set(err, ERR_INPUT, "multipart body is truncated");
            return -1;
        }
        if (++parts > LIM_FORM_FIELDS) {
            err_set(err, ERR_LIMIT, "more than %u parts in a multipart form",
                    LIM_FORM_FIELDS);
            return -1;
        }
        if (part_handle(a, &lim, &s, start, at, fields_out, &files, err) < 0)
            return -1;
    }
    *files_out = files.items;
    *n_files_out = files.n;
    return 0;
}
