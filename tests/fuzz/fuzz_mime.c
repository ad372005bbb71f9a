/* fuzz_mime.c - libFuzzer harness for a mail message -> what the reader
 * sees, on the GMime path: GMime parses the message, its tree becomes
 * parts, mime_plan picks what to show, mime_decode decodes each shown part
 * (transfer encoding, charset), mime_text / sanitize render it; names go
 * through mime_param_filename and mime_content_disposition. Asserts each
 * module's output contract (valid UTF-8, no NUL, only our markup, safe
 * names). */
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "core/limits.h"
#include "fuzz.h"
#include "mime/mime_decode.h"
#include "mime/mime_html_text.h"
#include "mime/mime_part.h"
#include "mime/mime_text.h"
#include "mime/sanitize.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_mime_init();
    return 0;
}

struct walk {
    GArray *parts;    /* struct mime_part */
    GPtrArray *objs;  /* the GMimeObject of each part (not ref'd) */
    GPtrArray *strs;  /* strings the parts point to */
};

static const char *
keep(struct walk *w, char *s)
{
    if (s != NULL)
        g_ptr_array_add(w->strs, s);
    return s;
}

static const char *
lower(struct walk *w, const char *s, const char *dflt)
{
    return s != NULL ? keep(w, g_ascii_strdown(s, -1)) : dflt;
}

/* The download name from the part's Content-Disposition and Content-Type
 * parameters, as both stores hand them to mime_param_filename. */
static const char *
part_filename(struct walk *w, GMimeObject *obj)
{
    GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    GMimeParamList *lists[2] = {
        cd != NULL ? g_mime_content_disposition_get_parameters(cd) : NULL,
        ct != NULL ? g_mime_content_type_get_parameters(ct) : NULL};
    const char *keys[64], *values[64];
    size_t n = 0;
    char *name;

    for (size_t l = 0; l < 2; l++) {
        int len = lists[l] != NULL ? g_mime_param_list_length(lists[l]) : 0;

        for (int i = 0; i < len && n < 64; i++) {
            GMimeParam *p = g_mime_param_list_get_parameter_at(lists[l], i);

            keys[n] = g_mime_param_get_name(p);
            values[n] = g_mime_param_get_value(p);
            n++;
        }
    }
    name = mime_param_filename(keys, values, n);
    if (name == NULL)
        return NULL;
    xassert(*name != '\0' && *name != '.');
    xassert(g_utf8_validate(name, -1, NULL));
    xassert(strpbrk(name, "/\\\r\n\t") == NULL);
    xassert(strlen(name) <= 255);
    return keep(w, name);
}

static void
walk(struct walk *w, GMimeObject *obj, const char *section, int parent,
     unsigned depth)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);
    struct mime_part p = {.section = section, .parent = parent,
                          .depth = depth};
    const char *fmt, *delsp;
    int idx;

    if (depth > LIM_MIME_DEPTH || w->parts->len >= LIM_MIME_PARTS)
        return;
    p.type = lower(w, ct != NULL ? g_mime_content_type_get_media_type(ct)
                                 : NULL, "text");
    p.subtype = lower(w, ct != NULL ? g_mime_content_type_get_media_subtype(ct)
                                    : NULL, "plain");
    p.charset = lower(w, ct != NULL ? g_mime_content_type_get_parameter(
                                          ct, "charset")
                                    : NULL, NULL);
    fmt = ct != NULL ? g_mime_content_type_get_parameter(ct, "format") : NULL;
    delsp = ct != NULL ? g_mime_content_type_get_parameter(ct, "delsp") : NULL;
    p.flowed = fmt != NULL && g_ascii_strcasecmp(fmt, "flowed") == 0;
    p.delsp = delsp != NULL && g_ascii_strcasecmp(delsp, "yes") == 0;
    p.encoding = lower(w, g_mime_object_get_header(
                              obj, "Content-Transfer-Encoding"), "7bit");
    p.disposition = lower(w, cd != NULL ? g_mime_content_disposition_get_disposition(cd)
                                        : NULL, NULL);
    p.content_id = keep(w, g_strdup(g_mime_object_get_content_id(obj)));
    p.filename = part_filename(w, obj);
    idx = (int)w->parts->len;
    g_array_append_val(w->parts, p);
    g_ptr_array_add(w->objs, obj);

    if (GMIME_IS_MULTIPART(obj)) {
        int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

        for (int i = 0; i < n; i++) {
            char *s = *section == '\0' ? g_strdup_printf("%d", i + 1)
                                       : g_strdup_printf("%s.%d", section,
                                                         i + 1);

            walk(w, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
                 keep(w, s), idx, depth + 1);
        }
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *m = g_mime_message_part_get_message(
            GMIME_MESSAGE_PART(obj));
        GMimeObject *body = m != NULL ? g_mime_message_get_mime_part(m) : NULL;

        if (body != NULL)
            walk(w, body,
                 GMIME_IS_MULTIPART(body)
                     ? section
                     : keep(w, g_strdup_printf("%s.1", section)),
                 idx, depth + 1);
    }
}

/* The encoded bytes of a leaf, as the server would send BODY[n]. */
static GByteArray *
raw_content(GMimeObject *obj)
{
    GMimeDataWrapper *dw;
    GMimeStream *s;
    GByteArray *out = g_byte_array_new();
    char buf[4096];
    gssize n;

    if (!GMIME_IS_PART(obj) ||
        (dw = g_mime_part_get_content(GMIME_PART(obj))) == NULL)
        return out;
    s = g_mime_data_wrapper_get_stream(dw);
    g_mime_stream_reset(s);
    while ((n = g_mime_stream_read(s, buf, sizeof(buf))) > 0)
        g_byte_array_append(out, (const guint8 *)buf, (guint)n);
    return out;
}

