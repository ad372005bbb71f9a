/* static.h - the files under static/, read into memory at start-up and
 * served by name. Layer: web. Only names found at start-up can be served,
 * so no request path can reach another file. */
#ifndef POSTERN_WEB_STATIC_H
#define POSTERN_WEB_STATIC_H

#include "core/err.h"
#include "web/request.h"

struct web_static;

/* Reads every regular file directly in dir (at most 256 files of 4 MiB).
 * NULL with ERR_CONFIG when dir is unreadable. */
struct web_static *web_static_load(const char *dir, struct err *err);
void web_static_free(struct web_static **st);

/* Answers GET /static/name: 200 with type, ETag and cache headers, 304 when
 * If-None-Match matches, or -1 with ERR_NOT_FOUND. */
ATTR_NODISCARD int web_static_serve(const struct web_static *st,
                                    struct request *req,
                                    struct response *resp, const char *name,
                                    struct err *err);

#endif
