/* mime_decode.c - GMime filters, iconv, a UTF-8 gate; GMime's param decoder.
 * Layer: mime. Trust: UNTRUSTED input; nothing undecodable passes through. */
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "core/attr.h"
#include "mime/mime_decode.h"

#define UTF8_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* Bytes held back for the next feed when a chunk ends inside a character:
 * the longest sequence is 4 bytes (GB18030, an ISO-2022 escape); twice that
 * for margin. iconv claiming a longer one is treated as invalid input. */
#define CARRY_MAX 8

/* iconv input is converted in slices of at most this many bytes. */
#define CONV_SLICE (64u * 1024)

/* Download names: NAME_MAX of the common file systems, and the longest
 * extension kept when a name is shortened. Not input caps (nothing is
 * refused), so they live here and not in core/limits.h. */
#define FILENAME_MAX_BYTES 255
#define FILENAME_EXT_MAX 16

/* Charsets mail is mostly written in. glibc loads a converter module on
 * iconv_open and unloads it when the last descriptor using it closes, so
 * every encoded word (GMime opens and closes a descriptor per word) paid
 * a dlopen: 12% of a first mailbox page's CPU. One descriptor per charset
 * held for the process's life keeps its module loaded. */
static const char *const pinned_charsets[] = {
    "ISO-8859-1", "ISO-8859-2", "ISO-8859-15", "WINDOWS-1250",
    "WINDOWS-1251", "WINDOWS-1252", "KOI8-R", "KOI8-U", "ISO-2022-JP",
    "SHIFT_JIS", "EUC-JP", "GB18030", "BIG5", "EUC-KR", "UTF-16",
};
static iconv_t pinned_converters[G_N_ELEMENTS(pinned_charsets)];

static void
mime_decode_init(void)
{
    static gsize once = 0;

    if (g_once_init_enter(&once)) {
        g_mime_init();
        for (size_t i = 0; i < G_N_ELEMENTS(pinned_charsets); i++)
            pinned_converters[i] = iconv_open("UTF-8", pinned_charsets[i]);
        g_once_init_leave(&once, 1);
    }
}

/* ---------------------------------------------------------------------
 * UTF-8 with replacement: the WHATWG Encoding §8.1.1 decoder, which keeps
 * its state between chunks and replaces each maximal invalid subpart with
 * one U+FFFD, so the result does not depend on where the input was split.
 * U+0000 becomes U+FFFD too: text with NUL is never what a sender meant,
 * and it would cut C strings short further on.
 */

struct utf8_state {
    uint32_t cp;
    unsigned need;
    unsigned seen;
    unsigned char lower;
    unsigned char upper;
};

static void
utf8_reset(struct utf8_state *s)
{
    s->cp = 0;
    s->need = 0;
    s->seen = 0;
    s->lower = 0x80;
    s->upper = 0xbf;
}

/* Runs one byte through the decoder. Returns false when the byte ended an
 * invalid sequence without belonging to it: it must be run again. */
static bool
utf8_step(struct utf8_state *s, unsigned char b, GString *out)
{
    if (s->need == 0) {
        if (b == 0) {
            g_string_append(out, UTF8_REPLACEMENT);
        } else if (b < 0x80) {
            g_string_append_c(out, (char)b);
        } else if (b >= 0xc2 && b <= 0xdf) {
            s->need = 1;
            s->cp = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
            if (b == 0xe0)
                s->lower = 0xa0; /* no overlong forms */
            if (b == 0xed)
                s->upper = 0x9f; /* no surrogates */
            s->need = 2;
            s->cp = b & 0x0f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            if (b == 0xf0)
                s->lower = 0x90; /* no overlong forms */
            if (b == 0xf4)
                s->upper = 0x8f; /* nothing above U+10FFFF */
            s->need = 3;
            s->cp = b & 0x07;
        } else {
            g_string_append(out, UTF8_REPLACEMENT);
        }
        return true;
    }
    if (b < s->lower || b > s->upper) {
        utf8_reset(s);
        g_string_append(out, UTF8_REPLACEMENT);
        return false;
    }
    s->lower = 0x80;
    s->upper = 0xbf;
    s->cp = (s->cp << 6) | (b & 0x3f);
    if (++s->seen == s->need) {
        g_string_append_unichar(out, s->cp);
        utf8_reset(s);
    }
    return true;
}

