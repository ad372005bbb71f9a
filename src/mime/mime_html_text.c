/* mime_html_text.c - gumbo walk collecting text with line structure.
 * Layer: mime. Iterative walk: nesting depth cannot overflow the stack. */
#include <string.h>

#include <glib.h>
#include <gumbo.h>

#include "core/limits.h"
#include "mime/mime_html_text.h"

static bool
html_is_block(GumboTag t)
{
    switch (t) {
    case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_BR:
    case GUMBO_TAG_TR: case GUMBO_TAG_LI: case GUMBO_TAG_H1:
    case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
    case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_PRE: case GUMBO_TAG_TABLE: case GUMBO_TAG_UL:
    case GUMBO_TAG_OL: case GUMBO_TAG_HR:
        return true;
    default:
        return false;
    }
}

/* blank line after these */
static bool
html_is_paragraph(GumboTag t)
{
    return t == GUMBO_TAG_P || t == GUMBO_TAG_H1 || t == GUMBO_TAG_H2 ||
           t == GUMBO_TAG_H3 || t == GUMBO_TAG_TABLE || t == GUMBO_TAG_UL ||
           t == GUMBO_TAG_OL || t == GUMBO_TAG_BLOCKQUOTE ||
           t == GUMBO_TAG_PRE;
}

/* A marker on the stack: not a node. */
static GumboNode html_gap;

static void
html_line_start(GString *text)
{
    if (text->len > 0 && text->str[text->len - 1] != '\n')
        g_string_append_c(text, '\n');
}

static bool
html_is_hidden(GumboTag t)
{
    return t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE ||
           t == GUMBO_TAG_HEAD || t == GUMBO_TAG_TITLE ||
           t == GUMBO_TAG_NOSCRIPT || t == GUMBO_TAG_TEMPLATE;
}

char *
mime_html_to_text(const char *html, size_t len)
{
    GumboOutput *out;
    GString *text = g_string_new(NULL);
    GPtrArray *stack = g_ptr_array_new();
    char *valid, *result;

    if (len > LIM_SANITIZE_INPUT)
        len = LIM_SANITIZE_INPUT;
    valid = g_utf8_make_valid(html, (gssize)len);
    out = gumbo_parse_with_options(&kGumboDefaultOptions, valid,
                                   strlen(valid));
    g_ptr_array_add(stack, out->root);
    while (stack->len > 0) {
        GumboNode *n = g_ptr_array_steal_index(stack, stack->len - 1);

        if (n == NULL) { /* the end of a block element */
            html_line_start(text);
            continue;
        }
        if (n == &html_gap) { /* the end of a paragraph-like element */
            html_line_start(text);
            g_string_append_c(text, '\n');
            continue;
        }
        if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE ||
            n->type == GUMBO_NODE_CDATA) {
            const char *s = n->v.text.text;

            /* HTML whitespace collapses to one space */
            for (; *s != '\0'; s++) {
                if (g_ascii_isspace(*s)) {
                    if (text->len > 0 && text->str[text->len - 1] != ' ' &&
                        text->str[text->len - 1] != '\n')
                        g_string_append_c(text, ' ');
                } else {
                    g_string_append_c(text, *s);
                }
            }
            continue;
        }
        if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_DOCUMENT)
            continue;
        if (n->type == GUMBO_NODE_ELEMENT) {
            if (html_is_hidden(n->v.element.tag))
                continue;
            GumboTag t = n->v.element.tag;

            if (t == GUMBO_TAG_BR) {
                g_string_append_c(text, '\n');
                continue;
            }
            if (html_is_block(t)) {
                html_line_start(text);
                g_ptr_array_add(stack, html_is_paragraph(t) ? &html_gap
                                                            : NULL);
            }
        }
        {
            const GumboVector *kids = n->type == GUMBO_NODE_DOCUMENT
                                          ? &n->v.document.children
                                          : &n->v.element.children;

            for (unsigned i = kids->length; i > 0; i--)
                g_ptr_array_add(stack, kids->data[i - 1]);
        }
    }
    gumbo_destroy_output(&kGumboDefaultOptions, out);
    g_ptr_array_free(stack, TRUE);
    g_free(valid);
    /* trim spaces at line ends and fold blank runs to one blank line */
    {
        GString *r = g_string_new(NULL);
        char **lines = g_strsplit(text->str, "\n", -1);
        int blank = 0;

        for (char **l = lines; *l != NULL; l++) {
            g_strstrip(*l);
            if (**l == '\0') {
                if (++blank > 1 || r->len == 0)
                    continue;
            } else {
                blank = 0;
            }
            g_string_append(r, *l);
            g_string_append_c(r, '\n');
        }
        g_strfreev(lines);
        while (r->len > 0 && r->str[r->len - 1] == '\n')
            g_string_truncate(r, r->len - 1);
        result = g_string_free(r, FALSE);
    }
    g_string_free(text, TRUE);
    return result;
}
