/* err.h - error categories and the error record every fallible call fills.
 * Layer: core. The message is for logs; users see err_user_text(). */
#ifndef POSTERN_CORE_ERR_H
#define POSTERN_CORE_ERR_H

#include "core/attr.h"

enum err_kind {
    ERR_NONE = 0,
    ERR_INTERNAL,    /* our bug or a system failure        -> 500 */
    ERR_INPUT,       /* bad request from the browser       -> 400 */
    ERR_AUTH,        /* no session, login failed           -> 401 */
    ERR_CSRF,        /* missing or wrong CSRF token        -> 403 */
    ERR_NOT_FOUND,   /* folder/message/part/page not found -> 404 */
    ERR_METHOD,      /* path exists, method does not       -> 405 */
    ERR_LIMIT,       /* input over a cap                   -> 413 */
    ERR_UNSUPPORTED, /* backend cannot (POP3 folders)      -> 400 */
    ERR_REFUSED,     /* server said NO                     -> 502 */
    ERR_PROTO,       /* server broke the protocol          -> 502 */
    ERR_CONN,        /* connect, TLS, read, write failed   -> 502 */
    ERR_TIMEOUT,     /* deadline passed                    -> 504 */
    ERR_ABORTED,     /* a sink asked to stop (client went away) */
    ERR_CONFIG,      /* bad configuration: exit status 2 at start-up */
    ERR_THROTTLED    /* too many failed logins: wait       -> 429 */
};

struct err {
    enum err_kind kind;
    const char *where; /* __func__ of the first err_set() */
    char msg[256];     /* for the log; never shown raw to the user */
};

/* Records the first error only: a later err_set() on an already set err
 * is ignored, so the root cause survives as it travels up. */
#define err_set(e, k, ...) err_set_at((e), (k), __func__, __VA_ARGS__)
void err_set_at(struct err *e, enum err_kind kind, const char *where,
                const char *fmt, ...) ATTR_PRINTF(4, 5);

/* Forgets any recorded error. */
void err_clear(struct err *e);

/* Replaces every copy of secret (len bytes, len > 0) in e's message with
 * "(secret)", also a copy cut short at the message's end (4 bytes or
 * more): a hostile server may repeat the credentials in its refusal. */
void err_redact(struct err *e, const char *secret, size_t len);

/* For a failure caused by bytes a mail server sent: a cap they crossed
 * (ERR_LIMIT) is the server breaking the protocol, ERR_PROTO (502), not a
 * request of the browser's that was too large (413). The message gets
 * "peer: " in front. Other kinds are left as they are. */
void err_peer_limit(struct err *e, const char *peer);

/* HTTP status for the category (DESIGN §3). ERR_NONE maps to 200. */
int err_http_status(const struct err *e);

/* Short lower-case name of the category, for logs and JSON error codes
 * ("input", "not_found", ...). Never NULL. */
const char *err_kind_name(enum err_kind kind);

/* A fixed, polite sentence for the category, safe to show to anyone. */
const char *err_user_text(enum err_kind kind);

#endif
