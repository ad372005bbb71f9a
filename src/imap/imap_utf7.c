/* imap_utf7.c - modified UTF-7 (RFC 3501 §5.1.3): a BASE64 variant with ','
 * for '/' and no padding, over UTF-16BE, between '&' and '-'. Layer: imap.
 * Trust: decode reads UNTRUSTED server names; only canonical input passes. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "imap/imap_utf7.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static bool
is_direct(gunichar c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* Appends "&" + the modified BASE64 of units[0..n) + "-". */
static void
encode_shift(GString *out, const gunichar2 *units, size_t n)
{
    uint32_t bits = 0;
    unsigned nbits = 0;

    g_string_append_c(out, '&');
    for (size_t i = 0; i < n; i++) {
        bits = (bits << 16) | units[i];
        nbits += 16;
        while (nbits >= 6) {
            nbits -= 6;
            g_string_append_c(out, b64_alphabet[(bits >> nbits) & 0x3f]);
        }
        bits &= (1u << nbits) - 1; /* keep only the unsent bits */
    }
    if (nbits > 0)
        g_string_append_c(out, b64_alphabet[(bits << (6 - nbits)) & 0x3f]);
    g_string_append_c(out, '-');
}

char *
imap_utf7_encode(const char *utf8, struct err *err)
{
    GString *out;
    GArray *units;
    const char *s = utf8;

    if (!g_utf8_validate(utf8, -1, NULL)) {
        err_set(err, ERR_INPUT, "mailbox name is not valid UTF-8");
        return NULL;
    }
    out = g_string_sized_new(strlen(utf8) + 8);
    units = g_array_new(FALSE, FALSE, sizeof(gunichar2));
    while (*s != '\0') {
        gunichar c = g_utf8_get_char(s);

        s = g_utf8_next_char(s);
        if (!is_direct(c)) {
            gunichar2 u;

            if (c >= 0x10000) { /* RFC 2781 §2.1: a surrogate pair */
                u = (gunichar2)(0xd800 + ((c - 0x10000) >> 10));
                g_array_append_val(units, u);
                u = (gunichar2)(0xdc00 + ((c - 0x10000) & 0x3ff));
            } else {
                u = (gunichar2)c;
            }
            g_array_append_val(units, u);
            continue;
        }
        if (units->len > 0) {
            encode_shift(out, (const gunichar2 *)(void *)units->data,
                         units->len);
            g_array_set_size(units, 0);
        }
        if (c == '&')
            g_string_append(out, "&-");
        else
            g_string_append_c(out, (char)c);
    }
    if (units->len > 0)
        encode_shift(out, (const gunichar2 *)(void *)units->data, units->len);
    g_array_free(units, TRUE);
    return g_string_free(out, FALSE);
}

static int
b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == ',')
        return 63;
    return -1;
}

/* Decodes the shift starting after the '&' at s[start]; appends its
 * characters as UTF-8 and returns the index after the closing '-', or 0
 * with err set. */
static size_t
decode_shift(const char *s, size_t start, GString *out, struct err *err)
{
    uint32_t bits = 0;
    unsigned nbits = 0;
    gunichar2 high = 0; /* a pending high surrogate */
    size_t i;

    for (i = start; s[i] != '-'; i++) {
        int v;

        if (s[i] == '\0') {
            err_set(err, ERR_PROTO,
                    "modified UTF-7: '&' at byte %zu "
                    "without a closing '-'",
                    start - 1);
            return 0;
        }
        v = b64_value((unsigned char)s[i]);
        if (v < 0) {
            err_set(err, ERR_PROTO,
                    "modified UTF-7: byte 0x%02x at %zu is "
                    "not BASE64",
                    (unsigned char)s[i], i);
            return 0;
        }
        bits = (bits << 6) | (uint32_t)v;
        nbits += 6;
        if (nbits < 16)
            continue;
        nbits -= 16;
        {
            gunichar2 u = (gunichar2)(bits >> nbits);

            bits &= (1u << nbits) - 1;
            if (high != 0) {
                if (u < 0xdc00 || u > 0xdfff) {
                    err_set(err, ERR_PROTO,
                            "modified UTF-7: unpaired high "
                            "surrogate before byte %zu",
                            i);
                    return 0;
                }
                g_string_append_unichar(
                    out, 0x10000 + (((gunichar)high - 0xd800) << 10) +
                             ((gunichar)u - 0xdc00));
                high = 0;
            } else if (u >= 0xd800 && u <= 0xdbff) {
                high = u;
            } else if (u >= 0xdc00 && u <= 0xdfff) {
                err_set(err, ERR_PROTO,
                        "modified UTF-7: unpaired low "
                        "surrogate before byte %zu",
                        i);
                return 0;
            } else if (u == 0 || is_direct(u)) {
                /* RFC 3501 §5.1.3: printable US-ASCII MUST NOT be encoded */
                err_set(err, ERR_PROTO,
                        "modified UTF-7: U+%04X encoded in "
                        "BASE64 before byte %zu",
                        (unsigned)u, i);
                return 0;
            } else {
                g_string_append_unichar(out, u);
            }
        }
    }
    if (high != 0) {
        err_set(err, ERR_PROTO,
                "modified UTF-7: high surrogate at the end "
                "of the shift at byte %zu",
                i);
        return 0;
    }
    /* A whole number of 16-bit units leaves 0, 2 or 4 padding bits, all
     * zero; 6 or more means a stray character (an odd byte count). */
    if (nbits >= 6 || bits != 0) {
        err_set(err, ERR_PROTO,
                "modified UTF-7: shift ending at byte %zu "
                "is not a whole number of UTF-16 units",
                i);
        return 0;
    }
    return i + 1;
}

char *
imap_utf7_decode(const char *s, struct err *err)
{
    GString *out = g_string_sized_new(strlen(s) + 8);
    bool after_shift = false;
    size_t i = 0;

    while (s[i] != '\0') {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c > 0x7e) {
            err_set(err, ERR_PROTO,
                    "modified UTF-7: byte 0x%02x at %zu "
                    "outside printable US-ASCII",
                    c, i);
            goto fail;
        }
        if (c != '&') {
            g_string_append_c(out, (char)c);
            after_shift = false;
            i++;
            continue;
        }
        if (s[i + 1] == '-') { /* "&-" is '&' */
            g_string_append_c(out, '&');
            after_shift = false;
            i += 2;
            continue;
        }
        if (after_shift) {
            err_set(err, ERR_PROTO,
                    "modified UTF-7: shift at byte %zu "
                    "right after another (not canonical)",
                    i);
            goto fail;
        }
        i = decode_shift(s, i + 1, out, err);
        if (i == 0)
            goto fail;
        after_shift = true;
    }
    return g_string_free(out, FALSE);
fail:
    g_string_free(out, TRUE);
    return NULL;
}
