/* h_mailbox.c - GET /folders (the folder tree with counts) and GET
 * /mailbox?f=F&page=P&sort=S&q=Q (one page of summaries). Layer: web.
 * Validate, ask the store, build the view, render: no IMAP and no HTML. */
#include <string.h>

#include "core/limits.h"
#include "session/pool.h"
#include "view/view.h"
#include "web/app.h"
#include "web/auth.h"
#include "web/handlers.h"
#include "web/page.h"

static int
folders_run(struct request *req, struct store *st, void *ctx,
            struct err *err)
{
    return store_folder_list(st, req->arena, ctx, err);
}

int
h_folders(struct request *req, struct response *resp, struct err *err)
{
    struct store_folder_list list = {0};
    struct session *s;

    if (auth_require(req, &s, err) < 0 ||
        auth_with_store(req, s, folders_run, &list, err) < 0)
        return -1;
    return page_render(req, resp, "folders",
                       view_folders(req->arena, &list, session_user(s),
                                    session_csrf_token(s)),
                       err);
}

struct mailbox_run {
    struct store_page_query q;
    struct store_page page;
    const char **names;
    size_t n_names;
};

static int
mailbox_run(struct request *req, struct store *st, void *ctx,
            struct err *err)
{
    struct mailbox_run *r = ctx;

    if (store_folder_names(st, req->arena, &r->names, &r->n_names, err) < 0)
        return -1;
    return store_summary_page(st, &r->q, req->arena, &r->page, err);
}

static int
mailbox_param_sort(const struct request *req, enum store_sort *out,
                   struct err *err)
{
    const char *v = request_query(req, "sort");

    *out = STORE_SORT_DATE_DESC;
    if (v == NULL || *v == '\0')
        return 0;
    for (unsigned i = 0; i < STORE_SORT_COUNT_; i++) {
        if (strcmp(v, store_sort_name((enum store_sort)i)) == 0) {
            *out = (enum store_sort)i;
            return 0;
        }
    }
    err_set(err, ERR_INPUT, "unknown sort order");
    return -1;
}

int
h_mailbox(struct request *req, struct response *resp, struct err *err)
{
    struct mailbox_run r = {.q = {.per_page = req->app->cfg->page_size}};
    struct store_page_query *q = &r.q;
    struct json_object *view;
    struct session *s;
    bool all, sent, refresh;

    if (auth_require(req, &s, err) < 0)
        return -1;
    /* all=1: every box ticked (select all without JavaScript); sent=1:
     * /send came back here, the page says so */
    if (request_param_bool(req, "all", &all, err) < 0 ||
        request_param_bool(req, "sent", &sent, err) < 0 ||
        request_param_folder(req, "f", &q->folder, err) < 0 ||
        request_param_uint(req, "page", 1, 1, LIM_PAGE_INDEX, &q->page,
                           err) < 0 ||
        mailbox_param_sort(req, &q->sort, err) < 0 ||
        request_param_text(req, "q", LIM_SEARCH_QUERY, &q->search, err) < 0 ||
        request_param_bool(req, "refresh", &refresh, err) < 0)
        return -1;
    /* a snapshot store (POP3) shows new mail only on a new connection */
    if (refresh && (session_store_caps(s) & STORE_CAP_SNAPSHOT) != 0)
        pool_close_idle(req->app->pool, s);
    if (auth_with_store(req, s, mailbox_run, &r, err) < 0)
        return -1;
    view = view_mailbox(req->arena, &r.page, q->search, session_user(s),
                        session_csrf_token(s));
    view_add(view, "targets", view_targets(r.names, r.n_names, q->folder));
    json_object_object_add(view, "select_all", json_object_new_boolean(all));
    json_object_object_add(view, "sent", json_object_new_boolean(sent));
    return page_render(req, resp, "mailbox", view, err);
}
