/* mustache.c - the mustache renderer: a template is compiled once into a
 * flat op list, then rendered over json-c values any number of times.
 * Layer: view. Trust: template text is parsed defensively (named errors,
 * capped nesting); view values are UNTRUSTED, escaped by {{x}}. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "view/mustache.h"

/* How much of a name or tag an error message quotes. */
#define MUSTACHE_QUOTE_MAX 64

enum mustache_op_kind {
    MUSTACHE_OP_TEXT,     /* literal bytes */
    MUSTACHE_OP_VAR,      /* {{x}}, {{{x}}}, {{&x}} */
    MUSTACHE_OP_SECTION,  /* {{#x}} ... {{/x}} */
    MUSTACHE_OP_INVERTED, /* {{^x}} ... {{/x}} */
    MUSTACHE_OP_PARTIAL   /* {{>x}} */
};

/* One op. A section's body is the ops between it and its end index, so a
 * section is skipped or repeated without searching for its close tag. */
struct mustache_op {
    enum mustache_op_kind kind;
    size_t off;     /* TEXT: its bytes in src; PARTIAL: its indentation */
    size_t len;
    char *name;     /* VAR, SECTION, INVERTED, PARTIAL: trimmed tag name */
    char **path;    /* VAR, SECTION, INVERTED: name split at dots;
                       NULL for the implicit iterator "." */
    bool escape;    /* VAR: HTML-escape the value */
    size_t end;     /* SECTION, INVERTED: index of the op after the body */
    unsigned line;  /* line of the tag, for messages */
};

struct mustache {
    char *src;      /* our copy of the source (indented, for partials) */
    size_t len;
    GArray *ops;    /* of struct mustache_op */
};

static bool
mustache_is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

static bool
mustache_is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Message quoting: at most MUSTACHE_QUOTE_MAX bytes of a name. */
static int
mustache_quote_len(size_t n)
{
    return (int)MIN(n, (size_t)MUSTACHE_QUOTE_MAX);
}

void
mustache_free(struct mustache **t)
{
    guint i;

    if (t == NULL || *t == NULL)
        return;
    for (i = 0; i < (*t)->ops->len; i++) {
        struct mustache_op *op = &g_array_index((*t)->ops,
                                                struct mustache_op, i);

        g_free(op->name);
        g_strfreev(op->path);
    }
    g_array_free((*t)->ops, TRUE);
    g_free((*t)->src);
    g_free(*t);
    *t = NULL;
}

/* ------------------------------------------------------------------ */
/* Compiling                                                           */
/* ------------------------------------------------------------------ */

struct mustache_compiler {
    struct mustache *t;
    const char *src;     /* t->src */
    size_t len;
    size_t pos;          /* first byte not yet turned into an op */
    const char *otag;    /* current delimiters, pointing into src */
    size_t otag_len;
    const char *ctag;
    size_t ctag_len;
    GArray *open;        /* indices (size_t) of sections not yet closed */
    size_t counted;      /* newlines before this offset are in line */
    unsigned line;
    struct err *err;
};

/* Line number (from 1) of the byte at off. Offsets only grow during a
 * compile, so counting goes on from the previous call: linear overall. */
static unsigned
mustache_compiler_line_at(struct mustache_compiler *c, size_t off)
{
    while (c->counted < off) {
        const char *nl = memchr(c->src + c->counted, '\n', off - c->counted);

        if (nl == NULL) {
            c->counted = off;
            break;
        }
        c->line++;
        c->counted = (size_t)(nl - c->src) + 1;
    }
    return c->line;
}

static void
mustache_compiler_text(struct mustache_compiler *c, size_t start, size_t end)
{
    struct mustache_op op = { .kind = MUSTACHE_OP_TEXT };

    if (end <= start)
        return;
    op.off = start;
    op.len = end - start;
    g_array_append_val(c->t->ops, op);
}

/* Finds the end of the tag whose content starts at p. A triple mustache
 * must close with "}" and a set-delimiter tag with "=" before the closing
 * delimiter. Sets the end of the content and of the whole tag. */
