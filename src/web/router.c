/* router.c - the route table of DESIGN §3 and the dispatcher.
 * Layer: web. Trust: the path is untrusted; matching is exact or prefix. */
#include <string.h>

#include "core/attr.h"
#include "web/handlers.h"
#include "web/router.h"

struct route {
    const char *method;  /* "GET" also answers HEAD */
    const char *path;    /* exact, or a prefix when it ends in '/' */
    route_handler_fn *handler;
};

static const struct route routes[] = {
    {"GET", "/", h_root},
    {"POST", "/login", h_login},
    {"POST", "/logout", h_logout},
    {"GET", "/folders", h_folders},
    {"GET", "/mailbox", h_mailbox},
    {"GET", "/message", h_message},
    {"GET", "/body", h_body},
    {"GET", "/part", h_part},
    {"GET", "/source", h_source},
    {"POST", "/action", h_action},
    {"GET", "/compose", h_compose},
    {"POST", "/send", h_send},
    {"POST", "/draft", h_draft},
    {"POST", "/folder", h_folder},
    {"GET", "/healthz", h_healthz},
    {"GET", "/metrics", h_metrics},
    {"GET", "/static/", h_static},
};

static bool
route_path_matches(const struct route *r, const char *path)
{
    size_t n = strlen(r->path);

    if (n > 1 && r->path[n - 1] == '/')
        return strncmp(path, r->path, n) == 0 && path[n] != '\0';
    return strcmp(path, r->path) == 0;
}

static bool
route_method_matches(const struct route *r, const char *method)
{
    return strcmp(r->method, method) == 0 ||
           (strcmp(r->method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

int
router_dispatch(struct request *req, struct response *resp, struct err *err)
{
    const struct route *path_match = NULL;

    for (size_t i = 0; i < N_ELEMENTS(routes); i++) {
        if (!route_path_matches(&routes[i], req->path))
            continue;
        if (route_method_matches(&routes[i], req->method))
            return routes[i].handler(req, resp, err);
        path_match = &routes[i];
    }
    if (path_match != NULL) {
        response_set_header(resp, req->arena, "Allow",
                            strcmp(path_match->method, "GET") == 0
                                ? "GET, HEAD"
                                : path_match->method);
        err_set(err, ERR_METHOD, "%s not allowed on %s", req->method,
                req->path);
        return -1;
    }
    err_set(err, ERR_NOT_FOUND, "no route for %s", req->path);
    return -1;
}
