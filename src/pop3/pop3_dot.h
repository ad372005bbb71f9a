/* pop3_dot.h - decoder for POP3 multi-line bodies (RFC 1939 §3): removes
 * dot-stuffing and finds the CRLF.CRLF end across any split. Layer: pop3;
 * pure. Trust: UNTRUSTED input; the byte cap is enforced, never truncated. */
#ifndef POSTERN_POP3_POP3_DOT_H
#define POSTERN_POP3_POP3_DOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/attr.h"
#include "core/err.h"

/* Zero-initialize, then set max (or use pop3_dot_init). Starts at the
 * beginning of a line: feed it the bytes right after the status line. */
struct pop3_dot {
    enum { POP3_DOT_BOL, POP3_DOT_DOT, POP3_DOT_DOT_CR, POP3_DOT_MID } st;
    uint64_t total; /* bytes emitted so far */
    uint64_t max;   /* cap on emitted bytes; more is ERR_LIMIT */
};

/* A decoder at the start of a body that may emit up to max bytes. */
void pop3_dot_init(struct pop3_dot *d, uint64_t max);

/* Decodes in[0..len) into out, which must hold len bytes (output never
 * grows); *out_len gets the decoded bytes, *used_out the input consumed.
 * Returns 0, with *done_out true once the terminating ".CRLF" at the start
 * of a line has been consumed: the bytes from *used_out on then belong to
 * the next reply (*used_out < len only then). The terminator's line break
 * (the CRLF before the '.') is part of the body and is emitted.
 * Returns -1 with ERR_PROTO for "." CR not followed by LF, ERR_LIMIT when
 * the body passes d->max (a body of exactly max bytes is fine); out is
 * then undefined and the decoder must not be used again.
 * Input may be split at any byte. */
ATTR_NODISCARD int pop3_dot_decode(struct pop3_dot *d, const unsigned char *in,
                                   size_t len, unsigned char *out,
                                   size_t *out_len, size_t *used_out,
                                   bool *done_out, struct err *err);

#endif