static bool
mustache_compiler_find_close(const struct mustache_compiler *c, size_t p,
                             char sigil, size_t *content_end_out,
                             size_t *tag_end_out)
{
    char want = '\0';
    size_t from = p;

    if (sigil == '{')
        want = '}';
    else if (sigil == '=')
        want = '=';
    while (from < c->len) {
        const char *hit = memmem(c->src + from, c->len - from, c->ctag,
                                 c->ctag_len);
        size_t k;

        if (hit == NULL)
            return false;
        k = (size_t)(hit - c->src);
        if (want == '\0') {
            *content_end_out = k;
            *tag_end_out = k + c->ctag_len;
            return true;
        }
        if (k > p && c->src[k - 1] == want) {
            *content_end_out = k - 1;
            *tag_end_out = k + c->ctag_len;
            return true;
        }
        from = k + 1;
    }
    return false;
}

/* A name is non-empty and has no spaces or NUL. A dotted name (variables
 * and sections) is "." alone or has no empty part between dots. */
static bool
mustache_name_is_valid(const char *s, size_t n, bool dotted)
{
    size_t i;

    if (n == 0)
        return false;
    if (dotted && n == 1 && s[0] == '.')
        return true;
    for (i = 0; i < n; i++) {
        if (s[i] == '\0' || mustache_is_space(s[i]))
            return false;
        if (dotted && s[i] == '.' &&
            (i == 0 || i == n - 1 || s[i - 1] == '.'))
            return false;
    }
    return true;
}

/* Fills op->name and, for a dotted name, op->path from s[0..n). */
static int
mustache_compiler_name(struct mustache_compiler *c, const char *s, size_t n,
                       bool dotted, unsigned line, struct mustache_op *op)
{
    if (!mustache_name_is_valid(s, n, dotted)) {
        err_set(c->err, ERR_INPUT, "line %u: empty or malformed name \"%.*s\"",
                line, mustache_quote_len(n), s);
        return -1;
    }
    op->name = g_strndup(s, n);
    if (dotted && strcmp(op->name, ".") != 0)
        op->path = g_strsplit(op->name, ".", -1);
    return 0;
}

/* {{=<% %>=}}: two delimiters separated by spaces, neither holding a space
 * or "=". They point into src, which the template keeps. */
static int
mustache_compiler_delimiters(struct mustache_compiler *c, size_t a,
                             size_t end, unsigned line)
{
    const char *s = c->src;
    size_t a_end = a;
    size_t b;
    size_t b_end;

    while (a_end < end && !mustache_is_space(s[a_end]))
        a_end++;
    b = a_end;
    while (b < end && mustache_is_space(s[b]))
        b++;
    b_end = b;
    while (b_end < end && !mustache_is_space(s[b_end]))
        b_end++;
    if (a_end == a || b == end || b_end != end ||
        memchr(s + a, '=', a_end - a) != NULL ||
        memchr(s + b, '=', b_end - b) != NULL ||
        memchr(s + a, '\0', end - a) != NULL) {
        err_set(c->err, ERR_INPUT, "line %u: bad set-delimiter tag \"%.*s\"",
                line, mustache_quote_len(end - a), s + a);
        return -1;
    }
    c->otag = s + a;
    c->otag_len = a_end - a;
    c->ctag = s + b;
    c->ctag_len = b_end - b;
    return 0;
}

static int
mustache_compiler_open(struct mustache_compiler *c, char sigil,
                       const char *name, size_t n, unsigned line)
{
    struct mustache_op op = {
        .kind = sigil == '#' ? MUSTACHE_OP_SECTION : MUSTACHE_OP_INVERTED,
        .line = line,
    };
    size_t index = c->t->ops->len;

    if (c->open->len >= LIM_TEMPLATE_SECTION_DEPTH) {
        err_set(c->err, ERR_LIMIT, "line %u: sections nested deeper than %u",
                line, LIM_TEMPLATE_SECTION_DEPTH);
        return -1;
    }
    if (mustache_compiler_name(c, name, n, true, line, &op) < 0)
        return -1;
    g_array_append_val(c->t->ops, op);
    g_array_append_val(c->open, index);
    return 0;
}

static int
mustache_compiler_close(struct mustache_compiler *c, const char *name,
                        size_t n, unsigned line)
{
    struct mustache_op *op;
    size_t index;

    if (c->open->len == 0) {
        err_set(c->err, ERR_INPUT,
                "line %u: unmatched close tag \"%.*s\": no section is open",
                line, mustache_quote_len(n), name);
        return -1;
    }
    index = g_array_index(c->open, size_t, c->open->len - 1);
    op = &g_array_index(c->t->ops, struct mustache_op, index);
    if (strlen(op->name) != n || memcmp(op->name, name, n) != 0) {
        err_set(c->err, ERR_INPUT,
                "line %u: unmatched close tag \"%.*s\": section \"%.*s\" "
                "opened on line %u is still open",
                line, mustache_quote_len(n), name,
                mustache_quote_len(strlen(op->name)), op->name, op->line);
        return -1;
    }
    op->end = c->t->ops->len;
    g_array_set_size(c->open, c->open->len - 1);
    return 0;
}

