/* h_login.c - GET / (the login form, or on to the inbox), POST /login and
 * POST /logout. Layer: web. A failed login says only "login failed". */
#include <string.h>

#include <glib.h>

#include "core/log.h"
#include "session/pool.h"
#include "session/throttle.h"
#include "view/view.h"
#include "web/app.h"
#include "web/auth.h"
#include "web/handlers.h"
#include "web/page.h"
#include "web/stash.h"

#define LOGIN_MAX_USER 256u
#define LOGIN_MAX_PASSWORD 1024u

static int
login_form(struct request *req, struct response *resp, const char *user,
           const char *server, const char *error, int status,
           struct err *err)
{
    struct json_object *view;

    view = view_login(req->arena, req->app->cfg, user, server, error);
    view_add_str(view, "csrf", auth_login_token(req, resp));
    resp->status = status;
    return page_render(req, resp, "login", view, err);
}

static void
redirect(struct request *req, struct response *resp, const char *rel)
{
    resp->status = 303;
    response_set_header(resp, req->arena, "Location",
                        arena_printf(req->arena, "%s%s",
                                     web_app_base_path(req->app), rel));
}

int
h_root(struct request *req, struct response *resp, struct err *err)
{
    struct session *s;
    struct err aerr = {0};

    if (request_cookie(req, SESSION_COOKIE_NAME) != NULL &&
        auth_require(req, &s, &aerr) == 0) {
        redirect(req, resp, "mailbox?f=INBOX");
        return 0;
    }
    return login_form(req, resp, request_query(req, "user"),
                      request_query(req, "server"), NULL, 200, err);
}

static bool
login_field_ok(const char *s, size_t max)
{
    return s != NULL && *s != '\0' && strlen(s) <= max &&
           strpbrk(s, "\r\n") == NULL && g_utf8_validate(s, -1, NULL);
}

/* Opens the first connection now: a wrong password shows on the form,
 * not on the next page. */
static int
login_probe(struct request *req, struct store *st, void *ctx,
            struct err *err)
{
    (void)req;
    (void)st;
    (void)ctx;
    (void)err;
    return 0;
}

int
h_login(struct request *req, struct response *resp, struct err *err)
{
    const struct cfg *cfg = req->app->cfg;
    const char *user, *password, *server_name;
    const struct cfg_server *server;
    struct cfg_server *typed = NULL; /* a host the user typed */
    struct session *s;
    char *cookie = NULL;
    struct err lerr = {0};
    unsigned wait;

    if (request_parse_form(req, err) < 0)
        return -1;
    if (auth_check_login_csrf(req, err) < 0)
        return -1;
    user = request_form_get(req, "user");
    password = request_form_get(req, "password");
    server_name = request_form_get(req, "server");
    if (server_name == NULL || *server_name == '\0')
        server_name = cfg->servers[0]->name;
    server = cfg_server_find(cfg, server_name);
    if (server == NULL && cfg->allow_any_server) {
        /* checked against internal addresses when it connects */
        typed = cfg_server_typed(cfg, server_name, &lerr);
        if (typed == NULL)
            return login_form(req, resp, user, server_name, lerr.msg, 400,
                              err);
        server = typed;
    }
    if (server == NULL)
        return login_form(req, resp, user, NULL, "Unknown mail server.",
                          400, err);
    if (!login_field_ok(user, LOGIN_MAX_USER) ||
        !login_field_ok(password, LOGIN_MAX_PASSWORD)) {
        cfg_server_typed_free(&typed);
        return login_form(req, resp, user, server_name,
                          "Please enter your user name and password.", 400,
                          err);
    }

    wait = throttle_check(req->app->throttle, req->client_addr, server->name,
                          user);
    if (wait > 0) {
        /* no attempt at all: the mail server never sees the guess */
        log_info("login of %s on %s from %s: throttled, %u s to wait", user,
                 server->name, req->client_addr, wait);
        response_set_header(resp, req->arena, "Retry-After",
                            arena_printf(req->arena, "%u", wait));
        cfg_server_typed_free(&typed);
        if (request_wants_json(req)) {
            err_set(err, ERR_THROTTLED, "login throttled for %u s", wait);
            return -1;
        }
        return login_form(req, resp, user, server_name,
                          err_user_text(ERR_THROTTLED), 429, err);
    }
    s = session_create(req->app->sessions, server, user, password, &cookie,
                       err);
    if (s == NULL) {
        cfg_server_typed_free(&typed);
        return -1;
    }
    if (typed != NULL)
        session_own_server(s, typed); /* freed with the session */
    session_set_client_addr(s, req->client_addr);
    session_unref(&s); /* the table holds it; the request adopts it */
    if (auth_adopt(req, cookie, &s, err) < 0) {
        session_cookie_free(&cookie);
        return -1;
    }
    if (auth_with_store(req, s, login_probe, NULL, &lerr) < 0) {
        session_destroy(req->app->sessions, s);
        session_cookie_free(&cookie);
        if (lerr.kind == ERR_AUTH)
            throttle_fail(req->app->throttle, req->client_addr,
                          server->name, user);
        log_info("login of %s on %s failed: %s", user, server->name,
                 lerr.msg);
        if (request_wants_json(req)) {
            *err = lerr;
            return -1;
        }
        /* ERR_INPUT is in our words (a typed host that leads inside) */
        return login_form(req, resp, user, server_name,
                          lerr.kind == ERR_AUTH    ? "Login failed."
                          : lerr.kind == ERR_INPUT ? lerr.msg
                                                   : err_user_text(lerr.kind),
                          err_http_status(&lerr), err);
    }
    throttle_success(req->app->throttle, req->client_addr, server->name,
                     user);
    auth_set_session_cookie(req, resp, cookie);
    session_cookie_free(&cookie);
    if (request_wants_json(req)) {
        struct json_object *v = view_obj_new(req->arena);

        json_object_object_add(v, "ok", json_object_new_boolean(1));
        view_add_str(v, "csrf", session_csrf_token(s));
        return page_render(req, resp, "login", v, err);
    }
    redirect(req, resp, "mailbox?f=INBOX");
    return 0;
}

int
h_logout(struct request *req, struct response *resp, struct err *err)
{
    struct session *s;

    if (request_parse_form(req, err) < 0 || auth_require(req, &s, err) < 0 ||
        auth_check_csrf(req, s, err) < 0)
        return -1;
    stash_drop(req, NULL); /* attachments kept for unsent forms */
    session_destroy(req->app->sessions, s);
    auth_set_session_cookie(req, resp, NULL);
    if (request_wants_json(req)) {
        struct json_object *v = view_obj_new(req->arena);

        json_object_object_add(v, "ok", json_object_new_boolean(1));
        return page_render(req, resp, "login", v, err);
    }
    redirect(req, resp, "");
    return 0;
}
