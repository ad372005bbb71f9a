/* view_message.c - the view model of one message (DESIGN §3 /message) and
 * of an embedded message's header block. Layer: view. */
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "view/view.h"

static struct json_object *
view_addr(const struct mime_address *a)
{
    struct json_object *o = json_object_new_object();

    view_add_str(o, "name", a->name);
    view_add_str(o, "email", a->email);
    view_add_str(o, "display", a->name[0] != '\0' ? a->name : a->email);
    return o;
}

static struct json_object *
view_addr_list(const struct mime_address *list, size_t n)
{
    struct json_object *arr = json_object_new_array();

    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, view_addr(&list[i]));
    return arr;
}

static const char *
view_time(struct arena *a, int64_t t, const char *fmt, bool utc)
{
    GDateTime *u = g_date_time_new_from_unix_utc(t);
    GDateTime *d = u != NULL && !utc ? g_date_time_to_timezone(
                                           u, view_tz_local())
                                     : u;
    char *s;
    const char *r;

    if (d != u)
        g_date_time_unref(u);
    if (d == NULL || t == 0) {
        if (d != NULL)
            g_date_time_unref(d);
        return "";
    }
    s = g_date_time_format(d, fmt);
    r = arena_strdup(a, s);
    g_free(s);
    g_date_time_unref(d);
    return r;
}

/* The common header fields of a message or an embedded one. */
static void
view_envelope(struct arena *a, struct json_object *v,
              const struct mime_envelope *env)
{
    view_add_str(v, "subject", env->subject);
    json_object_object_add(v, "has_subject",
                           json_object_new_boolean(env->subject[0] != '\0'));
    if (env->n_from > 0)
        json_object_object_add(v, "from", view_addr(&env->from[0]));
    else
        json_object_object_add(v, "from", NULL);
    json_object_object_add(v, "to", view_addr_list(env->to, env->n_to));
    json_object_object_add(v, "cc", view_addr_list(env->cc, env->n_cc));
    json_object_object_add(v, "reply_to",
                           view_addr_list(env->reply_to, env->n_reply_to));
    json_object_object_add(v, "has_to", json_object_new_boolean(env->n_to));
    json_object_object_add(v, "has_cc", json_object_new_boolean(env->n_cc));
    json_object_object_add(v, "has_reply_to",
                           json_object_new_boolean(env->n_reply_to));
    view_add_str(v, "date", view_time(a, env->date, "%Y-%m-%dT%H:%M:%SZ",
                                      true));
    view_add_str(v, "date_display",
                 view_time(a, env->date, "%a %-d %b %Y %H:%M", false));
}

static const struct mime_envelope no_env = {.subject = ""};

struct json_object *
view_embedded(struct arena *a, const struct mime_envelope *env)
{
    struct json_object *v = view_obj_new(a);

    view_envelope(a, v, env != NULL ? env : &no_env);
    return v;
}

static const char *
view_url_of(struct arena *a, const char *base, const char *route,
            const char *folder, const char *msg_id, const char *extra)
{
    char *f = g_uri_escape_string(folder, NULL, FALSE);
    char *id = g_uri_escape_string(msg_id, NULL, FALSE);
    const char *u = arena_printf(a, "%s%s?f=%s&uid=%s%s", base, route, f, id,
                                 extra);

    g_free(id);
    g_free(f);
    return u;
}

static const char *
view_url(struct arena *a, const char *base, const char *route,
         const struct store_message *m, const char *extra)
{
    return view_url_of(a, base, route, m->folder, m->id, extra);
}

void
view_message_neighbours(struct arena *a, struct json_object *v,
                        const char *base, const struct store_message *m,
                        const char *prev, const char *next, bool plain)
{
    /* plain text is a way of reading, kept; remote content was allowed
     * for this message alone */
    const char *flags = plain ? "&plain=1" : "";
    const char *after = next != NULL ? next : prev;

    if (prev != NULL) {
        view_add_id(v, "prev_uid", prev);
        view_add_str(v, "prev_href",
                     view_url_of(a, base, "message", m->folder, prev, flags));
    }
    if (next != NULL) {
        view_add_id(v, "next_uid", next);
        view_add_str(v, "next_href",
                     view_url_of(a, base, "message", m->folder, next, flags));
    }
    /* where Move and Delete leave for: the next message, as in Roundcube */
    if (after != NULL)
        view_add_str(v, "back_after",
                     view_url_of(a, "", "message", m->folder, after, flags));
}