/* What mime_text_to_html may write: text, entities and its own tags (a
 * link keeps the scheme's case as written: "HTTP://" is a link too). */
static void
check_text_html(const GString *html)
{
    static const char *const tags[] = {
        "<div class=\"text\">", "</div>", "<blockquote class=\"q",
        "</blockquote>", "<a href=\"http://", "<a href=\"https://",
        "<a href=\"mailto:", "</a>"};

    xassert(g_utf8_validate(html->str, (gssize)html->len, NULL));
    xassert(strlen(html->str) == html->len);
    for (const char *p = strchr(html->str, '<'); p != NULL;
         p = strchr(p + 1, '<')) {
        bool ok = false;

        for (size_t i = 0; i < N_ELEMENTS(tags) && !ok; i++)
            ok = g_ascii_strncasecmp(p, tags[i], strlen(tags[i])) == 0;
        xassert(ok);
    }
}

static void
show_part(const struct mime_part *p, GMimeObject *obj, size_t chunk)
{
    GByteArray *raw = raw_content(obj);
    struct mime_decoder *dec = mime_decoder_new(
        p->encoding, p->charset != NULL ? p->charset : "us-ascii");
    GString *text = g_string_new(NULL), *html = g_string_new(NULL);
    struct err err = {0};

    for (size_t off = 0; off < raw->len; off += chunk)
        mime_decoder_feed(dec, raw->data + off,
                          raw->len - off < chunk ? raw->len - off : chunk,
                          text);
    mime_decoder_finish(dec, text);
    mime_decoder_free(&dec);
    xassert(dec == NULL);
    /* decoder output: valid UTF-8, no NUL, whatever came in */
    xassert(g_utf8_validate(text->str, (gssize)text->len, NULL));
    xassert(strlen(text->str) == text->len);
    if (strcmp(p->subtype, "html") == 0) {
        if (sanitize_html(text->str, text->len, NULL, html, NULL, &err) == 0) {
            char *t = mime_html_to_text(html->str, html->len);

            xassert(t != NULL && g_utf8_validate(t, -1, NULL));
            g_free(t);
        } else {
            xassert(err.kind == ERR_LIMIT);
        }
    } else if (mime_text_to_html(text->str, text->len, p->flowed, p->delsp,
                                 html, &err) == 0) {
        check_text_html(html);
    } else {
        xassert(err.kind == ERR_LIMIT);
    }
    g_string_free(text, TRUE);
    g_string_free(html, TRUE);
    g_byte_array_free(raw, TRUE);
}

/* Byte 0: bit 0 prefer plain text, bits 1-5 the decoder's chunk size.
 * The rest is a message as a server would hand it over. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GMimeStream *s;
    GMimeParser *parser;
    GMimeMessage *msg;
    GMimeObject *body;
    struct walk w;
    struct mime_plan plan;
    struct err err = {0};
    size_t chunk;

    if (size < 1)
        return 0;
    chunk = (size_t)((data[0] >> 1) & 31) + 1;
    s = g_mime_stream_mem_new_with_buffer((const char *)data + 1, size - 1);
    parser = g_mime_parser_new_with_stream(s);
    msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(s);
    if (msg == NULL)
        return 0;
    body = g_mime_message_get_mime_part(msg);
    if (body == NULL) {
        g_object_unref(msg);
        return 0;
    }
    w.parts = g_array_new(FALSE, TRUE, sizeof(struct mime_part));
    w.objs = g_ptr_array_new();
    w.strs = g_ptr_array_new_with_free_func(g_free);
    walk(&w, body, GMIME_IS_MULTIPART(body) ? "" : "1", -1, 0);

    memset(&plan, 0, sizeof(plan));
    if (mime_plan_make((const struct mime_part *)w.parts->data, w.parts->len,
                       (data[0] & 1) != 0, &plan, &err) == 0) {
        for (size_t i = 0; i < plan.n_show; i++) {
            size_t k = plan.show[i].part;
            const struct mime_part *p;

            xassert(k < w.parts->len);
            p = &g_array_index(w.parts, struct mime_part, k);
            if (plan.show[i].kind == MIME_SHOW_TEXT ||
                plan.show[i].kind == MIME_SHOW_HTML)
                show_part(p, w.objs->pdata[k], chunk);
        }
        for (size_t i = 0; i < plan.n_attachments; i++) {
            const struct mime_part *p;
            char *cd;

            xassert(plan.attachments[i] < w.parts->len);
            p = &g_array_index(w.parts, struct mime_part,
                               plan.attachments[i]);
            cd = mime_content_disposition(p->disposition, p->filename);
            for (const char *c = cd; *c != '\0'; c++)
                xassert(*c >= 0x20 && *c < 0x7f); /* printable ASCII */
            g_free(cd);
        }
        mime_plan_clear(&plan);
    } else {
        xassert(err.kind == ERR_LIMIT);
    }
    g_ptr_array_free(w.strs, TRUE);
    g_ptr_array_free(w.objs, TRUE);
    g_array_free(w.parts, TRUE);
    g_object_unref(msg);
    return 0;
}
