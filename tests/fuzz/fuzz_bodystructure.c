/* fuzz_bodystructure.c - libFuzzer harness for BODYSTRUCTURE -> message
 * page: the server's FETCH parsed by imap_parser, walked into parts by
 * store_imap, planned by mime_plan, built by view_message and rendered
 * through the real message template. Asserts the parts' tree invariants
 * and that nothing from the server becomes markup. */
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "core/arena.h"
#include "fuzz.h"
#include "imap/imap_parser.h"
#include "mime/mime_part.h"
#include "store/store_imap.h"
#include "view/render.h"
#include "view/view.h"

static struct render_set *templates;

/* The page's one script tag is the header's own postern.js, nothing that
 * a server string could have made. */
static bool
only_our_script(const char *page)
{
    static const char ours[] = "postern.js\" defer></script>";
    const char *s = strstr(page, "<script");
    const char *end;

    if (s == NULL)
        return true;
    end = strstr(s, ours);
    if (end == NULL || memchr(s, '>', (size_t)(end - s)) != NULL)
        return false;
    return strstr(end, "<script") == NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct err err = {0};

    (void)argc;
    (void)argv;
    templates = render_set_load(SOURCE_DIR "/templates", &err);
    if (templates == NULL) {
        fprintf(stderr, "fuzz_bodystructure: %s\n", err.msg);
        abort();
    }
    return 0;
}

static void
check_parts(const struct mime_part *parts, size_t n)
{
    xassert(n > 0 && parts[0].parent == -1 && parts[0].depth == 0);
    for (size_t i = 0; i < n; i++) {
        const struct mime_part *p = &parts[i];

        xassert(p->section != NULL && p->type != NULL &&
                p->subtype != NULL && p->encoding != NULL);
        if (i > 0) {
            xassert(p->parent >= 0 && (size_t)p->parent < i);
            xassert(p->depth == parts[p->parent].depth + 1);
        }
        /* a part the page may link to can be asked for by /part */
        if (strcmp(p->type, "multipart") != 0)
            xassert(mime_section_is_valid(p->section));
        for (const char *c = p->type; *c != '\0'; c++)
            xassert(!g_ascii_isupper(*c));
    }
}

static void
check_plan(const struct mime_plan *plan, size_t n)
{
    for (size_t i = 0; i < plan->n_show; i++)
        xassert(plan->show[i].part < n);
    for (size_t i = 0; i < plan->n_attachments; i++)
        xassert(plan->attachments[i] < n);
    for (size_t i = 0; i < plan->n_inline; i++)
        xassert(plan->inline_parts[i] < n);
}

/* Byte 0: bit 0 prefer plain, bit 1 remote, bit 2 all headers. The rest is
 * the BODYSTRUCTURE value as a server would send it (literals allowed). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char head[] = "* 3 FETCH (UID 7 BODYSTRUCTURE ";
    struct imap_parser *p;
    const struct imap_resp *resp = NULL;
    const struct imap_arg *bs;
    GString *wire;
    struct arena *a;
    struct store_message m = {.folder = "INBOX", .id = "7"};
    struct mime_plan plan;
    struct err err = {0};
    size_t used = 0;
    bool plain;
    int rc;

    if (size < 1)
        return 0;
    plain = (data[0] & 1) != 0;
    wire = g_string_new(head);
    g_string_append_len(wire, (const char *)data + 1, (gssize)size - 1);
    g_string_append(wire, ")\r\n");
    p = imap_parser_new(NULL);
    if (imap_parser_feed(p, (const unsigned char *)wire->str, wire->len,
                         &used, &resp, &err) != IMAP_FEED_RESPONSE ||
        resp->n_args < 1 ||
        (bs = imap_arg_list_get(&resp->args[0], "BODYSTRUCTURE")) == NULL) {
        imap_parser_free(&p);
        g_string_free(wire, TRUE);
        return 0;
    }

    m.env.subject = ""; /* what message_get sets without an ENVELOPE */
    a = arena_new(4096);
    rc = store_imap_bodystructure_parts(a, bs, &m.parts, &m.n_parts, &err);
    xassert(m.parts != NULL);
    if (rc < 0) {
        xassert(err.kind == ERR_PROTO || err.kind == ERR_LIMIT);
        goto out;
    }
    check_parts(m.parts, m.n_parts);
    memset(&plan, 0, sizeof(plan));
    if (mime_plan_make(m.parts, m.n_parts, plain, &plan, &err) < 0) {
        xassert(err.kind == ERR_LIMIT || err.kind == ERR_PROTO);
        goto out;
    }
    check_plan(&plan, m.n_parts);
    {
        struct view_embed embeds[8];
        size_t n_embeds = 0;
        struct json_object *view;
        GString *page = g_string_new(NULL);

        for (size_t i = 0; i < plan.n_show && n_embeds < 8; i++) {
            if (plan.show[i].kind == MIME_SHOW_EMBED_BEGIN)
                embeds[n_embeds++] = (struct view_embed){
                    .part = plan.show[i].part, .html = "<p>inner</p>"};
        }
        view = view_message(a, "/", &m, &plan, "<p>body</p>", true, false,
                            plain, (data[0] & 2) != 0, (data[0] & 4) != 0,
                            embeds, n_embeds);
        rc = render_html(templates, "message", view, page, &err);
        xassert(rc == 0);
        /* every server string went through {{ }}: no markup of its own */
        xassert(only_our_script(page->str));
        xassert(strstr(page->str, "<img") == NULL);
        g_string_truncate(page, 0);
        render_json(view, page);
        xassert(page->len > 0);
        g_string_free(page, TRUE);
    }
    mime_plan_clear(&plan);
out:
    arena_free(&a);
    imap_parser_free(&p);
    g_string_free(wire, TRUE);
    return 0;
}