static void
utf8_feed(struct utf8_state *s, const unsigned char *p, size_t n, GString *out)
{
    size_t i = 0;

    while (i < n) {
        if (s->need == 0) {
            /* Fast path: copy the valid run in one go. The validator
             * stops at NUL, at invalid bytes and at a sequence cut off by
             * the end; the byte-wise decoder takes it from there. Its
             * boolean result is not needed: end says how far it got. */
            const gchar *start = (const gchar *)p + i;
            const gchar *end;
            size_t ok;

            (void)g_utf8_validate_len(start, n - i, &end);
            ok = (size_t)(end - start);
            g_string_append_len(out, start, (gssize)ok);
            i += ok;
            if (i == n)
                break;
        }
        if (utf8_step(s, p[i], out))
            i++;
    }
}

static void
utf8_finish(struct utf8_state *s, GString *out)
{
    if (s->need > 0)
        g_string_append(out, UTF8_REPLACEMENT);
    utf8_reset(s);
}

/* ---------------------------------------------------------------------
 * Charset names
 */

/* Labels mail uses for a narrower charset than the text is really in.
 * Browsers decode them the same way (WHATWG Encoding §4.2): 0x80-0x9F in
 * "iso-8859-1" mail are nearly always windows-1252 quotes and the euro
 * sign, 8-bit bytes in "us-ascii" mail have to be something, "gb2312" mail
 * holds GBK, and "shift_jis" mail holds Microsoft's variant, where 0x5C is
 * a backslash and the NEC/IBM extensions exist (glibc's SHIFT_JIS decodes
 * 0x5C as a yen sign and refuses the extensions). */
/* clang-format off */
static const struct {
    const char *label;
    const char *iconv_name;
} widened[] = {
    { "us-ascii", "WINDOWS-1252" },      { "ascii", "WINDOWS-1252" },
    { "ansi_x3.4-1968", "WINDOWS-1252" }, { "iso-8859-1", "WINDOWS-1252" },
    { "iso_8859-1", "WINDOWS-1252" },    { "iso8859-1", "WINDOWS-1252" },
    { "latin1", "WINDOWS-1252" },        { "l1", "WINDOWS-1252" },
    { "cp819", "WINDOWS-1252" },         { "ibm819", "WINDOWS-1252" },
    { "iso-ir-100", "WINDOWS-1252" },    { "csisolatin1", "WINDOWS-1252" },
    { "iso-8859-9", "WINDOWS-1254" },    { "iso_8859-9", "WINDOWS-1254" },
    { "latin5", "WINDOWS-1254" },        { "tis-620", "WINDOWS-874" },
    { "iso-8859-11", "WINDOWS-874" },
    { "gb2312", "GB18030" },             { "gbk", "GB18030" },
    { "x-gbk", "GB18030" },              { "cp936", "GB18030" },
    { "euc-cn", "GB18030" },             { "csgb2312", "GB18030" },
    { "gb_2312-80", "GB18030" },         { "chinese", "GB18030" },
    { "shift_jis", "CP932" },            { "shift-jis", "CP932" },
    { "sjis", "CP932" },                 { "x-sjis", "CP932" },
    { "ms_kanji", "CP932" },             { "csshiftjis", "CP932" },
    { "windows-31j", "CP932" },          { "ms932", "CP932" },
    { "euc-kr", "CP949" },               { "ks_c_5601-1987", "CP949" },
    { "ks_c_5601-1989", "CP949" },       { "ksc5601", "CP949" },
    { "ksc_5601", "CP949" },             { "korean", "CP949" },
    { "cseuckr", "CP949" },              { "windows-949", "CP949" },
};
/* clang-format on */

