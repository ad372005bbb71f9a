/* app.c - the web application object: start-up loading, the per-request
 * entry point with security headers, and the access log. Layer: web. */
#include <string.h>

#include <glib.h>

#include "core/limits.h"
#include "core/log.h"
#include "session/pool.h"
#include "session/session.h"
#include "session/throttle.h"
#include "store/store.h"
#include "view/render.h"
#include "web/app.h"
#include "web/compress.h"
#include "web/page.h"
#include "web/request_client.h"
#include "web/router.h"
#include "web/static.h"

/* DESIGN §3: no inline script anywhere; the message frame (issue 4) gets a
 * stricter policy of its own. */
static const char app_csp[] =
    WEB_CSP_SCRIPT "style-src 'self'; img-src 'self' data:; " WEB_CSP_REST;

static struct store *
web_app_pool_open(void *ctx, const struct store_login *login, struct err *err)
{
    (void)ctx;
    return store_open(login, err);
}

/* The background work (reaping idle connections and sessions) starts
 * with the first front end, not in check-config. */
void
web_app_start(struct web_app *app)
{
    if (app->reaper == NULL)
        app->reaper = pool_reaper_start(app->pool, app->sessions, 1000);
}

struct web_app *
web_app_new(const struct cfg *cfg, struct err *err)
{
    struct web_app *app = g_new0(struct web_app, 1);
    char *dir;

    app->cfg = cfg;
    app->started_us = g_get_real_time();
    dir = g_build_filename(cfg->data_dir, "templates", NULL);
    app->templates = render_set_load(dir, err);
    g_free(dir);
    if (app->templates == NULL)
        goto fail;
    if (!render_set_has(app->templates, "error") ||
        !render_set_has(app->templates, "login")) {
        err_set(err, ERR_CONFIG, "%s/templates: error.mustache or "
                "login.mustache is missing", cfg->data_dir);
        goto fail;
    }
    dir = g_build_filename(cfg->data_dir, "static", NULL);
    app->statics = web_static_load(dir, err);
    g_free(dir);
    if (app->statics == NULL)
        goto fail;
    /* a new file content gives a new URL: browsers may cache forever */
    app->static_url = g_strdup_printf("%sstatic/%s/", cfg->base_path,
                                      web_static_version(app->statics));
    app->sessions = session_table_new(cfg);
    app->pool = pool_new(cfg, web_app_pool_open, NULL);
    {
        struct throttle_opts to = {
            .fails_per_address = cfg->login_fails_per_address,
            .fails_per_user = cfg->login_fails_per_user,
            .window = cfg->login_fail_window,
            .delay_max = cfg->login_delay_max,
            .max_entries = LIM_THROTTLE_ENTRIES,
        };

        app->throttle = throttle_new(&to);
    }
    return app;
fail:
    web_app_free(&app);
    return NULL;
}

void
web_app_free(struct web_app **appp)
{
    struct web_app *app = *appp;

    if (app == NULL)
        return;
    pool_reaper_stop(&app->reaper);
    pool_free(&app->pool);
    session_table_free(&app->sessions);
    throttle_free(&app->throttle);
    render_set_free(&app->templates);
    web_static_free(&app->statics);
    g_free(app->static_url);
    g_free(app);
    *appp = NULL;
}

const char *
web_app_base_path(const struct web_app *app)
{
    return app->cfg->base_path;
}

static void
web_app_security_headers(struct request *req, struct response *resp)
{
    const char *csp = response_header(resp, "Content-Security-Policy");

    /* a handler may set a stricter policy of its own (/body, /part); one
     * that says nothing about framing gets DESIGN §3's default */
    if (csp == NULL)
        response_set_header(resp, req->arena, "Content-Security-Policy",
                            app_csp);
    else if (strstr(csp, "frame-ancestors") == NULL)
        response_set_header(resp, req->arena, "Content-Security-Policy",
                            arena_printf(req->arena,
                                         "%s; frame-ancestors 'none'", csp));
    response_set_header(resp, req->arena, "X-Content-Type-Options",
                        "nosniff");
    response_set_header(resp, req->arena, "Referrer-Policy", "no-referrer");
    if (response_header(resp, "X-Frame-Options") == NULL)
        response_set_header(resp, req->arena, "X-Frame-Options", "DENY");
    /* static files set their own caching; everything else is personal */
    if (response_header(resp, "Cache-Control") == NULL)
        response_set_header(resp, req->arena, "Cache-Control", "no-store");
    /* a year, as browsers' preload lists ask; over plain HTTP it would be
     * ignored (RFC 6797 §8.1), so it is not sent there */
    if (request_client_is_https(req))
        response_set_header(resp, req->arena, "Strict-Transport-Security",
                            "max-age=31536000");
}

void
web_app_handle(struct web_app *app, struct request *req,
               struct response *resp)
{
    struct err err = {0};

    request_client_resolve(req, app->cfg->trusted_proxies,
                           app->cfg->n_trusted_proxies);
    if (router_dispatch(req, resp, &err) < 0) {
        /* one log line per failed request, here and nowhere below */
        if (err_http_status(&err) >= 500)
            log_warn("%s %s: %s: %s", req->method, req->path,
                     err.where != NULL ? err.where : "?", err.msg);
        else
            log_debug("%s %s: %s", req->method, req->path, err.msg);
        if (err.kind == ERR_AUTH && !request_wants_json(req) &&
            (strcmp(req->method, "GET") == 0 ||
             strcmp(req->method, "HEAD") == 0)) {
            /* a browser without a (live) session: to the login form */
            g_string_truncate(resp->body, 0);
            resp->status = 303;
            response_set_header(resp, req->arena, "Location",
                                web_app_base_path(app));
        } else {
            page_error(req, resp, &err);
        }
    }
    web_app_security_headers(req, resp);
    compress_response(req, resp);
}

void
web_app_reject(struct web_app *app, struct request *req,
               struct response *resp, const struct err *err)
{
    request_client_resolve(req, app->cfg->trusted_proxies,
                           app->cfg->n_trusted_proxies);
    log_debug("rejected %s: %s", req->method, err->msg);
    page_error(req, resp, err);
    if (err->kind == ERR_LIMIT &&
        req->header_bytes > app->cfg->max_header_bytes)
        resp->status = 431;
    web_app_security_headers(req, resp);
    compress_response(req, resp);
}

void
web_app_request_done(struct web_app *app, const struct request *req,
                     int status, unsigned long long bytes)
{
    long long ms = (g_get_monotonic_time() - req->start_us) / 1000;
    int cls = status / 100;

    g_atomic_int_inc(&app->requests_total);
    if (cls >= 1 && cls <= 5)
        g_atomic_int_inc(&app->responses_by_class[cls]);
    /* the path only: query strings may carry search terms */
    if (app->cfg->access_log)
        log_info("access %s %s %s %d %llu %lldms",
                 request_client_addr(req)[0] != '\0'
                     ? request_client_addr(req)
                     : "-",
                 req->method, req->path, status, bytes, ms);
}