/* Every header of the raw block, unfolded and decoded (RFC 2047). */
static struct json_object *
view_headers(struct arena *a, const char *raw, size_t len)
{
    struct json_object *arr = json_object_new_array();
    char *text = g_utf8_make_valid(raw, (gssize)len);
    char **lines = g_strsplit(text, "\n", -1);
    GString *cur = NULL;
    unsigned count = 0;

    for (char **l = lines;; l++) {
        char *line = *l;
        size_t n = line != NULL ? strlen(line) : 0;

        if (line != NULL && n > 0 && line[n - 1] == '\r')
            line[--n] = '\0';
        if (line != NULL && (line[0] == ' ' || line[0] == '\t') &&
            cur != NULL) {
            g_string_append_c(cur, ' ');
            g_string_append(cur, g_strstrip(line));
            continue;
        }
        if (cur != NULL) {
            char *colon = strchr(cur->str, ':');

            if (colon != NULL && count++ < 500) {
                struct json_object *h = json_object_new_object();
                char *value = g_mime_utils_header_decode_text(
                    NULL, g_strstrip(colon + 1));
                char *valid = g_utf8_make_valid(value, -1);

                *colon = '\0';
                view_add_str(h, "name", g_strstrip(cur->str));
                view_add_str(h, "value", valid);
                json_object_array_add(arr, h);
                g_free(valid);
                g_free(value);
            }
            g_string_free(cur, TRUE);
            cur = NULL;
        }
        if (line == NULL || n == 0)
            break;
        cur = g_string_new(line);
    }
    if (cur != NULL)
        g_string_free(cur, TRUE);
    g_strfreev(lines);
    g_free(text);
    (void)a;
    return arr;
}

static struct json_object *
view_attachment(struct arena *a, const char *base,
                const struct store_message *m, const struct mime_part *p)
{
    struct json_object *o = json_object_new_object();
    const char *name = p->filename;
    /* encoded size; base64 carries 3 bytes in 4 */
    uint64_t size = strcmp(p->encoding, "base64") == 0 ? p->size / 4 * 3
                                                       : p->size;

    if (name == NULL || *name == '\0')
        name = arena_printf(a, "part-%s.%s", p->section,
                            strcmp(p->type, "message") == 0 ? "eml" : "bin");
    view_add_str(o, "part", p->section);
    view_add_str(o, "filename", name);
    view_add_str(o, "type", arena_printf(a, "%s/%s", p->type, p->subtype));
    json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
    view_add_str(o, "size_display", view_size(a, size));
    view_add_str(o, "href", view_url(a, base, "part", m,
                                     arena_printf(a, "&part=%s", p->section)));
    return o;
}

