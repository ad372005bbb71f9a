/* imap_cmd.c - builds IMAP commands into segments split at synchronizing
 * literals, and renders redacted traces of them. Layer: imap. Trust: user
 * strings are checked here (NUL, CR, LF refused); everything else is ours. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "imap/imap_cmd.h"
#include "imap/imap_utf7.h"

/* RFC 7888 §3: LITERAL- allows non-synchronizing literals up to this. */
#define IMAP_LITERAL_MINUS_MAX 4096u
#define TRACE_LITERAL_MAX 64u

/* Where one argument lies in buf, for the trace. */
struct cmd_arg {
    size_t start, end; /* the argument's bytes, without the SP before */
    bool literal;
    size_t data; /* literal: where its contents start */
};

enum cmd_redact {
    REDACT_NONE,
    REDACT_ALL,      /* LOGIN user password */
    REDACT_AFTER_ONE /* AUTHENTICATE mechanism [initial-response] */
};

struct imap_cmd {
    GByteArray *buf; /* the whole command */
    GArray *splits;  /* size_t: where segments 1, 2, ... start */
    GArray *args;    /* struct cmd_arg */
    char *tag;
    size_t head_len; /* "TAG VERB" */
    unsigned flags;
    enum cmd_redact redact;
    bool finished;
};

/* ---- character classes (RFC 9051 §9) ---- */

/* ATOM-CHAR, minus '[': the grammar allows it, but in responses '[' opens
 * a section or a response code, and parsers (ours included) that share
 * that code for commands may read it so. Quoting it costs nothing. */
static bool
is_atom_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' &&
           c != '%' && c != '*' && c != '"' && c != '\\' && c != ']' &&
           c != '[';
}

/* ---- building ---- */

struct imap_cmd *
imap_cmd_new(const char *tag, const char *verb, unsigned flags)
{
    struct imap_cmd *cmd = g_new0(struct imap_cmd, 1);
    size_t tlen = strlen(tag), vlen = strlen(verb);
    size_t w;

    xassert(tlen > 0 && tlen < 64);
    for (size_t i = 0; i < tlen; i++) {
        unsigned char c = (unsigned char)tag[i];

        xassert(c == ']' || (is_atom_char(c) && c != '+'));
    }
    xassert(vlen > 0 && strpbrk(verb, "\r\n") == NULL);
    cmd->buf = g_byte_array_sized_new(128);
    cmd->splits = g_array_new(FALSE, FALSE, sizeof(size_t));
    cmd->args = g_array_new(FALSE, FALSE, sizeof(struct cmd_arg));
    cmd->tag = g_strdup(tag);
    cmd->flags = flags;
    g_byte_array_append(cmd->buf, (const guint8 *)tag, (guint)tlen);
    g_byte_array_append(cmd->buf, (const guint8 *)" ", 1);
    g_byte_array_append(cmd->buf, (const guint8 *)verb, (guint)vlen);
    cmd->head_len = cmd->buf->len;

    w = strcspn(verb, " ");
    if (w == 5 && g_ascii_strncasecmp(verb, "LOGIN", 5) == 0)
        cmd->redact = REDACT_ALL;
    else if (w == 12 && g_ascii_strncasecmp(verb, "AUTHENTICATE", 12) == 0)
        cmd->redact = REDACT_AFTER_ONE;
    return cmd;
}

void
imap_cmd_free(struct imap_cmd **cmdp)
{
    struct imap_cmd *cmd = *cmdp;

    if (cmd == NULL)
        return;
    /* LOGIN passwords and SASL responses went through buf: wipe it */
    if (cmd->buf->len > 0)
        explicit_bzero(cmd->buf->data, cmd->buf->len);
    g_byte_array_free(cmd->buf, TRUE);
    g_array_free(cmd->splits, TRUE);
    g_array_free(cmd->args, TRUE);
    g_free(cmd->tag);
    g_free(cmd);
    *cmdp = NULL;
}

const char *
imap_cmd_tag(const struct imap_cmd *cmd)
{
    return cmd->tag;
}

static void
put(struct imap_cmd *cmd, const void *data, size_t len)
{
    g_byte_array_append(cmd->buf, data, (guint)len);
}

/* SP, then the caller appends the argument and calls arg_end(). */
static struct cmd_arg
arg_begin(struct imap_cmd *cmd)
{
    struct cmd_arg a = {0};

    xassert(!cmd->finished);
    xassert(cmd->buf->len < G_MAXUINT - 1);
    put(cmd, " ", 1);
    a.start = cmd->buf->len;
    return a;
}

static void
arg_end(struct imap_cmd *cmd, struct cmd_arg *a)
{
    a->end = cmd->buf->len;
    g_array_append_val(cmd->args, *a);
}

