/* fuzz_mustache.c - libFuzzer harness for the mustache renderer: a
 * template and a JSON view from the input, partials that include each
 * other. Asserts error kinds and messages, and that rendering never
 * changes the view (mustache.h: only read). */
#include <stdbool.h>
#include <string.h>

#include <glib.h>
#include <json-c/json.h>

#include "fuzz.h"
#include "view/mustache.h"

struct partials {
    const char *self;
    size_t self_len;
};

static const char *
partial(void *ctx, const char *name, size_t *len_out)
{
    struct partials *p = ctx;

    if (strcmp(name, "self") == 0) {
        *len_out = p->self_len;
        return p->self;
    }
    if (strcmp(name, "list") == 0) {
        static const char s[] = "{{#items}}<{{.}}>{{> list}}{{/items}}";

        *len_out = sizeof(s) - 1;
        return s;
    }
    if (strcmp(name, "bad") == 0) {
        *len_out = 5;
        return "{{#x}";
    }
    return NULL;
}

static const char *
self_only(void *ctx, const char *name, size_t *len_out)
{
    return strcmp(name, "self") == 0 ? partial(ctx, name, len_out) : NULL;
}

/* Escaping mode: with no markup, no '=' (no delimiter change) and no
 * "{{{" or '&' (no unescaped tag) in the template, nothing the view holds
 * may come out as markup: the output has no < > " ' and every & starts
 * one of the entities {{x}} writes. */
static void
check_escaped(const GString *out)
{
    static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;",
                                       "&#39;"};

    xassert(strpbrk(out->str, "<>\"'") == NULL);
    for (const char *p = strchr(out->str, '&'); p != NULL;
         p = strchr(p + 1, '&')) {
        bool ok = false;

        for (size_t i = 0; i < N_ELEMENTS(ents) && !ok; i++)
            ok = strncmp(p, ents[i], strlen(ents[i])) == 0;
        xassert(ok);
    }
}

/* The template is the input up to its first NUL; the view the JSON after
 * it (or a small fixed one when that does not parse). A template starting
 * with "!" is fuzzed in escaping mode: its markup, '=', '&' and '{' after
 * "{{" are removed first, and only the "self" partial exists. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char fixed[] =
        "{\"a\":\"<b>&'\\\"\",\"n\":7,\"f\":1.5,\"t\":true,\"z\":null,"
        "\"items\":[\"x\",{\"a\":\"y\"},[1,2]],\"o\":{\"a\":{\"a\":\"deep\"}}}";
    const uint8_t *nul = memchr(data, '\0', size);
    size_t tlen = nul != NULL ? (size_t)(nul - data) : size;
    struct partials ctx = {(const char *)data, tlen};
    bool escaping = tlen > 0 && data[0] == '!';
    GString *tpl = g_string_new_len((const char *)data, (gssize)tlen);
    struct json_object *view = NULL;
    struct mustache *t;
    struct err err = {0};
    GString *out;
    char *before;

    if (nul != NULL && size - tlen - 1 < 4096) {
        char *j = g_strndup((const char *)nul + 1, size - tlen - 1);

        view = json_tokener_parse(j);
        g_free(j);
    }
    if (view == NULL)
        view = json_tokener_parse(fixed);
    xassert(view != NULL);
    if (escaping) {
        g_string_truncate(tpl, 0);
        for (size_t i = 1; i < tlen; i++) {
            if (strchr("<>\"'=&", data[i]) != NULL ||
                (data[i] == '{' && tpl->len >= 2 &&
                 strcmp(tpl->str + tpl->len - 2, "{{") == 0))
                continue;
            g_string_append_c(tpl, (char)data[i]);
        }
        ctx.self = tpl->str;
        ctx.self_len = tpl->len;
    }
    before = g_strdup(json_object_to_json_string_ext(view,
                                                     JSON_C_TO_STRING_PLAIN));
    t = mustache_compile(tpl->str, tpl->len, &err);
    if (t == NULL) {
        xassert(err.kind == ERR_INPUT || err.kind == ERR_LIMIT);
        xassert(err.msg[0] != '\0');
    } else {
        out = g_string_new(NULL);
        if (mustache_render(t, view, escaping ? self_only : partial, &ctx,
                            out, &err) < 0) {
            xassert(err.kind == ERR_INPUT || err.kind == ERR_LIMIT);
            xassert(err.msg[0] != '\0');
        } else if (escaping) {
            check_escaped(out);
        }
        g_string_free(out, TRUE);
        mustache_free(&t);
        xassert(t == NULL);
    }
    xassert(strcmp(before, json_object_to_json_string_ext(
                               view, JSON_C_TO_STRING_PLAIN)) == 0);
    g_free(before);
    g_string_free(tpl, TRUE);
    json_object_put(view);
    return 0;
}
