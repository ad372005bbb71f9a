/* mime_build.c - outgoing messages: the user's text checked item by item,
 * then a GMime message tree written with CRLF line ends.
 * Layer: mime. Trust: UNTRUSTED user input; what is bad is refused with a
 * message naming the field, never silently stripped. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "core/attr.h"
#include "mime/mime_build.h"

#define LINE_MAX_OCTETS 998u /* RFC 5322 §2.1.1, without the CRLF */
#define MSGID_MAX 900u       /* one id must fit a header line */
#define DOMAIN_MAX 253u      /* RFC 1035 §2.3.4, in text form */
#define QUOTE_MAX 60u        /* bytes of user text quoted in an error */
#define SCAN_CHUNK (64u * 1024)

/* ---------------------------------------------------------------------
 * Checks on text
 */

/* A printable copy of s, at most QUOTE_MAX bytes cut at a character, for
 * quoting in an error message: control characters become '?', so a log
 * line cannot be split by what the user typed. g_free it. */
static char *
quote_text(const char *s)
{
    char *valid = g_utf8_make_valid(s, -1);
    GString *q = g_string_new(NULL);

    for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
        const char *next = g_utf8_next_char(p);

        if (q->len + (size_t)(next - p) > QUOTE_MAX) {
            g_string_append(q, "...");
            break;
        }
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            g_string_append_c(q, '?');
        else
            g_string_append_len(q, p, next - p);
    }
    g_free(valid);
    return g_string_free(q, FALSE);
}

static bool
has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* UTF-8 and, for header text, no CR or LF. what is "the subject", "the To
 * field", ... */
static int
text_check(const char *what, const char *s, bool is_header, struct err *err)
{
    if (s == NULL)
        return 0;
    if (!g_utf8_validate(s, -1, NULL)) {
        err_set(err, ERR_INPUT, "%s is not valid UTF-8", what);
        return -1;
    }
    if (is_header && has_line_break(s)) {
        err_set(err, ERR_INPUT, "%s holds a line break", what);
        return -1;
    }
    return 0;
}

static bool
is_empty(const char *s)
{
    return s == NULL || s[strspn(s, " \t")] == '\0';
}

/* RFC 5322 §3.6.4 msg-id, as found in real mail: '<', printable ASCII
 * without '<', '>' and space, '>'. */
static bool
msgid_is_valid(const char *s, size_t len)
{
    if (len < 3 || len > MSGID_MAX || s[0] != '<' || s[len - 1] != '>')
        return false;
    for (size_t i = 1; i + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
            return false;
    }
    return true;
}

/* Checks a list of message ids separated by white space (one only when
 * !is_list) and returns it with single spaces, g_malloc'd, or NULL for an
 * empty one. */
static int
msgids_check(const char *label, const char *s, bool is_list, char **out,
             struct err *err)
{
    char **ids;
    GString *norm;
    unsigned n = 0;

    *out = NULL;
    if (is_empty(s))
        return 0;
    if (text_check(label, s, true, err) < 0)
        return -1;
    ids = g_strsplit_set(s, " \t", -1);
    norm = g_string_new(NULL);
    for (char **id = ids; *id != NULL; id++) {
        if (**id == '\0')
            continue;
        if (!msgid_is_valid(*id, strlen(*id)) || (!is_list && n > 0)) {
            char *q = quote_text(*id);

            err_set(err, ERR_INPUT, "%s: \"%s\" is not a message id", label, q);
            g_free(q);
            g_strfreev(ids);
            g_string_free(norm, TRUE);
            return -1;
        }
        if (n++ > 0)
            g_string_append_c(norm, ' ');
        g_string_append(norm, *id);
    }
    g_strfreev(ids);
    *out = g_string_free(norm, FALSE);
    return 0;
}

