/* h_static.c - GET /static/VERSION/NAME (and the older /static/NAME):
 * files read at start-up, by name only. Layer: web. */
#include <string.h>

#include <glib.h>

#include "web/app.h"
#include "web/handlers.h"
#include "web/static.h"

/* True when s starts with WEB_STATIC_VERSION_LEN hex digits and a '/'. */
static bool
h_static_has_version(const char *s)
{
    for (size_t i = 0; i < WEB_STATIC_VERSION_LEN; i++) {
        if (!g_ascii_isxdigit(s[i]) || g_ascii_isupper(s[i]))
            return false;
    }
    return s[WEB_STATIC_VERSION_LEN] == '/';
}

int
h_static(struct request *req, struct response *resp, struct err *err)
{
    const char *name = req->path + strlen("/static/");
    bool versioned = false;

    /* a page of an older version may still ask for its files: it gets
     * today's, cached only briefly, since its URL does not name them */
    if (h_static_has_version(name)) {
        versioned = strncmp(name, web_static_version(req->app->statics),
                            WEB_STATIC_VERSION_LEN) == 0;
        name += WEB_STATIC_VERSION_LEN + 1;
    }
    /* names in the table are plain file names; anything with a slash
     * (or "..") cannot match one, and says so early */
    if (strchr(name, '/') != NULL || strcmp(name, "..") == 0) {
        err_set(err, ERR_NOT_FOUND, "static path with a slash: %s", name);
        return -1;
    }
    return web_static_serve(req->app->statics, req, resp, name, versioned, err);
}