struct json_object *
view_message(struct arena *a, const char *base, const struct store_message *m,
             const struct mime_plan *plan, const char *body_html,
             bool body_is_html, bool remote_blocked, bool plain, bool remote,
             bool all_headers, const struct view_embed *embeds,
             size_t n_embeds)
{
    struct json_object *v = view_obj_new(a);
    struct json_object *body = json_object_new_object();
    struct json_object *atts = json_object_new_array();
    struct json_object *embedded = json_object_new_array();
    const char *flags = arena_printf(a, "%s%s", plain ? "&plain=1" : "",
                                     remote ? "&remote=1" : "");

    view_add_str(v, "folder", m->folder);
    view_add_id(v, "uid", m->id);
    view_envelope(a, v, &m->env);
    view_add_str(v, "title", m->env.subject[0] != '\0' ? m->env.subject
                                                       : "(no subject)");
    json_object_object_add(v, "seen", json_object_new_boolean(m->seen));
    json_object_object_add(v, "flagged", json_object_new_boolean(m->flagged));
    json_object_object_add(v, "answered",
                           json_object_new_boolean(m->answered));
    json_object_object_add(v, "is_draft", json_object_new_boolean(m->draft));
    json_object_object_add(v, "size", json_object_new_int64((int64_t)m->size));
    json_object_object_add(v, "partial", json_object_new_boolean(m->partial));

    view_add_str(body, "type", body_is_html ? "html" : "text");
    view_add_str(body, "html", body_html);
    json_object_object_add(v, "body", body);
    json_object_object_add(v, "remote_content_blocked",
                           json_object_new_boolean(remote_blocked));

    for (size_t i = 0; i < plan->n_attachments; i++)
        json_object_array_add(
            atts, view_attachment(a, base, m,
                                  &m->parts[plan->attachments[i]]));
    json_object_object_add(v, "attachments", atts);
    json_object_object_add(v, "has_attachments",
                           json_object_new_boolean(plan->n_attachments > 0));
    for (size_t i = 0; i < n_embeds; i++) {
        const struct mime_part *p = &m->parts[embeds[i].part];
        struct json_object *o = json_object_new_object();
        struct json_object *eb = json_object_new_object();
        struct json_object *eatts = json_object_new_array();
        size_t plen = strlen(p->section);

        view_envelope(a, o, p->envelope != NULL ? p->envelope : &no_env);
        view_add_str(o, "part", p->section);
        view_add_str(eb, "type", embeds[i].is_html ? "html" : "text");
        view_add_str(eb, "html", embeds[i].html);
        json_object_object_add(o, "body", eb);
        /* its own attachments: the listed parts inside it */
        for (size_t k = 0; k < plan->n_attachments; k++) {
            const struct mime_part *ap = &m->parts[plan->attachments[k]];

            if (strncmp(ap->section, p->section, plen) == 0 &&
                ap->section[plen] == '.')
                json_object_array_add(eatts, view_attachment(a, base, m, ap));
        }
        json_object_object_add(o, "attachments", eatts);
        json_object_array_add(embedded, o);
    }
    json_object_object_add(v, "embedded", embedded);
    view_add_str(v, "source_href", view_url(a, base, "source", m, ""));
    view_add_str(v, "compose_reply", view_url(a, base, "compose", m,
                                              "&mode=reply"));
    view_add_str(v, "compose_all", view_url(a, base, "compose", m,
                                            "&mode=all"));
    view_add_str(v, "compose_forward", view_url(a, base, "compose", m,
                                                "&mode=forward"));
    view_add_str(v, "compose_attach", view_url(a, base, "compose", m,
                                               "&mode=attach"));
    view_add_str(v, "compose_draft", view_url(a, base, "compose", m,
                                              "&mode=draft"));
    view_add_str(v, "frame_src", view_url(a, base, "body", m, flags));
    /* where /action comes back to after a flag is set here (its "back") */
    view_add_str(v, "back_here", view_url(a, "", "message", m, flags));
    view_add_str(v, "remote_href",
                 view_url(a, base, "message", m,
                          plain ? "&plain=1&remote=1" : "&remote=1"));
    if (plan->has_html_alternative && plain)
        view_add_str(v, "html_href", view_url(a, base, "message", m,
                                              remote ? "&remote=1" : ""));
    if (plan->has_text_alternative && !plain)
        view_add_str(v, "plain_href", view_url(a, base, "message", m,
                                               "&plain=1"));
    view_add_str(v, "headers_href",
                 view_url(a, base, "message", m,
                          arena_printf(a, "%s&headers=all", flags)));
    {
        char *f = g_uri_escape_string(m->folder, NULL, FALSE);

        view_add_str(v, "folder_href", arena_printf(a, "%smailbox?f=%s",
                                                    base, f));
        g_free(f);
    }
    if (all_headers && m->headers != NULL) {
        json_object_object_add(v, "headers",
                               view_headers(a, m->headers, m->headers_len));
        json_object_object_add(v, "has_headers", json_object_new_boolean(1));
    }
    return v;
}
