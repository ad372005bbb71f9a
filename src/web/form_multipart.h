/* form_multipart.h - multipart/form-data bodies (RFC 7578): fields and uploads.
 * Layer: web. Trust: UNTRUSTED browser input; every size and count capped. */
#ifndef POSTERN_WEB_FORM_MULTIPART_H
#define POSTERN_WEB_FORM_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/attr.h"
#include "core/err.h"
#include "web/request.h"

/* One uploaded file. Every string and the struct itself live in the arena
 * given to form_parse_multipart(). */
struct form_file {
    const char *field;        /* form field name */
    const char *filename;     /* cleaned as mime_param_filename() does (no
                               * path, no control or bidi characters, valid
                               * UTF-8); "" when the browser sent none or
                               * nothing was left after cleaning */
    const char *content_type; /* as sent when it is a type/subtype, else
                               * "application/octet-stream" */
    const char *path;         /* the bytes, in a private temp file */
    uint64_t size;
};

/* Parses body[0..len), sent with content_type ("multipart/form-data;
 * boundary=..."), as RFC 7578 form data.
 *
 * Text fields are appended to fields_out in order (names and values
 * arena-owned; values hold any byte but NUL). A value over max_field bytes
 * is ERR_LIMIT naming the field.
 *
 * A part whose Content-Disposition has a filename parameter is a file: its
 * bytes are written, straight from body, to a new file made by mkstemp in
 * spool_dir (NULL: g_get_tmp_dir()), mode 0600, closed once written and
 * unlinked when the arena is freed (also when this call fails). *files_out
 * gets an arena-owned array of *n_files_out entries (NULL and 0 when there
 * are none). A file part with no filename and no bytes (a file input left
 * empty) is skipped. A file over max_file bytes, or files together over
 * max_total, is ERR_LIMIT with a message a person can act on
 * ("attachment \"x.pdf\" is 31 MB; the limit is 25 MB"); the caps are
 * checked before anything is written. A failure to write the spool file is
 * ERR_INTERNAL.
 *
 * Refused as ERR_INPUT: another content type, a missing or malformed
 * boundary (RFC 2046 §5.1.1: 1 to 70 characters), a body without a first
 * delimiter or without the close delimiter (truncated), part headers not
 * ended by an empty line, a NUL in part headers or in a text value, a part
 * without Content-Disposition: form-data or without a name. More than
 * LIM_FORM_FIELDS parts, or a part's header block over LIM_HTTP_HEADERS
 * bytes, is ERR_LIMIT; the count is checked before the part is looked at.
 *
 * Content-Transfer-Encoding is ignored (RFC 7578 §4.7: senders must not
 * use it); the preamble and the epilogue are ignored. On failure, what was
 * added to fields_out so far stays there and *files_out is untouched. */
ATTR_NODISCARD int form_parse_multipart(
    struct arena *a, const char *content_type, const unsigned char *body,
    size_t len, const char *spool_dir, size_t max_field, uint64_t max_file,
    uint64_t max_total, struct kv_list *fields_out,
    struct form_file **files_out, size_t *n_files_out, struct err *err);

#endif