static void
add_plain(struct imap_cmd *cmd, const char *s, size_t len)
{
    struct cmd_arg a = arg_begin(cmd);

    put(cmd, s, len);
    arg_end(cmd, &a);
}

/* RFC 9051 §4.3: quoted = DQUOTE *QUOTED-CHAR DQUOTE; escape " and \. */
static void
add_quoted(struct imap_cmd *cmd, const char *s, size_t len)
{
    struct cmd_arg a = arg_begin(cmd);
    size_t from = 0;

    put(cmd, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            put(cmd, s + from, i - from);
            put(cmd, "\\", 1);
            from = i;
        }
    }
    put(cmd, s + from, len - from);
    put(cmd, "\"", 1);
    arg_end(cmd, &a);
}

/* RFC 9051 §4.3 and RFC 7888: "{n}" CRLF, then (after the server's "+"
 * unless non-synchronizing) exactly n bytes. */
static void
add_literal(struct imap_cmd *cmd, const void *data, size_t len)
{
    struct cmd_arg a = arg_begin(cmd);
    bool plus = (cmd->flags & IMAP_CMD_LITERAL_PLUS) != 0 ||
                ((cmd->flags & IMAP_CMD_LITERAL_MINUS) != 0 &&
                 len <= IMAP_LITERAL_MINUS_MAX);
    char head[32];
    int n = snprintf(head, sizeof(head), "{%zu%s}\r\n", len, plus ? "+" : "");

    xassert(n > 0 && (size_t)n < sizeof(head));
    put(cmd, head, (size_t)n);
    if (!plus) {
        size_t at = cmd->buf->len;

        g_array_append_val(cmd->splits, at);
    }
    a.literal = true;
    a.data = cmd->buf->len;
    put(cmd, data, len);
    arg_end(cmd, &a);
}

int
imap_cmd_add_atom(struct imap_cmd *cmd, const char *atom, struct err *err)
{
    size_t len = strlen(atom);

    if (len == 0) {
        err_set(err, ERR_INTERNAL, "empty IMAP atom");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_atom_char((unsigned char)atom[i])) {
            err_set(err, ERR_INTERNAL,
                    "byte 0x%02x at %zu is not an IMAP "
                    "atom character",
                    (unsigned char)atom[i], i);
            return -1;
        }
    }
    add_plain(cmd, atom, len);
    return 0;
}

void
imap_cmd_add_raw(struct imap_cmd *cmd, const char *trusted)
{
    xassert(trusted[0] != '\0' && strpbrk(trusted, "\r\n") == NULL);
    add_plain(cmd, trusted, strlen(trusted));
}

void
imap_cmd_add_number(struct imap_cmd *cmd, uint64_t n)
{
    char num[24];
    int len = snprintf(num, sizeof(num), "%" PRIu64, n);

    add_plain(cmd, num, (size_t)len);
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

void
imap_cmd_add_seqset(struct imap_cmd *cmd, const uint32_t *nums, size_t n)
{
    uint32_t *s;
    struct cmd_arg a;
    size_t i = 0;
    char part[32];

    xassert(n > 0);
    s = g_new(uint32_t, n);
    memcpy(s, nums, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_u32);
    xassert(s[0] >= 1);
    a = arg_begin(cmd);
    while (i < n) {
        uint32_t first = s[i], last = s[i];
        int len;

        while (i < n && (s[i] == last || s[i] == last + 1))
            last = s[i++];
        if (first == last)
            len = snprintf(part, sizeof(part), "%s%" PRIu32,
                           a.start == cmd->buf->len ? "" : ",", first);
        else
            len = snprintf(part, sizeof(part), "%s%" PRIu32 ":%" PRIu32,
                           a.start == cmd->buf->len ? "" : ",", first, last);
        put(cmd, part, (size_t)len);
    }
    arg_end(cmd, &a);
    g_free(s);
}

/* Picks the form of a user string. Returns 0 with *atom_out and *quoted_out
 * set, or -1 with ERR_INPUT for NUL, CR or LF. */
static int
classify(const struct imap_cmd *cmd, const char *s, size_t len, bool *atom_out,
         bool *quoted_out, struct err *err)
{
    bool atom = len > 0, seven_bit = true;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\0' || c == '\r' || c == '\n') {
            err_set(err, ERR_INPUT, "%s in an IMAP argument",
                    c == '\0'   ? "NUL"
                    : c == '\r' ? "CR"
                                : "LF");
            return -1;
        }
        if (c >= 0x80)
            seven_bit = false;
        if (!is_atom_char(c))
            atom = false;
    }
    /* "NIL" is a valid astring atom, but parsers that read NIL as its own
     * type (Dovecot's does) would refuse it where an astring is due. */
    if (len == 3 && g_ascii_strncasecmp(s, "NIL", 3) == 0)
        atom = false;
    *atom_out = atom;
    /* RFC 6855 §3: with UTF8=ACCEPT, quoted strings carry UTF-8; other
     * 8-bit data (or any without it) has to be a literal. */
    *quoted_out = seven_bit || ((cmd->flags & IMAP_CMD_UTF8_ACCEPT) != 0 &&
                                g_utf8_validate_len(s, len, NULL));
    return 0;
}

