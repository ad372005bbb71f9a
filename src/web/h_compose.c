/* h_compose.c - GET /compose (new, reply, reply-all, forward, forward as
 * attachment, edit a draft), POST /send and POST /draft. Layer: web.
 * Whatever fails, the form comes back with everything typed and attached
 * (uploads are kept in the session's stash), and the reason. */
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "core/limits.h"
#include "core/log.h"
#include "mime/mime_build.h"
#include "mime/mime_decode.h"
#include "mime/mime_html_text.h"
#include "mime/sanitize.h"
#include "net/net_guard.h"
#include "session/vault.h"
#include "smtp/smtp_client.h"
#include "view/view.h"
#include "web/app.h"
#include "web/auth.h"
#include "web/form_multipart.h"
#include "web/handlers.h"
#include "web/page.h"
#include "web/stash.h"

#define COMPOSE_MAX_FIELD (1u * 1024 * 1024)   /* the text itself */
#define COMPOSE_MAX_ATTACH 50u

/* Everything the form holds; all strings arena-owned, never NULL. */
struct compose {
    const char *mode;
    const char *to, *cc, *bcc, *subject, *text;
    const char *in_reply_to, *references;
    const char *reply_f;        /* the original of a reply: \Answered */
    const char *reply_uid;      /* message ids; "" if none */
    const char *fwd_f;          /* the original of a forward */
    const char *fwd_uid;
    const char **fwd_parts;     /* its attachments carried along */
    size_t n_fwd_parts;
    bool attach_original;       /* forward as attachment */
    const char *draft_uid;      /* the draft this replaces, "" if none */
    struct stash_item *kept;    /* uploads kept across shown forms */
    size_t n_kept;
};

static const char *
compose_from(struct request *req)
{
    const char *user = session_user(req->session);
    const struct cfg_server *srv = session_server(req->session);

    if (strchr(user, '@') != NULL || srv->address_domain == NULL)
        return user;
    return arena_printf(req->arena, "%s@%s", user, srv->address_domain);
}

static const char *
field(struct request *req, const char *name)
{
    const char *v = request_form_get(req, name);

    return v != NULL ? v : "";
}

/* A message id the form carries along, or "" (none, or not an id). */
static const char *
field_id(struct request *req, const char *name)
{
    const char *v = request_form_get(req, name);

    return store_id_is_valid(v) ? v : "";
}

/* ---- the form, shown ---- */

static int
compose_show(struct request *req, struct response *resp,
             const struct compose *c, const char *error, const char *notice,
             int status, struct err *err)
{
    struct json_object *v = view_obj_new(req->arena);
    struct json_object *fwd = json_object_new_array();
    struct json_object *kept = json_object_new_array();

    view_add_str(v, "title", "Write");
    view_add_str(v, "from", compose_from(req));
    view_add_str(v, "mode", c->mode);
    view_add_str(v, "to", c->to);
    view_add_str(v, "cc", c->cc);
    view_add_str(v, "bcc", c->bcc);
    view_add_str(v, "subject", c->subject);
    view_add_str(v, "text", c->text);
    view_add_str(v, "in_reply_to", c->in_reply_to);
    view_add_str(v, "references", c->references);
    view_add_str(v, "reply_f", c->reply_f);
    view_add_str(v, "reply_uid", c->reply_uid);
    view_add_str(v, "fwd_f", c->fwd_f);
    view_add_str(v, "fwd_uid", c->fwd_uid);
    json_object_object_add(v, "attach_original",
                           json_object_new_boolean(c->attach_original));
    view_add_str(v, "draft_uid", c->draft_uid);
    for (size_t i = 0; i < c->n_fwd_parts; i++) {
        struct json_object *o = json_object_new_object();

        view_add_str(o, "part", c->fwd_parts[i]);
        json_object_array_add(fwd, o);
    }
    json_object_object_add(v, "fwd_parts", fwd);
    for (size_t i = 0; i < c->n_kept; i++) {
        struct json_object *o = json_object_new_object();
        char *sz = g_format_size(c->kept[i].size);

        view_add_str(o, "token", c->kept[i].token);
        view_add_str(o, "filename", c->kept[i].filename);
        view_add_str(o, "size_display", sz);
        g_free(sz);
        json_object_array_add(kept, o);
    }
    json_object_object_add(v, "kept", kept);
    json_object_object_add(v, "has_kept",
                           json_object_new_boolean(c->n_kept > 0));
    view_add_str(v, "error", error);
    view_add_str(v, "notice", notice);
    view_add_str(v, "user", session_user(req->session));
    view_add_str(v, "csrf", session_csrf_token(req->session));
    json_object_object_add(v, "max_upload_mb",
                           json_object_new_int64(
                               (int64_t)(req->app->cfg->max_upload >> 20)));
    resp->status = status;
    return page_render(req, resp, "compose", v, err);
}

