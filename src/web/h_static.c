/* h_static.c - GET /static/NAME and the placeholder for routes whose
 * issue has not landed yet. Layer: web. */
#include <string.h>

#include "view/view.h"
#include "web/app.h"
#include "web/handlers.h"
#include "web/page.h"
#include "web/static.h"

int
h_static(struct request *req, struct response *resp, struct err *err)
{
    const char *name = req->path + strlen("/static/");

    /* names in the table are plain file names; anything with a slash
     * (or "..") cannot match one, and says so early */
    if (strchr(name, '/') != NULL || strcmp(name, "..") == 0) {
        err_set(err, ERR_NOT_FOUND, "static path with a slash: %s", name);
        return -1;
    }
    return web_static_serve(req->app->statics, req, resp, name, err);
}

int
h_not_built(struct request *req, struct response *resp, struct err *err)
{
    struct json_object *view;

    resp->status = 501;
    view = view_error(req->arena, 501, "not_built",
                      "This part of postern is not built yet.", NULL);
    return page_render(req, resp, "error", view, err);
}
