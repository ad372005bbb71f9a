/* imap_parser.c - byte-level state machine for IMAP server responses.
 * Layer: imap. Trust: UNTRUSTED input; every byte is checked against the
 * grammar or a limit. All state lives in struct imap_parser, so a response
 * may be split at any byte; runs of bytes are consumed at once, and nothing
 * recurses: nested lists use an explicit stack capped by max_depth. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "core/arena.h"
#include "core/limits.h"
#include "imap/imap_parser.h"

/* Where the parser is. The comment says which byte each state expects. */
enum parser_state {
    ST_START,        /* first byte of a response: tag, '*' or '+' */
    ST_STAR,         /* after '*': SP */
    ST_PLUS,         /* after '+': SP, or the end of the line */
    ST_WORD,         /* tag, status, number or name; see enum word_phase */
    ST_TEXT,         /* resp-text or continuation text, up to the EOL */
    ST_ARGS,         /* between the arguments of a data response */
    ST_ATOM,         /* inside an atom */
    ST_ATOM_BRACKET, /* inside the [...] of an atom: BODY[HEADER (TO)] */
    ST_QUOTED,       /* inside "..." */
    ST_QUOTED_ESC,   /* after '\' inside "..." */
    ST_TILDE,        /* after '~': '{' starts a literal8, else an atom */
    ST_LITERAL_LEN,  /* after '{': digits, optional '+', '}' */
    ST_LITERAL_CR,   /* after '}': CR (or a lone LF) */
    ST_LITERAL_LF,   /* after "}\r": LF */
    ST_LITERAL_DATA, /* the literal's bytes, lit_left of them to go */
    ST_EOL_LF,       /* after the CR that ends the response: LF */
    ST_DONE,         /* a response was handed out; the next feed restarts */
    ST_ERROR         /* failed; only a reset helps */
};

/* What the word collected in ST_WORD is. */
enum word_phase {
    W_TAG,            /* "a1" */
    W_TAGGED_STATUS,  /* "OK" after a tag */
    W_UNTAGGED_FIRST, /* after "* ": status, number or name */
    W_NAME            /* after "* 3 ": the name */
};

struct imap_parser {
    struct imap_parser_limits lim;
    imap_literal_sink_fn *sink;
    void *sink_ctx;

    enum parser_state state;
    enum word_phase phase;

    /* This response: its memory, the tree handed out, and counters. */
    struct arena *arena;
    struct imap_resp resp;
    size_t off;      /* bytes of this response before this feed */
    size_t line_len; /* of them, not literal contents */
    size_t lit_mem;  /* literal bytes kept in memory */
    unsigned tokens;

    GString *tok;      /* the word, atom, quoted string or text so far */
    unsigned brackets; /* open '[' in the current atom */

    /* Finished arguments of all open lists, innermost last; stack[d] is
     * where list d starts in vec. */
    struct imap_arg *vec;
    size_t vec_len, vec_cap;
    size_t *stack;
    unsigned depth, stack_cap;

    /* The literal being read. */
    uint64_t lit_len, lit_left;
    unsigned lit_digits;
    bool lit_plus, lit_streamed;
    unsigned char *lit_buf;
};

/* ---- setup ---- */

static void
parser_apply_limits(struct imap_parser *p, const struct imap_parser_limits *l)
{
    static const struct imap_parser_limits none = {0};

    if (l == NULL)
        l = &none;
    p->lim.max_line = l->max_line > 0 ? l->max_line : LIM_IMAP_LINE;
    p->lim.max_literal_mem =
        l->max_literal_mem > 0 ? l->max_literal_mem : LIM_IMAP_LITERAL_MEM;
    p->lim.max_depth = l->max_depth > 0 ? l->max_depth : LIM_IMAP_DEPTH;
    p->lim.max_tokens = l->max_tokens > 0 ? l->max_tokens : LIM_IMAP_TOKENS;
    p->lim.max_literal_total =
        l->max_literal_total > 0 ? l->max_literal_total : LIM_IMAP_LINE;
}