static bool
domain_is_valid(const char *d)
{
    size_t n = strlen(d);

    if (n == 0 || n > DOMAIN_MAX || d[0] == '.' || d[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!g_ascii_isalnum(d[i]) && d[i] != '-' && d[i] != '.')
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------------
 * Addresses
 */

/* Splits what was typed into items at ',' and ';' outside quotes, comments
 * and angle brackets; a group ("name:" up to its ';') stays one item.
 * Items are trimmed; empty ones are dropped. Returns g_free'd strings. */
static GPtrArray *
addr_split(const char *text)
{
    GPtrArray *items = g_ptr_array_new_with_free_func(g_free);
    const char *start = text;
    bool in_quote = false, in_angle = false, in_group = false;
    unsigned comment = 0;

    for (const char *p = text;; p++) {
        char c = *p;
        size_t end;

        if (c != '\0') {
            if (in_quote || comment > 0) {
                if (c == '\\' && p[1] != '\0')
                    p++; /* quoted-pair */
                else if (in_quote && c == '"')
                    in_quote = false;
                else if (!in_quote && c == '(')
                    comment++;
                else if (!in_quote && c == ')')
                    comment--;
                continue;
            }
            if (c == '"') {
                in_quote = true;
                continue;
            }
            if (c == '(') {
                comment = 1;
                continue;
            }
            if (in_angle || c == '<') {
                in_angle = c != '>';
                continue;
            }
            if (c == ':')
                in_group = true;
            if (c != ';' && (c != ',' || in_group))
                continue;
        }
        /* the item ends here; a group keeps its ';' */
        end = (size_t)(p - start) + (c == ';' && in_group ? 1 : 0);
        if (c == ';')
            in_group = false;
        {
            char *item = g_strndup(start, end);

            g_strstrip(item);
            if (item[0] != '\0')
                g_ptr_array_add(items, item);
            else
                g_free(item);
        }
        if (c == '\0')
            break;
        start = p + 1;
    }
    return items;
}

static void
parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
               gpointer data)
{
    unsigned *count = data;

    (void)offset;
    (void)item;
    /* 8-bit names are what UTF-8 input gives; not a fault */
    if (code != GMIME_WARN_UNENCODED_8BIT_HEADER)
        (*count)++;
}

/* A mailbox with a local part and a domain, no control characters. */
static bool
mailbox_is_valid(InternetAddress *ia)
{
    const char *addr, *at;

    if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
        return false;
    addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
    if (addr == NULL)
        return false;
    at = strrchr(addr, '@');
    if (at == NULL || at == addr || at[1] == '\0')
        return false;
    for (const char *p = addr; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

static void
addr_refuse(const char *label, const char *text, struct err *err)
{
    char *q = quote_text(text);

    err_set(err, ERR_INPUT, "%s: \"%s\" is not an e-mail address", label, q);
    g_free(q);
}

/* Parses one item: a mailbox or a group of mailboxes. GMime is lenient (it
 * drops what it cannot read, with a warning), so any warning, a second
 * address in one item or an address without a domain refuses the item. */
static InternetAddressList *
addr_item_parse(const char *label, const char *item, struct err *err)
{
    GMimeParserOptions *opts = g_mime_parser_options_new();
    InternetAddressList *list;
    InternetAddress *ia;
    unsigned warnings = 0;

    g_mime_parser_options_set_address_compliance_mode(
        opts, GMIME_RFC_COMPLIANCE_STRICT);
    g_mime_parser_options_set_warning_callback(opts, parser_warning, &warnings);
    list = internet_address_list_parse(opts, item);
    g_mime_parser_options_free(opts);
    if (list == NULL || warnings > 0 || internet_address_list_length(list) != 1)
        goto bad;
    ia = internet_address_list_get_address(list, 0);
    if (INTERNET_ADDRESS_IS_GROUP(ia)) {
        InternetAddressList *members =
            internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));

        for (int i = 0; i < internet_address_list_length(members); i++) {
            InternetAddress *m = internet_address_list_get_address(members, i);

            if (!mailbox_is_valid(m)) {
                const char *addr = INTERNET_ADDRESS_IS_MAILBOX(m)
                                       ? internet_address_mailbox_get_addr(
                                             INTERNET_ADDRESS_MAILBOX(m))
                                       : NULL;

                addr_refuse(label, addr != NULL ? addr : item, err);
                g_object_unref(list);
                return NULL;
            }
        }
    } else if (!mailbox_is_valid(ia)) {
        goto bad;
    }
    return list;
bad:
    addr_refuse(label, item, err);
    if (list != NULL)
        g_object_unref(list);
    return NULL;
}

/* Parses an address field into a new list (empty for NULL or ""). */
static InternetAddressList *
addr_field_parse(const char *label, const char *text, struct err *err)
{
    InternetAddressList *all = internet_address_list_new();
    char *what = g_strdup_printf("the %s field", label);
    GPtrArray *items;

    if (text_check(what, text, true, err) < 0) {
        g_free(what);
        g_object_unref(all);
        return NULL;
    }
    g_free(what);
    if (text == NULL)
        return all;
    items = addr_split(text);
    for (guint i = 0; i < items->len; i++) {
        InternetAddressList *one =
            addr_item_parse(label, g_ptr_array_index(items, i), err);

        if (one == NULL) {
            g_ptr_array_free(items, TRUE);
            g_object_unref(all);
            return NULL;
        }
        internet_address_list_append(all, one);
        g_object_unref(one);
    }
    g_ptr_array_free(items, TRUE);
    return all;
}

/* Appends the bare (IDNA) addresses of list to rcpts, each once; returns
 * how many mailboxes the list holds. */
static unsigned
rcpts_collect(InternetAddressList *list, GHashTable *seen, GPtrArray *rcpts)
{
    unsigned n = 0;

    for (int i = 0; i < internet_address_list_length(list); i++) {
        InternetAddress *ia = internet_address_list_get_address(list, i);
        const char *addr, *at;
        char *domain, *key;

        if (INTERNET_ADDRESS_IS_GROUP(ia)) {
            n += rcpts_collect(
                internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
                seen, rcpts);
            continue;
        }
        n++;
        if (rcpts == NULL)
            continue;
        addr =
            internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia));
        at = strrchr(addr, '@'); /* checked by mailbox_is_valid() */
        /* RFC 5321 §2.4: the local part may be case-sensitive */
        domain = g_ascii_strdown(at + 1, -1);
        key = g_strdup_printf("%.*s@%s", (int)(at - addr), addr, domain);
        g_free(domain);
        if (g_hash_table_add(seen, key))
            g_ptr_array_add(rcpts, g_strdup(addr));
    }
    return n;
}

