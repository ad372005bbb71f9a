/* mime_part.h - a message's structure as a flat tree of parts, and the plan
 * of what a reader is shown: which text parts, which embedded messages,
 * which attachments. Layer: mime. Protocol-neutral: IMAP's BODYSTRUCTURE
 * and a GMime parse (POP3) both fill it. Trust: part data is UNTRUSTED. */
#ifndef POSTERN_MIME_MIME_PART_H
#define POSTERN_MIME_MIME_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/attr.h"
#include "core/err.h"

struct mime_address {
    const char *name;          /* decoded display name, may be "" */
    const char *email;         /* "user@host", may be "" */
};

struct mime_envelope {
    const char *subject;       /* decoded UTF-8, "" when none */
    int64_t date;              /* Unix seconds, 0 when unknown */
    struct mime_address *from, *to, *cc, *reply_to;
    size_t n_from, n_to, n_cc, n_reply_to;
    const char *message_id, *in_reply_to; /* raw, may be NULL */
};

struct mime_part {
    const char *section;       /* "1", "1.2", "2.1" (IMAP part numbers) */
    int parent;                /* index in the array, -1 for the root */
    unsigned depth;
    const char *type, *subtype;/* lower case: "text", "html" */
    const char *charset;       /* NULL when not given */
    const char *encoding;      /* lower case: "base64", "7bit", ... */
    const char *filename;      /* decoded (RFC 2231 / 2047), NULL if none */
    const char *content_id;    /* without <>, NULL if none */
    const char *disposition;   /* lower case "attachment", "inline", NULL */
    bool flowed, delsp;        /* text/plain; format=flowed; delsp=yes */
    uint64_t size;             /* encoded octets */
    /* message/rfc822: the embedded message's envelope; NULL otherwise */
    const struct mime_envelope *envelope;
};

enum mime_show_kind {
    MIME_SHOW_TEXT,            /* part: text/plain */
    MIME_SHOW_HTML,            /* part: text/html */
    MIME_SHOW_EMBED_BEGIN,     /* part: message/rfc822 (its headers) */
    MIME_SHOW_EMBED_END
};

struct mime_show {
    enum mime_show_kind kind;
    size_t part;               /* index into the parts array */
};

struct mime_plan {
    struct mime_show *show;    /* in reading order */
    size_t n_show;
    size_t *attachments;       /* part indices, in message order */
    size_t n_attachments;
    size_t *inline_parts;      /* cid resources of multipart/related */
    size_t n_inline;
    bool has_html_alternative; /* a text/plain was chosen over an html */
    bool has_text_alternative; /* an html was chosen over a text/plain */
};

/* Decides what to show of parts[0..n) (pre-order, parent indices valid):
 * multipart/alternative shows its last displayable child, or its text/plain
 * one when prefer_plain; multipart/related shows its root and keeps the
 * others as inline resources (unreferenced ones become attachments);
 * multipart/mixed shows inline text and lists the rest as attachments;
 * message/rfc822 is shown embedded; multipart/signed shows its first
 * part, the signature and everything of multipart/encrypted are listed as
 * attachments. Arrays are g_malloc'd (free with mime_plan_clear). Deeper
 * than LIM_MIME_DEPTH or more than LIM_MIME_PARTS parts is ERR_LIMIT. */
ATTR_NODISCARD int mime_plan_make(const struct mime_part *parts, size_t n,
                                  bool prefer_plain, struct mime_plan *out,
                                  struct err *err);
void mime_plan_clear(struct mime_plan *plan);

/* True for image types a browser may show inline from /part: png, gif,
 * jpeg, webp (never svg: it can carry script). */
bool mime_is_inline_image(const char *type, const char *subtype);

/* True for a well-formed IMAP section: "1", "1.2.3" (numbers 1..99999,
 * at most LIM_MIME_DEPTH levels). */
bool mime_section_is_valid(const char *section);

#endif