/* Drops the previous response and readies everything for a new one. */
static void
parser_begin(struct imap_parser *p)
{
    arena_free(&p->arena);
    p->arena = arena_new(0);
    memset(&p->resp, 0, sizeof(p->resp));
    p->state = ST_START;
    p->off = 0;
    p->line_len = 0;
    p->lit_mem = 0;
    p->tokens = 0;
    g_string_truncate(p->tok, 0);
    p->brackets = 0;
    p->vec_len = 0;
    p->depth = 0;
    p->lit_streamed = false;
    /* One huge response should not pin its memory for the connection's
     * life: give back buffers that grew past a typical page. */
    if (p->vec_cap > 4096) {
        g_free(p->vec);
        p->vec = NULL;
        p->vec_cap = 0;
    }
    if (p->tok->allocated_len > 64 * 1024) {
        g_string_free(p->tok, TRUE);
        p->tok = g_string_sized_new(256);
    }
}

struct imap_parser *
imap_parser_new(const struct imap_parser_limits *limits)
{
    struct imap_parser *p = g_new0(struct imap_parser, 1);

    parser_apply_limits(p, limits);
    p->tok = g_string_sized_new(256);
    parser_begin(p);
    return p;
}

void
imap_parser_free(struct imap_parser **pp)
{
    struct imap_parser *p = *pp;

    if (p == NULL)
        return;
    arena_free(&p->arena);
    g_string_free(p->tok, TRUE);
    g_free(p->vec);
    g_free(p->stack);
    g_free(p);
    *pp = NULL;
}

void
imap_parser_set_limits(struct imap_parser *p,
                       const struct imap_parser_limits *limits)
{
    parser_apply_limits(p, limits);
}

void
imap_parser_set_sink(struct imap_parser *p, imap_literal_sink_fn *fn, void *ctx)
{
    xassert(!(p->lit_streamed &&
              (p->state == ST_LITERAL_CR || p->state == ST_LITERAL_LF ||
               p->state == ST_LITERAL_DATA)));
    p->sink = fn;
    p->sink_ctx = ctx;
}

void
imap_parser_reset(struct imap_parser *p)
{
    p->sink = NULL;
    p->sink_ctx = NULL;
    parser_begin(p);
}

/* ---- errors and limits ---- */

/* Names a byte for an error message: 'x' if printable, else 0xNN. */
static const char *
byte_name(unsigned char c, char buf[8])
{
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "0x%02x", c);
    return buf;
}

/* Sets err (what went wrong and at which byte of the response), marks the
 * parser failed and returns IMAP_FEED_ERROR. */
static enum imap_feed_result parser_fail(struct imap_parser *p, struct err *err,
                                         enum err_kind kind, size_t at,
                                         const char *fmt, ...)
    ATTR_PRINTF(5, 6);

static enum imap_feed_result
parser_fail(struct imap_parser *p, struct err *err, enum err_kind kind,
            size_t at, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    err_set(err, kind, "IMAP response: %s at byte %zu", msg, p->off + at);
    p->state = ST_ERROR;
    return IMAP_FEED_ERROR;
}

/* Counts n more non-literal bytes of the response against max_line. */
static bool
line_take(struct imap_parser *p, size_t n)
{
    if (p->line_len > p->lim.max_line || n > p->lim.max_line - p->line_len)
        return false;
    p->line_len += n;
    return true;
}

/* ---- character classes (RFC 9051 §9) ---- */

/* A byte that continues an atom as is. Atoms end at SP, '(', ')' and the
 * line end; '[' opens a section. Leniency: 8-bit bytes, '{', '%', '*', '\'
 * and ']' are taken (flags, servers that send raw UTF-8); '"' and control
 * bytes are errors. */
static inline bool
is_atom_run(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '(' && c != ')' && c != '"' &&
           c != '[';
}

