/* h_action.c - POST /action (read, unread, flag, unflag, move, copy,
 * delete on one or many messages) and POST /folder (create, rename,
 * delete, subscribe, unsubscribe, empty). Layer: web. Deleting for good
 * and deleting a folder ask for a confirmation first. */
#include <string.h>

#include <glib.h>

#include "core/limits.h"
#include "view/view.h"
#include "web/app.h"
#include "web/auth.h"
#include "web/handlers.h"
#include "web/page.h"

/* The message ids of the form's "uid" fields (checkboxes), each one
 * checked for shape. */
static int
action_ids(struct request *req, const char ***ids_out, size_t *n_out,
           struct err *err)
{
    const char **ids = arena_alloc(req->arena,
                                   (req->form.n + 1) * sizeof(*ids));
    size_t n = 0;

    for (size_t i = 0; i < req->form.n; i++) {
        const struct kv *f = &req->form.items[i];

        if (strcmp(f->name, "uid") != 0)
            continue;
        if (n >= LIM_ACTION_UIDS) {
            err_set(err, ERR_LIMIT, "more than %u messages in one action",
                    LIM_ACTION_UIDS);
            return -1;
        }
        if (!store_id_is_valid(f->value)) {
            err_set(err, ERR_INPUT, "uid \"%.70s\" is not a message id",
                    f->value);
            return -1;
        }
        ids[n++] = f->value;
    }
    *ids_out = ids;
    *n_out = n;
    return 0;
}

static int
form_folder(struct request *req, const char *name, bool required,
            const char **out, struct err *err)
{
    const char *v = request_form_get(req, name);

    *out = NULL;
    if (v == NULL || *v == '\0') {
        if (!required)
            return 0;
        err_set(err, ERR_INPUT, "field %s (a folder) is missing", name);
        return -1;
    }
    if (strlen(v) > 1000 || !g_utf8_validate(v, -1, NULL) ||
        strpbrk(v, "\r\n") != NULL) {
        err_set(err, ERR_INPUT, "field %s is not a folder name", name);
        return -1;
    }
    *out = v;
    return 0;
}

/* Back to the page the form came from: only our own mailbox and message
 * pages (a flag set on the message page stays there). */
static void
action_redirect(struct request *req, struct response *resp,
                const char *folder)
{
    const char *back = request_form_get(req, "back");
    char *f;
    const char *to;

    if (back != NULL &&
        (g_str_has_prefix(back, "mailbox?") ||
         g_str_has_prefix(back, "message?")) &&
        strpbrk(back, "\r\n\\ ") == NULL && strstr(back, "//") == NULL) {
        to = back;
    } else {
        f = g_uri_escape_string(folder, NULL, FALSE);
        to = arena_printf(req->arena, "mailbox?f=%s", f);
        g_free(f);
    }
    resp->status = 303;
    response_set_header(resp, req->arena, "Location",
                        arena_printf(req->arena, "%s%s",
                                     web_app_base_path(req->app), to));
}

static int
answer_ok(struct request *req, struct response *resp, size_t count,
          struct err *err)
{
    struct json_object *v = view_obj_new(req->arena);

    json_object_object_add(v, "ok", json_object_new_boolean(1));
    json_object_object_add(v, "count", json_object_new_int64((int64_t)count));
    return page_render(req, resp, "error", v, err);
}

/* The confirmation page: the same form again, with confirm=1. */
static int
confirm_page(struct request *req, struct response *resp, const char *action,
             const char *question, struct err *err)
{
    struct json_object *v = view_obj_new(req->arena);
    struct json_object *fields = json_object_new_array();

    for (size_t i = 0; i < req->form.n; i++) {
        struct json_object *o;

        if (strcmp(req->form.items[i].name, "csrf") == 0)
            continue;
        o = json_object_new_object();
        view_add_str(o, "name", req->form.items[i].name);
        view_add_str(o, "value", req->form.items[i].value);
        json_object_array_add(fields, o);
    }
    view_add_str(v, "title", "Please confirm");
    view_add_str(v, "question", question);
    view_add_str(v, "action", action);
    json_object_object_add(v, "fields", fields);
    view_add_str(v, "user", session_user(req->session));
    view_add_str(v, "csrf", session_csrf_token(req->session));
    if (request_wants_json(req)) {
        err_set(err, ERR_INPUT, "%s: send confirm=1", question);
        return -1;
    }
    return page_render(req, resp, "confirm", v, err);
}

struct action_run {
    const char *folder, *op, *to;
    const char **ids;
    size_t n;
    bool confirmed;
    bool need_confirm;          /* out: ask first */
};

static const char *
trash_of(struct request *req, struct store *st, struct err *err)
{
    struct store_folder_list list;

    if (store_folder_list(st, req->arena, &list, err) < 0)
        return NULL;
    for (size_t i = 0; i < list.n; i++) {
        if (list.items[i].role == STORE_ROLE_TRASH)
            return list.items[i].path;
    }
    return "";
}