/* ---- GET /compose: prefilled from an original ---- */

struct original {
    const char *folder;
    const char *uid;
    struct store_message m;
    struct mime_plan plan;
    char *text;                  /* g_free */
    const char *references;      /* raw header value or NULL */
};

static const char *
raw_header(struct arena *a, const struct store_message *m, const char *name)
{
    GMimeParser *p;
    GMimeStream *s;
    GMimeObject *obj;
    const char *v;
    const char *r = NULL;

    if (m->headers == NULL)
        return NULL;
    s = g_mime_stream_mem_new_with_buffer(m->headers, m->headers_len);
    p = g_mime_parser_new_with_stream(s);
    obj = (GMimeObject *)g_mime_parser_construct_message(p, NULL);
    if (obj != NULL) {
        v = g_mime_object_get_header(obj, name);
        if (v != NULL)
            r = arena_strdup(a, v);
        g_object_unref(obj);
    }
    g_object_unref(p);
    g_object_unref(s);
    return r;
}

static int
original_run(struct request *req, struct store *st, void *vctx,
             struct err *err)
{
    struct original *o = vctx;

    if (store_message_get(st, o->folder, o->uid, true, req->arena, &o->m,
                          err) < 0 ||
        mime_plan_make(o->m.parts, o->m.n_parts, true, &o->plan, err) < 0)
        return -1;
    for (size_t i = 0; i < o->plan.n_show && o->text == NULL; i++) {
        const struct mime_part *p = &o->m.parts[o->plan.show[i].part];
        GString *raw = g_string_new(NULL), *txt = g_string_new(NULL);
        struct mime_decoder *dec;
        bool trunc;

        if (o->plan.show[i].kind != MIME_SHOW_TEXT &&
            o->plan.show[i].kind != MIME_SHOW_HTML) {
            g_string_free(raw, TRUE);
            g_string_free(txt, TRUE);
            continue;
        }
        if (store_part_raw(st, o->folder, o->uid, p->section,
                           COMPOSE_MAX_FIELD, raw, &trunc, err) < 0) {
            g_string_free(raw, TRUE);
            g_string_free(txt, TRUE);
            return -1;
        }
        dec = mime_decoder_new(p->encoding, p->charset != NULL ? p->charset
                                                               : "us-ascii");
        mime_decoder_feed(dec, raw->str, raw->len, txt);
        mime_decoder_finish(dec, txt);
        mime_decoder_free(&dec);
        if (o->plan.show[i].kind == MIME_SHOW_HTML) {
            /* through the sanitizer first: it bounds the nesting gumbo
             * would otherwise take hours over */
            GString *safe = g_string_new(NULL);
            struct sanitize_opts so = {0};
            struct sanitize_report rep;

            if (sanitize_html(txt->str, txt->len, &so, safe, &rep, err) == 0)
                o->text = mime_html_to_text(safe->str, safe->len);
            err_clear(err);
            g_string_free(safe, TRUE);
        } else {
            o->text = g_strndup(txt->str, txt->len);
        }
        g_string_free(raw, TRUE);
        g_string_free(txt, TRUE);
    }
    o->references = raw_header(req->arena, &o->m, "References");
    return 0;
}

