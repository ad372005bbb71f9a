/* imap_parser.h - incremental parser for IMAP server responses (RFC 9051,
 * RFC 3501). Layer: imap (protocol client). No sockets, no HTTP: bytes in,
 * responses out. Trust: UNTRUSTED input. Every limit below is enforced and
 * none truncates: crossing one fails the feed with ERR_LIMIT. */
#ifndef POSTERN_IMAP_IMAP_PARSER_H
#define POSTERN_IMAP_IMAP_PARSER_H

#include <stddef.h>

#include "core/attr.h"
#include "core/err.h"
#include "imap/imap_resp.h"

struct imap_parser;

/* 0 in any field means the default from core/limits.h. A response that
 * reaches a limit exactly is accepted; one more byte, token or level is
 * ERR_LIMIT. */
struct imap_parser_limits {
    /* Bytes of one response, CRLFs and "{n}" included, literal contents
     * excluded. Default LIM_IMAP_LINE; LIM_IMAP_LINE_PRELOGIN before login. */
    size_t max_line;
    /* Largest literal kept in memory (LIM_IMAP_LITERAL_MEM); a larger one
     * goes to the sink if one is set, else ERR_LIMIT. */
    size_t max_literal_mem;
    /* Nested '(' at once (LIM_IMAP_DEPTH). */
    unsigned max_depth;
    /* Arguments per response, counting every atom, string, NIL, streamed
     * literal and list at any depth; not the tag, number or name
     * (LIM_IMAP_TOKENS). */
    unsigned max_tokens;
    /* Sum of the literals of one response kept in memory, so many small
     * literals cannot add up to gigabytes. Default LIM_IMAP_LINE. */
    size_t max_literal_total;
};

/* Receives the bytes of literals bigger than max_literal_mem, in pieces as
 * they arrive; data is valid only during the call. Return 0 to go on, -1 to
 * stop (the feed then fails with ERR_ABORTED). */
typedef int imap_literal_sink_fn(void *ctx, const unsigned char *data,
                                 size_t len);

enum imap_feed_result {
    IMAP_FEED_MORE,     /* all len bytes consumed; need more input */
    IMAP_FEED_RESPONSE, /* one complete response in *resp_out */
    IMAP_FEED_ERROR     /* err is set; reset or free the parser */
};

/* A parser waiting for the first byte of a response. limits may be NULL
 * (all defaults). Never returns NULL (aborts on out-of-memory). */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);

/* Frees the parser and everything of its last response, and sets *parser
 * to NULL. NULL-safe. */
void imap_parser_free(struct imap_parser **parser);

/* Replaces the limits (0 fields: defaults). They apply from the next byte
 * fed, also in the middle of a response, and survive imap_parser_reset().
 * imap_conn switches from LIM_IMAP_LINE_PRELOGIN to LIM_IMAP_LINE here
 * after login. limits may be NULL (all defaults). */
void imap_parser_set_limits(struct imap_parser *parser,
                            const struct imap_parser_limits *limits);

/* Sends the literals of the following responses that exceed
 * max_literal_mem to fn(ctx), all of them to the same sink; each becomes an
 * IMAP_ARG_LITERAL_STREAMED carrying its size. fn NULL removes the sink.
 * Change sinks between responses: calling this while a literal is being
 * streamed is a bug (xassert). Cleared by imap_parser_reset(). */
void imap_parser_set_sink(struct imap_parser *parser, imap_literal_sink_fn *fn,
                          void *ctx);

/* Feeds up to len bytes; *used_out tells how many were consumed.
 *  - MORE: all len bytes consumed (*used_out == len); feed more later.
 *  - RESPONSE: one complete response (its final LF included) is in
 *    *resp_out; the bytes from *used_out on were not looked at: pass them
 *    again. *resp_out stays valid until the next feed or reset.
 *  - ERROR: err is set: ERR_PROTO for bytes that break the grammar (the
 *    message says what and at which byte of the response), ERR_LIMIT for a
 *    crossed limit, ERR_ABORTED when the sink said stop, ERR_INTERNAL when
 *    called again after an error without a reset. The parser must then be
 *    reset (or freed) before reuse: it never resynchronizes by guessing.
 * Input may be split at any byte. Lines end with CRLF; a bare LF is also
 * accepted as a line end (some servers and test tools send one), a CR not
 * followed by LF is ERR_PROTO. len may be 0. */
ATTR_NODISCARD enum imap_feed_result
imap_parser_feed(struct imap_parser *parser, const unsigned char *data,
                 size_t len, size_t *used_out,
                 const struct imap_resp **resp_out, struct err *err);

/* Bytes of a literal going to the sink that the parser still expects, or
 * 0 when it is not inside one. *size_out (may be NULL) gets the literal's
 * whole size. With this the caller may read the bulk of a big literal
 * straight into its own buffer and report it with imap_parser_skip(). */
uint64_t imap_parser_sink_left(const struct imap_parser *parser,
                               uint64_t *size_out);

/* Counts n bytes of the streamed literal as delivered without being fed
 * (the sink is not called for them). n must not exceed
 * imap_parser_sink_left(); a call with n equal to it ends the literal,
 * and the parser goes on with what follows it. */
void imap_parser_skip(struct imap_parser *parser, size_t n);

/* Forgets any partial response, the last response's memory, an error and
 * the sink; keeps the limits. The next byte starts a new response. */
void imap_parser_reset(struct imap_parser *parser);

#endif
