/* router.h - method + path -> handler, from one table (DESIGN §3).
 * Layer: web. Handlers validate input, ask the layers below, render. */
#ifndef POSTERN_WEB_ROUTER_H
#define POSTERN_WEB_ROUTER_H

#include "core/err.h"
#include "web/request.h"

/* A handler fills resp and returns 0, or returns -1 with err set; the
 * router then renders the error page for err's category. */
typedef int route_handler_fn(struct request *req, struct response *resp,
                             struct err *err);

/* Finds and runs the handler for req. ERR_NOT_FOUND for an unknown path,
 * ERR_METHOD for a known path with another method (Allow is set). */
ATTR_NODISCARD int router_dispatch(struct request *req, struct response *resp,
                                   struct err *err);

#endif
