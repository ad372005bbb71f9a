/* mime_build.h - the outgoing message: what the user typed, checked, then
 * written as RFC 5322 + MIME by GMime. Layer: mime. Trust: UNTRUSTED user
 * input (addresses, subject, names, files): bad text is refused, never
 * stripped. */
#ifndef POSTERN_MIME_MIME_BUILD_H
#define POSTERN_MIME_MIME_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "core/attr.h"
#include "core/err.h"

struct mime_build_attachment {
    const char *filename;      /* UTF-8; RFC 2231-encoded when needed; NULL
                                * or "": no name */
    const char *content_type;  /* "application/pdf"; NULL, or anything that
                                * is not a clean type/subtype:
                                * application/octet-stream */
    const char *path;          /* read from this file, streamed while the
                                * message is written ... */
    const unsigned char *data; /* ... or from memory when path is NULL */
    size_t len;
    bool is_message; /* message/rfc822 (forward as attachment):
                      * 7bit or 8bit, never base64 */
};

/* Every string may be NULL (the same as ""), except from. */
struct mime_build {
    const char *from;          /* "Alice Example <alice@postern.test>" or a bare
                                * address: exactly one mailbox */
    const char *to, *cc, *bcc; /* as typed: addresses separated by ',' or
                                * ';', quoted names, UTF-8 names, groups */
    const char *subject;       /* UTF-8 */
    const char *text;          /* the body, UTF-8, LF or CRLF line ends */
    const char *in_reply_to;   /* "<id@host>" */
    const char *references;    /* message ids separated by white space */
    const char *message_id_domain; /* right side of the Message-ID; NULL:
                                    * the domain of from */
    struct mime_build_attachment *attachments;
    size_t n_attachments;
};

/* Checks what the user typed, before anything is sent:
 * - every address field parses (GMime), item by item: each address has a
 *   local part and a domain; groups ("Team: a@x, b@y;") are fine; from is
 *   exactly one mailbox;
 * - at least one recipient in to, cc and bcc together;
 * - no CR or LF in any header text (addresses and their names, subject,
 *   attachment names, message ids): header injection is refused, not
 *   stripped; all text, the body included, is valid UTF-8;
 * - in_reply_to is one message id ("<...>"), references a list of them,
 *   message_id_domain a plain domain name.
 * Fails with ERR_INPUT and a message that names the field and quotes the
 * bad text: "To: \"bob@\" is not an e-mail address", "the subject holds a
 * line break", "no recipient: fill in To, Cc or Bcc".
 *
 * rcpts_out may be NULL. Otherwise, on success, the bare envelope addresses
 * of to, cc and bcc are appended to it in that order as g_strdup'd strings
 * (create it with g_ptr_array_new_with_free_func(g_free)): group members
 * included, domains in IDNA ASCII form, each address once (the domain
 * compared without case, the local part exactly). */
ATTR_NODISCARD int mime_build_check(const struct mime_build *b,
                                    GPtrArray *rcpts_out, struct err *err);

/* Writes the message to out with CRLF line ends, the last line ended too
 * (out is not flushed; for a pipe or socket use g_mime_stream_pipe_new(),
 * not g_mime_stream_fs_new(), which needs a seekable fd): From, To, Cc, Bcc
 * only when include_bcc (drafts keep it; a sent message must not), Subject (RFC
 * 2047 when not ASCII), Date (now, local time zone), Message-ID, In-Reply-To
 * and References when given, MIME-Version, User-Agent: postern. The body is
 * text/plain; charset=utf-8, every line end made CRLF and the last line
 * ended: 7bit when ASCII, 8bit when not, and quoted-printable when a line
 * is over 998 octets. With attachments it is
 * the first part of a multipart/mixed; each attachment is base64 with
 * Content-Disposition: attachment and its name (RFC 2231 when not ASCII).
 * A message attachment is message/rfc822 in 7bit or 8bit with CRLF line
 * ends; one that could not travel so (a NUL, a bare CR or a line over 998
 * octets) goes as application/octet-stream in base64 instead. Attachment
 * files are read while writing, never whole into memory; data is used in
 * place, not copied.
 *
 * Refuses what mime_build_check() refuses (ERR_INPUT), except that a draft
 * may have no recipient. An attachment file that cannot be opened, or a
 * failure while writing to out, is ERR_INTERNAL; out may then hold part of
 * the message. message_id_out may be NULL; otherwise, on success, it gets
 * the Message-ID with its angle brackets ("<random@domain>"), g_malloc'd. */
ATTR_NODISCARD int mime_build_write(const struct mime_build *b,
                                    bool include_bcc, GMimeStream *out,
                                    char **message_id_out, struct err *err);

#endif
