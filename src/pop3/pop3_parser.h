/* pop3_parser.h - incremental parser for POP3 status lines (RFC 1939, RFC
 * 2449 extended codes, RFC 5034 SASL continuations). Layer: pop3; pure.
 * Trust: UNTRUSTED input; the line cap is enforced, never truncated. */
#ifndef POSTERN_POP3_POP3_PARSER_H
#define POSTERN_POP3_POP3_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/attr.h"
#include "core/err.h"

struct pop3_parser;

enum pop3_status {
    POP3_STATUS_OK,   /* "+OK" */
    POP3_STATUS_ERR,  /* "-ERR" */
    POP3_STATUS_CONT  /* "+ " base64: a SASL challenge (RFC 5034 §4) */
};

/* One status line. The strings live in the parser: valid until the next
 * feed or reset. */
struct pop3_reply {
    enum pop3_status status;
    /* RFC 2449 §8 extended response code without the brackets ("AUTH",
     * "SYS/TEMP", "IN-USE"), upper-cased as sent; "" when there is none. */
    const char *code;
    /* The rest of the line after the status, the SP and the code (for
     * CONT: the base64 challenge); "" when empty. No CR, LF or NUL. */
    const char *text;
};

enum pop3_feed_result {
    POP3_FEED_MORE,  /* all len bytes consumed; need more input */
    POP3_FEED_LINE,  /* one complete status line in *reply_out */
    POP3_FEED_ERROR  /* err is set; reset or free the parser */
};

/* max_line: bytes of one line, CRLF included; 0 means LIM_POP3_LINE. A line
 * of exactly max_line bytes is accepted, one more byte is ERR_LIMIT.
 * Never returns NULL (aborts on out-of-memory). */
struct pop3_parser *pop3_parser_new(size_t max_line);

/* Frees the parser and sets *parser to NULL. NULL-safe. */
void pop3_parser_free(struct pop3_parser **parser);

/* Feeds up to len bytes; *used_out tells how many were consumed.
 *  - MORE: all len bytes consumed (*used_out == len).
 *  - LINE: one status line (its LF included) was consumed; the bytes from
 *    *used_out on were not looked at (a multi-line body, or the next
 *    reply): they are the caller's.
 *  - ERROR: ERR_PROTO for a line that is not "+OK", "-ERR" or "+ " (also a
 *    NUL, or a CR not followed by LF), ERR_LIMIT past max_line,
 *    ERR_INTERNAL when fed again after an error without a reset.
 * Lines end with CRLF; a bare LF is accepted too. Input may be split at
 * any byte. len may be 0. */
ATTR_NODISCARD enum pop3_feed_result
pop3_parser_feed(struct pop3_parser *parser, const unsigned char *data,
                 size_t len, size_t *used_out,
                 struct pop3_reply *reply_out, struct err *err);

/* Forgets a partial line and an error. */
void pop3_parser_reset(struct pop3_parser *parser);

#endif
