/* smtp_reply.h - incremental parser for SMTP server replies (RFC 5321 §4.2,
 * enhanced status codes RFC 3463 / RFC 2034). Layer: smtp. No sockets: bytes
 * in, replies out. Trust: UNTRUSTED input; the caps below are enforced and
 * none truncates. */
#ifndef POSTERN_SMTP_SMTP_REPLY_H
#define POSTERN_SMTP_SMTP_REPLY_H

#include <stddef.h>

#include "core/attr.h"
#include "core/err.h"

/* Caps on a reply. They belong in core/limits.h (LIM_SMTP_LINE,
 * LIM_SMTP_REPLY_LINES) and live here until core takes them. RFC 5321
 * §4.5.3.1.5 allows 512 bytes a line; real servers send long texts. */
#define SMTP_REPLY_LINE_MAX 4096u /* bytes of one line, CR LF included */
#define SMTP_REPLY_LINES_MAX 64u  /* lines of one multi-line reply */

/* One complete reply. Everything points into the parser and stays valid
 * until the next smtp_reply_feed() or smtp_reply_reset(). */
struct smtp_reply {
    unsigned code;        /* 200..599 */
    const char *enhanced; /* "5.1.1" (RFC 3463) from the first line, or "" */
    /* The text of every line with its enhanced status code removed, joined
     * with single spaces; "" when the server sent none. Valid UTF-8 (bytes
     * that are not are replaced with U+FFFD); no control characters but
     * HT. For messages. */
    const char *text;
    /* Each line's text as sent, after "NNN-" or "NNN " (enhanced code
     * kept): line 0 of an EHLO reply is the greeting, the others its
     * keywords. Never NULL for i < n_lines. */
    const char *const *lines;
    size_t n_lines; /* 1..SMTP_REPLY_LINES_MAX */
};

struct smtp_reply_parser;

enum smtp_feed_result {
    SMTP_FEED_MORE,  /* all len bytes consumed; need more input */
    SMTP_FEED_REPLY, /* one complete reply in *reply_out */
    SMTP_FEED_ERROR  /* err is set; reset or free the parser */
};

/* A parser waiting for the first byte of a reply. Never NULL (aborts on
 * out-of-memory). */
struct smtp_reply_parser *smtp_reply_parser_new(void);

/* Frees the parser and its last reply; sets *p to NULL. NULL-safe. */
void smtp_reply_parser_free(struct smtp_reply_parser **p);

/* Forgets a partial reply and any error: the next byte starts a reply. */
void smtp_reply_reset(struct smtp_reply_parser *p);

/* Feeds up to len bytes; *used_out tells how many were consumed.
 *  - MORE: all len bytes consumed (*used_out == len).
 *  - REPLY: one complete reply (its final line end included) is in
 *    *reply_out; the bytes from *used_out on were not looked at.
 *  - ERROR: ERR_PROTO for bytes that break the grammar (a code that is not
 *    three digits 2-5 0-5 0-9, a separator other than '-' or ' ', a control
 *    character in the text, CR not followed by LF, a line of a multi-line
 *    reply with another code than the first), ERR_LIMIT at the first byte
 *    over SMTP_REPLY_LINE_MAX in a line or at the first byte of line
 *    SMTP_REPLY_LINES_MAX + 1, ERR_INTERNAL when fed again after an error
 *    without a reset.
 * Lines end in CR LF; a bare LF is accepted as a line end too (servers
 * that forget the CR exist, and a client gains nothing by refusing them).
 * The result is the same however the input is split. */
ATTR_NODISCARD enum smtp_feed_result
smtp_reply_feed(struct smtp_reply_parser *p, const unsigned char *data,
                size_t len, size_t *used_out,
                const struct smtp_reply **reply_out, struct err *err);

/* The first digit of the code (RFC 5321 §4.2.1): 2 done, 3 go on (354,
 * 334), 4 failed for now, 5 failed for good. */
static inline int
smtp_reply_class(const struct smtp_reply *r)
{
    return (int)(r->code / 100);
}

#endif