/* Handles the tag whose opening delimiter starts at tag_start: emits the
 * text before it, then the tag's op, and moves c->pos past it.
 *
 * Standalone rule (spec): a section, inverted, close, partial, comment or
 * set-delimiter tag alone on its line, with only spaces and tabs around it,
 * takes the whole line with it: the indentation before it and the line
 * break after it (LF, CRLF or the end of the template) are dropped. A
 * standalone partial's indentation is kept in its op and applied to every
 * line of the partial. Delimiters never contain spaces, so a run of blanks
 * back to a line break means no other tag shares the line. */
static int
mustache_compiler_tag(struct mustache_compiler *c, size_t tag_start)
{
    static const char sigils[] = "#^/>!&{=";
    const char *s = c->src;
    unsigned line = mustache_compiler_line_at(c, tag_start);
    size_t p = tag_start + c->otag_len;
    size_t content_end;
    size_t tag_end;
    size_t text_end = tag_start;
    size_t next;
    size_t indent = tag_start;
    char sigil = '\0';
    struct mustache_op op = { .line = line };

    if (p < c->len && memchr(sigils, s[p], sizeof(sigils) - 1) != NULL)
        sigil = s[p++];
    if (!mustache_compiler_find_close(c, p, sigil, &content_end, &tag_end)) {
        err_set(c->err, ERR_INPUT, "line %u: unclosed tag: \"%.*s%s\" "
                "without \"%s%.*s\"", line, (int)c->otag_len, c->otag,
                sigil == '{' ? "{" : sigil == '=' ? "=" : "",
                sigil == '{' ? "}" : sigil == '=' ? "=" : "",
                (int)c->ctag_len, c->ctag);
        return -1;
    }
    next = tag_end;

    if (sigil != '\0' && sigil != '&' && sigil != '{') {
        size_t ws = tag_start;
        size_t q = tag_end;
        size_t line_end = 0;

        while (ws > c->pos && mustache_is_blank(s[ws - 1]))
            ws--;
        while (q < c->len && mustache_is_blank(s[q]))
            q++;
        if (q == c->len)
            line_end = q;
        else if (s[q] == '\n')
            line_end = q + 1;
        else if (s[q] == '\r' && q + 1 < c->len && s[q + 1] == '\n')
            line_end = q + 2;
        if ((ws == 0 || s[ws - 1] == '\n') && line_end != 0) {
            text_end = ws;
            indent = ws;
            next = line_end;
        }
    }
    mustache_compiler_text(c, c->pos, text_end);
    c->pos = next;

    if (sigil == '!')
        return 0;
    while (p < content_end && mustache_is_space(s[p]))
        p++;
    while (content_end > p && mustache_is_space(s[content_end - 1]))
        content_end--;

    switch (sigil) {
    case '=':
        return mustache_compiler_delimiters(c, p, content_end, line);
    case '#':
    case '^':
        return mustache_compiler_open(c, sigil, s + p, content_end - p, line);
    case '/':
        return mustache_compiler_close(c, s + p, content_end - p, line);
    case '>':
        op.kind = MUSTACHE_OP_PARTIAL;
        op.off = indent;
        op.len = tag_start - indent;
        if (mustache_compiler_name(c, s + p, content_end - p, false, line,
                                   &op) < 0)
            return -1;
        g_array_append_val(c->t->ops, op);
        return 0;
    default:
        /* '\0', '&' or '{': a variable; only the plain one is escaped */
        op.kind = MUSTACHE_OP_VAR;
        op.escape = sigil == '\0';
        if (mustache_compiler_name(c, s + p, content_end - p, true, line,
                                   &op) < 0)
            return -1;
        g_array_append_val(c->t->ops, op);
        return 0;
    }
}

/* Copies src into a new template, with indent inserted at the start of
 * every line; not after a final line break, and not at all into an empty
 * source. This is the spec's standalone-partial indentation: it indents the
 * partial's own lines, never the values interpolated into them. */
