/* h_static.c - GET /static/NAME: files read at start-up, by name only.
 * Layer: web. */
#include <string.h>

#include "web/app.h"
#include "web/handlers.h"
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