/* ---------------------------------------------------------------------
 * Everything checked at once
 */

struct parsed {
    InternetAddressList *from, *to, *cc, *bcc;
    char *in_reply_to, *references; /* normalized, or NULL */
    char *msgid_domain;
};

static void
parsed_clear(struct parsed *p)
{
    g_clear_object(&p->from);
    g_clear_object(&p->to);
    g_clear_object(&p->cc);
    g_clear_object(&p->bcc);
    g_clear_pointer(&p->in_reply_to, g_free);
    g_clear_pointer(&p->references, g_free);
    g_clear_pointer(&p->msgid_domain, g_free);
}

static int
from_parse(const char *from, struct parsed *p, struct err *err)
{
    if (is_empty(from)) {
        err_set(err, ERR_INPUT, "From: no sender address");
        return -1;
    }
    p->from = addr_field_parse("From", from, err);
    if (p->from == NULL)
        return -1;
    if (internet_address_list_length(p->from) != 1 ||
        !INTERNET_ADDRESS_IS_MAILBOX(
            internet_address_list_get_address(p->from, 0))) {
        char *q = quote_text(from);

        err_set(err, ERR_INPUT, "From: \"%s\" is not one e-mail address", q);
        g_free(q);
        return -1;
    }
    return 0;
}

/* The Message-ID's right side: the one given, else the sender's domain. */
static int
msgid_domain_get(const char *given, struct parsed *p, struct err *err)
{
    InternetAddress *ia = internet_address_list_get_address(p->from, 0);
    const char *addr, *at;

    if (given != NULL && given[0] != '\0') {
        if (!domain_is_valid(given)) {
            char *q = quote_text(given);

            err_set(err, ERR_INPUT,
                    "the Message-ID domain \"%s\" is not a domain name", q);
            g_free(q);
            return -1;
        }
        p->msgid_domain = g_strdup(given);
        return 0;
    }
    addr = internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia));
    at = strrchr(addr, '@');
    p->msgid_domain =
        g_strdup(domain_is_valid(at + 1) ? at + 1 : "postern.invalid");
    return 0;
}

