/* fuzz_sanitize.c - libFuzzer harness for the HTML sanitizer with an
 * oracle: the output, parsed again by gumbo, holds no element or attribute
 * outside the sanitizer's allow-lists (sanitize_allows), no link or image
 * of a scheme it refuses, no CSS url(), and is valid UTF-8. */
#include <string.h>

#include <glib.h>
#include <gumbo.h>

#include "fuzz.h"
#include "mime/sanitize.h"

static const char *
cid_url(void *ctx, const char *cid)
{
    (void)ctx;
    return strcmp(cid, "known") == 0 ? "/part?f=INBOX&uid=7&part=1.2" : NULL;
}

static bool
has_prefix_nocase(const char *s, const char *prefix)
{
    return g_ascii_strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static void
check_url(const char *name, const char *v, bool allow_remote)
{

    if (strcmp(name, "href") == 0) {
        xassert(has_prefix_nocase(v, "http:") ||
                has_prefix_nocase(v, "https:") ||
                has_prefix_nocase(v, "mailto:"));
    } else if (strcmp(name, "src") == 0 || strcmp(name, "background") == 0) {
        /* "https:/x" is remote too: browsers read it as https://x */
        bool remote = has_prefix_nocase(v, "http:") ||
                      has_prefix_nocase(v, "https:") ||
                      g_str_has_prefix(v, "//");

        xassert(strcmp(v, "/part?f=INBOX&uid=7&part=1.2") == 0 ||
                (allow_remote && remote) ||
                (strcmp(name, "src") == 0 &&
                 has_prefix_nocase(v, "data:image/")));
    }
}

static void
check_style(const char *v)
{
    char *low = g_ascii_strdown(v, -1);

    xassert(strstr(low, "url(") == NULL);
    xassert(strstr(low, "expression") == NULL);
    xassert(strchr(low, '\\') == NULL && strstr(low, "/*") == NULL);
    xassert(strchr(low, '@') == NULL);
    g_free(low);
}

/* Walks the reparsed output: only what the allow-lists let through. The
 * fragment parse adds an html element around it: that one, and only
 * without attributes, is not ours. */
static void
oracle_walk(const GumboNode *node, bool is_root, bool allow_remote)
{
    const GumboElement *el;
    const char *tag;

    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) {
        xassert(node->type != GUMBO_NODE_COMMENT);
        return;
    }
    el = &node->v.element;
    xassert(el->tag_namespace == GUMBO_NAMESPACE_HTML);
    xassert(el->tag != GUMBO_TAG_UNKNOWN);
    tag = gumbo_normalized_tagname(el->tag);
    if (is_root) {
        xassert(el->tag == GUMBO_TAG_HTML);
    } else {
        if (!sanitize_allows(tag, NULL))
            fprintf(stderr, "oracle: element <%s> written\n", tag);
        xassert(sanitize_allows(tag, NULL));
    }
    for (unsigned i = 0; i < el->attributes.length; i++) {
        const GumboAttribute *a = el->attributes.data[i];

        xassert(!is_root);
        xassert(a->attr_namespace == GUMBO_ATTR_NAMESPACE_NONE);
        if (!sanitize_allows(tag, a->name))
            fprintf(stderr, "oracle: <%s %s> written\n", tag, a->name);
        xassert(sanitize_allows(tag, a->name));
        check_url(a->name, a->value, allow_remote);
        if (strcmp(a->name, "style") == 0)
            check_style(a->value);
    }
    for (unsigned i = 0; i < el->children.length; i++)
        oracle_walk(el->children.data[i], false, allow_remote);
}

/* Byte 0: bit 0 allow remote images, bit 1 map cid:known. The rest is the
 * HTML body of a mail. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GumboOptions gopts = kGumboDefaultOptions;
    struct sanitize_opts opts = {0};
    struct sanitize_report rep;
    GString *out;
    GumboOutput *re;
    struct err err = {0};

    if (size < 1)
        return 0;
    opts.allow_remote = (data[0] & 1) != 0;
    if ((data[0] & 2) != 0)
        opts.cid_url = cid_url;
    out = g_string_new("");
    if (sanitize_html((const char *)data + 1, size - 1, &opts, out, &rep,
                      &err) < 0) {
        xassert(err.kind == ERR_LIMIT);
        xassert(out->len == 0); /* left unchanged */
        g_string_free(out, TRUE);
        return 0;
    }
    xassert(g_utf8_validate(out->str, (gssize)out->len, NULL));
    xassert(strlen(out->str) == out->len); /* no NUL */
    gopts.fragment_context = GUMBO_TAG_BODY;
    gopts.fragment_namespace = GUMBO_NAMESPACE_HTML;
    re = gumbo_parse_with_options(&gopts, out->str, out->len);
    oracle_walk(re->root, true, opts.allow_remote);
    gumbo_destroy_output(&gopts, re);
    g_string_free(out, TRUE);
    return 0;
}