static const char *
charset_widened(const char *label)
{
    for (size_t i = 0; i < N_ELEMENTS(widened); i++) {
        if (g_ascii_strcasecmp(label, widened[i].label) == 0)
            return widened[i].iconv_name;
    }
    return NULL;
}

static bool
charset_is_utf8(const char *label)
{
    return g_ascii_strcasecmp(label, "utf-8") == 0 ||
           g_ascii_strcasecmp(label, "utf8") == 0 ||
           g_ascii_strcasecmp(label, "unicode-1-1-utf-8") == 0;
}

/* Opens a converter to UTF-8 for the charset label, or returns
 * (GIConv)-1 when it is UTF-8 itself or unknown to iconv. */
static GIConv
charset_open(const char *charset)
{
    char *label = g_strdup(charset);
    const char *canon;
    const char *name;
    GIConv cd = (GIConv)-1;

    g_strstrip(label);
    canon = g_mime_charset_canon_name(label);
    if (label[0] == '\0' || charset_is_utf8(label) || charset_is_utf8(canon)) {
        g_free(label);
        return cd;
    }
    name = charset_widened(label);
    if (name == NULL)
        name = charset_widened(canon);
    if (name == NULL)
        name = g_mime_charset_iconv_name(label);
    cd = g_iconv_open("UTF-8", name);
    g_free(label);
    return cd;
}

/* ---------------------------------------------------------------------
 * The decoder
 */

enum conv_kind {
    CONV_BINARY, /* charset NULL: bytes as they are */
    CONV_UTF8,   /* UTF-8, or a charset iconv does not know */
    CONV_ICONV   /* iconv to UTF-8, then the UTF-8 gate */
};

struct mime_decoder {
    GMimeFilter *transfer; /* NULL: identity */
    bool is_base64;
    bool b64_padded;  /* a '=' was seen: GMime has ended the data */
    size_t b64_chars; /* alphabet characters before that */
    enum conv_kind conv;
    GIConv cd;
    struct utf8_state u8;
    GByteArray *pending; /* iconv input held back: an incomplete sequence */
    bool is_finished;
};

struct mime_decoder *
mime_decoder_new(const char *transfer_encoding, const char *charset)
{
    struct mime_decoder *d = g_new0(struct mime_decoder, 1);
    GMimeContentEncoding enc = GMIME_CONTENT_ENCODING_DEFAULT;

    mime_decode_init();
    if (transfer_encoding != NULL)
        enc = g_mime_content_encoding_from_string(transfer_encoding);
    switch (enc) {
    case GMIME_CONTENT_ENCODING_BASE64:
    case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
    case GMIME_CONTENT_ENCODING_UUENCODE:
        d->transfer = g_mime_filter_basic_new(enc, FALSE);
        d->is_base64 = enc == GMIME_CONTENT_ENCODING_BASE64;
        break;
    case GMIME_CONTENT_ENCODING_DEFAULT:
    case GMIME_CONTENT_ENCODING_7BIT:
    case GMIME_CONTENT_ENCODING_8BIT:
    case GMIME_CONTENT_ENCODING_BINARY:
        break; /* identity */
    }

    utf8_reset(&d->u8);
    d->cd = (GIConv)-1;
    if (charset == NULL) {
        d->conv = CONV_BINARY;
    } else {
        d->cd = charset_open(charset);
        d->conv = d->cd == (GIConv)-1 ? CONV_UTF8 : CONV_ICONV;
        d->pending = g_byte_array_new();
    }
    return d;
}

/* Converts in[0..len) with iconv and returns how many bytes it used: all,
 * except an incomplete sequence at the end when more input may follow.
 * A byte iconv refuses becomes U+FFFD and is skipped; its output goes
 * through the UTF-8 gate, which also turns U+0000 into U+FFFD. */