static int
attachments_check(const struct mime_build *b, struct err *err)
{
    for (size_t i = 0; i < b->n_attachments; i++) {
        const struct mime_build_attachment *at = &b->attachments[i];

        if (at->filename != NULL && (!g_utf8_validate(at->filename, -1, NULL) ||
                                     has_line_break(at->filename))) {
            char *q = quote_text(at->filename);

            err_set(err, ERR_INPUT, "the attachment name \"%s\" %s", q,
                    has_line_break(at->filename) ? "holds a line break"
                                                 : "is not valid UTF-8");
            g_free(q);
            return -1;
        }
        if (at->path == NULL && at->data == NULL && at->len > 0) {
            err_set(err, ERR_INTERNAL, "attachment %zu has no bytes", i);
            return -1;
        }
    }
    return 0;
}

/* Checks b; fills p (parsed_clear() it on every path). */
static int
build_parse(const struct mime_build *b, bool require_rcpt, struct parsed *p,
            GPtrArray *rcpts_out, struct err *err)
{
    GHashTable *seen;
    GPtrArray *rcpts = NULL;
    unsigned n;

    if (from_parse(b->from, p, err) < 0)
        return -1;
    p->to = addr_field_parse("To", b->to, err);
    if (p->to == NULL)
        return -1;
    p->cc = addr_field_parse("Cc", b->cc, err);
    if (p->cc == NULL)
        return -1;
    p->bcc = addr_field_parse("Bcc", b->bcc, err);
    if (p->bcc == NULL)
        return -1;
    if (text_check("the subject", b->subject, true, err) < 0 ||
        text_check("the text", b->text, false, err) < 0 ||
        msgids_check("In-Reply-To", b->in_reply_to, false, &p->in_reply_to,
                     err) < 0 ||
        msgids_check("References", b->references, true, &p->references, err) <
            0 ||
        msgid_domain_get(b->message_id_domain, p, err) < 0 ||
        attachments_check(b, err) < 0)
        return -1;

    seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (rcpts_out != NULL)
        rcpts = g_ptr_array_new_with_free_func(g_free);
    n = rcpts_collect(p->to, seen, rcpts);
    n += rcpts_collect(p->cc, seen, rcpts);
    n += rcpts_collect(p->bcc, seen, rcpts);
    g_hash_table_destroy(seen);
    if (require_rcpt && n == 0) {
        err_set(err, ERR_INPUT, "no recipient: fill in To, Cc or Bcc");
        if (rcpts != NULL)
            g_ptr_array_free(rcpts, TRUE);
        return -1;
    }
    if (rcpts != NULL) { /* only on success does the caller get any */
        for (guint i = 0; i < rcpts->len; i++)
            g_ptr_array_add(rcpts_out, g_steal_pointer(&rcpts->pdata[i]));
        g_ptr_array_free(rcpts, TRUE);
    }
    return 0;
}

