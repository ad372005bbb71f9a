/* h_message.c - GET /message (one message: headers, body, attachments),
 * GET /body (the body alone, for the sandboxed frame), GET /part (one part,
 * streamed and decoded) and GET /source (the raw message, streamed).
 * Layer: web. The body is fetched part by part, decoded to UTF-8, and
 * either sanitized (HTML) or escaped and linkified (text). */
#include <string.h>

#include <glib.h>

#include "core/limits.h"
#include "mime/mime_decode.h"
#include "mime/mime_text.h"
#include "mime/sanitize.h"
#include "view/render.h"
#include "view/view.h"
#include "web/app.h"
#include "web/auth.h"
#include "web/handlers.h"
#include "web/page.h"

/* The frame's own policy: no script at all, whatever the sanitizer let
 * through; styles inline (mail needs them); images from us, and from
 * anywhere only when the user asked for remote content. It goes in the
 * frame's document too (a <meta>, which cannot say frame-ancestors), for
 * the frame the message page carries inside. */
#define BODY_CSP                                                             \
    "default-src 'none'; script-src 'none'; object-src 'none'; "            \
    "style-src 'self' 'unsafe-inline'; font-src 'none'; form-action 'none'; " \
    "base-uri 'none'; "
#define BODY_IMG_LOCAL "img-src 'self' data:"
#define BODY_IMG_REMOTE "img-src 'self' data: http: https:; media-src 'none'"

/* The message page carries the frame's document inside (srcdoc), and such
 * a document is bound by its page's policy as well as by its own: the
 * page allows the inline styles mail needs (nothing of the page itself is
 * inline). Not remote images: with inline styles they would let a slip in
 * the page's escaping send its CSRF token out through a CSS selector, so
 * a message shown with remote content keeps its frame at /body. */
#define MESSAGE_PAGE_CSP                                                     \
    WEB_CSP_SCRIPT "style-src 'self' 'unsafe-inline'; " BODY_IMG_LOCAL "; "  \
    WEB_CSP_REST

struct msg_query {
    const char *folder;
    const char *uid;           /* the message id */
    bool plain, remote, all_headers;
};

/* A plain-text body's rows at a phone's width (37 monospace columns of
 * 14px in 318px) give the message page a shorter frame than the default
 * 70vh: "short" (10rem) or "medium" (21rem) in postern.css. HTML mail
 * has no such count and keeps the default, as does anything uncounted
 * (an embedded message's headers, a note). */
#define FRAME_COLS 37u
#define FRAME_ROWS_SHORT 6u
#define FRAME_ROWS_MEDIUM 14u

struct msg_body {
    GString *html;
    bool is_html;              /* some part was HTML */
    bool remote_blocked;
    bool truncated;
    unsigned n_html;           /* HTML parts shown so far */
    bool inline_images;        /* small cid: images as data: URIs */
    size_t inlined;            /* data: bytes written so far */
    struct view_embed *embeds; /* one per embedded message, in order */
    size_t n_embeds;
    unsigned rows;             /* plain-text rows so far (FRAME_COLS) */
    bool rows_unknown;         /* something in the frame was not counted */
};

static int
msg_query_parse(struct request *req, struct msg_query *q, struct err *err)
{
    const char *h = request_query(req, "headers");

    memset(q, 0, sizeof(*q));
    if (request_param_folder(req, "f", &q->folder, err) < 0 ||
        request_param_id(req, "uid", &q->uid, err) < 0 ||
        request_param_bool(req, "plain", &q->plain, err) < 0 ||
        request_param_bool(req, "remote", &q->remote, err) < 0)
        return -1;
    /* headers=all (or 1) adds every header to the view */
    q->all_headers = h != NULL && (strcmp(h, "all") == 0 ||
                                   strcmp(h, "1") == 0);
    return 0;
}

static const char *
msg_part_url(struct request *req, const struct msg_query *q,
             const char *section)
{
    char *f = g_uri_escape_string(q->folder, NULL, FALSE);
    char *id = g_uri_escape_string(q->uid, NULL, FALSE);
    const char *url = arena_printf(req->arena, "%spart?f=%s&uid=%s&part=%s",
                                   web_app_base_path(req->app), f, id,
                                   section);

    g_free(id);
    g_free(f);
    return url;
}

struct cid_ctx {
    struct request *req;
    struct store *st;
    const struct msg_query *q;
    const struct store_message *m;
    struct msg_body *body;
};

