/* form.h - application/x-www-form-urlencoded parsing (query strings and
 * POST bodies). Layer: web. Trust: UNTRUSTED browser input, capped. */
#ifndef POSTERN_WEB_FORM_H
#define POSTERN_WEB_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/attr.h"
#include "core/err.h"
#include "web/request.h"

/* Decodes %XX escapes (and '+' as space when plus_is_space) of s[0..len)
 * into a NUL-terminated arena string; *out_len gets its length. A bad
 * escape or an encoded NUL is ERR_INPUT. */
ATTR_NODISCARD int form_decode(struct arena *a, const char *s, size_t len,
                               bool plus_is_space, char **out,
                               size_t *out_len, struct err *err);

/* Appends each name=value pair of data[0..len) to out, decoded, in order.
 * Empty pairs ("a=1&&b=2") are skipped; a name without '=' gets "".
 * More than LIM_FORM_FIELDS pairs is ERR_LIMIT. */
ATTR_NODISCARD int form_parse_urlencoded(struct arena *a, const char *data,
                                         size_t len, struct kv_list *out,
                                         struct err *err);

#endif
