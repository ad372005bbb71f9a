/* compress.h - gzip content coding (RFC 9110 §8.4) of whole response
 * bodies, through zlib, for clients whose Accept-Encoding allows it.
 * Layer: web. Trust: Accept-Encoding is UNTRUSTED and parsed leniently. */
#ifndef POSTERN_WEB_COMPRESS_H
#define POSTERN_WEB_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#include "core/attr.h"
#include "core/err.h"
#include "web/request.h"

/* Bodies shorter than this go out as they are: gzip's 18-byte frame and
 * the CPU cost win nothing there. */
#define COMPRESS_MIN_BYTES 256u

/* True when the Accept-Encoding value (NULL: no header) accepts gzip
 * (RFC 9110 §12.5.3): "gzip" or "x-gzip" with a q above 0, or else "*"
 * with a q above 0. "gzip;q=0" refuses it, whatever "*" says. */
bool compress_accepts_gzip(const char *accept_encoding);

/* True for the types worth compressing: text/html, text/css,
 * text/javascript, text/plain, application/json, image/svg+xml and the
 * like (parameters ignored). NULL is false. */
bool compress_type_is_text(const char *content_type);

/* Appends the gzip coding of in (len bytes) to out. -1 with ERR_INTERNAL
 * only when zlib fails (out of memory). */
ATTR_NODISCARD int compress_gzip(const void *in, size_t len, GString *out,
                                 struct err *err);

/* The last step of every response: when the configuration allows it, the
 * body is in memory (not streamed), of a text type, not coded already,
 * at least COMPRESS_MIN_BYTES, and the client accepts gzip, the body is
 * replaced by its gzip coding with Content-Encoding: gzip. Every response
 * of a text type gets "Vary: Accept-Encoding", compressed or not, so that
 * caches keep the two apart. Never fails: on a zlib error the body stays
 * as it was. */
void compress_response(const struct request *req, struct response *resp);

#endif