int
imap_cmd_add_astring(struct imap_cmd *cmd, const char *s, size_t len,
                     struct err *err)
{
    bool atom, quoted;

    if (classify(cmd, s, len, &atom, &quoted, err) < 0)
        return -1;
    if (atom)
        add_plain(cmd, s, len);
    else if (quoted)
        add_quoted(cmd, s, len);
    else
        add_literal(cmd, s, len);
    return 0;
}

int
imap_cmd_add_string(struct imap_cmd *cmd, const char *s, size_t len,
                    struct err *err)
{
    bool atom, quoted;

    if (classify(cmd, s, len, &atom, &quoted, err) < 0)
        return -1;
    if (quoted)
        add_quoted(cmd, s, len);
    else
        add_literal(cmd, s, len);
    return 0;
}

int
imap_cmd_add_mailbox(struct imap_cmd *cmd, const char *name, struct err *err)
{
    char *enc;
    int rc;

    if (strpbrk(name, "\r\n") != NULL) {
        err_set(err, ERR_INPUT, "CR or LF in a mailbox name");
        return -1;
    }
    if (g_ascii_strcasecmp(name, "INBOX") == 0) {
        add_plain(cmd, "INBOX", 5);
        return 0;
    }
    if (cmd->flags & IMAP_CMD_UTF8_ACCEPT) {
        if (!g_utf8_validate(name, -1, NULL)) {
            err_set(err, ERR_INPUT, "mailbox name is not valid UTF-8");
            return -1;
        }
        return imap_cmd_add_astring(cmd, name, strlen(name), err);
    }
    enc = imap_utf7_encode(name, err);
    if (enc == NULL)
        return -1;
    rc = imap_cmd_add_astring(cmd, enc, strlen(enc), err);
    g_free(enc);
    return rc;
}

int
imap_cmd_add_literal(struct imap_cmd *cmd, const void *data, size_t len,
                     struct err *err)
{
    if (len > 0 && memchr(data, '\0', len) != NULL) {
        err_set(err, ERR_INPUT, "NUL in an IMAP literal");
        return -1;
    }
    add_literal(cmd, data, len);
    return 0;
}

void
imap_cmd_finish(struct imap_cmd *cmd)
{
    if (cmd->finished)
        return;
    put(cmd, "\r\n", 2);
    cmd->finished = true;
}

/* ---- sending ---- */

size_t
imap_cmd_segments(const struct imap_cmd *cmd)
{
    xassert(cmd->finished);
    return cmd->splits->len + 1;
}

const unsigned char *
imap_cmd_segment(const struct imap_cmd *cmd, size_t i, size_t *len_out)
{
    size_t nseg = imap_cmd_segments(cmd);
    size_t start, end;

    xassert(i < nseg);
    start = i == 0 ? 0 : g_array_index(cmd->splits, size_t, i - 1);
    end = i + 1 == nseg ? cmd->buf->len : g_array_index(cmd->splits, size_t, i);
    *len_out = end - start;
    return cmd->buf->data + start;
}

/* ---- tracing ---- */

static void
trace_bytes(GString *out, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] >= 0x20 && p[i] <= 0x7e)
            g_string_append_c(out, (char)p[i]);
        else
            g_string_append_printf(out, "\\x%02x", p[i]);
    }
}

char *
imap_cmd_trace(const struct imap_cmd *cmd)
{
    GString *out = g_string_sized_new(cmd->head_len + 64);
    const unsigned char *b = cmd->buf->data;

    trace_bytes(out, b, cmd->head_len);
    for (guint i = 0; i < cmd->args->len; i++) {
        const struct cmd_arg *a = &g_array_index(cmd->args, struct cmd_arg, i);

        g_string_append_c(out, ' ');
        if (cmd->redact == REDACT_ALL ||
            (cmd->redact == REDACT_AFTER_ONE && i > 0)) {
            g_string_append(out, "***");
        } else if (a->literal) {
            size_t n = a->end - a->data;

            trace_bytes(out, b + a->start, a->data - 2 - a->start); /* CRLF */
            if (n <= TRACE_LITERAL_MAX)
                trace_bytes(out, b + a->data, n);
            else
                g_string_append_printf(out, "<%zu bytes>", n);
        } else {
            trace_bytes(out, b + a->start, a->end - a->start);
        }
    }
    return g_string_free(out, FALSE);
}
