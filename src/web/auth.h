/* auth.h - the web side of sessions: the session cookie, CSRF checks, the
 * pre-session token of the login form, and borrowing a store from the
 * pool for one request. Layer: web. Trust: cookies and tokens are
 * UNTRUSTED browser input. */
#ifndef POSTERN_WEB_AUTH_H
#define POSTERN_WEB_AUTH_H

#include <stdbool.h>

#include "core/err.h"
#include "session/session.h"
#include "store/store.h"
#include "web/request.h"

/* The request's session, or -1 with ERR_AUTH. On success the session and
 * its key are released with the request's arena. */
ATTR_NODISCARD int auth_require(struct request *req, struct session **s_out,
                                struct err *err);

/* Makes the session of cookie (just created by login) the request's. */
ATTR_NODISCARD int auth_adopt(struct request *req, const char *cookie,
                              struct session **s_out, struct err *err);

/* The CSRF token sent with a POST (form field "csrf" or X-CSRF-Token). */
const char *auth_posted_csrf(const struct request *req);

/* ERR_CSRF unless the POST carries the session's token, bare or masked
 * (pages carry it masked anew each time: session_csrf_mask). */
ATTR_NODISCARD int auth_check_csrf(struct request *req, struct session *s,
                                   struct err *err);

/* The login form's token: the pre-session cookie's value, set anew when
 * missing. Double-submit: the form must echo it (auth_check_login_csrf). */
const char *auth_login_token(struct request *req, struct response *resp);
ATTR_NODISCARD int auth_check_login_csrf(struct request *req,
                                         struct err *err);

/* Sets the session cookie (value NULL: expire it). */
void auth_set_session_cookie(struct request *req, struct response *resp,
                             const char *value);

/* Runs fn with a store of the request's session. When a pooled
 * connection turns out dead (ERR_CONN / ERR_PROTO on a reused store),
 * it is dropped and fn runs once more on a fresh one: reads only. */
typedef int auth_store_fn(struct request *req, struct store *st, void *ctx,
                          struct err *err);
ATTR_NODISCARD int auth_with_store(struct request *req, struct session *s,
                                   auth_store_fn *fn, void *ctx,
                                   struct err *err);

/* The same for changes: never run twice, since a change whose reply was
 * lost may have been applied (a COPY twice is two copies). */
ATTR_NODISCARD int auth_with_store_once(struct request *req,
                                        struct session *s, auth_store_fn *fn,
                                        void *ctx, struct err *err);

/* A store of the request's session held until the request ends (for
 * responses streamed after the handler returns). */
ATTR_NODISCARD int auth_store_borrow(struct request *req, struct session *s,
                                     struct store **st_out, struct err *err);

#endif