static const char *
addr_list(struct arena *a, const struct mime_address *l, size_t n,
          const char *skip)
{
    GString *s = g_string_new(NULL);
    const char *r;

    for (size_t i = 0; i < n; i++) {
        if (skip != NULL && g_ascii_strcasecmp(l[i].email, skip) == 0)
            continue;
        if (s->len > 0)
            g_string_append(s, ", ");
        if (l[i].name[0] != '\0') {
            /* quote the name: it may hold commas */
            g_string_append_c(s, '"');
            for (const char *p = l[i].name; *p; p++) {
                if (*p == '"' || *p == '\\')
                    g_string_append_c(s, '\\');
                g_string_append_c(s, *p);
            }
            g_string_append_printf(s, "\" <%s>", l[i].email);
        } else {
            g_string_append(s, l[i].email);
        }
    }
    r = arena_strdup(a, s->str);
    g_string_free(s, TRUE);
    return r;
}

static const char *
quoted(struct arena *a, const char *text)
{
    GString *s = g_string_new(NULL);
    char **lines = g_strsplit(text != NULL ? text : "", "\n", -1);
    const char *r;

    for (char **l = lines; *l != NULL; l++) {
        g_strchomp(*l);
        g_string_append(s, (*l)[0] == '>' ? ">" : "> ");
        g_string_append(s, *l);
        g_string_append_c(s, '\n');
    }
    g_strfreev(lines);
    r = arena_strdup(a, s->str);
    g_string_free(s, TRUE);
    return r;
}

static const char *
prefixed_subject(struct arena *a, const char *subject, const char *prefix)
{
    if (g_ascii_strncasecmp(subject, prefix, strlen(prefix)) == 0)
        return subject;
    return arena_printf(a, "%s%s", prefix, subject);
}

static void
compose_defaults(struct compose *c)
{
    memset(c, 0, sizeof(*c));
    c->mode = "new";
    c->to = c->cc = c->bcc = c->subject = c->text = "";
    c->in_reply_to = c->references = c->reply_f = c->fwd_f = "";
    c->reply_uid = c->fwd_uid = c->draft_uid = "";
}