int
mime_build_check(const struct mime_build *b, GPtrArray *rcpts_out,
                 struct err *err)
{
    struct parsed p = {0};
    int rc = build_parse(b, true, &p, rcpts_out, err);

    parsed_clear(&p);
    return rc;
}

/* ---------------------------------------------------------------------
 * The parts
 */

/* The body with every line end (CRLF, LF, a lone CR) made CRLF and the last
 * line ended, in a new memory stream; the encoding it needs comes back in
 * *enc_out. */
static GMimeStream *
text_stream_new(const char *text, GMimeContentEncoding *enc_out)
{
    GMimeStream *stream = g_mime_stream_mem_new();
    GByteArray *buf =
        g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
    size_t line = 0, longest = 0;
    bool has_8bit = false;

    for (const char *p = text != NULL ? text : ""; *p != '\0'; p++) {
        if (*p == '\r' || *p == '\n') {
            if (p[0] == '\r' && p[1] == '\n')
                p++;
            g_byte_array_append(buf, (const guint8 *)"\r\n", 2);
            line = 0;
            continue;
        }
        if ((unsigned char)*p >= 0x80)
            has_8bit = true;
        if (++line > longest)
            longest = line;
        g_byte_array_append(buf, (const guint8 *)p, 1);
    }
    /* GMime ends the last line anyway (quoted-printable too); doing it
     * here makes the body the same whatever the encoding */
    if (buf->len > 0 && buf->data[buf->len - 1] != '\n')
        g_byte_array_append(buf, (const guint8 *)"\r\n", 2);
    if (longest > LINE_MAX_OCTETS)
        *enc_out = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
    else if (has_8bit)
        *enc_out = GMIME_CONTENT_ENCODING_8BIT;
    else
        *enc_out = GMIME_CONTENT_ENCODING_7BIT;
    return stream;
}

static void
part_set_stream(GMimePart *part, GMimeStream *stream, GMimeContentEncoding enc)
{
    GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(
        stream, GMIME_CONTENT_ENCODING_DEFAULT);

    g_mime_part_set_content(part, w);
    g_mime_part_set_content_encoding(part, enc);
    g_object_unref(w);
}

static GMimeObject *
text_part_new(const char *text)
{
    GMimeTextPart *t = g_mime_text_part_new_with_subtype("plain");
    GMimeContentEncoding enc;
    GMimeStream *stream = text_stream_new(text, &enc);

    g_mime_object_set_content_type_parameter(GMIME_OBJECT(t), "charset",
                                             "utf-8");
    part_set_stream(GMIME_PART(t), stream, enc);
    g_object_unref(stream);
    return GMIME_OBJECT(t);
}

static bool
is_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c))
            return false;
    }
    return true;
}

/* A new leaf part of the declared type when it is a clean type/subtype a
 * base64 leaf may have (not multipart/ or message/), else of
 * application/octet-stream. A text type keeps a clean charset. */
static GMimePart *
attachment_part_new(const char *declared)
{
    GMimeContentType *ct;
    const char *type, *sub, *charset;
    GMimePart *part;

    if (declared == NULL)
        return g_mime_part_new_with_type("application", "octet-stream");
    ct = g_mime_content_type_parse(g_mime_parser_options_get_default(),
                                   declared);
    type = g_mime_content_type_get_media_type(ct);
    sub = g_mime_content_type_get_media_subtype(ct);
    if (!is_token(type) || !is_token(sub) ||
        g_ascii_strcasecmp(type, "multipart") == 0 ||
        g_ascii_strcasecmp(type, "message") == 0) {
        g_object_unref(ct);
        return g_mime_part_new_with_type("application", "octet-stream");
    }
    {
        char *t = g_ascii_strdown(type, -1), *s = g_ascii_strdown(sub, -1);

        part = g_mime_part_new_with_type(t, s);
        g_free(t);
        g_free(s);
    }
    charset = g_mime_content_type_get_parameter(ct, "charset");
    if (g_ascii_strcasecmp(type, "text") == 0 && is_token(charset))
        g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset",
                                                 charset);
    g_object_unref(ct);
    return part;
}

