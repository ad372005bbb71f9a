/* mime_msg.h - a whole RFC 5322 message (POP3 RETR, TOP) parsed with GMime
 * into what IMAP's ENVELOPE, BODYSTRUCTURE and BODY[section] give, so one
 * view serves both stores. Layer: mime; no I/O. Trust: UNTRUSTED input. */
#ifndef POSTERN_MIME_MIME_MSG_H
#define POSTERN_MIME_MIME_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/attr.h"
#include "core/err.h"
#include "mime/mime_part.h"

struct mime_msg; /* opaque; lives in the arena it was parsed into */

/* Parses data[0..len), a whole message (CRLF or LF line ends, already
 * dot-unstuffed). GMime reads the caller's buffer in place (a persistent
 * stream): data is NOT copied and must stay alive and unchanged as long as
 * the result is used, i.e. as long as the arena. Everything is worked out
 * here; no GMime object is kept after the call.
 *
 * The result is what the IMAP store makes of ENVELOPE and BODYSTRUCTURE
 * (store_imap.c envelope_fill, bs_walk_body), field by field:
 * - envelope: subject decoded to valid UTF-8 ("" when none); date from the
 *   Date header in Unix seconds (0 when none or unreadable); from, to, cc,
 *   reply_to with decoded names (groups flattened to their members);
 *   reply_to is from when there is no Reply-To (RFC 3501 §7.4.2);
 *   message_id and in_reply_to raw (unfolded, trimmed, angle brackets
 *   kept, invalid UTF-8 replaced), NULL when absent;
 * - parts in pre-order, sections per RFC 3501 §6.4.5: a single-part message
 *   is one part "1"; a multipart message is a root "" whose children are
 *   "1", "2", nested "2.1"; a message/rfc822 part "N" is followed by its
 *   body: a multipart body has section "N" too (children N.1, N.2), a
 *   single-part one "N.1". parent is an index into the array (-1 for the
 *   root), depth counts from 0. type, subtype, encoding ("7bit" when not
 *   given) and disposition are lower case; charset lower case, "us-ascii"
 *   for text without one (as Dovecot reports it); filename through
 *   mime_param_filename (Content-Type parameters, then Content-Disposition
 *   ones); content_id without <>; size is the encoded octets of the body
 *   (a message/rfc822 part: the whole embedded message; 0 for multiparts,
 *   which BODYSTRUCTURE gives none); envelope for message/rfc822 parts.
 *
 * More than LIM_MIME_PARTS parts, or a part deeper than LIM_MIME_DEPTH, is
 * ERR_LIMIT (the counting of bs_walk_body). Input GMime cannot read as a
 * message, or a multipart without any part (no or wrong boundary), still
 * gives what can be shown: the headers, and one text/plain part "1" over
 * the whole body (charset NULL, encoding "8bit"). Returns 0 and *out, or -1
 * with err set: only ERR_LIMIT (also for input over UINT_MAX bytes, which
 * GMime's buffer cannot hold; callers cap at max_message_size first). */
ATTR_NODISCARD int mime_msg_parse(struct arena *a, const void *data, size_t len,
                                  struct mime_msg **out, struct err *err);

/* The top-level envelope. Valid as long as the arena. */
const struct mime_envelope *mime_msg_envelope(const struct mime_msg *m);

/* The parts array (at least one part), *n_out its length. Valid as long as
 * the arena. */
const struct mime_part *mime_msg_parts(const struct mime_msg *m, size_t *n_out);

/* The raw header block of the top-level message, up to and including the
 * blank line that ends it (the whole input when there is none): what IMAP's
 * BODY[HEADER] gives. A slice of the parsed buffer; may be empty. */
void mime_msg_headers(const struct mime_msg *m, const char **data_out,
                      size_t *len_out);

/* The bytes IMAP's BODY[section] gives: for a leaf part its body, still
 * transfer-encoded; for a message/rfc822 part the embedded message, its
 * headers and body; for a multipart part its body (preamble, boundaries,
 * epilogue). "" is the top-level body (BODY[TEXT]). A section shared by a
 * message/rfc822 part and its multipart body means the message/rfc822 part.
 * A slice of the parsed buffer where GMime gave the offsets, else GMime's
 * own serialization (never seen with the fixtures; a part without any
 * header line could need it). ERR_NOT_FOUND for a section the message does
 * not have. Valid as long as the arena (and the buffer). */
ATTR_NODISCARD int mime_msg_section(const struct mime_msg *m,
                                    const char *section,
                                    const unsigned char **data_out,
                                    size_t *len_out, struct err *err);

/* A summary from a header block alone (POP3 "TOP n 0"): *env_out as
 * mime_msg_parse fills it, strings in the arena (data need not outlive
 * the call), and a guess at the paperclip of the IMAP list: true for a
 * top-level multipart/mixed, multipart/signed, multipart/encrypted or
 * multipart/report (what these carry besides text is almost always an
 * attachment in the IMAP list's sense), for message/rfc822, and for a
 * single part that is an attachment by the IMAP store's rule (disposition
 * attachment; or neither text/plain nor text/html and either named or
 * application/...). A body after the blank line is ignored. Input that is
 * no header block gives an empty envelope and false. Returns 0; -1 only
 * for input over UINT_MAX bytes (ERR_LIMIT). */
ATTR_NODISCARD int mime_msg_parse_headers(struct arena *a, const void *data,
                                          size_t len,
                                          struct mime_envelope *env_out,
                                          bool *has_attachments_out,
                                          struct err *err);

#endif