int
h_compose(struct request *req, struct response *resp, struct err *err)
{
    struct compose c;
    struct original o = {0};
    struct session *s;
    const char *mode = request_query(req, "mode");
    const char *self;
    char date[64] = "";

    compose_defaults(&c);
    if (auth_require(req, &s, err) < 0)
        return -1;
    if (mode == NULL || *mode == '\0' || strcmp(mode, "new") == 0) {
        const char *to = request_query(req, "to");

        if (to != NULL && strlen(to) < 4096 && strpbrk(to, "\r\n") == NULL)
            c.to = to;
        return compose_show(req, resp, &c, NULL, NULL, 200, err);
    }
    if (strcmp(mode, "reply") != 0 && strcmp(mode, "all") != 0 &&
        strcmp(mode, "forward") != 0 && strcmp(mode, "attach") != 0 &&
        strcmp(mode, "draft") != 0) {
        err_set(err, ERR_INPUT, "unknown compose mode");
        return -1;
    }
    if (request_param_folder(req, "f", &o.folder, err) < 0 ||
        request_param_id(req, "uid", &o.uid, err) < 0)
        return -1;
    if (auth_with_store(req, s, original_run, &o, err) < 0) {
        g_free(o.text);
        mime_plan_clear(&o.plan);
        return -1;
    }
    c.mode = mode;
    self = compose_from(req);
    if (o.m.env.date != 0) {
        /* NULL for a date GLib cannot hold (a hostile Date: header) */
        GDateTime *d = g_date_time_new_from_unix_local(o.m.env.date);
        char *f = d != NULL ? g_date_time_format(d, "%a %e %b %Y %H:%M")
                            : NULL;

        if (f != NULL)
            g_strlcpy(date, f, sizeof(date));
        g_free(f);
        if (d != NULL)
            g_date_time_unref(d);
    }
    if (strcmp(mode, "reply") == 0 || strcmp(mode, "all") == 0) {
        const struct mime_address *who = o.m.env.n_reply_to > 0
                                             ? o.m.env.reply_to
                                             : o.m.env.from;
        size_t n_who = o.m.env.n_reply_to > 0 ? o.m.env.n_reply_to
                                              : o.m.env.n_from;

        c.to = addr_list(req->arena, who, n_who, NULL);
        if (strcmp(mode, "all") == 0) {
            const char *more = addr_list(req->arena, o.m.env.to,
                                         o.m.env.n_to, self);
            const char *cc = addr_list(req->arena, o.m.env.cc, o.m.env.n_cc,
                                       self);

            if (*more != '\0')
                c.to = arena_printf(req->arena, "%s, %s", c.to, more);
            c.cc = cc;
        }
        c.subject = prefixed_subject(req->arena, o.m.env.subject, "Re: ");
        c.in_reply_to = o.m.env.message_id != NULL ? o.m.env.message_id : "";
        c.references = arena_printf(
            req->arena, "%s%s%s", o.references != NULL ? o.references : "",
            o.references != NULL ? " " : "", c.in_reply_to);
        c.text = arena_printf(req->arena, "\n\nOn %s, %s wrote:\n%s", date,
                              o.m.env.n_from > 0 ? (o.m.env.from[0].name[0]
                                                        ? o.m.env.from[0].name
                                                        : o.m.env.from[0]
                                                              .email)
                                                 : "someone",
                              quoted(req->arena, o.text));
        c.reply_f = o.folder;
        c.reply_uid = o.uid;
    } else if (strcmp(mode, "forward") == 0 || strcmp(mode, "attach") == 0) {
        c.subject = prefixed_subject(req->arena, o.m.env.subject, "Fwd: ");
        c.fwd_f = o.folder;
        c.fwd_uid = o.uid;
        if (strcmp(mode, "attach") == 0) {
            c.attach_original = true;
        } else {
            c.text = arena_printf(
                req->arena,
                "\n\n---------- Forwarded message ----------\nFrom: %s\n"
                "Date: %s\nSubject: %s\nTo: %s\n\n%s",
                addr_list(req->arena, o.m.env.from, o.m.env.n_from, NULL),
                date, o.m.env.subject,
                addr_list(req->arena, o.m.env.to, o.m.env.n_to, NULL),
                o.text != NULL ? o.text : "");
            c.fwd_parts = arena_alloc(req->arena, (o.plan.n_attachments + 1) *
                                                      sizeof(char *));
            for (size_t i = 0; i < o.plan.n_attachments; i++)
                c.fwd_parts[c.n_fwd_parts++] =
                    o.m.parts[o.plan.attachments[i]].section;
        }
    } else { /* draft: edit it */
        c.to = raw_header(req->arena, &o.m, "To");
        c.cc = raw_header(req->arena, &o.m, "Cc");
        c.bcc = raw_header(req->arena, &o.m, "Bcc");
        c.to = c.to != NULL ? c.to : "";
        c.cc = c.cc != NULL ? c.cc : "";
        c.bcc = c.bcc != NULL ? c.bcc : "";
        c.subject = o.m.env.subject;
        c.in_reply_to = o.m.env.in_reply_to != NULL ? o.m.env.in_reply_to
                                                    : "";
        c.references = o.references != NULL ? o.references : "";
        c.text = o.text != NULL ? arena_strdup(req->arena, o.text) : "";
        c.draft_uid = o.uid;
        c.fwd_f = o.folder; /* its attachments come along */
        c.fwd_uid = o.uid;
        c.fwd_parts = arena_alloc(req->arena, (o.plan.n_attachments + 1) *
                                                  sizeof(char *));
        for (size_t i = 0; i < o.plan.n_attachments; i++)
            c.fwd_parts[c.n_fwd_parts++] =
                o.m.parts[o.plan.attachments[i]].section;
    }
    g_free(o.text);
    mime_plan_clear(&o.plan);
    return compose_show(req, resp, &c, NULL, NULL, 200, err);
}

/* ---- POST /send and /draft ---- */

