/* smtp_reply.c - SMTP reply parser: a byte state machine whose state lives
 * in the parser, so a reply may arrive split at any byte.
 * Layer: smtp. Trust: UNTRUSTED input; every line and reply is capped. */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "smtp/smtp_reply.h"

enum reply_state {
    ST_CODE,  /* reading the three digits of a line's code */
    ST_SEP,   /* after the code: '-', ' ' or the line end */
    ST_TEXT,  /* the text, up to CR or LF */
    ST_CR,    /* after a CR: only LF may follow */
    ST_FAILED /* an error was reported; only reset helps */
};

struct smtp_reply_parser {
    enum reply_state st;
    unsigned digits;     /* of this line's code, so far */
    unsigned line_code;  /* this line's code, so far */
    unsigned first_code; /* the code of the reply's first line */
    bool last;           /* this line ends the reply */
    size_t line_len;     /* bytes of this line so far, line end included */
    GString *line;       /* this line's text */
    GPtrArray *lines;    /* char *: the texts of the finished lines */
    /* the reply handed out; freed at the next feed */
    bool handed_out;
    struct smtp_reply reply;
    char enhanced[16];
    char *text;
};

struct smtp_reply_parser *
smtp_reply_parser_new(void)
{
    struct smtp_reply_parser *p = g_new0(struct smtp_reply_parser, 1);

    p->line = g_string_sized_new(128);
    p->lines = g_ptr_array_new_with_free_func(g_free);
    return p;
}

/* Drops the reply handed out last and any partial one. */
static void
reply_clear(struct smtp_reply_parser *p)
{
    g_ptr_array_set_size(p->lines, 0);
    g_free(p->text);
    p->text = NULL;
    memset(&p->reply, 0, sizeof(p->reply));
    p->enhanced[0] = '\0';
    p->handed_out = false;
    p->st = ST_CODE;
    p->digits = 0;
    p->line_code = 0;
    p->first_code = 0;
    p->last = false;
    p->line_len = 0;
    g_string_truncate(p->line, 0);
}

void
smtp_reply_reset(struct smtp_reply_parser *p)
{
    reply_clear(p);
}

void
smtp_reply_parser_free(struct smtp_reply_parser **pp)
{
    struct smtp_reply_parser *p = *pp;

    if (p == NULL)
        return;
    g_string_free(p->line, TRUE);
    g_ptr_array_free(p->lines, TRUE);
    g_free(p->text);
    g_free(p);
    *pp = NULL;
}

/* Length of a leading RFC 3463 status code "c.sss.ddd" whose class c is
 * class_digit, when followed by a space or the end; 0 otherwise. */
static size_t
reply_enhanced_len(const char *s, char class_digit)
{
    size_t i = 0;

    if (s[0] != class_digit ||
        (class_digit != '2' && class_digit != '4' && class_digit != '5'))
        return 0;
    i = 1;
    for (int part = 0; part < 2; part++) {
        size_t n = 0;

        if (s[i] != '.')
            return 0;
        i++;
        while (n < 4 && g_ascii_isdigit(s[i + n]))
            n++;
        if (n < 1 || n > 3)
            return 0;
        i += n;
    }
    return s[i] == ' ' || s[i] == '\0' ? i : 0;
}

/* The last line has ended: fills p->reply from the lines. */
static void
reply_build(struct smtp_reply_parser *p)
{
    char class_digit = (char)('0' + p->first_code / 100);
    const char *first = g_ptr_array_index(p->lines, 0);
    size_t elen = reply_enhanced_len(first, class_digit);
    GString *text = g_string_new(NULL);

    memcpy(p->enhanced, first, elen); /* elen <= 9 */
    p->enhanced[elen] = '\0';
    for (guint i = 0; i < p->lines->len; i++) {
        const char *s = g_ptr_array_index(p->lines, i);

        /* RFC 2034 §4: every line of a multi-line reply repeats it */
        s += reply_enhanced_len(s, class_digit);
        while (*s == ' ')
            s++;
        if (*s == '\0')
            continue;
        if (text->len > 0)
            g_string_append_c(text, ' ');
        g_string_append(text, s);
    }
    p->text = g_utf8_make_valid(text->str, (gssize)text->len);
    g_string_free(text, TRUE);
    p->reply.code = p->first_code;
    p->reply.enhanced = p->enhanced;
    p->reply.text = p->text;
    p->reply.lines = (const char *const *)p->lines->pdata;
    p->reply.n_lines = p->lines->len;
    p->handed_out = true;
}