/* How a message/rfc822 attachment may travel (RFC 2046 §5.2.1: 7bit or
 * 8bit, so lines of at most 998 octets, no NUL, no bare CR; LF alone is
 * made CRLF on output). */
struct msg_scan {
    bool is_safe, has_8bit, after_cr;
    size_t line;
};

static void
msg_scan_feed(struct msg_scan *s, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n && s->is_safe; i++) {
        unsigned char c = p[i];

        if (s->after_cr && c != '\n')
            s->is_safe = false; /* bare CR */
        s->after_cr = c == '\r';
        if (c == '\n' || c == '\r') {
            s->line = 0;
            continue;
        }
        if (c == '\0' || ++s->line > LINE_MAX_OCTETS)
            s->is_safe = false;
        if (c >= 0x80)
            s->has_8bit = true;
    }
}

static int
msg_scan_stream(struct msg_scan *s, GMimeStream *stream, struct err *err)
{
    unsigned char *buf = g_malloc(SCAN_CHUNK);
    ssize_t n;

    for (;;) {
        n = g_mime_stream_read(stream, (char *)buf, SCAN_CHUNK);
        if (n <= 0)
            break;
        msg_scan_feed(s, buf, (size_t)n);
    }
    g_free(buf);
    if (n < 0 || g_mime_stream_reset(stream) < 0) {
        err_set(err, ERR_INTERNAL, "cannot read the message to attach");
        return -1;
    }
    if (s->after_cr)
        s->is_safe = false;
    return 0;
}

/* The attachment's bytes as a stream: the file, opened now and read while
 * the message is written, or the memory in place (its GByteArray wrapper
 * goes to borrowed, to be freed without the data after the message). */
static GMimeStream *
attachment_stream_new(const struct mime_build_attachment *at,
                      GPtrArray *borrowed, struct err *err)
{
    GMimeStream *stream;

    if (at->path != NULL) {
        int fd = open(at->path, O_RDONLY | O_CLOEXEC);

        if (fd < 0) {
            err_set(err, ERR_INTERNAL, "cannot open attachment %s: %s",
                    at->path, strerror(errno));
            return NULL;
        }
        return g_mime_stream_fs_new(fd); /* owns fd */
    }
    if (at->len == 0)
        return g_mime_stream_mem_new();
    if (at->len > G_MAXUINT) {
        err_set(err, ERR_LIMIT, "attachment of %zu bytes held in memory",
                at->len);
        return NULL;
    }
    {
        /* read-only use: GMime only reads a stream it is given to write */
        GByteArray *arr = g_byte_array_new_take((guint8 *)at->data, at->len);

        g_ptr_array_add(borrowed, arr);
        stream = g_mime_stream_mem_new_with_byte_array(arr);
        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    }
    return stream;
}

static GMimeObject *
attachment_new(const struct mime_build_attachment *at, GPtrArray *borrowed,
               struct err *err)
{
    GMimeStream *stream = attachment_stream_new(at, borrowed, err);
    const char *filename = at->filename;
    GMimeContentEncoding enc = GMIME_CONTENT_ENCODING_BASE64;
    GMimePart *part = NULL;

    if (stream == NULL)
        return NULL;
    if (at->is_message) {
        struct msg_scan scan = {.is_safe = true};

        if (msg_scan_stream(&scan, stream, err) < 0) {
            g_object_unref(stream);
            return NULL;
        }
        if (scan.is_safe) {
            part = g_mime_part_new_with_type("message", "rfc822");
            enc = scan.has_8bit ? GMIME_CONTENT_ENCODING_8BIT
                                : GMIME_CONTENT_ENCODING_7BIT;
        } else {
            part = g_mime_part_new_with_type("application", "octet-stream");
            if (filename == NULL || filename[0] == '\0')
                filename = "message.eml";
        }
    } else {
        part = attachment_part_new(at->content_type);
    }
    g_mime_object_set_disposition(GMIME_OBJECT(part),
                                  GMIME_DISPOSITION_ATTACHMENT);
    if (filename != NULL && filename[0] != '\0')
        g_mime_part_set_filename(part, filename); /* RFC 2231 when needed */
    part_set_stream(part, stream, enc);
    g_object_unref(stream);
    return GMIME_OBJECT(part);
}