/* Reads the form (multipart with uploads, or urlencoded from a script)
 * into c; new uploads are kept in the stash at once, so they survive any
 * failure that follows. */
static int
compose_read(struct request *req, struct compose *c, struct err *err)
{
    const char *ct = request_header(req, "content-type");
    struct form_file *files = NULL;
    size_t n_files = 0, n_keep = 0;
    const struct cfg *cfg = req->app->cfg;

    compose_defaults(c);
    if (ct != NULL && g_str_has_prefix(ct, "multipart/form-data")) {
        /* the front end capped the body; file sizes are checked below, so
         * an oversize one still lets the rest of the form come back */
        uint64_t cap = cfg->max_upload + cfg->max_body_bytes;

        req->form_parsed = true;
        if (form_parse_multipart(req->arena, ct, req->body, req->body_len,
                                 stash_spool_dir(), COMPOSE_MAX_FIELD, cap,
                                 cap, &req->form, &files, &n_files, err) < 0)
            return -1;
    } else if (request_parse_form(req, err) < 0) {
        return -1;
    }
    c->mode = field(req, "mode");
    c->to = field(req, "to");
    c->cc = field(req, "cc");
    c->bcc = field(req, "bcc");
    c->subject = field(req, "subject");
    c->text = field(req, "text");
    c->in_reply_to = field(req, "in_reply_to");
    c->references = field(req, "references");
    c->reply_f = field(req, "reply_f");
    c->reply_uid = field_id(req, "reply_uid");
    c->fwd_f = field(req, "fwd_f");
    c->fwd_uid = field_id(req, "fwd_uid");
    c->attach_original = g_strcmp0(request_form_get(req, "attach_original"),
                                   "1") == 0;
    c->draft_uid = field_id(req, "draft_uid");
    for (size_t i = 0; i < req->form.n; i++)
        n_keep += strcmp(req->form.items[i].name, "keep") == 0;
    c->fwd_parts = arena_alloc(req->arena, (req->form.n + 1) * sizeof(char *));
    c->kept = arena_alloc(req->arena,
                          (n_keep + n_files + 1) * sizeof(*c->kept));
    if (n_keep + n_files > COMPOSE_MAX_ATTACH) {
        err_set(err, ERR_LIMIT, "more than %u attachments",
                COMPOSE_MAX_ATTACH);
        return -1;
    }
    for (size_t i = 0; i < req->form.n; i++) {
        const struct kv *f = &req->form.items[i];

        if (strcmp(f->name, "fwd_part") == 0 &&
            mime_section_is_valid(f->value))
            c->fwd_parts[c->n_fwd_parts++] = f->value;
        if (strcmp(f->name, "keep") == 0 &&
            stash_get(req, f->value, &c->kept[c->n_kept], err) == 0)
            c->n_kept++;
        err_clear(err); /* a kept file gone is no reason to lose the rest */
    }
    {
        uint64_t total = 0;
        struct err lerr = {0};

        for (size_t i = 0; i < c->n_kept; i++)
            total += c->kept[i].size;
        for (size_t i = 0; i < n_files; i++) {
            if (files[i].size == 0 && files[i].filename[0] == '\0')
                continue;
            if (total + files[i].size > cfg->max_upload) {
                char *have = g_format_size(files[i].size);
                char *lim = g_format_size(cfg->max_upload);

                err_set(&lerr, ERR_LIMIT,
                        "attachment \"%s\" is %s; all attachments together "
                        "may be at most %s",
                        files[i].filename, have, lim);
                g_free(have);
                g_free(lim);
                continue;
            }
            if (stash_put(req, &files[i], &c->kept[c->n_kept], err) < 0)
                return -1;
            total += files[i].size;
            c->n_kept++;
        }
        if (lerr.kind != ERR_NONE) {
            *err = lerr;
            return -1;
        }
    }
    return 0;
}

struct outgoing {
    const struct compose *c;
    struct mime_build mb;
    GPtrArray *rcpts;
    GByteArray *bytes;          /* the built message */
    char *message_id;
    bool for_draft;
};