/* ATOM-CHAR, strictly: for status words, names and response codes. */
static inline bool
is_atom_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' &&
           c != '%' && c != '*' && c != '"' && c != '\\' && c != ']' &&
           c != '[';
}

/* tag = 1*<any ASTRING-CHAR except "+"> */
static inline bool
is_tag_char(unsigned char c)
{
    return c == ']' || (is_atom_char(c) && c != '+' && c != '[');
}

/* ---- building the tree ---- */

static void
vec_push(struct imap_parser *p, const struct imap_arg *a)
{
    if (p->vec_len == p->vec_cap) {
        p->vec_cap = p->vec_cap > 0 ? p->vec_cap * 2 : 64;
        p->vec = g_renew(struct imap_arg, p->vec, p->vec_cap);
    }
    p->vec[p->vec_len++] = *a;
}

/* Moves vec[start..] into the arena as one array. Every argument is moved
 * exactly once, when the list holding it closes: linear in the tokens. */
static struct imap_arg *
vec_take(struct imap_parser *p, size_t start, size_t *n_out)
{
    size_t n = p->vec_len - start;
    struct imap_arg *arr = NULL;

    if (n > 0) {
        arr = arena_alloc(p->arena, n * sizeof(*arr));
        memcpy(arr, p->vec + start, n * sizeof(*arr));
    }
    p->vec_len = start;
    *n_out = n;
    return arr;
}

static void
push_atom(struct imap_parser *p)
{
    struct imap_arg a = {0};

    if (p->tok->len == 3 && g_ascii_strncasecmp(p->tok->str, "NIL", 3) == 0) {
        a.type = IMAP_ARG_NIL;
    } else {
        a.type = IMAP_ARG_ATOM;
        a.str = arena_strndup(p->arena, p->tok->str, p->tok->len);
        a.len = p->tok->len;
    }
    vec_push(p, &a);
}

static void
push_string(struct imap_parser *p)
{
    struct imap_arg a = {.type = IMAP_ARG_STRING};

    a.str = arena_strndup(p->arena, p->tok->str, p->tok->len);
    a.len = p->tok->len;
    vec_push(p, &a);
}

static void
push_literal(struct imap_parser *p)
{
    struct imap_arg a = {0};

    a.len = (size_t)p->lit_len;
    if (p->lit_streamed) {
        a.type = IMAP_ARG_LITERAL_STREAMED;
    } else {
        a.type = IMAP_ARG_STRING;
        a.str = (const char *)p->lit_buf; /* NUL-terminated by arena_alloc */
    }
    vec_push(p, &a);
}

static char *
arena_upper(struct arena *a, const char *s, size_t n)
{
    char *u = arena_strndup(a, s, n);

    for (size_t i = 0; i < n; i++)
        u[i] = g_ascii_toupper(u[i]);
    return u;
}

static enum imap_status
status_from_word(const char *w, size_t n)
{
    static const struct {
        const char *name;
        enum imap_status st;
    } tab[] = {
        {"OK", IMAP_STATUS_OK},   {"NO", IMAP_STATUS_NO},
        {"BAD", IMAP_STATUS_BAD}, {"PREAUTH", IMAP_STATUS_PREAUTH},
        {"BYE", IMAP_STATUS_BYE},
    };

    for (size_t i = 0; i < N_ELEMENTS(tab); i++) {
        if (strlen(tab[i].name) == n &&
            g_ascii_strncasecmp(tab[i].name, w, n) == 0)
            return tab[i].st;
    }
    return IMAP_STATUS_NONE;
}

/* RFC 9051 §7.1: resp-text = ["[" resp-text-code "]" SP] [text]. A '['
 * that does not open a well-formed code (no ']' on the line, an empty or
 * non-atom code) is taken as plain text: the text is only for humans. The
 * code's arguments run to the first ']' outside a quoted string. */