/* A small image as a data: URI, or NULL (too large, over the frame's
 * budget, or not fetched: the caller links to /part instead, and the
 * browser's own request reports any error). */
static const char *
msg_image_data_url(struct cid_ctx *c, const struct mime_part *p)
{
    GString *raw, *bytes;
    struct mime_decoder *dec;
    struct err err = {0};
    bool truncated = false;
    const char *url = NULL;
    char *b64, *sub;

    if (p->size > LIM_INLINE_IMAGE ||
        c->body->inlined + p->size > LIM_INLINE_IMAGES)
        return NULL;
    raw = g_string_new(NULL);
    bytes = g_string_new(NULL);
    if (store_part_raw(c->st, c->q->folder, c->q->uid, p->section,
                       LIM_INLINE_IMAGE, raw, &truncated, &err) < 0 ||
        truncated)
        goto out;
    dec = mime_decoder_new(p->encoding, NULL);
    mime_decoder_feed(dec, raw->str, raw->len, bytes);
    mime_decoder_finish(dec, bytes);
    mime_decoder_free(&dec);
    if (bytes->len == 0)
        goto out;
    b64 = g_base64_encode((const guchar *)bytes->str, bytes->len);
    /* one of mime_is_inline_image's types, in lower case; "jpg" is a
     * file name's, not a type */
    sub = g_ascii_strdown(p->subtype, -1);
    url = arena_printf(c->req->arena, "data:image/%s;base64,%s",
                       strcmp(sub, "jpg") == 0 ? "jpeg" : sub, b64);
    c->body->inlined += strlen(url);
    g_free(sub);
    g_free(b64);
out:
    g_string_free(raw, TRUE);
    g_string_free(bytes, TRUE);
    return url;
}

static const char *
msg_cid_url(void *vctx, const char *cid)
{
    struct cid_ctx *c = vctx;

    for (size_t i = 0; i < c->m->n_parts; i++) {
        const struct mime_part *p = &c->m->parts[i];
        const char *data;

        if (p->content_id == NULL || strcmp(p->content_id, cid) != 0 ||
            !mime_is_inline_image(p->type, p->subtype))
            continue;
        if (c->body->inline_images &&
            (data = msg_image_data_url(c, p)) != NULL)
            return data;
        return msg_part_url(c->req, c->q, p->section);
    }
    return NULL;
}

/* One displayed part: fetched, decoded to UTF-8, made safe. */
static int
msg_body_part(struct request *req, struct store *st,
              const struct msg_query *q, const struct store_message *m,
              const struct mime_part *p, struct msg_body *body,
              struct err *err)
{
    GString *raw = g_string_new(NULL), *text = g_string_new(NULL);
    struct mime_decoder *dec;
    bool truncated = false;
    int rc = -1;

    if (store_part_raw(st, q->folder, q->uid, p->section, LIM_SANITIZE_INPUT,
                       raw, &truncated, err) < 0)
        goto out;
    dec = mime_decoder_new(p->encoding, p->charset != NULL ? p->charset
                                                           : "us-ascii");
    mime_decoder_feed(dec, raw->str, raw->len, text);
    mime_decoder_finish(dec, text);
    mime_decoder_free(&dec);
    if (text->len > LIM_SANITIZE_INPUT) {
        g_string_truncate(text, LIM_SANITIZE_INPUT);
        truncated = true;
        /* do not cut a character in half */
        while (text->len > 0 &&
               !g_utf8_validate(text->str, (gssize)text->len, NULL))
            g_string_truncate(text, text->len - 1);
    }
    body->truncated = body->truncated || truncated;
    if (strcmp(p->subtype, "html") == 0) {
        struct cid_ctx cctx = {.req = req, .st = st, .q = q, .m = m,
                               .body = body};
        struct sanitize_opts so = {.allow_remote = q->remote,
                                   .cid_url = msg_cid_url,
                                   .cid_ctx = &cctx};
        struct sanitize_report rep = {0};

        body->is_html = true;
        body->n_html++;
        rc = sanitize_html(text->str, text->len, &so, body->html, &rep, err);
        body->remote_blocked = body->remote_blocked || rep.remote_blocked;
    } else {
        rc = mime_text_to_html(text->str, text->len, p->flowed, p->delsp,
                               body->html, err);
        body->rows += mime_text_rows(text->str, text->len, p->flowed,
                                     FRAME_COLS, FRAME_ROWS_MEDIUM);
    }
out:
    g_string_free(raw, TRUE);
    g_string_free(text, TRUE);
    return rc;
}