/* Builds the message; forwarded parts and originals come from the store. */
static int
outgoing_build(struct request *req, struct store *st, void *vctx,
               struct err *err)
{
    struct outgoing *o = vctx;
    const struct compose *c = o->c;
    struct mime_build_attachment *att;
    size_t n = 0;
    GMimeStream *out;
    int rc;

    att = arena_alloc(req->arena, (c->n_kept + c->n_fwd_parts + 2) *
                                      sizeof(*att));
    for (size_t i = 0; i < c->n_kept; i++) {
        att[n].filename = c->kept[i].filename;
        att[n].content_type = c->kept[i].content_type;
        att[n].path = c->kept[i].path;
        n++;
    }
    if (c->n_fwd_parts > 0 || c->attach_original) {
        struct store_message m;
        const char *uid = c->fwd_uid;
        uint64_t max_upload = req->app->cfg->max_upload;

        if (*c->fwd_f == '\0' || *uid == '\0') {
            err_set(err, ERR_INPUT, "forwarded parts without an original");
            return -1;
        }
        if (store_message_get(st, c->fwd_f, uid, false, req->arena, &m,
                              err) < 0)
            return -1;
        for (size_t i = 0; i < c->n_fwd_parts; i++) {
            const struct mime_part *p = store_message_part(&m,
                                                           c->fwd_parts[i]);
            GString *raw = g_string_new(NULL), *bin;
            struct mime_decoder *dec;
            bool trunc;

            if (p == NULL || strcmp(p->type, "multipart") == 0) {
                g_string_free(raw, TRUE);
                continue;
            }
            /* read encoded (base64 is 4/3 of the file, and line breaks):
             * the cap is on what the file decodes to */
            if (store_part_raw(st, c->fwd_f, uid, p->section,
                               2 * max_upload, raw, &trunc, err) < 0) {
                g_string_free(raw, TRUE);
                return -1;
            }
            bin = g_string_new(NULL);
            dec = mime_decoder_new(p->encoding, NULL);
            mime_decoder_feed(dec, raw->str, raw->len, bin);
            mime_decoder_finish(dec, bin);
            mime_decoder_free(&dec);
            g_string_free(raw, TRUE);
            if (trunc || bin->len > max_upload) {
                /* a cut file would go out as if whole */
                err_set(err, ERR_LIMIT, "the attachment \"%s\" is larger "
                        "than postern forwards (max_upload, %s): uncheck "
                        "it, or download it and send it another way",
                        p->filename != NULL ? p->filename : p->section,
                        view_size(req->arena, max_upload));
                g_string_free(bin, TRUE);
                return -1;
            }
            att[n].filename = p->filename != NULL
                                  ? p->filename
                                  : arena_printf(req->arena, "part-%s",
                                                 p->section);
            att[n].content_type = arena_printf(req->arena, "%s/%s", p->type,
                                               p->subtype);
            att[n].len = bin->len;
            att[n].data = (const unsigned char *)arena_strndup(
                req->arena, bin->str, bin->len);
            g_string_free(bin, TRUE);
            n++;
        }
        if (c->attach_original) {
            GString *raw = g_string_new(NULL);
            bool trunc;

            if (store_part_raw(st, c->fwd_f, uid, NULL,
                               req->app->cfg->max_message_size, raw, &trunc,
                               err) < 0) {
                g_string_free(raw, TRUE);
                return -1;
            }
            if (trunc) {
                err_set(err, ERR_LIMIT, "the original message is larger "
                        "than postern attaches (max_message_size, %s)",
                        view_size(req->arena,
                                  req->app->cfg->max_message_size));
                g_string_free(raw, TRUE);
                return -1;
            }
            att[n].filename = arena_printf(
                req->arena, "%s.eml",
                *m.env.subject != '\0' ? m.env.subject : "message");
            att[n].content_type = "message/rfc822";
            att[n].is_message = true;
            att[n].len = raw->len;
            att[n].data = (const unsigned char *)arena_strndup(
                req->arena, raw->str, raw->len);
            g_string_free(raw, TRUE);
            n++;
        }
    }
    o->mb.attachments = att;
    o->mb.n_attachments = n;
    o->bytes = g_byte_array_new();
    out = g_mime_stream_mem_new_with_byte_array(o->bytes);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(out), FALSE);
    rc = mime_build_write(&o->mb, o->for_draft, out, &o->message_id, err);
    g_object_unref(out);
    return rc;
}

