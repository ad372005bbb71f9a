/* view.h - view models: json-c objects built from plain data, one builder
 * per page. Layer: view. Strings put here are escaped when rendered. */
#ifndef POSTERN_VIEW_VIEW_H
#define POSTERN_VIEW_VIEW_H

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>

#include "core/arena.h"
#include "core/cfg.h"
#include "store/store.h"

/* A new empty object released at arena_free(). Children added with
 * json_object_object_add() are owned by their parent. */
struct json_object *view_obj_new(struct arena *a);

/* The server's local time zone, looked up once per process: GLib's own
 * local-zone lookup stats and reads /etc/localtime on every call (three
 * system calls per date shown). Never NULL; not to be unreferenced. */
GTimeZone *view_tz_local(void);

/* n bytes for people, in the arena: what g_format_size() writes in the C
 * locale ("1 byte", "532 bytes", "1.5 kB", "12.3 MB": SI units, one
 * decimal, a no-break space before the unit), without its gettext lookups
 * for each row of a list page (a tenth of a cached page's CPU). */
const char *view_size(struct arena *a, uint64_t n);

/* Adds key: v, as json_object_object_add() does, but keeps the key
 * instead of copying it (a list page adds a few thousand): this and the
 * view_add_* below take string literals as keys, nothing else. */
void view_add(struct json_object *o, const char *key, struct json_object *v);

/* Adds key: s (a JSON null when s is NULL). */
void view_add_str(struct json_object *o, const char *key, const char *s);

/* Adds key: a message id (store.h), as a JSON number when it is one (an
 * IMAP UID), else as a string (a POP3 UIDL). Both read back as the same
 * text in a URL: a number here has no leading zero or sign. */
void view_add_id(struct json_object *o, const char *key, const char *id);

/* Adds "caps": what the session's mail store can do (enum store_cap), as
 * booleans folders, flags, move, search, snapshot: pages offer only what
 * works (POP3: no folders, flags or search; "refresh" for a snapshot). */
void view_add_caps(struct json_object *o, unsigned caps);

/* The login page: servers to choose from (a list only when there are
 * several), the user name typed so far, an error to show (may be NULL). */
struct json_object *view_login(struct arena *a, const struct cfg *cfg,
                               const char *user, const char *server,
                               const char *error);

/* An error page or JSON error: {"error":{"code","message"},"status"}.
 * retry_url may be NULL. */
struct json_object *view_error(struct arena *a, int status, const char *code,
                               const char *message, const char *retry_url);

/* GET /folders: {"folders":[{name,path,role,unread,total,subscribed,...}]}
 * plus the user and CSRF token the page header needs. */
struct json_object *view_folders(struct arena *a,
                                 const struct store_folder_list *list,
                                 const char *user, const char *csrf);

/* GET /mailbox: {"folder","page","pages","total","sort","messages":[...]}
 * (DESIGN §3), with display strings and links for the template. search
 * may be NULL. */
struct json_object *view_mailbox(struct arena *a, const struct store_page *p,
                                 const char *search, const char *user,
                                 const char *csrf);

/* The folders a message in current can be moved or copied to, for the
 * "move to" choice: [{"path"}], every name but current. */
struct json_object *view_targets(const char *const *names, size_t n,
                                 const char *current);

/* An embedded (forwarded) message's header block, for the body frame. */
struct json_object *view_embedded(struct arena *a,
                                  const struct mime_envelope *env);

/* An embedded message's own rendered body, within the message's. */
struct view_embed {
    size_t part;               /* the message/rfc822 part */
    size_t start;              /* offset in the whole body (builder use) */
    const char *html;
    bool is_html;
};

/* GET /message (DESIGN §3): headers, body (sanitized HTML or rendered
 * text), attachments, embedded messages, and the links of the page. */
struct json_object *view_message(struct arena *a, const char *base,
                                 const struct store_message *m,
                                 const struct mime_plan *plan,
                                 const char *body_html, bool body_is_html,
                                 bool remote_blocked, bool plain, bool remote,
                                 bool all_headers,
                                 const struct view_embed *embeds,
                                 size_t n_embeds);

/* Previous and Next for the message page (ids from store_neighbours, NULL
 * at an end): prev_uid, prev_href, next_uid, next_href, and back_after,
 * the page Move and Delete go on to (the next message, else the previous;
 * absent: the folder). */
void view_message_neighbours(struct arena *a, struct json_object *v,
                             const char *base, const struct store_message *m,
                             const char *prev, const char *next, bool plain);

#endif
