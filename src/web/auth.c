/* auth.c - session cookie, CSRF and store borrowing for handlers.
 * Layer: web. Trust: UNTRUSTED cookies and tokens; comparisons of secrets
 * are constant-time (in session.c and here). */
#include <string.h>

#include <glib.h>
#include <openssl/crypto.h>

#include "session/pool.h"
#include "web/app.h"
#include "web/auth.h"
#include "web/request_client.h"

#define PRE_COOKIE "postern_login"

static void
auth_key_wipe(void *key)
{
    OPENSSL_cleanse(key, sizeof(struct session_key));
}

static void
auth_session_unref(void *s)
{
    struct session *sess = s;

    session_unref(&sess);
}

int
auth_require(struct request *req, struct session **s_out, struct err *err)
{
    const char *cookie = request_cookie(req, SESSION_COOKIE_NAME);

    if (req->session != NULL) {
        *s_out = req->session;
        return 0;
    }
    if (cookie == NULL) {
        err_set(err, ERR_AUTH, "no session cookie");
        return -1;
    }
    return auth_adopt(req, cookie, s_out, err);
}

int
auth_adopt(struct request *req, const char *cookie, struct session **s_out,
           struct err *err)
{
    struct session_key *key;
    struct session *s;

    key = arena_alloc(req->arena, sizeof(*key));
    arena_defer(req->arena, auth_key_wipe, key);
    s = session_lookup(req->app->sessions, cookie, key);
    if (s == NULL) {
        err_set(err, ERR_AUTH, "unknown or expired session");
        return -1;
    }
    arena_defer(req->arena, auth_session_unref, s);
    req->session = s;
    req->session_key = key;
    *s_out = s;
    return 0;
}

const char *
auth_posted_csrf(const struct request *req)
{
    const char *h = request_header(req, "x-csrf-token");

    return h != NULL ? h : request_form_get(req, "csrf");
}

int
auth_check_csrf(struct request *req, struct session *s, struct err *err)
{
    if (!session_csrf_ok(s, auth_posted_csrf(req))) {
        err_set(err, ERR_CSRF, "CSRF token missing or wrong");
        return -1;
    }
    return 0;
}

static void
auth_set_cookie(struct request *req, struct response *resp, const char *name,
                const char *value, bool expire)
{
    char *c = arena_printf(req->arena, "%s=%s; Path=%s; HttpOnly; "
                                       "SameSite=Strict%s%s",
                           name, value, web_app_base_path(req->app),
                           request_client_is_https(req) ? "; Secure" : "",
                           expire ? "; Max-Age=0" : "");

    /* Set-Cookie may repeat; response_set_header replaces, so append */
    kv_list_add(req->arena, &resp->headers, "Set-Cookie", c, strlen(c));
}

void
auth_set_session_cookie(struct request *req, struct response *resp,
                        const char *value)
{
    auth_set_cookie(req, resp, SESSION_COOKIE_NAME,
                    value != NULL ? value : "", value == NULL);
}

const char *
auth_login_token(struct request *req, struct response *resp)
{
    const char *have = request_cookie(req, PRE_COOKIE);
    char *tok = arena_alloc(req->arena, SESSION_CSRF_LEN + 1);
    char masked[SESSION_CSRF_MASKED_LEN + 1];
    struct err err = {0};

    /* only a token that can be masked for the form is kept */
    if (session_token_is_wellformed(have) && session_csrf_mask(have, masked))
        return have;
    if (session_token_new(tok, &err) < 0)
        xassert_unreached(); /* no randomness: nothing safe to do */
    auth_set_cookie(req, resp, PRE_COOKIE, tok, false);
    return tok;
}

int
auth_check_login_csrf(struct request *req, struct err *err)
{
    const char *cookie = request_cookie(req, PRE_COOKIE);
    char posted[SESSION_CSRF_LEN + 1];

    /* the form carries the token masked (BREACH); the cookie bare */
    if (!session_token_is_wellformed(cookie) ||
        !session_csrf_unmask(auth_posted_csrf(req), posted) ||
        CRYPTO_memcmp(cookie, posted, SESSION_CSRF_LEN) != 0) {
        err_set(err, ERR_CSRF, "login form token missing or wrong");
        return -1;
    }
    return 0;
}

static int
auth_with_store_tries(struct request *req, struct session *s,
                      auth_store_fn *fn, void *ctx, int tries,
                      struct err *err)
{
    struct pool *pool = req->app->pool;

    for (int attempt = 0;; attempt++) {
        struct store *st = pool_acquire(pool, s, req->session_key, err);
        bool broken;
        int rc;

        if (st == NULL)
            return -1;
        session_set_store_caps(s, st->caps);
        rc = fn(req, st, ctx, err);
        broken = st->broken;
        pool_release(pool, s, &st);
        if (rc == 0 || !broken || attempt + 1 >= tries ||
            (err->kind != ERR_CONN && err->kind != ERR_PROTO))
            return rc;
        /* A pooled connection died under us (server restart, idle
         * timeout it did not announce): once more on a fresh one. */
        err_clear(err);
    }
}

int
auth_with_store(struct request *req, struct session *s, auth_store_fn *fn,
                void *ctx, struct err *err)
{
    return auth_with_store_tries(req, s, fn, ctx, 2, err);
}

int
auth_with_store_once(struct request *req, struct session *s,
                     auth_store_fn *fn, void *ctx, struct err *err)
{
    return auth_with_store_tries(req, s, fn, ctx, 1, err);
}

struct auth_borrow {
    struct pool *pool;
    struct session *s;
    struct store *st;
};

static void
auth_borrow_release(void *p)
{
    struct auth_borrow *b = p;

    pool_release(b->pool, b->s, &b->st);
}

int
auth_store_borrow(struct request *req, struct session *s,
                  struct store **st_out, struct err *err)
{
    struct auth_borrow *b = arena_alloc(req->arena, sizeof(*b));

    b->pool = req->app->pool;
    b->s = s;
    b->st = pool_acquire(b->pool, s, req->session_key, err);
    if (b->st == NULL)
        return -1;
    session_set_store_caps(s, b->st->caps);
    /* registered after the session's own cleanup: runs before it */
    arena_defer(req->arena, auth_borrow_release, b);
    *st_out = b->st;
    return 0;
}
