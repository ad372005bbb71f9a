/* page.c - content negotiation and error pages.
 * Layer: web. No HTML is written here: templates hold all markup. */
#include <string.h>

#include "core/log.h"
#include "session/session.h"
#include "view/render.h"
#include "view/view.h"
#include "web/app.h"
#include "web/page.h"

/* BREACH: a compressed page that shows the CSRF token next to text an
 * attacker chose (a search, a folder name) would leak the token byte by
 * byte through its length. Masked anew for every response, the token is
 * never the same bytes twice. */
static void
page_mask_csrf(struct json_object *view)
{
    char masked[SESSION_CSRF_MASKED_LEN + 1];
    struct json_object *t;

    if (!json_object_object_get_ex(view, "csrf", &t) ||
        !json_object_is_type(t, json_type_string))
        return;
    /* tokens we make are always canonical; without randomness the bare
     * token still works, it is only not masked */
    if (session_csrf_mask(json_object_get_string(t), masked))
        json_object_object_add(view, "csrf", json_object_new_string(masked));
}

int
page_render(struct request *req, struct response *resp, const char *tmpl,
            struct json_object *view, struct err *err)
{
    if (req->session != NULL && json_object_is_type(view, json_type_object) &&
        !json_object_object_get_ex(view, "caps", NULL))
        view_add_caps(view, session_store_caps(req->session));
    page_mask_csrf(view);
    if (request_wants_json(req)) {
        response_set_header(resp, req->arena, "Content-Type",
                            "application/json");
        render_json(view, resp->body);
        return 0;
    }
    view_add_str(view, "base", web_app_base_path(req->app));
    view_add_str(view, "static", req->app->static_url);
    response_set_header(resp, req->arena, "Content-Type",
                        "text/html; charset=utf-8");
    return render_html(req->app->templates, tmpl, view, resp->body, err);
}

void
page_error(struct request *req, struct response *resp, const struct err *err)
{
    int status = err_http_status(err);
    struct json_object *view;
    struct err rerr = {0};

    resp->status = status;
    g_string_truncate(resp->body, 0);
    /* a mail server that failed may answer the same request next time */
    view = view_error(req->arena, status, err_kind_name(err->kind),
                      err_user_text(err->kind),
                      (status == 502 || status == 504) &&
                              strcmp(req->method, "GET") == 0
                          ? req->raw_uri
                          : NULL);
    /* our own words about the user's input help them fix it; they are
     * escaped like everything else */
    if (err->kind == ERR_INPUT || err->kind == ERR_LIMIT ||
        err->kind == ERR_UNSUPPORTED)
        view_add_str(view, "detail", err->msg);
    if (page_render(req, resp, "error", view, &rerr) < 0) {
        /* the error template itself is broken: still never a blank page */
        log_error("error page: %s", rerr.msg);
        g_string_truncate(resp->body, 0);
        response_set_header(resp, req->arena, "Content-Type",
                            "text/plain; charset=utf-8");
        g_string_append_printf(resp->body, "%d %s\n", status,
                               err_user_text(err->kind));
    }
}