/* ---------------------------------------------------------------------
 * The message
 */

static void
header_set(GMimeMessage *msg, const char *name, const char *value)
{
    g_mime_object_set_header(GMIME_OBJECT(msg), name, value, NULL);
}

/* An empty list is left out: appending one would write "Cc: " empty. */
static void
addresses_set(GMimeMessage *msg, GMimeAddressType type,
              InternetAddressList *list)
{
    if (internet_address_list_length(list) > 0)
        internet_address_list_append(g_mime_message_get_addresses(msg, type),
                                     list);
}

int
mime_build_write(const struct mime_build *b, bool include_bcc, GMimeStream *out,
                 char **message_id_out, struct err *err)
{
    struct parsed p = {0};
    GPtrArray *borrowed = g_ptr_array_new();
    GMimeMessage *msg = NULL;
    GMimeObject *body = NULL;
    GMimeFormatOptions *fo = NULL;
    GDateTime *now;
    char *id = NULL;
    int rc = -1;

    if (build_parse(b, false, &p, NULL, err) < 0)
        goto out;

    msg = g_mime_message_new(TRUE);
    addresses_set(msg, GMIME_ADDRESS_TYPE_FROM, p.from);
    addresses_set(msg, GMIME_ADDRESS_TYPE_TO, p.to);
    addresses_set(msg, GMIME_ADDRESS_TYPE_CC, p.cc);
    if (include_bcc)
        addresses_set(msg, GMIME_ADDRESS_TYPE_BCC, p.bcc);
    g_mime_message_set_subject(msg, b->subject != NULL ? b->subject : "",
                               "utf-8");
    now = g_date_time_new_now_local();
    g_mime_message_set_date(msg, now);
    g_date_time_unref(now);
    id = g_mime_utils_generate_message_id(p.msgid_domain);
    g_mime_message_set_message_id(msg, id);
    if (p.in_reply_to != NULL)
        header_set(msg, "In-Reply-To", p.in_reply_to);
    if (p.references != NULL)
        header_set(msg, "References", p.references);
    header_set(msg, "User-Agent", "postern");

    body = text_part_new(b->text);
    if (b->n_attachments > 0) {
        GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");

        g_mime_multipart_add(mixed, body);
        g_object_unref(body);
        body = GMIME_OBJECT(mixed);
        for (size_t i = 0; i < b->n_attachments; i++) {
            GMimeObject *part =
                attachment_new(&b->attachments[i], borrowed, err);

            if (part == NULL)
                goto out;
            g_mime_multipart_add(mixed, part);
            g_object_unref(part);
        }
    }
    g_mime_message_set_mime_part(msg, body);

    fo = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
    if (g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, out) < 0) {
        err_set(err, ERR_INTERNAL, "cannot write the message: %s",
                g_strerror(errno));
        goto out;
    }
    if (message_id_out != NULL)
        *message_id_out = g_strdup_printf("<%s>", id);
    rc = 0;
out:
    if (fo != NULL)
        g_mime_format_options_free(fo);
    g_clear_object(&body);
    g_clear_object(&msg);
    /* the streams that read b's memory are gone: free only the wrappers */
    for (guint i = 0; i < borrowed->len; i++)
        (void)g_byte_array_free(g_ptr_array_index(borrowed, i), FALSE);
    g_ptr_array_free(borrowed, TRUE);
    g_free(id);
    parsed_clear(&p);
    return rc;
}
