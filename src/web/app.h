/* app.h - the process-wide web application: config, templates, static
 * files, the route table, counters. Layer: web. Built once at start-up,
 * read-only afterwards except for the atomic counters. */
#ifndef POSTERN_WEB_APP_H
#define POSTERN_WEB_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cfg.h"
#include "core/err.h"
#include "web/request.h"

struct render_set;
struct web_static;
struct session_table;
struct pool;
struct pool_reaper;
struct throttle;

/* DESIGN §3's policy (no inline script; app.c sends it), in parts around
 * its style and image sources, for a page that must allow more of those
 * (the message page, which carries the body frame inside). */
#define WEB_CSP_SCRIPT "default-src 'none'; script-src 'self'; "
#define WEB_CSP_REST                                                         \
    "connect-src 'self'; form-action 'self'; frame-src 'self'; "            \
    "frame-ancestors 'none'; base-uri 'none'"

struct web_app {
    const struct cfg *cfg;          /* owned by main() */
    struct render_set *templates;
    struct web_static *statics;
    char *static_url;               /* BASE/static/VERSION/: {{static}} */
    struct session_table *sessions;
    struct pool *pool;
    struct pool_reaper *reaper;
    struct throttle *throttle;      /* failed logins (DESIGN §4) */
    long long started_us;           /* real time, for /metrics */
    /* counters, updated with g_atomic_* */
    volatile gint requests_total;
    volatile gint responses_by_class[6]; /* index status / 100 */
};

/* Loads templates and static files from cfg->data_dir. NULL with
 * ERR_CONFIG naming the file when something is missing or broken. */
struct web_app *web_app_new(const struct cfg *cfg, struct err *err);
void web_app_free(struct web_app **app);

/* Starts the background reaper of idle connections and sessions. */
void web_app_start(struct web_app *app);

const char *web_app_base_path(const struct web_app *app);

/* Routes req and fills resp. Never fails: an error becomes an error page
 * (or JSON error) with its status. Adds the security headers. */
void web_app_handle(struct web_app *app, struct request *req,
                    struct response *resp);

/* For a request the front end could not even build (bad URL, headers or
 * body over their caps): the error page with the security headers. Header
 * overflow answers 431, as RFC 6585 says. */
void web_app_reject(struct web_app *app, struct request *req,
                    struct response *resp, const struct err *err);

/* The front end calls this once the response has gone out (or failed):
 * one access-log line and the counters. bytes is the body size sent. */
void web_app_request_done(struct web_app *app, const struct request *req,
                          int status, unsigned long long bytes);

#endif