static void
parse_resp_text(struct imap_parser *p)
{
    const char *s = p->tok->str;
    size_t n = p->tok->len, j = 1, k, after = 0;

    if (n == 0 || s[0] != '[')
        goto text;
    while (j < n && is_atom_char((unsigned char)s[j]))
        j++;
    if (j == 1 || j == n || (s[j] != ' ' && s[j] != ']'))
        goto text;
    if (s[j] == ']') {
        p->resp.code = arena_upper(p->arena, s + 1, j - 1);
        after = j + 1;
    } else {
        bool in_quote = false;

        for (k = j + 1; k < n; k++) {
            if (in_quote && s[k] == '\\' && k + 1 < n)
                k++;
            else if (s[k] == '"')
                in_quote = !in_quote;
            else if (!in_quote && s[k] == ']')
                break;
        }
        if (k == n)
            goto text;
        p->resp.code = arena_upper(p->arena, s + 1, j - 1);
        p->resp.code_args = arena_strndup(p->arena, s + j + 1, k - j - 1);
        after = k + 1;
    }
    if (after < n && s[after] == ' ')
        after++;
text:
    p->resp.text = arena_strndup(p->arena, s + after, n - after);
}

/* The line ended (its LF consumed): complete the tree. */
static void
parser_finish(struct imap_parser *p)
{
    if (p->resp.kind == IMAP_RESP_CONTINUE) {
        p->resp.text = arena_strndup(p->arena, p->tok->str, p->tok->len);
    } else if (p->resp.status != IMAP_STATUS_NONE) {
        parse_resp_text(p);
    } else {
        size_t n;

        xassert(p->depth == 0);
        p->resp.args = vec_take(p, 0, &n);
        p->resp.n_args = n;
    }
    p->state = ST_DONE;
}

/* ---- the state machine ---- */

/* The end of the word in p->tok, at data[i] = c (SP, CR or LF, not yet
 * consumed). Returns how many bytes it consumed (0 or 1), or -1 on error
 * with the parser failed. */
static int
word_end(struct imap_parser *p, unsigned char c, size_t i, struct err *err)
{
    const char *w = p->tok->str;
    size_t n = p->tok->len;
    bool eol = c != ' ';

    if (n == 0) {
        parser_fail(p, err, ERR_PROTO, i, "%s missing",
                    p->phase == W_TAGGED_STATUS ? "status" : "response name");
        return -1;
    }
    switch (p->phase) {
    case W_TAG:
        if (eol) {
            parser_fail(p, err, ERR_PROTO, i, "line ends after the tag");
            return -1;
        }
        p->resp.kind = IMAP_RESP_TAGGED;
        p->resp.tag = arena_strndup(p->arena, w, n);
        p->phase = W_TAGGED_STATUS;
        g_string_truncate(p->tok, 0);
        return 1;
    case W_TAGGED_STATUS:
        p->resp.status = status_from_word(w, n);
        if (p->resp.status != IMAP_STATUS_OK &&
            p->resp.status != IMAP_STATUS_NO &&
            p->resp.status != IMAP_STATUS_BAD) {
            parser_fail(p, err, ERR_PROTO, i,
                        "tagged response %s without OK, NO or BAD",
                        p->resp.tag);
            return -1;
        }
        break;
    case W_UNTAGGED_FIRST:
        if (w[0] >= '0' && w[0] <= '9') {
            uint64_t v = 0;

            for (size_t k = 0; k < n; k++) {
                unsigned d = (unsigned char)w[k] - (unsigned)'0';

                if (d > 9) {
                    parser_fail(p, err, ERR_PROTO, i,
                                "response name starts with a digit");
                    return -1;
                }
                v = v * 10 + d;
                if (v > UINT32_MAX) {
                    parser_fail(p, err, ERR_PROTO, i,
                                "message number over 2^32-1");
                    return -1;
                }
            }
            if (eol) {
                parser_fail(p, err, ERR_PROTO, i,
                            "number without a response name");
                return -1;
            }
            p->resp.has_number = true;
            p->resp.number = (uint32_t)v;
            p->phase = W_NAME;
            g_string_truncate(p->tok, 0);
            return 1;
        }
        p->resp.status = status_from_word(w, n);
        if (p->resp.status != IMAP_STATUS_NONE)
            break;
        p->resp.name = arena_upper(p->arena, w, n);
        p->state = ST_ARGS;
        return eol ? 0 : 1;
    case W_NAME:
        p->resp.name = arena_upper(p->arena, w, n);
        p->state = ST_ARGS;
        return eol ? 0 : 1;
    }
    /* a status: the rest of the line is resp-text */
    g_string_truncate(p->tok, 0);
    p->state = ST_TEXT;
    return eol ? 0 : 1;
}

