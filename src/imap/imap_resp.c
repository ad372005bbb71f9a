/* imap_resp.c - accessors and the canonical dump of a parsed IMAP response.
 * Layer: imap. Trust: reads UNTRUSTED trees built by imap_parser; nesting
 * depth is whatever the parser allowed, so nothing here recurses. */
#include <string.h>

#include "core/attr.h"
#include "imap/imap_resp.h"

/* ---- argument accessors ---- */

bool
imap_arg_is_atom(const struct imap_arg *arg, const char *upper)
{
    size_t n;

    if (arg == NULL || arg->type != IMAP_ARG_ATOM)
        return false;
    n = strlen(upper);
    return arg->len == n && g_ascii_strncasecmp(arg->str, upper, n) == 0;
}

bool
imap_arg_number(const struct imap_arg *arg, uint64_t *out)
{
    uint64_t v = 0;

    if (arg == NULL || arg->type != IMAP_ARG_ATOM || arg->len == 0 ||
        arg->len > 20)
        return false;
    for (size_t i = 0; i < arg->len; i++) {
        unsigned d = (unsigned char)arg->str[i] - (unsigned)'0';

        if (d > 9)
            return false;
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

const char *
imap_arg_nstring(const struct imap_arg *arg)
{
    if (arg == NULL || arg->type != IMAP_ARG_STRING)
        return NULL;
    return arg->str;
}

const char *
imap_arg_astring(const struct imap_arg *arg, size_t *len_out)
{
    if (arg == NULL ||
        (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_STRING))
        return NULL;
    if (len_out != NULL)
        *len_out = arg->len;
    return arg->str;
}

const struct imap_arg *
imap_arg_list_get(const struct imap_arg *list, const char *key)
{
    if (list == NULL || list->type != IMAP_ARG_LIST)
        return NULL;
    for (size_t i = 0; i + 1 < list->n; i += 2) {
        if (imap_arg_is_atom(&list->list[i], key))
            return &list->list[i + 1];
    }
    return NULL;
}

const char *
imap_status_name(enum imap_status status)
{
    switch (status) {
    case IMAP_STATUS_NONE:
        return "NONE";
    case IMAP_STATUS_OK:
        return "OK";
    case IMAP_STATUS_NO:
        return "NO";
    case IMAP_STATUS_BAD:
        return "BAD";
    case IMAP_STATUS_PREAUTH:
        return "PREAUTH";
    case IMAP_STATUS_BYE:
        return "BYE";
    }
    xassert_unreached();
}

const char *
imap_resp_kind_name(enum imap_resp_kind kind)
{
    switch (kind) {
    case IMAP_RESP_TAGGED:
        return "tagged";
    case IMAP_RESP_UNTAGGED:
        return "untagged";
    case IMAP_RESP_CONTINUE:
        return "continue";
    }
    xassert_unreached();
}

/* ---- canonical dump ---- */

static void
dump_quoted(GString *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";

    g_string_append_c(out, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, (char)c);
        } else if (c < 0x20 || c == 0x7f) {
            g_string_append_c(out, '\\');
            g_string_append_c(out, 'x');
            g_string_append_c(out, hex[c >> 4]);
            g_string_append_c(out, hex[c & 15]);
        } else {
            g_string_append_c(out, (char)c);
        }
    }
    g_string_append_c(out, '"');
}

static void
dump_scalar(GString *out, const struct imap_arg *a)
{
    switch (a->type) {
    case IMAP_ARG_ATOM:
        g_string_append_len(out, a->str, (gssize)a->len);
        return;
    case IMAP_ARG_STRING:
        dump_quoted(out, a->str, a->len);
        return;
    case IMAP_ARG_LITERAL_STREAMED:
        g_string_append_printf(out, "{%zu streamed}", a->len);
        return;
    case IMAP_ARG_NIL:
        g_string_append(out, "NIL");
        return;
    case IMAP_ARG_LIST:
        break;
    }
    xassert_unreached();
}

/* Where the walk is inside one open list. */
struct dump_frame {
    const struct imap_arg *items;
    size_t n, next;
};

/* Writes n args separated by spaces; lists are walked with an explicit
 * stack, so the depth of the tree costs heap, not C stack. */
static void
dump_args(GString *out, const struct imap_arg *args, size_t n)
{
    GArray *stack = g_array_new(FALSE, FALSE, sizeof(struct dump_frame));
    struct dump_frame top = {args, n, 0};

    g_array_append_val(stack, top);
    while (stack->len > 0) {
        struct dump_frame *f =
            &g_array_index(stack, struct dump_frame, stack->len - 1);
        const struct imap_arg *a;

        if (f->next == f->n) {
            g_array_set_size(stack, stack->len - 1);
            if (stack->len > 0)
                g_string_append_c(out, ')');
            continue;
        }
        a = &f->items[f->next];
        if (f->next > 0)
            g_string_append_c(out, ' ');
        f->next++;
        if (a->type == IMAP_ARG_LIST) {
            struct dump_frame sub = {a->list, a->n, 0};

            g_string_append_c(out, '(');
            g_array_append_val(stack, sub); /* may move f: not used after */
            continue;
        }
        dump_scalar(out, a);
    }
    g_array_free(stack, TRUE);
}

char *
imap_resp_dump(const struct imap_resp *r, GString *out)
{
    switch (r->kind) {
    case IMAP_RESP_CONTINUE:
        g_string_append(out, "+ ");
        dump_quoted(out, r->text, strlen(r->text));
        return out->str;
    case IMAP_RESP_TAGGED:
        g_string_append(out, r->tag);
        break;
    case IMAP_RESP_UNTAGGED:
        g_string_append_c(out, '*');
        break;
    }
    if (r->status != IMAP_STATUS_NONE) {
        g_string_append_c(out, ' ');
        g_string_append(out, imap_status_name(r->status));
        if (r->code != NULL) {
            g_string_append(out, " [");
            g_string_append(out, r->code);
            if (r->code_args != NULL) {
                g_string_append_c(out, ' ');
                g_string_append(out, r->code_args);
            }
            g_string_append_c(out, ']');
        }
        g_string_append_c(out, ' ');
        dump_quoted(out, r->text, strlen(r->text));
        return out->str;
    }
    if (r->has_number)
        g_string_append_printf(out, " %" G_GUINT32_FORMAT, r->number);
    g_string_append_c(out, ' ');
    g_string_append(out, r->name);
    if (r->n_args > 0) {
        g_string_append_c(out, ' ');
        dump_args(out, r->args, r->n_args);
    }
    return out->str;
}

size_t
imap_resp_dump_len(const struct imap_resp *resp)
{
    GString *s = g_string_new(NULL);
    size_t n;

    imap_resp_dump(resp, s);
    n = s->len;
    g_string_free(s, TRUE);
    return n;
}