static enum smtp_feed_result reply_fail(struct smtp_reply_parser *p,
                                        struct err *err, enum err_kind kind,
                                        const char *fmt, ...) ATTR_PRINTF(4, 5);

static enum smtp_feed_result
reply_fail(struct smtp_reply_parser *p, struct err *err, enum err_kind kind,
           const char *fmt, ...)
{
    char what[128];
    va_list ap;

    va_start(ap, fmt);
    g_vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    err_set(err, kind, "SMTP reply line %u: %s", p->lines->len + 1, what);
    p->st = ST_FAILED;
    return SMTP_FEED_ERROR;
}

/* A line has ended. Returns true when it was the reply's last. */
static bool
reply_line_end(struct smtp_reply_parser *p)
{
    g_ptr_array_add(p->lines, g_strndup(p->line->str, p->line->len));
    g_string_truncate(p->line, 0);
    p->line_len = 0;
    p->digits = 0;
    p->st = ST_CODE;
    if (!p->last)
        return false;
    reply_build(p);
    return true;
}

enum smtp_feed_result
smtp_reply_feed(struct smtp_reply_parser *p, const unsigned char *data,
                size_t len, size_t *used_out,
                const struct smtp_reply **reply_out, struct err *err)
{
    *used_out = 0;
    if (p->st == ST_FAILED) {
        err_set(err, ERR_INTERNAL, "SMTP reply parser fed after an error");
        return SMTP_FEED_ERROR;
    }
    if (p->handed_out)
        reply_clear(p);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = data[i];

        if (p->line_len == 0 && p->lines->len >= SMTP_REPLY_LINES_MAX)
            return reply_fail(p, err, ERR_LIMIT,
                              "over the cap of %u lines a reply",
                              SMTP_REPLY_LINES_MAX);
        if (++p->line_len > SMTP_REPLY_LINE_MAX)
            return reply_fail(p, err, ERR_LIMIT,
                              "over the cap of %u bytes a line",
                              SMTP_REPLY_LINE_MAX);
        switch (p->st) {
        case ST_CODE: {
            /* RFC 5321 §4.2: %x32-35 %x30-35 %x30-39 */
            static const char hi[] = "559";
            char lo = p->digits == 0 ? '2' : '0';

            if (p->digits == 0)
                p->line_code = 0;

            if (c < (unsigned char)lo || c > (unsigned char)hi[p->digits])
                return reply_fail(p, err, ERR_PROTO, "not a reply code");
            p->line_code = p->line_code * 10 + (unsigned)(c - '0');
            if (++p->digits < 3)
                break;
            if (p->lines->len == 0)
                p->first_code = p->line_code;
            else if (p->line_code != p->first_code)
                return reply_fail(p, err, ERR_PROTO,
                                  "code %u in a reply that began with %u",
                                  p->line_code, p->first_code);
            p->st = ST_SEP;
            break;
        }
        case ST_SEP:
            if (c == '-') {
                p->st = ST_TEXT;
            } else if (c == ' ') {
                p->last = true;
                p->st = ST_TEXT;
            } else if (c == '\r') {
                p->last = true;
                p->st = ST_CR;
            } else if (c == '\n') {
                p->last = true;
                if (reply_line_end(p))
                    goto reply;
            } else {
                return reply_fail(p, err, ERR_PROTO,
                                  "no '-' or ' ' after the code");
            }
            break;
        case ST_TEXT:
            if (c == '\r') {
                p->st = ST_CR;
            } else if (c == '\n') {
                if (reply_line_end(p))
                    goto reply;
            } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return reply_fail(p, err, ERR_PROTO,
                                  "control character in the text");
            } else {
                g_string_append_c(p->line, (char)c);
            }
            break;
        case ST_CR:
            if (c != '\n')
                return reply_fail(p, err, ERR_PROTO, "CR not followed by LF");
            if (reply_line_end(p))
                goto reply;
            break;
        case ST_FAILED:
            xassert_unreached();
        }
        continue;
    reply:
        *used_out = i + 1;
        *reply_out = &p->reply;
        return SMTP_FEED_REPLY;
    }
    *used_out = len;
    return SMTP_FEED_MORE;
}