static size_t
iconv_run(struct mime_decoder *d, const unsigned char *in, size_t len,
          bool is_final, GString *out)
{
    gchar *inp = (gchar *)in; /* iconv does not write to its input */
    gsize inleft = len;

    while (inleft > 0) {
        char buf[4096];
        gchar *outp = buf;
        gsize outleft = sizeof buf;
        gsize r = g_iconv(d->cd, &inp, &inleft, &outp, &outleft);
        int e = errno;

        utf8_feed(&d->u8, (const unsigned char *)buf, sizeof buf - outleft,
                  out);
        if (r != (gsize)-1)
            break;
        if (e == E2BIG)
            continue;
        if (e == EINVAL && !is_final && inleft <= CARRY_MAX)
            break; /* wait for the rest of the sequence */
        g_string_append(out, UTF8_REPLACEMENT);
        if ((e == EINVAL && is_final) || inleft == 0) {
            inleft = 0; /* one U+FFFD for the cut-off sequence */
            break;
        }
        inp++;
        inleft--;
    }
    return len - inleft;
}

static void
convert_feed(struct mime_decoder *d, const unsigned char *in, size_t len,
             GString *out)
{
    switch (d->conv) {
    case CONV_BINARY:
        g_string_append_len(out, (const gchar *)in, (gssize)len);
        return;
    case CONV_UTF8:
        utf8_feed(&d->u8, in, len, out);
        return;
    case CONV_ICONV:
        break;
    }
    /* In slices, so the copy made behind held-back bytes stays small
     * whatever the caller feeds (and fits GByteArray's guint lengths). */
    while (len > 0) {
        size_t n = MIN(len, CONV_SLICE);
        size_t used;

        if (d->pending->len > 0) {
            g_byte_array_append(d->pending, in, (guint)n);
            used = iconv_run(d, d->pending->data, d->pending->len, false, out);
            g_byte_array_remove_range(d->pending, 0, (guint)used);
        } else {
            used = iconv_run(d, in, n, false, out);
            g_byte_array_append(d->pending, in + used, (guint)(n - used));
        }
        in += n;
        len -= n;
    }
}

/* Counts base64 alphabet characters up to the first '=', the way GMime's
 * decoder reads them, so finish knows the size of the last quantum. */
static void
base64_count(struct mime_decoder *d, const unsigned char *p, size_t n)
{
    /* a table and a local count: this runs over every byte of a download
     * (as a per-byte g_ascii_isalnum loop it was 40% of a 20 MB
     * attachment's CPU) */
    static bool is_alphabet[256];
    static gsize table_ready;
    const unsigned char *pad;
    size_t chars = 0;

    if (g_once_init_enter(&table_ready)) {
        for (unsigned c = 0; c < 256; c++)
            is_alphabet[c] = g_ascii_isalnum(c) || c == '+' || c == '/';
        g_once_init_leave(&table_ready, 1);
    }
    if (d->b64_padded)
        return;
    pad = memchr(p, '=', n);
    if (pad != NULL) {
        n = (size_t)(pad - p);
        d->b64_padded = true;
    }
    for (size_t i = 0; i < n; i++)
        chars += is_alphabet[p[i]];
    d->b64_chars += chars;
}

void
mime_decoder_feed(struct mime_decoder *d, const void *in, size_t len,
                  GString *out)
{
    char *o;
    size_t olen, opre;

    xassert(!d->is_finished);
    if (len == 0)
        return;
    if (d->transfer == NULL) {
        convert_feed(d, in, len, out);
        return;
    }
    if (d->is_base64)
        base64_count(d, in, len);
    /* GMime's filters take char * but do not write to their input. */
    g_mime_filter_filter(d->transfer, (char *)in, len, 0, &o, &olen, &opre);
    convert_feed(d, (const unsigned char *)o, olen, out);
}