static int
msg_body_build(struct request *req, struct store *st,
               const struct msg_query *q, const struct store_message *m,
               const struct mime_plan *plan, struct msg_body *body,
               struct err *err)
{
    /* where each embedded message's own body starts and ends in html, so
     * the JSON can give it separately too */
    size_t *start = arena_alloc(req->arena,
                                (plan->n_show + 1) * sizeof(*start));
    unsigned *html_before = arena_alloc(req->arena, (plan->n_show + 1) *
                                                        sizeof(*html_before));
    size_t depth = 0;

    body->embeds = arena_alloc(req->arena,
                               (plan->n_show + 1) * sizeof(*body->embeds));
    for (size_t i = 0; i < plan->n_show; i++) {
        const struct mime_show *sh = &plan->show[i];
        const struct mime_part *p = &m->parts[sh->part];

        switch (sh->kind) {
        case MIME_SHOW_TEXT:
        case MIME_SHOW_HTML:
            if (msg_body_part(req, st, q, m, p, body, err) < 0) {
                if (err->kind != ERR_LIMIT && err->kind != ERR_INPUT)
                    return -1;
                /* an undecodable part: say so, show the rest */
                err_clear(err);
                body->rows_unknown = true;
                g_string_append(body->html,
                                "<p class=\"postern-note\">This part could "
                                "not be shown; see the message source.</p>");
            }
            break;
        case MIME_SHOW_EMBED_BEGIN: {
            struct json_object *v = view_embedded(req->arena, p->envelope);

            body->rows_unknown = true;
            if (render_html(req->app->templates, "embedded", v, body->html,
                            err) < 0)
                return -1;
            body->embeds[body->n_embeds].part = sh->part;
            start[depth] = body->n_embeds++;
            html_before[depth++] = body->n_html;
            /* the body starts after the header block */
            body->embeds[start[depth - 1]].start = body->html->len;
            break;
        }
        case MIME_SHOW_EMBED_END: {
            struct view_embed *e = &body->embeds[start[--depth]];

            e->html = arena_strndup(req->arena, body->html->str + e->start,
                                    body->html->len - e->start);
            e->is_html = body->n_html > html_before[depth];
            g_string_append(body->html, "</div>");
            break;
        }
        }
    }
    if (body->truncated) {
        body->rows_unknown = true;
        g_string_append(body->html,
                        "<p class=\"postern-note\">This message is too large "
                        "to show whole; see the message source.</p>");
    }
    return 0;
}

/* The body of a message the store read only the headers of: what it is
 * and where the rest is (sizes are digits and units: nothing to escape). */
static void
msg_body_partial(struct request *req, const struct store_message *m,
                 struct msg_body *body)
{
    g_string_append_printf(body->html,
                           "<p class=\"postern-note\">This message is %s, "
                           "more than postern opens (max_message_size is "
                           "%s): only its headers are shown. Its Source "
                           "link downloads it whole.</p>",
                           view_size(req->arena, m->size),
                           view_size(req->arena,
                                     req->app->cfg->max_message_size));
}

/* The message page's frame height class, or NULL for the default. */
static const char *
msg_frame_fit(const struct msg_body *body)
{
    if (body->is_html || body->rows_unknown)
        return NULL;
    if (body->rows <= FRAME_ROWS_SHORT)
        return "short";
    return body->rows <= FRAME_ROWS_MEDIUM ? "medium" : NULL;
}

struct msg_run {
    const struct msg_query *q;
    bool want_body, mark_seen, with_headers;
    bool structure_only;       /* flags not needed: the store may remember */
    /* the body frame, when one is made: the one the message page carries
     * inside (frame_in_page), else one left with the store for the /body
     * that follows; /body takes a kept one when there is (frame_kept_ok) */
    GString *frame;
    bool frame_in_page, frame_kept_ok;
    /* the message page's "move to" choice: the folders' names, which the
     * store keeps per connection (no round trip after the mailbox page) */
    bool want_targets;
    const char **names;
    size_t n_names;
    /* Previous and Next in the list the user came from (no round trip) */
    bool want_neighbours;
    const char *prev, *next;
    struct store_message m;
    struct mime_plan plan;
    bool plan_deferred;
    struct msg_body body;
};

static void
msg_plan_clear(void *p)
{
    mime_plan_clear(p);
}