/* '}' seen: checks the announced size before a byte of it is stored. */
static bool
literal_announced(struct imap_parser *p, size_t i, struct err *err)
{
#if SIZE_MAX < UINT64_MAX
    if (p->lit_len >= SIZE_MAX) {
        parser_fail(p, err, ERR_LIMIT, i, "literal of %" PRIu64 " bytes",
                    p->lit_len);
        return false;
    }
#endif
    if (p->lit_len <= p->lim.max_literal_mem) {
        if (p->lit_mem > p->lim.max_literal_total ||
            p->lit_len > p->lim.max_literal_total - p->lit_mem) {
            parser_fail(p, err, ERR_LIMIT, i,
                        "literals over %zu bytes in one response",
                        p->lim.max_literal_total);
            return false;
        }
        p->lit_mem += (size_t)p->lit_len;
        p->lit_streamed = false;
        return true;
    }
    if (p->sink == NULL) {
        parser_fail(p, err, ERR_LIMIT, i,
                    "literal of %" PRIu64 " bytes over %zu and no sink",
                    p->lit_len, p->lim.max_literal_mem);
        return false;
    }
    p->lit_streamed = true;
    return true;
}

/* The LF after "{n}" was consumed: the data starts (or is already over). */
static void
literal_begin(struct imap_parser *p)
{
    p->lit_left = p->lit_len;
    p->lit_buf = NULL;
    if (!p->lit_streamed)
        p->lit_buf = arena_alloc(p->arena, (size_t)p->lit_len + 1);
    if (p->lit_left > 0) {
        p->state = ST_LITERAL_DATA;
        return;
    }
    push_literal(p);
    p->state = ST_ARGS;
}

/* One step in ST_ARGS at data[i] = c. Returns the bytes consumed (0 when
 * the byte starts an atom and is left for ST_ATOM), or -1 on error. */
static ssize_t
args_step(struct imap_parser *p, const unsigned char *data, size_t len,
          size_t i, struct err *err)
{
    unsigned char c = data[i];
    char b[8];
    size_t j;

    /* Everything but spaces and the line end starts a token. */
    if (c != ' ' && c != ')' && c != '\r' && c != '\n' &&
        ++p->tokens > p->lim.max_tokens) {
        parser_fail(p, err, ERR_LIMIT, i, "more than %u tokens",
                    p->lim.max_tokens);
        return -1;
    }
    switch (c) {
    case ' ':
        /* Leniency: runs of spaces, and spaces before ')' or the line
         * end, as some servers put after the last SEARCH number. */
        for (j = i + 1; j < len && data[j] == ' '; j++)
            ;
        return (ssize_t)(j - i);
    case '(':
        if (p->depth >= p->lim.max_depth) {
            parser_fail(p, err, ERR_LIMIT, i, "lists nested deeper than %u",
                        p->lim.max_depth);
            return -1;
        }
        if (p->depth == p->stack_cap) {
            p->stack_cap = p->stack_cap > 0 ? p->stack_cap * 2 : 16;
            p->stack = g_renew(size_t, p->stack, p->stack_cap);
        }
        p->stack[p->depth++] = p->vec_len;
        return 1;
    case ')': {
        struct imap_arg a = {.type = IMAP_ARG_LIST};

        if (p->depth == 0) {
            parser_fail(p, err, ERR_PROTO, i, "')' without '('");
            return -1;
        }
        p->depth--;
        a.list = vec_take(p, p->stack[p->depth], &a.n);
        vec_push(p, &a);
        return 1;
    }
    case '"':
        g_string_truncate(p->tok, 0);
        p->state = ST_QUOTED;
        return 1;
    case '{':
        p->lit_len = 0;
        p->lit_digits = 0;
        p->lit_plus = false;
        p->state = ST_LITERAL_LEN;
        return 1;
    case '~':
        p->state = ST_TILDE;
        return 1;
    case '\r':
    case '\n':
        if (p->depth > 0) {
            parser_fail(p, err, ERR_PROTO, i,
                        "line ends inside %u open "
                        "list(s)",
                        p->depth);
            return -1;
        }
        if (c == '\r') {
            p->state = ST_EOL_LF;
            return 1;
        }
        parser_finish(p);
        return 1;
    default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
        parser_fail(p, err, ERR_PROTO, i, "unexpected byte %s",
                    byte_name(c, b));
        return -1;
    }
    g_string_truncate(p->tok, 0);
    p->state = ST_ATOM;
    return 0;
}