void
mime_decoder_finish(struct mime_decoder *d, GString *out)
{
    xassert(!d->is_finished);
    d->is_finished = true;
    if (d->transfer != NULL) {
        /* GMime drops a last quantum without its padding; RFC 2045 §6.8
         * padding is all that is missing, so supply it. One character
         * (6 bits) is not a byte. */
        char pad[3] = "==";
        size_t npad = 0;
        char *o;
        size_t olen, opre;

        if (d->is_base64 && !d->b64_padded && d->b64_chars % 4 >= 2)
            npad = 4 - d->b64_chars % 4;
        g_mime_filter_complete(d->transfer, pad, npad, 0, &o, &olen, &opre);
        convert_feed(d, (const unsigned char *)o, olen, out);
    }
    switch (d->conv) {
    case CONV_BINARY:
        break;
    case CONV_UTF8:
        utf8_finish(&d->u8, out);
        break;
    case CONV_ICONV: {
        char buf[256];
        gchar *outp = buf;
        gsize outleft = sizeof buf;

        if (d->pending->len > 0) {
            (void)iconv_run(d, d->pending->data, d->pending->len, true, out);
            g_byte_array_set_size(d->pending, 0);
        }
        /* Some converters hold a character back (to combine it with the
         * next one); a flush call releases it. Errors here leave nothing
         * to report: whatever came out goes through the gate. */
        (void)g_iconv(d->cd, NULL, NULL, &outp, &outleft);
        utf8_feed(&d->u8, (const unsigned char *)buf, sizeof buf - outleft,
                  out);
        utf8_finish(&d->u8, out);
        break;
    }
    }
}

void
mime_decoder_free(struct mime_decoder **d)
{
    if (d == NULL || *d == NULL)
        return;
    g_clear_object(&(*d)->transfer);
    if ((*d)->cd != (GIConv)-1)
        (void)g_iconv_close((*d)->cd); /* nothing to do if it fails */
    if ((*d)->pending != NULL)
        g_byte_array_unref((*d)->pending);
    g_free(*d);
    *d = NULL;
}

/* ---------------------------------------------------------------------
 * Download names
 */

/* Matches "base*", "base*N" and "base*N*" (case-insensitive). *idx_out is
 * -1 for "base*" (a single extended value), else N. */
static bool
key_is_extended(const char *key, const char *base, long *idx_out)
{
    size_t bl = strlen(base);
    const char *p;
    long idx = 0;
    size_t digits = 0;

    if (key == NULL || g_ascii_strncasecmp(key, base, bl) != 0 ||
        key[bl] != '*')
        return false;
    p = key + bl + 1;
    if (*p == '\0') {
        *idx_out = -1;
        return true;
    }
    for (; g_ascii_isdigit(*p); p++) {
        if (++digits > 6)
            return false; /* nobody splits a name into a million pieces */
        idx = idx * 10 + (*p - '0');
    }
    if (digits == 0)
        return false;
    if (*p == '*')
        p++;
    if (*p != '\0')
        return false;
    *idx_out = idx;
    return true;
}

struct name_piece {
    long idx;
    size_t pos; /* position among the pairs: keeps the sort stable */
    bool is_encoded;
    const char *value;
};

static int
name_piece_cmp(const void *a, const void *b)
{
    const struct name_piece *x = a, *y = b;

    if (x->idx != y->idx)
        return x->idx < y->idx ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos ? 1 : 0);
}

/* Appends ; name="value" with value quoted for GMime's parameter parser.
 * CR and LF are control characters, which the name loses anyway; dropped
 * here, they cannot end the header GMime is reading. */
static void
param_append(GString *s, const char *name, const char *value)
{
    g_string_append_printf(s, "; %s=\"", name);
    for (const char *v = value != NULL ? value : ""; *v != '\0'; v++) {
        if (*v == '\r' || *v == '\n')
            continue;
        if (*v == '"' || *v == '\\')
            g_string_append_c(s, '\\');
        g_string_append_c(s, *v);
    }
    g_string_append_c(s, '"');
}

/* Lets GMime decode a parameter list we wrote (RFC 2231 charsets and
 * continuations, RFC 2047 encoded-words) and returns base's value. */