static struct mustache *
mustache_new_indented(const char *src, size_t len, const char *indent,
                      size_t indent_len)
{
    struct mustache *t = g_new0(struct mustache, 1);
    GString *copy = g_string_sized_new(len + 1);
    size_t i = 0;

    while (i < len) {
        const char *nl = memchr(src + i, '\n', len - i);
        size_t stop = nl == NULL ? len : (size_t)(nl - src) + 1;

        g_string_append_len(copy, indent, (gssize)indent_len);
        g_string_append_len(copy, src + i, (gssize)(stop - i));
        i = stop;
    }
    t->len = copy->len;
    t->src = g_string_free(copy, FALSE);
    t->ops = g_array_new(FALSE, FALSE, sizeof(struct mustache_op));
    return t;
}

static struct mustache *
mustache_compile_indented(const char *src, size_t len, const char *indent,
                          size_t indent_len, struct err *err)
{
    struct mustache_compiler c = {
        .otag = "{{", .otag_len = 2, .ctag = "}}", .ctag_len = 2,
        .line = 1, .err = err,
    };
    int rc = 0;

    xassert(src != NULL || len == 0);
    c.t = mustache_new_indented(src, len, indent, indent_len);
    c.src = c.t->src;
    c.len = c.t->len;
    c.open = g_array_new(FALSE, FALSE, sizeof(size_t));
    while (rc == 0) {
        const char *hit = memmem(c.src + c.pos, c.len - c.pos, c.otag,
                                 c.otag_len);

        if (hit == NULL) {
            mustache_compiler_text(&c, c.pos, c.len);
            break;
        }
        rc = mustache_compiler_tag(&c, (size_t)(hit - c.src));
    }
    if (rc == 0 && c.open->len > 0) {
        size_t index = g_array_index(c.open, size_t, c.open->len - 1);
        const struct mustache_op *op =
            &g_array_index(c.t->ops, struct mustache_op, index);

        err_set(err, ERR_INPUT, "line %u: unclosed section \"%.*s\"",
                op->line, mustache_quote_len(strlen(op->name)), op->name);
        rc = -1;
    }
    g_array_free(c.open, TRUE);
    if (rc < 0)
        mustache_free(&c.t);
    return c.t;
}

struct mustache *
mustache_compile(const char *src, size_t len, struct err *err)
{
    return mustache_compile_indented(src, len, "", 0, err);
}

/* ------------------------------------------------------------------ */
/* Rendering                                                           */
/* ------------------------------------------------------------------ */

struct mustache_cache {
    GMutex lock;
    GHashTable *by_key;     /* "<indent len>:<indent><name>" -> partial
                               compiled with that indentation */
};

struct mustache_render {
    GPtrArray *stack;       /* context stack, top last; NULL is JSON null */
    mustache_partial_fn *partials;
    void *ctx;
    struct mustache_cache *cache; /* shared, or this render's own, so the
                                     template itself stays immutable */
    bool own_cache;
    unsigned partial_depth;
    GString *out;
    struct err *err;
};

static int mustache_render_ops(struct mustache_render *r,
                               const struct mustache *t, size_t start,
                               size_t end);

/* Spec: false, null, a missing name and an empty list are falsy. */
static bool
mustache_value_is_truthy(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return false;
    case json_type_boolean:
        return json_object_get_boolean(v) != 0;
    case json_type_array:
        return json_object_array_length(v) > 0;
    case json_type_double:
    case json_type_int:
    case json_type_object:
    case json_type_string:
        return true;
    }
    xassert_unreached();
}

/* Spec context lookup: "." is the top of the stack; otherwise the first
 * part of the name is looked up from the top of the stack down, in objects
 * only, and each further part only in what the previous part found. A key
 * present with a null value counts as found (it hides outer contexts). */
static bool
mustache_render_lookup(const struct mustache_render *r, char *const *path,
                       struct json_object **v_out)
{
    struct json_object *v = NULL;
    guint i = r->stack->len;
    bool found = false;
    size_t k;

    if (path == NULL) {
        *v_out = g_ptr_array_index(r->stack, r->stack->len - 1);
        return true;
    }
    while (i > 0 && !found) {
        struct json_object *ctx = g_ptr_array_index(r->stack, --i);

        found = json_object_is_type(ctx, json_type_object) &&
                json_object_object_get_ex(ctx, path[0], &v);
    }
    if (!found)
        return false;
    for (k = 1; path[k] != NULL; k++) {
        struct json_object *child = NULL;

        if (!json_object_is_type(v, json_type_object) ||
            !json_object_object_get_ex(v, path[k], &child))
            return false;
        v = child;
    }
    *v_out = v;
    return true;
}