static void
msg_gstring_free(void *s)
{
    g_string_free(s, TRUE);
}

/* What a frame depends on besides the message. */
static const char *
msg_frame_key(const struct msg_query *q)
{
    if (q->plain)
        return q->remote ? "frame:plain:remote" : "frame:plain";
    return q->remote ? "frame:remote" : "frame";
}

/* The body frame's document around the body's safe HTML. */
static int
msg_frame_render(struct request *req, const struct msg_body *body,
                 bool remote, GString *out, struct err *err)
{
    struct json_object *view = view_obj_new(req->arena);

    view_add_str(view, "html", body->html->str);
    view_add_str(view, "base", web_app_base_path(req->app));
    view_add_str(view, "static", req->app->static_url);
    view_add_str(view, "csp", remote ? BODY_CSP BODY_IMG_REMOTE
                                     : BODY_CSP BODY_IMG_LOCAL);
    return render_html(req->app->templates, "body", view, out, err);
}

/* Renders the frame into r->frame; /body's, or the one made for the /body
 * that follows, is left with the store for that request. */
static int
msg_frame_make(struct request *req, struct store *st, struct msg_run *r,
               struct err *err)
{
    if (msg_frame_render(req, &r->body, r->q->remote, r->frame, err) < 0)
        return -1;
    /* a larger one is linked from the page, not carried in it */
    if (r->frame_in_page && r->frame->len > LIM_SRCDOC)
        r->frame_in_page = false;
    if (!r->frame_in_page)
        store_keep_derived(st, r->q->folder, r->q->uid, msg_frame_key(r->q),
                           r->frame->str, r->frame->len);
    return 0;
}

/* The frame the store kept for this message, into r->frame: false when
 * there is none. */
static bool
msg_frame_kept(struct store *st, struct msg_run *r)
{
    GBytes *kept = store_derived(st, r->q->folder, r->q->uid,
                                 msg_frame_key(r->q));
    gsize n;
    const char *d;

    if (kept == NULL)
        return false;
    d = g_bytes_get_data(kept, &n);
    g_string_append_len(r->frame, d, (gssize)n);
    g_bytes_unref(kept);
    return true;
}

static int
msg_run_fn(struct request *req, struct store *st, void *vctx,
           struct err *err)
{
    struct msg_run *r = vctx;
    GString *html = r->body.html;
    bool inline_images = r->body.inline_images;

    /* a second try on a fresh connection starts from nothing */
    memset(&r->body, 0, sizeof(r->body));
    r->body.html = html;
    r->body.inline_images = inline_images;
    g_string_truncate(html, 0);
    if (r->frame != NULL)
        g_string_truncate(r->frame, 0);
    if (r->frame_kept_ok && msg_frame_kept(st, r))
        return 0;

    if ((r->structure_only
             ? store_message_structure(st, r->q->folder, r->q->uid,
                                       req->arena, &r->m, err)
             : store_message_get(st, r->q->folder, r->q->uid,
                                 r->with_headers, req->arena, &r->m, err)) < 0)
        return -1;
    /* r lives in the arena (msg_load): the cleanup may point into it;
     * registered once, for the plan of the last try */
    if (r->plan_deferred)
        mime_plan_clear(&r->plan);
    if (mime_plan_make(r->m.parts, r->m.n_parts, r->q->plain, &r->plan,
                       err) < 0)
        return -1;
    if (!r->plan_deferred)
        arena_defer(req->arena, msg_plan_clear, &r->plan);
    r->plan_deferred = true;
    if (r->want_body && r->m.partial)
        msg_body_partial(req, &r->m, &r->body);
    else if (r->want_body &&
             msg_body_build(req, st, r->q, &r->m, &r->plan, &r->body,
                            err) < 0)
        return -1;
    if (r->frame != NULL && msg_frame_make(req, st, r, err) < 0)
        return -1;
    /* DESIGN §5: viewing sets \Seen (the fetches above only peeked) */
    if (r->mark_seen && !r->m.seen && store_has_cap(st, STORE_CAP_FLAGS)) {
        if (store_flags_change(st, r->q->folder, &r->q->uid, 1,
                               STORE_FLAG_SEEN, true, err) < 0)
            return -1;
        r->m.seen = true;
    }
    r->n_names = 0;
    if (r->want_targets && store_has_cap(st, STORE_CAP_FOLDERS) &&
        store_folder_names(st, req->arena, &r->names, &r->n_names, err) < 0) {
        if (err->kind != ERR_REFUSED)
            return -1;
        err_clear(err); /* the message still shows, without "move to" */
        r->n_names = 0;
    }
    if (r->want_neighbours)
        store_neighbours(st, req->arena, r->q->folder, r->q->uid, &r->prev,
                         &r->next);
    return 0;
}

