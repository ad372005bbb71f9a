/* mime_plan.c - choosing what of a message to show and what to list as
 * attachments, the way mail readers do. Layer: mime. Trust: the tree is
 * UNTRUSTED (a server's or a parser's); depth and size are capped. */
#include <string.h>

#include <glib.h>

#include "core/limits.h"
#include "mime/mime_part.h"

struct plan_ctx {
    const struct mime_part *parts;
    size_t n;
    bool prefer_plain;
    GArray *show, *attach, *inl;
    struct mime_plan *plan;
};

static bool
is(const struct mime_part *p, const char *type, const char *subtype)
{
    return strcmp(p->type, type) == 0 &&
           (subtype == NULL || strcmp(p->subtype, subtype) == 0);
}

static bool
is_attachment_disposition(const struct mime_part *p)
{
    return p->disposition != NULL &&
           strcmp(p->disposition, "attachment") == 0;
}

/* The next child of parts[i] after index prev (i itself for the first),
 * or SIZE_MAX: children follow their parent in pre-order. */
static size_t
next_child(const struct plan_ctx *c, size_t i, size_t prev)
{
    for (size_t j = prev + 1;
         j < c->n && c->parts[j].depth > c->parts[i].depth; j++) {
        if (c->parts[j].parent == (int)i)
            return j;
    }
    return SIZE_MAX;
}

#define FOR_CHILD(c, i, k)                                                   \
    for (size_t k = next_child((c), (i), (i)); k != SIZE_MAX;               \
         k = next_child((c), (i), k))

static void
add_show(struct plan_ctx *c, enum mime_show_kind kind, size_t part)
{
    struct mime_show s = {.kind = kind, .part = part};

    g_array_append_val(c->show, s);
}

static void
add_attachment(struct plan_ctx *c, size_t part)
{
    const struct mime_part *p = &c->parts[part];

    if (strcmp(p->type, "multipart") != 0) {
        g_array_append_val(c->attach, part);
        return;
    }
    /* a multipart as a whole is no file: list its leaves */
    FOR_CHILD(c, part, k)
        add_attachment(c, k);
}

static bool
displayable(const struct mime_part *p)
{
    return is(p, "text", "plain") || is(p, "text", "html") ||
           is(p, "multipart", NULL) || is(p, "message", "rfc822");
}

static int plan_part(struct plan_ctx *c, size_t i, struct err *err);

static int
plan_alternative(struct plan_ctx *c, size_t i, struct err *err)
{
    size_t chosen = SIZE_MAX, plain = SIZE_MAX, html = SIZE_MAX;

    FOR_CHILD(c, i, k) {
        const struct mime_part *p = &c->parts[k];

        if (is(p, "text", "plain"))
            plain = k;
        if (is(p, "text", "html") || is(p, "multipart", "related"))
            html = k;
        if (displayable(p))
            chosen = k; /* RFC 2046 §5.1.4: the last is the best */
    }
    if (plain != SIZE_MAX && html != SIZE_MAX) {
        if (c->prefer_plain)
            chosen = plain;
        if (chosen == plain)
            c->plan->has_html_alternative = true;
        else
            c->plan->has_text_alternative = true;
    }
    if (chosen == SIZE_MAX) {
        FOR_CHILD(c, i, k)
            add_attachment(c, k);
        return 0;
    }
    return plan_part(c, chosen, err);
}

static int
plan_related(struct plan_ctx *c, size_t i, struct err *err)
{
    bool root = true;

    /* the root is the first part (the start parameter is rare) */
    FOR_CHILD(c, i, k) {
        const struct mime_part *p = &c->parts[k];

        if (root) {
            if (plan_part(c, k, err) < 0)
                return -1;
            root = false;
        } else if (p->content_id != NULL && !is_attachment_disposition(p)) {
            g_array_append_val(c->inl, k);
        } else {
            add_attachment(c, k);
        }
    }
    return 0;
}

