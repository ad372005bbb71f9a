/* page.h - answering with a view model: JSON for JSON clients, else HTML
 * through a template; and the error page. Layer: web. */
#ifndef POSTERN_WEB_PAGE_H
#define POSTERN_WEB_PAGE_H

#include <json-c/json.h>

#include "core/err.h"
#include "web/request.h"

/* Renders view as JSON (request_wants_json) or through template tmpl, and
 * sets Content-Type. Adds "base" (the base path) and "static" (the
 * static files' URL prefix, ending in '/') for templates, and masks a
 * top-level "csrf" token afresh (session_csrf_mask), in JSON too. */
ATTR_NODISCARD int page_render(struct request *req, struct response *resp,
                               const char *tmpl, struct json_object *view,
                               struct err *err);

/* Replaces resp with the error page for err (status from its category,
 * the category's polite text); never fails. */
void page_error(struct request *req, struct response *resp,
                const struct err *err);

#endif
