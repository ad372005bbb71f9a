/* h_login.c - GET /: the login form (POST /login arrives with issue 3).
 * Layer: web. */
#include "view/view.h"
#include "web/app.h"
#include "web/handlers.h"
#include "web/page.h"

int
h_root(struct request *req, struct response *resp, struct err *err)
{
    struct json_object *view;

    view = view_login(req->arena, req->app->cfg, request_query(req, "user"),
                      request_query(req, "server"), NULL);
    return page_render(req, resp, "login", view, err);
}