static int
msg_load(struct request *req, struct msg_run *r, struct err *err)
{
    struct session *s;

    r->body.html = g_string_new(NULL);
    arena_defer(req->arena, msg_gstring_free, r->body.html);
    if (auth_require(req, &s, err) < 0)
        return -1;
    return auth_with_store(req, s, msg_run_fn, r, err);
}

int
h_message(struct request *req, struct response *resp, struct err *err)
{
    struct msg_query *q = arena_alloc(req->arena, sizeof(*q));
    struct msg_run *r = arena_alloc(req->arena, sizeof(*r));
    struct json_object *view;

    if (msg_query_parse(req, q, err) < 0)
        return -1;
    r->q = q;
    r->want_body = true;
    r->mark_seen = true;
    r->with_headers = q->all_headers;
    r->want_neighbours = true;
    /* A browser gets the frame inside the page (srcdoc), its small images
     * inside the frame: one request shows the message, where the frame's
     * own URL took a second round trip (browsers without srcdoc load it;
     * /body makes it again from the parts the store remembers). Not when
     * remote content is shown (MESSAGE_PAGE_CSP), nor past LIM_SRCDOC: the
     * frame is then made now for the /body that follows. */
    if (!request_wants_json(req)) {
        r->frame_in_page = !q->remote;
        r->want_targets = true;
        r->body.inline_images = true;
        r->frame = g_string_new(NULL);
        arena_defer(req->arena, msg_gstring_free, r->frame);
    }
    if (msg_load(req, r, err) < 0)
        return -1;
    /* the body's HTML by itself is the JSON's; the page shows the frame */
    view = view_message(req->arena, web_app_base_path(req->app), &r->m,
                        &r->plan,
                        r->frame != NULL ? "" : r->body.html->str,
                        r->body.is_html,
                        r->body.remote_blocked, q->plain, q->remote,
                        q->all_headers, r->body.embeds, r->body.n_embeds);
    view_message_neighbours(req->arena, view, web_app_base_path(req->app),
                            &r->m, r->prev, r->next, q->plain);
    view_add_str(view, "user", session_user(req->session));
    view_add_str(view, "csrf", session_csrf_token(req->session));
    if (r->frame_in_page)
        view_add_str(view, "frame_doc", r->frame->str);
    if (r->frame != NULL)
        view_add_str(view, "frame_fit", msg_frame_fit(&r->body));
    if (r->want_targets)
        view_add(view, "targets",
                 view_targets(r->names, r->n_names, q->folder));
    if (page_render(req, resp, "message", view, err) < 0)
        return -1;
    if (r->frame_in_page)
        response_set_header(resp, req->arena, "Content-Security-Policy",
                            MESSAGE_PAGE_CSP);
    return 0;
}

int
h_body(struct request *req, struct response *resp, struct err *err)
{
    struct msg_query *q = arena_alloc(req->arena, sizeof(*q));
    struct msg_run *r = arena_alloc(req->arena, sizeof(*r));

    r->q = q;
    r->want_body = true;
    r->structure_only = true; /* right after /message, as a rule */
    /* the frame is what a browser renders: its small images come in the
     * same response (the JSON keeps /part links) */
    r->body.inline_images = true;
    r->frame = resp->body;
    r->frame_kept_ok = true;
    if (msg_query_parse(req, q, err) < 0 || msg_load(req, r, err) < 0)
        return -1;
    response_set_header(resp, req->arena, "Content-Type",
                        "text/html; charset=utf-8");
    response_set_header(resp, req->arena, "Content-Security-Policy",
                        q->remote
                            ? BODY_CSP "frame-ancestors 'self'; " BODY_IMG_REMOTE
                            : BODY_CSP "frame-ancestors 'self'; " BODY_IMG_LOCAL);
    response_set_header(resp, req->arena, "X-Frame-Options", "SAMEORIGIN");
    return 0;
}

/* ---- /part and /source: streamed ---- */