struct compose_source {
    const GByteArray *bytes;
    size_t off;
};

static ssize_t
compose_source_read(void *ctx, void *buf, size_t max)
{
    struct compose_source *s = ctx;
    size_t n = MIN(max, s->bytes->len - s->off);

    memcpy(buf, s->bytes->data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

struct after_send {
    const struct compose *c;
    const GByteArray *bytes;
    bool draft;                 /* save to Drafts instead of Sent */
    char new_uid[STORE_ID_MAX + 1];
};

static const char *
folder_with_role(struct request *req, struct store *st, enum store_role role,
                 struct err *err)
{
    struct store_folder_list list;

    if (store_folder_list(st, req->arena, &list, err) < 0)
        return NULL;
    for (size_t i = 0; i < list.n; i++) {
        if (list.items[i].role == role)
            return list.items[i].path;
    }
    /* none yet: make one with the usual name */
    if (store_folder_change(st, STORE_FOLDER_CREATE,
                            role == STORE_ROLE_SENT ? "Sent" : "Drafts", NULL,
                            err) < 0)
        return NULL;
    return role == STORE_ROLE_SENT ? "Sent" : "Drafts";
}

static int
after_send_run(struct request *req, struct store *st, void *vctx,
               struct err *err)
{
    struct after_send *a = vctx;
    const struct compose *c = a->c;
    const char *box;

    if (!store_has_cap(st, STORE_CAP_FOLDERS))
        return 0; /* POP3: no Sent or Drafts on the server */
    box = folder_with_role(req, st, a->draft ? STORE_ROLE_DRAFTS
                                             : STORE_ROLE_SENT,
                           err);
    if (box == NULL)
        return -1;
    if (store_append(st, box, STORE_FLAG_SEEN | (a->draft ? STORE_FLAG_DRAFT
                                                          : 0),
                     a->bytes->data, a->bytes->len, a->new_uid, err) < 0)
        return -1;
    /* the draft this replaces goes (after sending, or on saving again) */
    if (*c->draft_uid != '\0') {
        const char *drafts = a->draft ? box
                                      : folder_with_role(req, st,
                                                         STORE_ROLE_DRAFTS,
                                                         err);

        if (drafts == NULL ||
            store_messages_transfer(st, drafts, &c->draft_uid, 1, NULL,
                                    false, err) < 0)
            err_clear(err); /* already gone: fine */
    }
    if (!a->draft && *c->reply_uid != '\0' && *c->reply_f != '\0' &&
        store_flags_change(st, c->reply_f, &c->reply_uid, 1,
                           STORE_FLAG_ANSWERED, true, err) < 0)
        err_clear(err); /* the original was moved meanwhile: not fatal */
    return 0;
}

static int
compose_post(struct request *req, struct response *resp, bool draft,
             struct err *err)
{
    struct compose c;
    struct outgoing o = {.c = &c, .for_draft = draft};
    struct after_send a = {.c = &c, .draft = draft};
    struct session *s;
    struct err ferr = {0};
    const struct cfg_server *srv;
    int rc;

    if (auth_require(req, &s, err) < 0)
        return -1;
    if (compose_read(req, &c, &ferr) < 0) {
        /* a form over the caps: still show what arrived */
        if (req->form.n == 0 || auth_check_csrf(req, s, err) < 0) {
            if (err->kind == ERR_NONE)
                *err = ferr;
            return -1;
        }
        return compose_show(req, resp, &c, ferr.msg, NULL,
                            err_http_status(&ferr), err);
    }
    if (auth_check_csrf(req, s, err) < 0)
        return -1;
    srv = session_server(s);
    o.mb.from = compose_from(req);
    o.mb.to = c.to;
    o.mb.cc = c.cc;
    o.mb.bcc = c.bcc;
    o.mb.subject = c.subject;
    o.mb.text = c.text;
    o.mb.in_reply_to = *c.in_reply_to != '\0' ? c.in_reply_to : NULL;
    o.mb.references = *c.references != '\0' ? c.references : NULL;
    o.mb.message_id_domain = srv->address_domain != NULL
                                 ? srv->address_domain
                                 : srv->host;
    o.rcpts = g_ptr_array_new_with_free_func(g_free);
    if (!draft && mime_build_check(&o.mb, o.rcpts, &ferr) < 0)
        goto failed;
    if (auth_with_store(req, s, outgoing_build, &o, &ferr) < 0)
        goto failed;
    if (!draft) {
        struct net_guard guard = {.allowed = srv->allowed_hosts};
        struct smtp_opts so = {
            .host = srv->smtp_host,
            .port = srv->smtp_port,
            .tls = srv->smtp_tls,
            .ca_file = srv->ca_file,
            .connect_timeout = req->app->cfg->connect_timeout,
            .io_timeout = req->app->cfg->io_timeout,
            .helo = "postern",
            .guard = srv->is_typed ? &guard : NULL,
        };
        struct compose_source src = {.bytes = o.bytes};
        struct smtp_result res = {0};
        char *password = session_password(s, req->session_key, &ferr);

        if (password == NULL)
            goto failed;
        rc = smtp_send(&so, session_user(s), password, o.mb.from,
                       (const char *const *)o.rcpts->pdata, o.rcpts->len,
                       o.bytes->len, compose_source_read, &src, &res, &ferr);
        vault_secret_free(&password);
        smtp_result_clear(&res);
        if (rc < 0)
            goto failed;
    }
    a.bytes = o.bytes;
    if (auth_with_store_once(req, s, after_send_run, &a, &ferr) < 0) {
        if (!draft) {
            /* sent, but not saved to Sent: say so, lose nothing */
            log_warn("sent but not saved to Sent: %s", ferr.msg);
            err_clear(&ferr);
        } else {
            goto failed;
        }
    }
    if (draft) {
        c.draft_uid = arena_strdup(req->arena, a.new_uid);
        c.fwd_f = "";
        c.fwd_uid = "";
        c.n_fwd_parts = 0;
        rc = compose_show(req, resp, &c, NULL, "Draft saved.", 200, err);
    } else {
        for (size_t i = 0; i < c.n_kept; i++)
            stash_drop(req, c.kept[i].token);
        if (request_wants_json(req)) {
            struct json_object *v = view_obj_new(req->arena);

            json_object_object_add(v, "ok", json_object_new_boolean(1));
            view_add_str(v, "message_id", o.message_id);
            rc = page_render(req, resp, "compose", v, err);
        } else {
            resp->status = 303;
            response_set_header(resp, req->arena, "Location",
                                arena_printf(req->arena,
                                             "%smailbox?f=INBOX&sent=1",
                                             web_app_base_path(req->app)));
            rc = 0;
        }
    }
    goto out;
failed:
    log_info("%s failed: %s", draft ? "saving a draft" : "sending",
             ferr.msg);
    if (request_wants_json(req)) {
        *err = ferr;
        rc = -1;
    } else {
        rc = compose_show(req, resp, &c,
                          ferr.kind == ERR_INPUT || ferr.kind == ERR_LIMIT ||
                                  ferr.kind == ERR_REFUSED ||
                                  ferr.kind == ERR_AUTH
                              ? ferr.msg
                              : err_user_text(ferr.kind),
                          NULL, err_http_status(&ferr), err);
    }
out:
    g_ptr_array_free(o.rcpts, TRUE);
    if (o.bytes != NULL)
        g_byte_array_free(o.bytes, TRUE);
    g_free(o.message_id);
    return rc;
}

int
h_send(struct request *req, struct response *resp, struct err *err)
{
    return compose_post(req, resp, false, err);
}

int
h_draft(struct request *req, struct response *resp, struct err *err)
{
    return compose_post(req, resp, true, err);
}