static char *
param_decode(const GString *params, const char *base)
{
    GMimeParamList *list;
    GMimeParam *param;
    char *value = NULL;

    list = g_mime_param_list_parse(g_mime_parser_options_get_default(),
                                   params->str);
    if (list == NULL)
        return NULL;
    param = g_mime_param_list_get_parameter(list, base);
    if (param != NULL && g_mime_param_get_value(param) != NULL)
        value = g_strdup(g_mime_param_get_value(param));
    g_object_unref(list);
    return value;
}

/* The RFC 2231 value of base ("filename" or "name"), or NULL. The pieces
 * are put in order and numbered 0, 1, ... so a gap or a shuffled order
 * still gives what was sent. */
static char *
name_rfc2231(const char *const *keys, const char *const *values, size_t n,
             const char *base)
{
    GArray *pieces = g_array_new(FALSE, FALSE, sizeof(struct name_piece));
    const char *single = NULL;
    GString *params = g_string_new(NULL);
    char *value = NULL;
    long idx;

    for (size_t i = 0; i < n; i++) {
        struct name_piece piece;

        if (!key_is_extended(keys[i], base, &idx))
            continue;
        if (idx < 0) {
            if (single == NULL)
                single = values[i];
            continue;
        }
        piece.idx = idx;
        piece.pos = i;
        piece.is_encoded = keys[i][strlen(keys[i]) - 1] == '*';
        piece.value = values[i];
        g_array_append_val(pieces, piece);
    }
    if (pieces->len > 0) {
        long last = -1;
        unsigned k = 0;

        qsort(pieces->data, pieces->len, sizeof(struct name_piece),
              name_piece_cmp);
        for (guint i = 0; i < pieces->len; i++) {
            const struct name_piece *p =
                &g_array_index(pieces, struct name_piece, i);
            char *key;

            if (p->idx == last)
                continue; /* a repeated piece: the first one counts */
            last = p->idx;
            key =
                g_strdup_printf("%s*%u%s", base, k++, p->is_encoded ? "*" : "");
            param_append(params, key, p->value);
            g_free(key);
        }
        value = param_decode(params, base);
    } else if (single != NULL) {
        char *key = g_strdup_printf("%s*", base);

        param_append(params, key, single);
        g_free(key);
        value = param_decode(params, base);
    }
    g_string_free(params, TRUE);
    g_array_free(pieces, TRUE);
    return value;
}

/* The plain value of base, RFC 2047 encoded-words decoded, or NULL. */
static char *
name_plain(const char *const *keys, const char *const *values, size_t n,
           const char *base)
{
    for (size_t i = 0; i < n; i++) {
        if (keys[i] != NULL && g_ascii_strcasecmp(keys[i], base) == 0) {
            GString *params = g_string_new(NULL);
            char *value;

            param_append(params, base, values[i]);
            value = param_decode(params, base);
            g_string_free(params, TRUE);
            return value;
        }
    }
    return NULL;
}