struct part_stream {
    struct store_stream *ss;
    struct mime_decoder *dec;   /* NULL for /source: bytes as they are */
    /* decoded by the server; what is needed to fall back to the raw bytes
     * when it refuses (Dovecot will not decode broken base64) */
    bool server_decoded;
    struct store *st;
    const char *folder, *uid, *section, *encoding;
    GString *pending;
    size_t off;
    bool eof;
    bool sized;                 /* size was promised to the browser */
    uint64_t size, sent;
};

static void
part_stream_cleanup(void *p)
{
    struct part_stream *ps = p;

    store_stream_close(&ps->ss);
    mime_decoder_free(&ps->dec);
    g_string_free(ps->pending, TRUE);
}

/* When the server refused to decode the part (Dovecot will not decode
 * broken base64; store_stream_size tells before any byte), the raw part
 * and our own decoder, with replacement. -1 for any other error. */
static int
part_stream_fall_back(struct part_stream *ps, struct err *err)
{
    if (!ps->server_decoded || err->kind != ERR_REFUSED)
        return -1;
    err_clear(err);
    store_stream_close(&ps->ss);
    ps->server_decoded = false;
    ps->ss = store_stream_open(ps->st, ps->folder, ps->uid, ps->section,
                               err);
    if (ps->ss == NULL)
        return -1;
    store_stream_paced(ps->ss);
    ps->dec = mime_decoder_new(ps->encoding, NULL);
    return 0;
}

/* After the announced size: the rest of the reply, which should hold no
 * more bytes (a server that sends more leaves the stream unfinished, and
 * closing it then retires the connection). */
static void
part_stream_drain(struct part_stream *ps)
{
    char extra[1];
    struct err err = {0};

    if (store_stream_read(ps->ss, extra, sizeof(extra), &err) == 0)
        ps->eof = true;
}

static ssize_t
part_stream_fn(void *ctx, char *buf, size_t max)
{
    struct part_stream *ps = ctx;
    char raw[64 * 1024];
    size_t avail;

    /* never a byte past the size promised (an empty part: at once) */
    if (ps->sized && ps->sent >= ps->size) {
        if (!ps->eof)
            part_stream_drain(ps);
        return 0;
    }
    if (ps->sized && max > ps->size - ps->sent)
        max = (size_t)(ps->size - ps->sent);
    /* bytes that need no decoding (the source, a part the server decoded)
     * go straight into the front end's buffer; pending is for decoded ones */
    if (ps->dec == NULL && !ps->eof) {
        struct err err = {0};
        ssize_t n = store_stream_read(ps->ss, buf, max, &err);

        if (n < 0)
            return -1; /* the front end drops the connection */
        ps->sent += (uint64_t)n;
        ps->eof = n == 0;
        /* the front end asks no more once the promised size is out: read
         * the reply's end now, so the connection stays usable */
        if (ps->sized && ps->sent >= ps->size && !ps->eof)
            part_stream_drain(ps);
        return n;
    }
    while (ps->pending->len - ps->off == 0 && !ps->eof) {
        struct err err = {0};
        ssize_t n = store_stream_read(ps->ss, raw, sizeof(raw), &err);

        g_string_truncate(ps->pending, 0);
        ps->off = 0;
        if (n < 0)
            return -1; /* the front end drops the connection */
        if (n == 0) {
            ps->eof = true;
            mime_decoder_finish(ps->dec, ps->pending);
        } else {
            mime_decoder_feed(ps->dec, raw, (size_t)n, ps->pending);
        }
    }
    avail = ps->pending->len - ps->off;
    if (avail > max)
        avail = max;
    memcpy(buf, ps->pending->str + ps->off, avail);
    ps->off += avail;
    return (ssize_t)avail;
}