static void
mustache_append_escaped(GString *out, const char *s, size_t n)
{
    size_t run = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        const char *entity;

        switch (s[i]) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            continue;
        }
        g_string_append_len(out, s + run, (gssize)(i - run));
        g_string_append(out, entity);
        run = i + 1;
    }
    g_string_append_len(out, s + run, (gssize)(n - run));
}

/* The shortest of %.15g, %.16g, %.17g that reads back as d: 1.21 gives
 * "1.21", 0.1 + 0.2 gives "0.30000000000000004". GLib's ASCII functions
 * keep the decimal point a "." whatever the locale. Not json-c's printer,
 * which may write 17 digits and caches its text inside the object. */
static void
mustache_format_double(double d, char *buf, size_t size)
{
    static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };
    size_t k;

    for (k = 0; k < N_ELEMENTS(formats); k++) {
        g_ascii_formatd(buf, (gint)size, formats[k], d);
        if (g_ascii_strtod(buf, NULL) == d)
            return;
    }
}

static void
mustache_render_value(GString *out, struct json_object *v, bool escape)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    int64_t i;

    switch (json_object_get_type(v)) {
    case json_type_null:
    case json_type_object:
    case json_type_array:
        return;
    case json_type_string:
        if (escape)
            mustache_append_escaped(out, json_object_get_string(v),
                                    (size_t)json_object_get_string_len(v));
        else
            g_string_append_len(out, json_object_get_string(v),
                                json_object_get_string_len(v));
        return;
    case json_type_boolean:
        g_string_append(out, json_object_get_boolean(v) ? "true" : "false");
        return;
    case json_type_int:
        /* json-c saturates int64 at INT64_MAX; a larger uint64 is exact */
        i = json_object_get_int64(v);
        if (i == INT64_MAX)
            snprintf(buf, sizeof(buf), "%" PRIu64, json_object_get_uint64(v));
        else
            snprintf(buf, sizeof(buf), "%" PRId64, i);
        g_string_append(out, buf);
        return;
    case json_type_double:
        mustache_format_double(json_object_get_double(v), buf, sizeof(buf));
        g_string_append(out, buf);
        return;
    }
    xassert_unreached();
}

/* Renders the body ops [index + 1, end) of the section at index once per
 * list element, or once with v on the stack if v is truthy. */
