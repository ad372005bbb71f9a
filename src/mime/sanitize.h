/* sanitize.h - HTML mail bodies to a fragment safe to show (DESIGN §7).
 * Layer: mime. Trust: UNTRUSTED input (any bytes); the output holds only
 * markup written by sanitize.c from its allow-lists. */
#ifndef POSTERN_MIME_SANITIZE_H
#define POSTERN_MIME_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#include "core/attr.h"
#include "core/err.h"

struct sanitize_opts {
    /* Keep http(s) and scheme-relative ("//host/...") images: img src and
     * the background attribute of tables, rows and cells. Default false:
     * they are removed and report->remote_blocked is set. CSS url() is
     * never kept, whatever this says. */
    bool allow_remote;
    /* Maps a cid: reference (the part after "cid:", %-decoded, without
     * <>) to the URL to use instead (e.g. "/part?f=INBOX&uid=7&part=1.2"),
     * or NULL when unknown (the reference is then dropped). The URL is
     * trusted, copied at once and written escaped. May be NULL: every cid:
     * reference is dropped. */
    const char *(*cid_url)(void *ctx, const char *cid);
    void *cid_ctx;
};

struct sanitize_report {
    bool remote_blocked;         /* an image allow_remote would keep was
                                  * removed */
    unsigned dropped_elements;   /* elements not written: a dropped
                                  * subtree counts once; html, body and
                                  * head with all it holds do not count */
    unsigned dropped_attributes; /* attributes not written (a style that
                                  * keeps some declarations is written) */
};

/* Parses html[0..len) (UTF-8; invalid sequences and NUL are replaced by
 * U+FFFD, never passed through) with gumbo, walks the tree against the
 * allow-lists and serializes the kept nodes itself. Appends to out an HTML
 * fragment to place inside <body> (not a whole document).
 *
 * What is written:
 * - elements of the allow-list only, in the HTML namespace, lower case,
 *   void ones without an end tag; svg and math subtrees, script, style,
 *   head, frames, objects, media, form controls with options, template
 *   and the like are dropped with their content; other elements (unknown
 *   ones, html, body, form, label, ...) are dropped but their content
 *   kept; xmp, listing and plaintext become pre. Comments, doctypes and
 *   processing instructions are dropped.
 * - attributes of the per-element allow-list only, each value checked
 *   (numbers, colours, enumerations) and always double-quoted with
 *   & < > " escaped. href: http, https, mailto only; relative links are
 *   dropped; kept links get target="_blank" rel="noopener noreferrer".
 *   img src: cid: through opts->cid_url; http(s) only with allow_remote;
 *   data:image/(png|gif|jpeg|jpg|webp);base64 up to SANITIZE_DATA_IMAGE_MAX
 *   bytes of base64; nothing else. style: declarations of a safe property
 *   list whose values use no url(), no function but rgb()/rgba()/hsl()/
 *   hsla(), no escapes, comments or at-rules.
 * - text escaped (& < >); control characters other than TAB, LF and FF
 *   become U+FFFD.
 * - nesting deeper than SANITIZE_MAX_DEPTH is flattened: deeper elements
 *   are dropped and their content kept.
 *
 * opts may be NULL (defaults: no remote content, no cid: mapping).
 * report_out may be NULL; when given it is filled on success.
 * Returns 0, or -1 with out left unchanged and err set: ERR_LIMIT when len
 * is over LIM_SANITIZE_INPUT, or when the parse would take more than
 * SANITIZE_PARSE_MEM_FACTOR times the input plus 64 MiB of memory or
 * SANITIZE_PARSE_CPU_MS of CPU time (pathological markup: callers offer
 * the part as a download or show the text alternative); ERR_INTERNAL when
 * memory runs out. */
ATTR_NODISCARD int sanitize_html(const char *html, size_t len,
                                 const struct sanitize_opts *opts, GString *out,
                                 struct sanitize_report *report_out,
                                 struct err *err);

/* The allow-lists as a question, for tests (the fuzzer's oracle parses the
 * output again and asks this of every element and attribute): true if
 * sanitize_html() may write an element of that name (lower case, as
 * written: xmp, listing and plaintext are written as "pre"), and, when
 * attribute is not NULL, that attribute on it (target and rel on "a",
 * which the sanitizer adds to every kept link, included). It says nothing
 * of values: those are checked per attribute kind. */
bool sanitize_allows(const char *element, const char *attribute);

/* This module's own bounds, here so callers and tests can rely on them:
 * how deep output nests, the largest inline image, the parse budget. */
#define SANITIZE_MAX_DEPTH 256u                /* nesting written out */
#define SANITIZE_DATA_IMAGE_MAX (1024u * 1024) /* base64 bytes */
#define SANITIZE_PARSE_MEM_FACTOR 32u          /* x input, + 64 MiB */
#define SANITIZE_PARSE_CPU_MS 3000u            /* gumbo's tree builder */

#endif