static int
plan_part(struct plan_ctx *c, size_t i, struct err *err)
{
    const struct mime_part *p = &c->parts[i];
    bool first = true;

    if (p->depth > LIM_MIME_DEPTH) {
        err_set(err, ERR_LIMIT, "MIME nesting deeper than %u",
                LIM_MIME_DEPTH);
        return -1;
    }
    if (is(p, "multipart", "alternative"))
        return plan_alternative(c, i, err);
    if (is(p, "multipart", "related"))
        return plan_related(c, i, err);
    if (is(p, "multipart", "signed")) {
        FOR_CHILD(c, i, k) {
            if (first && plan_part(c, k, err) < 0)
                return -1;
            if (!first)
                add_attachment(c, k);
            first = false;
        }
        return 0;
    }
    if (is(p, "multipart", "encrypted")) {
        FOR_CHILD(c, i, k)
            add_attachment(c, k);
        return 0;
    }
    if (is(p, "multipart", NULL)) { /* mixed, and any we do not know */
        FOR_CHILD(c, i, k) {
            const struct mime_part *q = &c->parts[k];

            if (is_attachment_disposition(q) ||
                (q->filename != NULL && !is(q, "message", "rfc822") &&
                 !is(q, "multipart", NULL)) ||
                !displayable(q)) {
                add_attachment(c, k);
            } else if (plan_part(c, k, err) < 0) {
                return -1;
            }
        }
        return 0;
    }
    if (is(p, "message", "rfc822")) {
        add_show(c, MIME_SHOW_EMBED_BEGIN, i);
        FOR_CHILD(c, i, k) {
            if (plan_part(c, k, err) < 0)
                return -1;
        }
        add_show(c, MIME_SHOW_EMBED_END, i);
        return 0;
    }
    if (is(p, "text", "plain") && !is_attachment_disposition(p)) {
        add_show(c, MIME_SHOW_TEXT, i);
        return 0;
    }
    if (is(p, "text", "html") && !is_attachment_disposition(p)) {
        add_show(c, MIME_SHOW_HTML, i);
        return 0;
    }
    add_attachment(c, i);
    return 0;
}

int
mime_plan_make(const struct mime_part *parts, size_t n, bool prefer_plain,
               struct mime_plan *out, struct err *err)
{
    struct plan_ctx c = {
        .parts = parts,
        .n = n,
        .prefer_plain = prefer_plain,
        .show = g_array_new(FALSE, FALSE, sizeof(struct mime_show)),
        .attach = g_array_new(FALSE, FALSE, sizeof(size_t)),
        .inl = g_array_new(FALSE, FALSE, sizeof(size_t)),
        .plan = out,
    };
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (n > LIM_MIME_PARTS) {
        err_set(err, ERR_LIMIT, "more than %u MIME parts", LIM_MIME_PARTS);
        rc = -1;
    } else if (n > 0) {
        rc = plan_part(&c, 0, err);
    }
    out->n_show = c.show->len;
    out->show = (struct mime_show *)(void *)g_array_free(c.show, FALSE);
    out->n_attachments = c.attach->len;
    out->attachments = (size_t *)(void *)g_array_free(c.attach, FALSE);
    out->n_inline = c.inl->len;
    out->inline_parts = (size_t *)(void *)g_array_free(c.inl, FALSE);
    if (rc < 0)
        mime_plan_clear(out);
    return rc;
}

void
mime_plan_clear(struct mime_plan *plan)
{
    g_free(plan->show);
    g_free(plan->attachments);
    g_free(plan->inline_parts);
    memset(plan, 0, sizeof(*plan));
}

bool
mime_is_inline_image(const char *type, const char *subtype)
{
    static const char *const ok[] = {"png", "gif", "jpeg", "jpg", "webp"};

    if (type == NULL || subtype == NULL ||
        g_ascii_strcasecmp(type, "image") != 0)
        return false;
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
        if (g_ascii_strcasecmp(subtype, ok[i]) == 0)
            return true;
    }
    return false;
}

bool
mime_section_is_valid(const char *s)
{
    unsigned levels = 0;

    if (s == NULL || *s == '\0')
        return false;
    while (*s != '\0') {
        size_t digits = 0;

        if (*s == '0')
            return false; /* no leading zeros, no part 0 */
        while (g_ascii_isdigit(s[digits]))
            digits++;
        if (digits == 0 || digits > 5)
            return false;
        s += digits;
        if (++levels > LIM_MIME_DEPTH)
            return false;
        if (*s == '.') {
            s++;
            if (*s == '\0')
                return false;
        } else if (*s != '\0') {
            return false;
        }
    }
    return true;
}