static int
action_run_fn(struct request *req, struct store *st, void *vctx,
              struct err *err)
{
    struct action_run *a = vctx;
    static const struct {
        const char *op;
        unsigned flag;
        bool add;
    } flag_ops[] = {
        {"read", STORE_FLAG_SEEN, true},
        {"unread", STORE_FLAG_SEEN, false},
        {"flag", STORE_FLAG_FLAGGED, true},
        {"unflag", STORE_FLAG_FLAGGED, false},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(flag_ops); i++) {
        if (strcmp(a->op, flag_ops[i].op) == 0)
            return store_flags_change(st, a->folder, a->ids, a->n,
                                      flag_ops[i].flag, flag_ops[i].add, err);
    }
    if (strcmp(a->op, "move") == 0 || strcmp(a->op, "copy") == 0)
        return store_messages_transfer(st, a->folder, a->ids, a->n, a->to,
                                       strcmp(a->op, "copy") == 0, err);
    if (strcmp(a->op, "delete") == 0) {
        const char *trash = store_has_cap(st, STORE_CAP_FOLDERS)
                                ? trash_of(req, st, err)
                                : "";

        if (trash == NULL)
            return -1;
        if (*trash != '\0' && strcmp(trash, a->folder) != 0)
            return store_messages_transfer(st, a->folder, a->ids, a->n,
                                           trash, false, err);
        if (!a->confirmed) {
            a->need_confirm = true;
            return 0;
        }
        return store_messages_transfer(st, a->folder, a->ids, a->n, NULL,
                                       false, err);
    }
    err_set(err, ERR_INPUT, "unknown action \"%s\"", a->op);
    return -1;
}

int
h_action(struct request *req, struct response *resp, struct err *err)
{
    struct action_run a = {0};
    struct session *s;

    if (request_parse_form(req, err) < 0 || auth_require(req, &s, err) < 0 ||
        auth_check_csrf(req, s, err) < 0 ||
        form_folder(req, "f", true, &a.folder, err) < 0 ||
        form_folder(req, "to", false, &a.to, err) < 0 ||
        action_ids(req, &a.ids, &a.n, err) < 0)
        return -1;
    a.op = request_form_get(req, "op");
    if (a.op == NULL) {
        err_set(err, ERR_INPUT, "no action chosen");
        return -1;
    }
    if ((strcmp(a.op, "move") == 0 || strcmp(a.op, "copy") == 0) &&
        a.to == NULL) {
        err_set(err, ERR_INPUT, "choose the folder to %s the message%s to",
                a.op, a.n == 1 ? "" : "s");
        return -1;
    }
    a.confirmed = g_strcmp0(request_form_get(req, "confirm"), "1") == 0;
    if (a.n == 0) { /* nothing ticked: back to the list, nothing done */
        if (request_wants_json(req))
            return answer_ok(req, resp, 0, err);
        action_redirect(req, resp, a.folder);
        return 0;
    }
    if (auth_with_store_once(req, s, action_run_fn, &a, err) < 0)
        return -1;
    if (a.need_confirm)
        return confirm_page(req, resp, "action",
                            a.n == 1 ? "Delete this message for good?"
                                     : "Delete these messages for good?",
                            err);
    if (request_wants_json(req))
        return answer_ok(req, resp, a.n, err);
    action_redirect(req, resp, a.folder);
    return 0;
}

struct folder_run {
    enum store_folder_op op;
    const char *path, *new_path;
};

static int
folder_run_fn(struct request *req, struct store *st, void *vctx,
              struct err *err)
{
    struct folder_run *f = vctx;

    (void)req;
    return store_folder_change(st, f->op, f->path, f->new_path, err);
}

int
h_folder(struct request *req, struct response *resp, struct err *err)
{
    static const struct {
        const char *name;
        enum store_folder_op op;
        bool confirm;
    } ops[] = {
        {"create", STORE_FOLDER_CREATE, false},
        {"rename", STORE_FOLDER_RENAME, false},
        {"delete", STORE_FOLDER_DELETE, true},
        {"subscribe", STORE_FOLDER_SUBSCRIBE, false},
        {"unsubscribe", STORE_FOLDER_UNSUBSCRIBE, false},
        {"empty", STORE_FOLDER_EMPTY, true},
    };
    struct folder_run f = {0};
    const char *op;
    struct session *s;
    size_t i;

    if (request_parse_form(req, err) < 0 || auth_require(req, &s, err) < 0 ||
        auth_check_csrf(req, s, err) < 0)
        return -1;
    op = request_form_get(req, "op");
    for (i = 0; i < G_N_ELEMENTS(ops); i++) {
        if (op != NULL && strcmp(op, ops[i].name) == 0)
            break;
    }
    if (i == G_N_ELEMENTS(ops)) {
        err_set(err, ERR_INPUT, "unknown folder operation");
        return -1;
    }
    f.op = ops[i].op;
    if (form_folder(req, "f", true, &f.path, err) < 0 ||
        form_folder(req, "to", f.op == STORE_FOLDER_RENAME, &f.new_path,
                    err) < 0)
        return -1;
    if ((f.op == STORE_FOLDER_RENAME || f.op == STORE_FOLDER_DELETE) &&
        g_ascii_strcasecmp(f.path, "INBOX") == 0) {
        err_set(err, ERR_INPUT, "INBOX cannot be renamed or deleted");
        return -1;
    }
    if (ops[i].confirm &&
        g_strcmp0(request_form_get(req, "confirm"), "1") != 0)
        return confirm_page(req, resp, "folder",
                            f.op == STORE_FOLDER_EMPTY
                                ? "Delete every message in this folder for "
                                  "good?"
                                : "Delete this folder and every message in "
                                  "it?",
                            err);
    if (auth_with_store_once(req, s, folder_run_fn, &f, err) < 0)
        return -1;
    if (request_wants_json(req))
        return answer_ok(req, resp, 1, err);
    resp->status = 303;
    response_set_header(resp, req->arena, "Location",
                        arena_printf(req->arena, "%sfolders",
                                     web_app_base_path(req->app)));
    return 0;
}