static int
part_stream_start(struct request *req, struct response *resp,
                  struct store *st, const char *folder, const char *uid,
                  const char *section, const char *encoding, struct err *err)
{
    struct part_stream *ps = arena_alloc(req->arena, sizeof(*ps));

    ps->pending = g_string_sized_new(32 * 1024);
    arena_defer(req->arena, part_stream_cleanup, ps);
    /* the server decodes base64 and quoted-printable when it can (a
     * download then costs postern a copy, not a decoding) */
    if (section != NULL && encoding != NULL &&
        (strcmp(encoding, "base64") == 0 ||
         strcmp(encoding, "quoted-printable") == 0)) {
        ps->ss = store_stream_open_decoded(st, folder, uid, section, err);
        if (ps->ss != NULL) {
            ps->server_decoded = true;
            ps->st = st;
            ps->folder = folder;
            ps->uid = uid;
            ps->section = section;
            ps->encoding = encoding;
            encoding = NULL;
        } else if (err->kind != ERR_NONE) {
            return -1;
        }
    }
    if (ps->ss == NULL)
        ps->ss = store_stream_open(st, folder, uid, section, err);
    if (ps->ss == NULL)
        return -1;
    /* a download: the browser sets the pace, not command_timeout */
    store_stream_paced(ps->ss);
    if (encoding != NULL)
        ps->dec = mime_decoder_new(encoding, NULL);
    /* bytes that go out as the server sends them have the size it
     * announces: a Content-Length, so a browser shows how far a download
     * has come (and no chunk framing). A refusal shows here, before any
     * header has gone out. */
    if (ps->dec == NULL) {
        uint64_t size;
        int known = store_stream_size(ps->ss, &size, err);

        if (known < 0 && part_stream_fall_back(ps, err) < 0)
            return -1;
        if (known > 0 && size <= INT64_MAX) {
            resp->stream_len = (long long)size;
            ps->sized = true;
            ps->size = size;
            if (size == 0) /* a front end asks nothing of an empty body */
                part_stream_drain(ps);
        }
    }
    resp->stream = part_stream_fn;
    resp->stream_ctx = ps;
    return 0;
}

int
h_part(struct request *req, struct response *resp, struct err *err)
{
    const char *folder, *section = request_query(req, "part");
    const struct mime_part *p;
    struct store_message m;
    struct session *s;
    struct store *st;
    const char *uid;
    bool inline_ok;
    char *disp;
    const char *type;

    if (request_param_folder(req, "f", &folder, err) < 0 ||
        request_param_id(req, "uid", &uid, err) < 0)
        return -1;
    if (!mime_section_is_valid(section)) {
        err_set(err, ERR_INPUT, "parameter part is not a part number");
        return -1;
    }
    if (auth_require(req, &s, err) < 0 ||
        auth_store_borrow(req, s, &st, err) < 0 ||
        store_message_structure(st, folder, uid, req->arena, &m, err) < 0)
        return -1;
    p = store_message_part(&m, section);
    if (p == NULL || strcmp(p->type, "multipart") == 0) {
        err_set(err, ERR_NOT_FOUND, "no part %s in message %s", section,
                uid);
        return -1;
    }
    if (part_stream_start(req, resp, st, folder, uid, section, p->encoding,
                          err) < 0)
        return -1;
    inline_ok = mime_is_inline_image(p->type, p->subtype);
    type = arena_printf(req->arena, "%s/%s%s%s", p->type, p->subtype,
                        p->charset != NULL ? "; charset=" : "",
                        p->charset != NULL ? p->charset : "");
    /* a type we would let the browser render (html, svg) goes out as a
     * download whatever it says; nosniff is set for every response */
    response_set_header(resp, req->arena, "Content-Type",
                        strpbrk(type, "\r\n\"") == NULL
                            ? type
                            : "application/octet-stream");
    disp = mime_content_disposition(inline_ok ? "inline" : "attachment",
                                    p->filename);
    response_set_header(resp, req->arena, "Content-Disposition", disp);
    g_free(disp);
    response_set_header(resp, req->arena, "Content-Security-Policy",
                        "default-src 'none'; sandbox");
    return 0;
}

int
h_source(struct request *req, struct response *resp, struct err *err)
{
    const char *folder;
    struct store_message m;
    struct session *s;
    struct store *st;
    const char *uid;

    /* the message's size and existence first: a 404, not an empty 200 */
    if (request_param_folder(req, "f", &folder, err) < 0 ||
        request_param_id(req, "uid", &uid, err) < 0 ||
        auth_require(req, &s, err) < 0 ||
        auth_store_borrow(req, s, &st, err) < 0 ||
        store_message_structure(st, folder, uid, req->arena, &m, err) < 0 ||
        part_stream_start(req, resp, st, folder, uid, NULL, NULL, err) < 0)
        return -1;
    if (resp->stream_len < 0) /* the server did not say (POP3) */
        resp->stream_len = (long long)m.size;
    response_set_header(resp, req->arena, "Content-Type",
                        "text/plain; charset=utf-8");
    response_set_header(resp, req->arena, "Content-Security-Policy",
                        "default-src 'none'; sandbox");
    return 0;
}
