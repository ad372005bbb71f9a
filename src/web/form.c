/* form.c - urlencoded form and query decoding.
 * Layer: web. Trust: UNTRUSTED; every escape checked, field count capped. */
#include <string.h>

#include <glib.h>

#include "core/limits.h"
#include "web/form.h"

int
form_decode(struct arena *a, const char *s, size_t len, bool plus_is_space,
            char **out, size_t *out_len, struct err *err)
{
    char *buf = arena_alloc(a, len + 1);
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '%') {
            int hi, lo;

            if (len - i < 3 || (hi = g_ascii_xdigit_value(s[i + 1])) < 0 ||
                (lo = g_ascii_xdigit_value(s[i + 2])) < 0) {
                err_set(err, ERR_INPUT, "bad %%-escape in URL or form");
                return -1;
            }
            c = (char)(hi * 16 + lo);
            if (c == '\0') {
                err_set(err, ERR_INPUT, "encoded NUL in URL or form");
                return -1;
            }
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == '\0') {
            err_set(err, ERR_INPUT, "NUL byte in URL or form");
            return -1;
        }
        buf[o++] = c;
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return 0;
}

int
form_parse_urlencoded(struct arena *a, const char *data, size_t len,
                      struct kv_list *out, struct err *err)
{
    size_t pos = 0, fields = 0;

    while (pos < len) {
        const char *pair = data + pos;
        const char *amp = memchr(pair, '&', len - pos);
        size_t plen = amp != NULL ? (size_t)(amp - pair) : len - pos;
        const char *eq = memchr(pair, '=', plen);
        size_t nlen = eq != NULL ? (size_t)(eq - pair) : plen;
        char *name, *value;
        size_t name_len, value_len;

        pos += plen + 1;
        if (plen == 0)
            continue;
        if (++fields > LIM_FORM_FIELDS) {
            err_set(err, ERR_LIMIT, "more than %u form fields",
                    LIM_FORM_FIELDS);
            return -1;
        }
        if (form_decode(a, pair, nlen, true, &name, &name_len, err) < 0)
            return -1;
        if (eq != NULL) {
            if (form_decode(a, eq + 1, plen - nlen - 1, true, &value,
                            &value_len, err) < 0)
                return -1;
        } else {
            value = arena_strdup(a, "");
            value_len = 0;
        }
        kv_list_add(a, out, name, value, value_len);
    }
    return 0;
}