static int
mustache_render_section(struct mustache_render *r, const struct mustache *t,
                        size_t index, struct json_object *v)
{
    const struct mustache_op *op =
        &g_array_index(t->ops, struct mustache_op, index);
    size_t count = 1;
    size_t k;
    bool is_list = json_object_is_type(v, json_type_array);

    if (is_list)
        count = json_object_array_length(v);
    else if (!mustache_value_is_truthy(v))
        return 0;
    for (k = 0; k < count; k++) {
        int rc;

        g_ptr_array_add(r->stack,
                        is_list ? json_object_array_get_idx(v, k) : v);
        rc = mustache_render_ops(r, t, index + 1, op->end);
        g_ptr_array_set_size(r->stack, r->stack->len - 1);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static void
mustache_cache_value_free(gpointer p)
{
    struct mustache *t = p;

    mustache_free(&t);
}

/* Renders a partial in the current context, compiled with the op's
 * indentation. A missing partial renders as nothing. */
static int
mustache_render_partial(struct mustache_render *r, const struct mustache *t,
                        const struct mustache_op *op)
{
    struct mustache *partial;
    GString *key;
    int rc;

    if (r->partials == NULL)
        return 0;
    if (r->cache == NULL) {
        r->cache = mustache_cache_new();
        r->own_cache = true;
    }
    key = g_string_new(NULL);
    g_string_printf(key, "%zu:", op->len);
    g_string_append_len(key, t->src + op->off, (gssize)op->len);
    g_string_append(key, op->name);
    g_mutex_lock(&r->cache->lock);
    partial = g_hash_table_lookup(r->cache->by_key, key->str);
    g_mutex_unlock(&r->cache->lock);
    if (partial == NULL) {
        struct mustache *had;
        struct err perr = { 0 };
        size_t len = 0;
        const char *src = r->partials(r->ctx, op->name, &len);

        if (src == NULL) {
            g_string_free(key, TRUE);
            return 0;
        }
        partial = mustache_compile_indented(src, len, t->src + op->off,
                                            op->len, &perr);
        if (partial == NULL) {
            err_set(r->err, perr.kind, "partial \"%.*s\": %s",
                    mustache_quote_len(strlen(op->name)), op->name,
                    perr.msg);
            g_string_free(key, TRUE);
            return -1;
        }
        /* another thread may have compiled it meanwhile: keep one */
        g_mutex_lock(&r->cache->lock);
        had = g_hash_table_lookup(r->cache->by_key, key->str);
        if (had == NULL) {
            g_hash_table_insert(r->cache->by_key,
                                g_string_free(key, FALSE), partial);
        } else {
            mustache_free(&partial);
            partial = had;
            g_string_free(key, TRUE);
        }
        g_mutex_unlock(&r->cache->lock);
    } else {
        g_string_free(key, TRUE);
    }

    if (r->partial_depth >= LIM_TEMPLATE_DEPTH) {
        err_set(r->err, ERR_LIMIT,
                "partials nested deeper than %u (at \"%.*s\")",
                LIM_TEMPLATE_DEPTH, mustache_quote_len(strlen(op->name)),
                op->name);
        return -1;
    }
    r->partial_depth++;
    rc = mustache_render_ops(r, partial, 0, partial->ops->len);
    r->partial_depth--;
    return rc;
}

/* Renders ops [start, end) of t. Recursion is bounded: sections nest at
 * most LIM_TEMPLATE_SECTION_DEPTH deep in one template, and partials at
 * most LIM_TEMPLATE_DEPTH deep. */
static int
mustache_render_ops(struct mustache_render *r, const struct mustache *t,
                    size_t start, size_t end)
{
    size_t i = start;

    while (i < end) {
        const struct mustache_op *op =
            &g_array_index(t->ops, struct mustache_op, i);
        struct json_object *v = NULL;
        bool found;

        switch (op->kind) {
        case MUSTACHE_OP_TEXT:
            g_string_append_len(r->out, t->src + op->off, (gssize)op->len);
            i++;
            break;
        case MUSTACHE_OP_VAR:
            if (mustache_render_lookup(r, op->path, &v))
                mustache_render_value(r->out, v, op->escape);
            i++;
            break;
        case MUSTACHE_OP_SECTION:
            found = mustache_render_lookup(r, op->path, &v);
            if (found && mustache_render_section(r, t, i, v) < 0)
                return -1;
            i = op->end;
            break;
        case MUSTACHE_OP_INVERTED:
            found = mustache_render_lookup(r, op->path, &v);
            if ((!found || !mustache_value_is_truthy(v)) &&
                mustache_render_ops(r, t, i + 1, op->end) < 0)
                return -1;
            i = op->end;
            break;
        case MUSTACHE_OP_PARTIAL:
            if (mustache_render_partial(r, t, op) < 0)
                return -1;
            i++;
            break;
        }
    }
    return 0;
}

struct mustache_cache *
mustache_cache_new(void)
{
    struct mustache_cache *c = g_new0(struct mustache_cache, 1);

    g_mutex_init(&c->lock);
    c->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      mustache_cache_value_free);
    return c;
}

void
mustache_cache_free(struct mustache_cache **cp)
{
    struct mustache_cache *c = cp != NULL ? *cp : NULL;

    if (c == NULL)
        return;
    g_hash_table_destroy(c->by_key);
    g_mutex_clear(&c->lock);
    g_free(c);
    *cp = NULL;
}

int
mustache_render_cached(const struct mustache *t, struct json_object *view,
                       mustache_partial_fn *partials, void *ctx,
                       struct mustache_cache *cache, GString *out,
                       struct err *err)
{
    struct mustache_render r = {
        .partials = partials, .ctx = ctx, .cache = cache, .out = out,
        .err = err,
    };
    int rc;

    xassert(t != NULL && out != NULL);
    r.stack = g_ptr_array_new();
    g_ptr_array_add(r.stack, view);
    rc = mustache_render_ops(&r, t, 0, t->ops->len);
    g_ptr_array_free(r.stack, TRUE);
    if (r.own_cache)
        mustache_cache_free(&r.cache);
    return rc;
}

int
mustache_render(const struct mustache *t, struct json_object *view,
                mustache_partial_fn *partials, void *ctx, GString *out,
                struct err *err)
{
    return mustache_render_cached(t, view, partials, ctx, NULL, out, err);
}
