/* pop3_parser.c - POP3 status lines: "+OK", "-ERR [CODE]", "+ challenge".
 * Layer: pop3; pure, no I/O. Trust: UNTRUSTED input from the server. */
#include <string.h>

#include <glib.h>

#include "core/limits.h"
#include "pop3/pop3_parser.h"

struct pop3_parser {
    size_t max_line;
    char *line;      /* max_line + 1 bytes: the line and a NUL */
    size_t len;      /* bytes of the line so far, CR and LF included */
    bool saw_cr;
    bool failed;
};

struct pop3_parser *
pop3_parser_new(size_t max_line)
{
    struct pop3_parser *p = g_new0(struct pop3_parser, 1);

    p->max_line = max_line != 0 ? max_line : LIM_POP3_LINE;
    p->line = g_malloc(p->max_line + 1);
    return p;
}

void
pop3_parser_free(struct pop3_parser **pp)
{
    if (*pp == NULL)
        return;
    g_free((*pp)->line);
    g_free(*pp);
    *pp = NULL;
}

void
pop3_parser_reset(struct pop3_parser *p)
{
    p->len = 0;
    p->saw_cr = false;
    p->failed = false;
}

static enum pop3_feed_result
pop3_parser_fail(struct pop3_parser *p, struct err *err, enum err_kind kind,
                 const char *msg)
{
    p->failed = true;
    err_set(err, kind, "POP3 reply: %s", msg);
    return POP3_FEED_ERROR;
}

/* RFC 2449 §8: resp-code = "[" resp-level *("/" resp-level) "]",
 * resp-level = 1*(ALPHA / "-"). Digits are allowed too: harmless. */
static bool
pop3_parser_is_code(const char *s, size_t n)
{
    bool level_start = true;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '/') {
            if (level_start)
                return false;
            level_start = true;
            continue;
        }
        if (!g_ascii_isalnum(c) && c != '-')
            return false;
        level_start = false;
    }
    return !level_start;
}

/* s is the NUL-terminated line without CR/LF, n its length. */
static int
pop3_parser_split(char *s, size_t n,
                  struct pop3_reply *r, struct err *err)
{
    char *rest;

    if (n >= 3 && g_ascii_strncasecmp(s, "+OK", 3) == 0 &&
        (n == 3 || s[3] == ' ')) {
        r->status = POP3_STATUS_OK;
        rest = s + 3;
    } else if (n >= 4 && g_ascii_strncasecmp(s, "-ERR", 4) == 0 &&
               (n == 4 || s[4] == ' ')) {
        r->status = POP3_STATUS_ERR;
        rest = s + 4;
    } else if (n >= 1 && s[0] == '+' && (n == 1 || s[1] == ' ')) {
        r->status = POP3_STATUS_CONT;
        r->code = "";
        r->text = n == 1 ? s + 1 : s + 2;
        return 0;
    } else {
        err_set(err, ERR_PROTO, "POP3 reply: not +OK, -ERR or +: %.40s", s);
        return -1;
    }
    if (*rest == ' ')
        rest++;
    r->code = "";
    if (*rest == '[') {
        char *close = strchr(rest, ']');

        if (close != NULL &&
            pop3_parser_is_code(rest + 1, (size_t)(close - rest - 1))) {
            *close = '\0';
            r->code = rest + 1;
            rest = close + 1;
            if (*rest == ' ')
                rest++;
        }
    }
    r->text = rest;
    return 0;
}

enum pop3_feed_result
pop3_parser_feed(struct pop3_parser *p, const unsigned char *data, size_t len,
                 size_t *used_out, struct pop3_reply *reply_out,
                 struct err *err)
{
    size_t i;

    *used_out = 0;
    if (p->failed) {
        err_set(err, ERR_INTERNAL, "POP3 parser fed after an error");
        return POP3_FEED_ERROR;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = data[i];

        if (p->len >= p->max_line) {
            *used_out = i;
            return pop3_parser_fail(p, err, ERR_LIMIT, "line too long");
        }
        if (c == '\n') {
            size_t n = p->len - (p->saw_cr ? 1 : 0);

            p->len = 0;
            p->saw_cr = false;
            p->line[n] = '\0';
            *used_out = i + 1;
            if (pop3_parser_split(p->line, n, reply_out, err) < 0) {
                p->failed = true;
                return POP3_FEED_ERROR;
            }
            return POP3_FEED_LINE;
        }
        if (p->saw_cr || c == '\0') {
            *used_out = i;
            return pop3_parser_fail(p, err, ERR_PROTO,
                                    c == '\0' ? "NUL in line"
                                              : "CR not followed by LF");
        }
        if (c == '\r')
            p->saw_cr = true;
        p->line[p->len++] = (char)c;
    }
    *used_out = len;
    return POP3_FEED_MORE;
}
