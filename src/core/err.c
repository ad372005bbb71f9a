/* err.c - error records and their mapping to HTTP statuses and user text.
 * Layer: core. Trust: messages may quote untrusted bytes; they go to logs only. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

void
err_set_at(struct err *e, enum err_kind kind, const char *where,
           const char *fmt, ...)
{
    va_list ap;

    xassert(kind != ERR_NONE);
    if (e == NULL || e->kind != ERR_NONE)
        return;
    e->kind = kind;
    e->where = where;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

void
err_clear(struct err *e)
{
    e->kind = ERR_NONE;
    e->where = NULL;
    e->msg[0] = '\0';
}

void
err_redact(struct err *e, const char *secret, size_t len)
{
    static const char mark[] = "(secret)";
    char out[sizeof(e->msg)];
    size_t i = 0, o = 0, n;

    if (e == NULL || secret == NULL || len == 0)
        return;
    n = strlen(e->msg);
    while (i < n && o + 1 < sizeof(out)) {
        size_t left = n - i;
        bool whole = left >= len && memcmp(e->msg + i, secret, len) == 0;
        bool cut = !whole && left >= 4 && left < len &&
                   memcmp(e->msg + i, secret, left) == 0;

        if (whole || cut) {
            size_t m = sizeof(mark) - 1;

            if (o + m >= sizeof(out))
                break;
            memcpy(out + o, mark, m);
            o += m;
            i += whole ? len : left;
            continue;
        }
        out[o++] = e->msg[i++];
    }
    out[o] = '\0';
    memcpy(e->msg, out, o + 1);
    /* nothing of the secret stays behind in the stack copy */
    memset(out, 0, sizeof(out));
    __asm__ __volatile__("" : : "r"(out) : "memory");
}

void
err_peer_limit(struct err *e, const char *peer)
{
    char msg[sizeof(e->msg)];

    if (e->kind != ERR_LIMIT)
        return;
    e->kind = ERR_PROTO;
    snprintf(msg, sizeof(msg), "%s", e->msg);
    snprintf(e->msg, sizeof(e->msg), "%.48s sent too much: %.160s", peer,
             msg);
}

static const struct {
    int status;
    const char *name;
    const char *text;
} err_table[] = {
    [ERR_NONE] = {200, "none", "No error."},
    [ERR_INTERNAL] = {500, "internal",
                      "Something went wrong inside postern. Please try "
                      "again; if it keeps happening, tell the administrator."},
    [ERR_INPUT] = {400, "input", "The request was not valid."},
    [ERR_AUTH] = {401, "auth", "Please log in."},
    [ERR_CSRF] = {403, "csrf",
                  "The form had expired or did not come from this site. "
                  "Please reload the page and try again."},
    [ERR_NOT_FOUND] = {404, "not_found", "That page does not exist."},
    [ERR_METHOD] = {405, "method", "That method is not allowed here."},
    [ERR_LIMIT] = {413, "limit", "The request was too large."},
    [ERR_UNSUPPORTED] = {400, "unsupported",
                         "Your mail server does not support that."},
    [ERR_REFUSED] = {502, "refused", "The mail server refused the request."},
    [ERR_PROTO] = {502, "protocol",
                   "The mail server sent an answer postern cannot read."},
    [ERR_CONN] = {502, "connection", "The mail server could not be reached."},
    [ERR_TIMEOUT] = {504, "timeout", "The mail server did not answer in time."},
    [ERR_ABORTED] = {500, "aborted", "The request was cancelled."},
    [ERR_CONFIG] = {500, "config", "postern is not configured correctly."},
    [ERR_THROTTLED] = {429, "throttled",
                       "Too many failed logins. Please wait a moment and "
                       "try again."},
};

int
err_http_status(const struct err *e)
{
    xassert((size_t)e->kind < N_ELEMENTS(err_table));
    return err_table[e->kind].status;
}

const char *
err_kind_name(enum err_kind kind)
{
    xassert((size_t)kind < N_ELEMENTS(err_table));
    return err_table[kind].name;
}

const char *
err_user_text(enum err_kind kind)
{
    xassert((size_t)kind < N_ELEMENTS(err_table));
    return err_table[kind].text;
}
