/* handlers.h - every route handler, one h_<page>.c file each.
 * Layer: web. Each validates input, asks the store, builds a view, renders. */
#ifndef POSTERN_WEB_HANDLERS_H
#define POSTERN_WEB_HANDLERS_H

#include "web/router.h"

route_handler_fn h_root;         /* GET /: login form (h_login.c) */
route_handler_fn h_login;        /* POST /login (h_login.c) */
route_handler_fn h_logout;       /* POST /logout (h_login.c) */
route_handler_fn h_folders;      /* GET /folders (h_mailbox.c) */
route_handler_fn h_mailbox;      /* GET /mailbox (h_mailbox.c) */
route_handler_fn h_message;      /* GET /message (h_message.c) */
route_handler_fn h_body;         /* GET /body: the sandboxed frame */
route_handler_fn h_part;         /* GET /part: one part, streamed */
route_handler_fn h_source;       /* GET /source: the raw message */
route_handler_fn h_action;       /* POST /action (h_action.c) */
route_handler_fn h_folder;       /* POST /folder (h_action.c) */
route_handler_fn h_compose;      /* GET /compose (h_compose.c) */
route_handler_fn h_send;         /* POST /send (h_compose.c) */
route_handler_fn h_draft;        /* POST /draft (h_compose.c) */
route_handler_fn h_healthz;      /* GET /healthz (h_health.c) */
route_handler_fn h_metrics;      /* GET /metrics (h_health.c) */
route_handler_fn h_static;       /* GET /static/NAME (h_static.c) */

#endif