/* Bidirectional controls: they make "cod.exe" look like "exe.doc". */
static bool
is_bidi_control(gunichar c)
{
    return c == 0x061c || c == 0x200e || c == 0x200f ||
           (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* Shortens a name over FILENAME_MAX_BYTES at a character boundary,
 * keeping a short extension. */
static void
filename_shorten(GString *s)
{
    const char *dot;
    size_t ext = 0;
    size_t keep;

    if (s->len <= FILENAME_MAX_BYTES)
        return;
    dot = strrchr(s->str, '.');
    if (dot != NULL && dot != s->str && strlen(dot) <= FILENAME_EXT_MAX)
        ext = strlen(dot);
    keep = FILENAME_MAX_BYTES - ext;
    while (keep > 0 && ((unsigned char)s->str[keep] & 0xc0) == 0x80)
        keep--;
    g_string_erase(s, (gssize)keep, (gssize)(s->len - ext - keep));
}

/* The safe form of a decoded name (see the header), or NULL if nothing is
 * left. */
static char *
filename_clean(const char *raw)
{
    char *valid = g_utf8_make_valid(raw, -1);
    GString *kept = g_string_new(NULL);
    char **parts;
    char *result = NULL;

    for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (g_unichar_type(c) == G_UNICODE_CONTROL || is_bidi_control(c))
            continue;
        g_string_append_unichar(kept, c);
    }
    /* RFC 2183 §2.3: the name is a terminal component only. */
    parts = g_strsplit_set(kept->str, "/\\", -1);
    for (size_t i = g_strv_length(parts); i-- > 0 && result == NULL;) {
        char *p = parts[i];

        while (*p == '.' || g_ascii_isspace(*p))
            p++;
        g_strchomp(p);
        if (*p != '\0') {
            GString *name = g_string_new(p);

            filename_shorten(name);
            result = g_string_free(name, FALSE);
        }
    }
    g_strfreev(parts);
    g_string_free(kept, TRUE);
    g_free(valid);
    return result;
}

char *
mime_param_filename(const char *const *keys, const char *const *values,
                    size_t n)
{
    static const char *const bases[] = {"filename", "name"};
    char *(*const finders[])(const char *const *, const char *const *, size_t,
                             const char *) = {name_rfc2231, name_plain};

    mime_decode_init();
    for (size_t f = 0; f < N_ELEMENTS(finders); f++) {
        for (size_t b = 0; b < N_ELEMENTS(bases); b++) {
            char *raw = finders[f](keys, values, n, bases[b]);
            char *name;

            if (raw == NULL)
                continue;
            name = filename_clean(raw);
            g_free(raw);
            if (name != NULL)
                return name;
        }
    }
    return NULL;
}

/* RFC 8187 §3.2.1 attr-char */
static bool
is_attr_char(unsigned char c)
{
    return g_ascii_isalnum(c) || (c != '\0' && strchr("!#$&+-.^_`|~", c));
}

char *
mime_content_disposition(const char *disposition, const char *filename)
{
    const char *disp = "attachment";
    GString *s;
    char *valid;

    if (disposition != NULL && g_ascii_strcasecmp(disposition, "inline") == 0)
        disp = "inline";
    if (filename == NULL || filename[0] == '\0')
        return g_strdup(disp);
    valid = g_utf8_make_valid(filename, -1);
    s = g_string_new(disp);
    /* RFC 6266 §4.3 and appendix D: an ASCII fallback for old agents,
     * without '%' (some percent-decode it) and '\' (some do not unquote). */
    g_string_append(s, "; filename=\"");
    for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%')
            g_string_append_c(s, (char)c);
        else
            g_string_append_c(s, '_');
    }
    g_string_append(s, "\"; filename*=UTF-8''");
    for (const unsigned char *p = (const unsigned char *)valid; *p != '\0';
         p++) {
        if (is_attr_char(*p))
            g_string_append_c(s, (char)*p);
        else
            g_string_append_printf(s, "%%%02X", *p);
    }
    g_free(valid);
    return g_string_free(s, FALSE);
}

/* ---------------------------------------------------------------------
 * Header values: text and dates
 */

char *
mime_decode_header_text(const char *raw, bool phrase)
{
    char *dec, *valid;

    if (raw == NULL)
        return g_strdup("");
    mime_decode_init();
    dec = phrase ? g_mime_utils_header_decode_phrase(NULL, raw)
                 : g_mime_utils_header_decode_text(NULL, raw);
    if (dec == NULL)
        dec = g_strdup(raw);
    valid = g_utf8_make_valid(dec, -1);
    g_free(dec);
    g_strstrip(valid);
    return valid;
}

int64_t
mime_decode_date(const char *value)
{
    GDateTime *dt;
    int64_t t;

    if (value == NULL || *value == '\0')
        return 0;
    mime_decode_init();
    dt = g_mime_utils_header_decode_date(value);
    if (dt == NULL)
        return 0;
    t = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return t;
}