enum imap_feed_result
imap_parser_feed(struct imap_parser *p, const unsigned char *data, size_t len,
                 size_t *used_out, const struct imap_resp **resp_out,
                 struct err *err)
{
    size_t i = 0;
    char b[8];

    *used_out = 0;
    *resp_out = NULL;
    if (p->state == ST_ERROR) {
        err_set(err, ERR_INTERNAL,
                "IMAP parser used after an error "
                "without a reset");
        return IMAP_FEED_ERROR;
    }
    if (p->state == ST_DONE)
        parser_begin(p);

    while (i < len) {
        unsigned char c = data[i];
        size_t n = 1; /* bytes consumed by this step */
        bool literal = false;
        size_t j;

        switch (p->state) {
        case ST_START:
            if (c == '*') {
                p->resp.kind = IMAP_RESP_UNTAGGED;
                p->state = ST_STAR;
            } else if (c == '+') {
                p->resp.kind = IMAP_RESP_CONTINUE;
                p->state = ST_PLUS;
            } else if (is_tag_char(c)) {
                p->phase = W_TAG;
                p->state = ST_WORD;
                n = 0;
            } else {
                return parser_fail(p, err, ERR_PROTO, i,
                                   "response starts with %s, not a tag, "
                                   "'*' or '+'",
                                   byte_name(c, b));
            }
            break;

        case ST_STAR:
            if (c != ' ')
                return parser_fail(p, err, ERR_PROTO, i,
                                   "%s after '*' instead of a space",
                                   byte_name(c, b));
            p->phase = W_UNTAGGED_FIRST;
            p->state = ST_WORD;
            break;

        case ST_PLUS:
            /* RFC 9051 §7.5: "+" SP text; a bare "+" CRLF is common */
            g_string_truncate(p->tok, 0);
            p->state = ST_TEXT;
            if (c != ' ') {
                if (c != '\r' && c != '\n')
                    return parser_fail(p, err, ERR_PROTO, i,
                                       "%s after '+' instead of a space",
                                       byte_name(c, b));
                n = 0;
            }
            break;

        case ST_WORD: {
            bool tag = p->phase == W_TAG;
            int r;

            for (j = i; j < len; j++) {
                if (tag ? !is_tag_char(data[j]) : !is_atom_char(data[j]))
                    break;
            }
            if (j > i) {
                n = j - i;
                g_string_append_len(p->tok, (const char *)data + i, (gssize)n);
                break;
            }
            if (c != ' ' && c != '\r' && c != '\n')
                return parser_fail(p, err, ERR_PROTO, i, "%s in %s",
                                   byte_name(c, b),
                                   tag ? "the tag" : "the response name");
            r = word_end(p, c, i, err);
            if (r < 0)
                return IMAP_FEED_ERROR;
            n = (size_t)r;
            break;
        }

        case ST_TEXT:
            for (j = i; j < len; j++) {
                if (data[j] == '\r' || data[j] == '\n' || data[j] == '\0')
                    break;
            }
            if (j > i) {
                n = j - i;
                g_string_append_len(p->tok, (const char *)data + i, (gssize)n);
            } else if (c == '\0') {
                return parser_fail(p, err, ERR_PROTO, i, "NUL in text");
            } else if (c == '\r') {
                p->state = ST_EOL_LF;
            } else {
                parser_finish(p);
            }
            break;

        case ST_EOL_LF:
            if (c != '\n')
                return parser_fail(p, err, ERR_PROTO, i,
                                   "CR followed by %s, not LF",
                                   byte_name(c, b));
            parser_finish(p);
            break;

        case ST_ARGS: {
            ssize_t r = args_step(p, data, len, i, err);

            if (r < 0)
                return IMAP_FEED_ERROR;
            n = (size_t)r;
            break;
        }

        case ST_ATOM:
            for (j = i; j < len && is_atom_run(data[j]); j++)
                ;
            if (j > i) {
                n = j - i;
                g_string_append_len(p->tok, (const char *)data + i, (gssize)n);
            } else if (c == '[') {
                /* RFC 9051 §9 section: BODY[HEADER.FIELDS (FROM TO)]<0>
                 * and BINARY[1.2] are one token, spaces and all */
                g_string_append_c(p->tok, '[');
                p->brackets = 1;
                p->state = ST_ATOM_BRACKET;
            } else if (c == ' ' || c == '(' || c == ')' || c == '\r' ||
                       c == '\n') {
                push_atom(p);
                p->state = ST_ARGS;
                n = 0;
            } else {
                return parser_fail(p, err, ERR_PROTO, i, "%s in an atom",
                                   byte_name(c, b));
            }
            break;

        case ST_ATOM_BRACKET:
            for (j = i; j < len; j++) {
                unsigned char d = data[j];

                if (d == '[' || d == ']' || d < 0x20 || d == 0x7f)
                    break;
            }
            if (j > i) {
                n = j - i;
                g_string_append_len(p->tok, (const char *)data + i, (gssize)n);
                break;
            }
            if (c != '[' && c != ']')
                return parser_fail(p, err, ERR_PROTO, i,
                                   "%s inside '[' ']' of an atom",
                                   byte_name(c, b));
            g_string_append_c(p->tok, (char)c);
            if (c == '[') {
                p->brackets++;
            } else if (--p->brackets == 0) {
                p->state = ST_ATOM;
            }
            break;

        case ST_QUOTED:
            for (j = i; j < len; j++) {
                unsigned char d = data[j];

                if (d == '"' || d == '\\' || d == '\r' || d == '\n' ||
                    d == '\0')
                    break;
            }
            if (j > i) {
                n = j - i;
                g_string_append_len(p->tok, (const char *)data + i, (gssize)n);
            } else if (c == '"') {
                push_string(p);
                p->state = ST_ARGS;
            } else if (c == '\\') {
                p->state = ST_QUOTED_ESC;
            } else {
                return parser_fail(p, err, ERR_PROTO, i,
                                   "%s inside a quoted string",
                                   c == '\0' ? "NUL" : "line end");
            }
            break;

        case ST_QUOTED_ESC:
            /* RFC 9051 §9: only quoted-specials may be escaped */
            if (c != '"' && c != '\\')
                return parser_fail(p, err, ERR_PROTO, i,
                                   "'\\' followed by %s in a quoted string",
                                   byte_name(c, b));
            g_string_append_c(p->tok, (char)c);
            p->state = ST_QUOTED;
            break;

        case ST_TILDE:
            if (c == '{') { /* RFC 9051 §4.3: literal8 */
                p->lit_len = 0;
                p->lit_digits = 0;
                p->lit_plus = false;
                p->state = ST_LITERAL_LEN;
            } else {
                g_string_truncate(p->tok, 0);
                g_string_append_c(p->tok, '~');
                p->state = ST_ATOM;
                n = 0;
            }
            break;

        case ST_LITERAL_LEN: /* RFC 9051 §4.3: "{" number64 ["+"] "}" */
            if (c >= '0' && c <= '9' && !p->lit_plus) {
                uint64_t d = (uint64_t)(c - '0');

                if (p->lit_len > (UINT64_MAX - d) / 10)
                    return parser_fail(p, err, ERR_PROTO, i,
                                       "literal length overflow");
                p->lit_len = p->lit_len * 10 + d;
                p->lit_digits++;
            } else if (c == '+' && !p->lit_plus && p->lit_digits > 0) {
                p->lit_plus = true;
            } else if (c == '}' && p->lit_digits > 0) {
                if (!literal_announced(p, i, err))
                    return IMAP_FEED_ERROR;
                p->state = ST_LITERAL_CR;
            } else {
                return parser_fail(p, err, ERR_PROTO, i,
                                   "%s in a literal length", byte_name(c, b));
            }
            break;

        case ST_LITERAL_CR:
            if (c == '\r') {
                p->state = ST_LITERAL_LF;
            } else if (c == '\n') { /* bare LF leniency, as at line ends */
                literal_begin(p);
            } else {
                return parser_fail(p, err, ERR_PROTO, i,
                                   "%s after a literal length, not CRLF",
                                   byte_name(c, b));
            }
            break;

        case ST_LITERAL_LF:
            if (c != '\n')
                return parser_fail(p, err, ERR_PROTO, i,
                                   "CR followed by %s after a literal "
                                   "length",
                                   byte_name(c, b));
            literal_begin(p);
            break;

        case ST_LITERAL_DATA: { /* literal_begin made lit_left >= 1 */
            uint64_t left = p->lit_left;

            n = len - i;
            if (n > left)
                n = (size_t)left;
            literal = true;
            if (p->lit_streamed) {
                if (p->sink(p->sink_ctx, data + i, n) < 0) {
                    err_set(err, ERR_ABORTED,
                            "IMAP literal sink stopped "
                            "at byte %zu of the response",
                            p->off + i);
                    p->state = ST_ERROR;
                    return IMAP_FEED_ERROR;
                }
            } else {
                memcpy(p->lit_buf + (p->lit_len - left), data + i, n);
            }
            p->lit_left -= n;
            if (p->lit_left == 0) {
                push_literal(p);
                p->state = ST_ARGS;
            }
            break;
        }

        case ST_DONE:
        case ST_ERROR:
            xassert_unreached();
        }

        if (!literal && !line_take(p, n))
            return parser_fail(p, err, ERR_LIMIT, i,
                               "response longer than %zu bytes",
                               p->lim.max_line);
        i += n;
        if (p->state == ST_DONE) {
            *used_out = i;
            *resp_out = &p->resp;
            return IMAP_FEED_RESPONSE;
        }
    }
    p->off += len;
    *used_out = len;
    return IMAP_FEED_MORE;
}

uint64_t
imap_parser_sink_left(const struct imap_parser *p, uint64_t *size_out)
{
    bool in = p->state == ST_LITERAL_DATA && p->lit_streamed;

    if (size_out != NULL)
        *size_out = in ? p->lit_len : 0;
    return in ? p->lit_left : 0;
}

void
imap_parser_skip(struct imap_parser *p, size_t n)
{
    xassert(p->state == ST_LITERAL_DATA && p->lit_streamed &&
            n <= p->lit_left);
    p->lit_left -= n;
    p->off += n;
    if (p->lit_left == 0) {
        push_literal(p);
        p->state = ST_ARGS;
    }
}
