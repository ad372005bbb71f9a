/* pop3_conn.c - the POP3 connection over net_conn: greeting, STLS, CAPA,
 * login, maildrop commands, streamed RETR. The only pop3 file doing I/O.
 * Layer: pop3. Trust: the server is UNTRUSTED; parser and decoder cap it. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/limits.h"
#include "net/net_conn.h"
#include "pop3/pop3_conn.h"
#include "pop3/pop3_dot.h"
#include "pop3/pop3_parser.h"

#define POP3_CONN_INBUF (16u * 1024)
#define POP3_CMD_MAX 255u          /* RFC 2449 §4, CRLF included */
#define POP3_TIMESTAMP_MAX 255u
#define POP3_LIST_MAX 1000000u     /* entries in one LIST or UIDL */
#define POP3_CAPA_MAX (64u * 1024) /* a CAPA reply, all lines */

struct pop3_conn {
    struct net_conn *net;
    struct pop3_parser *parser;
    unsigned char in[POP3_CONN_INBUF];
    size_t in_start, in_end;
    int64_t io_timeout_us;
    int64_t command_timeout_us; /* 0: none */
    unsigned caps;
    bool broken;
    bool allow_apop;
    enum pop3_auth auth;
    uint64_t max_message;
    char timestamp[POP3_TIMESTAMP_MAX + 1]; /* "<...>" or "" */
    char last_code[32];
    /* a RETR being streamed */
    bool streaming, stream_done;
    struct pop3_dot dot;
};

/* ---- reading and writing ---- */

static int64_t
pop3_conn_deadline(const struct pop3_conn *c)
{
    return g_get_monotonic_time() + c->io_timeout_us;
}

static int
pop3_conn_fail(struct pop3_conn *c)
{
    c->broken = true;
    return -1;
}

/* Refills the empty input buffer with one read. */
static int
pop3_conn_fill(struct pop3_conn *c, struct err *err)
{
    ssize_t n;

    xassert(c->in_start == c->in_end);
    c->in_start = c->in_end = 0;
    n = net_conn_read(c->net, c->in, sizeof(c->in), pop3_conn_deadline(c),
                      err);
    if (n < 0)
        return pop3_conn_fail(c);
    c->in_end = (size_t)n;
    return 0;
}

/* Reads one status line. The reply stays valid until the next read. */
static int
pop3_conn_status(struct pop3_conn *c, struct pop3_reply *r, struct err *err)
{
    for (;;) {
        if (c->in_end > c->in_start) {
            size_t used = 0;
            enum pop3_feed_result res;

            res = pop3_parser_feed(c->parser, c->in + c->in_start,
                                   c->in_end - c->in_start, &used, r, err);
            c->in_start += used;
            if (res == POP3_FEED_ERROR) {
                /* a line over the cap is the server's failure (502) */
                err_peer_limit(err, net_conn_peer(c->net));
                return pop3_conn_fail(c);
            }
            if (res == POP3_FEED_LINE)
                return 0;
        }
        if (pop3_conn_fill(c, err) < 0)
            return -1;
    }
}

/* Decodes the next bytes of a multi-line body into out (at most max).
 * *n_out may be 0 with *done_out false only when no input was buffered
 * and a read is needed: the loop here does that read. */
static int
pop3_conn_body(struct pop3_conn *c, unsigned char *out, size_t max,
               size_t *n_out, bool *done_out, struct err *err)
{
    for (;;) {
        size_t avail = c->in_end - c->in_start, used;

        if (avail > 0) {
            if (avail > max)
                avail = max;
            if (pop3_dot_decode(&c->dot, c->in + c->in_start, avail, out,
                                n_out, &used, done_out, err) < 0)
                return pop3_conn_fail(c);
            c->in_start += used;
            if (*n_out > 0 || *done_out)
                return 0;
            continue;
        }
        if (pop3_conn_fill(c, err) < 0)
            return -1;
    }
}

static int
pop3_conn_send(struct pop3_conn *c, const void *data, size_t len,
               struct err *err)
{
    if (net_conn_write_all(c->net, data, len, pop3_conn_deadline(c), err) < 0)
        return pop3_conn_fail(c);
    return 0;
}

int
pop3_conn_cmd_build(GString *out, const char *verb, const char *const *args,
                    size_t n_args, struct err *err)
{
    size_t start = out->len;

    for (size_t i = 0; i <= n_args; i++) {
        const char *s = i == 0 ? verb : args[i - 1];

        if (strpbrk(s, "\r\n") != NULL) {
            err_set(err, ERR_INPUT, "CR or LF in a POP3 %s argument", verb);
            g_string_truncate(out, start);
            return -1;
        }
        if (i > 0)
            g_string_append_c(out, ' ');
        g_string_append(out, s);
    }
    g_string_append(out, "\r\n");
    if (out->len - start > POP3_CMD_MAX) {
        err_set(err, ERR_INPUT, "POP3 %s command over %u bytes", verb,
                POP3_CMD_MAX);
        OPENSSL_cleanse(out->str + start, out->len - start);
        g_string_truncate(out, start);
        return -1;
    }
    return 0;
}

/* Keeps the RFC 2449 code of a -ERR for pop3_conn_last_code(). */
static void
pop3_conn_note(struct pop3_conn *c, const struct pop3_reply *r)
{
    g_strlcpy(c->last_code, r->status == POP3_STATUS_ERR ? r->code : "",
              sizeof(c->last_code));
}

/* Sends a command built from verb and args, reads the status line.
 * 0 on +OK (reply in *r), -1: ERR_REFUSED on -ERR ("VERB: text"), ERR_PROTO
 * on a continuation. Arguments are never put in err (one may be a
 * password). */
static int
pop3_conn_cmd(struct pop3_conn *c, const char *verb, const char *const *args,
              size_t n_args, struct pop3_reply *r, struct err *err)
{
    GString *line;
    int rc;

    xassert(!c->streaming);
    if (c->broken) {
        err_set(err, ERR_CONN, "POP3 connection already failed");
        return -1;
    }
    line = g_string_sized_new(64);
    if (pop3_conn_cmd_build(line, verb, args, n_args, err) < 0) {
        g_string_free(line, TRUE);
        return -1;
    }
    /* the command and its whole reply: command_timeout */
    net_conn_limit_total(c->net, c->command_timeout_us);
    rc = pop3_conn_send(c, line->str, line->len, err);
    OPENSSL_cleanse(line->str, line->len);
    g_string_free(line, TRUE);
    if (rc < 0 || pop3_conn_status(c, r, err) < 0)
        return -1;
    pop3_conn_note(c, r);
    if (r->status == POP3_STATUS_ERR) {
        err_set(err, ERR_REFUSED, "POP3 %s refused: %s%s%s", verb, r->code,
                r->code[0] != '\0' ? " " : "", r->text);
        return -1;
    }
    if (r->status == POP3_STATUS_CONT) {
        err_set(err, ERR_PROTO, "POP3 %s: unexpected continuation", verb);
        return pop3_conn_fail(c);
    }
    return 0;
}

static int
pop3_conn_simple(struct pop3_conn *c, const char *verb, struct err *err)
{
    struct pop3_reply r;

    return pop3_conn_cmd(c, verb, NULL, 0, &r, err);
}

/* ---- multi-line replies read line by line ---- */

typedef int pop3_line_fn(void *ctx, char *line, size_t len, struct err *err);

/* Reads a multi-line body after +OK and passes each line, without its
 * CRLF and NUL-terminated, to fn. Lines are capped at LIM_POP3_LINE, the
 * whole body at max. */
static int
pop3_conn_lines(struct pop3_conn *c, uint64_t max, pop3_line_fn *fn,
                void *ctx, struct err *err)
{
    GString *line = g_string_sized_new(128);
    unsigned char buf[4096];
    bool done = false;
    int rc = -1;

    pop3_dot_init(&c->dot, max);
    while (!done) {
        size_t n;

        if (pop3_conn_body(c, buf, sizeof(buf), &n, &done, err) < 0)
            goto out;
        for (size_t i = 0; i < n; i++) {
            if (buf[i] != '\n') {
                if (line->len + 1 >= LIM_POP3_LINE) {
                    err_set(err, ERR_PROTO, "%s: POP3 list line over %u "
                            "bytes", net_conn_peer(c->net), LIM_POP3_LINE);
                    pop3_conn_fail(c);
                    goto out;
                }
                g_string_append_c(line, (char)buf[i]);
                continue;
            }
            if (line->len > 0 && line->str[line->len - 1] == '\r')
                g_string_truncate(line, line->len - 1);
            if (memchr(line->str, '\0', line->len) != NULL) {
                err_set(err, ERR_PROTO, "NUL in a POP3 list line");
                pop3_conn_fail(c);
                goto out;
            }
            if (fn(ctx, line->str, line->len, err) < 0) {
                pop3_conn_fail(c);
                goto out;
            }
            g_string_truncate(line, 0);
        }
    }
    if (line->len > 0) {
        err_set(err, ERR_PROTO, "POP3 list ends inside a line");
        pop3_conn_fail(c);
        goto out;
    }
    rc = 0;
out:
    g_string_free(line, TRUE);
    return rc;
}

/* "N" as a message number: 1..UINT_MAX, digits only. */
static bool
pop3_conn_parse_uint(const char *s, const char **end_out, uint64_t max,
                     uint64_t *v_out)
{
    uint64_t v = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9') {
        if (v > (max - (uint64_t)(*p - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == s)
        return false;
    *end_out = p;
    *v_out = v;
    return true;
}

/* ---- CAPA ---- */

static int
pop3_conn_capa_line(void *ctx, char *line, size_t len, struct err *err)
{
    struct pop3_conn *c = ctx;
    gchar **words;

    (void)len;
    (void)err;
    words = g_strsplit(line, " ", 0);
    if (words[0] == NULL) {
        g_strfreev(words);
        return 0;
    }
    if (g_ascii_strcasecmp(words[0], "STLS") == 0)
        c->caps |= POP3_CAP_STLS;
    else if (g_ascii_strcasecmp(words[0], "TOP") == 0)
        c->caps |= POP3_CAP_TOP;
    else if (g_ascii_strcasecmp(words[0], "UIDL") == 0)
        c->caps |= POP3_CAP_UIDL;
    else if (g_ascii_strcasecmp(words[0], "USER") == 0)
        c->caps |= POP3_CAP_USER;
    else if (g_ascii_strcasecmp(words[0], "RESP-CODES") == 0)
        c->caps |= POP3_CAP_RESP_CODES;
    else if (g_ascii_strcasecmp(words[0], "PIPELINING") == 0)
        c->caps |= POP3_CAP_PIPELINING;
    else if (g_ascii_strcasecmp(words[0], "SASL") == 0) {
        for (size_t i = 1; words[i] != NULL; i++) {
            if (g_ascii_strcasecmp(words[i], "PLAIN") == 0)
                c->caps |= POP3_CAP_SASL_PLAIN;
        }
    }
    g_strfreev(words);
    return 0;
}

/* RFC 2449 §5: a server without CAPA answers -ERR; that is fine. */
static int
pop3_conn_capa(struct pop3_conn *c, struct err *err)
{
    struct pop3_reply r;
    struct err e2 = {0};

    c->caps = 0;
    if (pop3_conn_cmd(c, "CAPA", NULL, 0, &r, &e2) < 0) {
        if (e2.kind == ERR_REFUSED)
            return 0;
        *err = e2;
        return -1;
    }
    c->caps = POP3_CAP_KNOWN;
    return pop3_conn_lines(c, POP3_CAPA_MAX, pop3_conn_capa_line, c, err);
}

/* ---- opening ---- */

/* RFC 1939 §7: the greeting may carry a msg-id "<...>" for APOP. */
static void
pop3_conn_keep_timestamp(struct pop3_conn *c, const char *text)
{
    const char *lt = strchr(text, '<'), *gt;
    size_t n;

    c->timestamp[0] = '\0';
    if (lt == NULL)
        return;
    gt = strchr(lt, '>');
    if (gt == NULL)
        return;
    n = (size_t)(gt - lt) + 1;
    if (n < 3 || n > POP3_TIMESTAMP_MAX)
        return;
    for (size_t i = 1; i + 1 < n; i++) {
        if (lt[i] < 0x21 || lt[i] > 0x7e || lt[i] == '<')
            return;
    }
    memcpy(c->timestamp, lt, n);
    c->timestamp[n] = '\0';
}

static int
pop3_conn_greeting(struct pop3_conn *c, struct err *err)
{
    struct pop3_reply r;

    if (pop3_conn_status(c, &r, err) < 0)
        return -1;
    if (r.status != POP3_STATUS_OK) {
        err_set(err, r.status == POP3_STATUS_ERR ? ERR_REFUSED : ERR_PROTO,
                "POP3 greeting: %s", r.status == POP3_STATUS_ERR
                                         ? r.text
                                         : "not a POP3 server");
        return pop3_conn_fail(c);
    }
    pop3_conn_keep_timestamp(c, r.text);
    return 0;
}

static int
pop3_conn_stls(struct pop3_conn *c, const struct pop3_conn_opts *o,
               struct err *err)
{
    struct net_tls_opts tls = {.ca_file = o->ca_file, .verify_host = o->host};

    if (!(c->caps & POP3_CAP_STLS)) {
        err_set(err, ERR_CONN, "%s:%u does not offer STLS, and tls = "
                "starttls requires it", o->host, o->port);
        return pop3_conn_fail(c);
    }
    if (pop3_conn_simple(c, "STLS", err) < 0)
        return -1;
    /* Bytes after +OK and before the handshake would pass as if they had
     * come over TLS (CVE-2011-0411). */
    if (c->in_end > c->in_start) {
        err_set(err, ERR_PROTO, "data after STLS reply: possible "
                "injection, refusing");
        return pop3_conn_fail(c);
    }
    if (net_conn_start_tls(c->net, &tls, pop3_conn_deadline(c), err) < 0)
        return pop3_conn_fail(c);
    /* RFC 2595 §4: forget what was said before TLS; the greeting's
     * timestamp stays (there is no new greeting) */
    return pop3_conn_capa(c, err);
}

struct pop3_conn *
pop3_conn_open(const struct pop3_conn_opts *o, struct err *err)
{
    struct pop3_conn *c = g_new0(struct pop3_conn, 1);
    int64_t deadline = g_get_monotonic_time() +
                       (int64_t)o->connect_timeout * G_USEC_PER_SEC;

    c->io_timeout_us = (int64_t)o->io_timeout * G_USEC_PER_SEC;
    c->command_timeout_us = (int64_t)o->command_timeout * G_USEC_PER_SEC;
    c->allow_apop = o->allow_apop;
    c->auth = o->auth;
    c->max_message = o->max_message != 0 ? o->max_message : UINT64_MAX;
    c->parser = pop3_parser_new(LIM_POP3_LINE);
    c->net = net_conn_connect(o->host, o->port, deadline, err);
    if (c->net == NULL)
        goto fail;
    net_conn_limit_total(c->net, c->command_timeout_us); /* the greeting */
    if (o->tls == CFG_TLS_IMPLICIT) {
        struct net_tls_opts tls = {.ca_file = o->ca_file,
                                   .verify_host = o->host};

        if (net_conn_start_tls(c->net, &tls, deadline, err) < 0)
            goto fail;
    }
    if (pop3_conn_greeting(c, err) < 0 || pop3_conn_capa(c, err) < 0)
        goto fail;
    if (o->tls == CFG_TLS_STARTTLS && pop3_conn_stls(c, o, err) < 0)
        goto fail;
    return c;
fail:
    c->broken = true;
    pop3_conn_close(&c);
    return NULL;
}

/* ---- login ---- */

static int
pop3_conn_auth_plain(struct pop3_conn *c, const char *user,
                     const char *password, struct err *err)
{
    static const char *const plain[] = {"PLAIN"};
    size_t ulen = strlen(user), plen = strlen(password);
    size_t rawlen = ulen + plen + 2;
    unsigned char *raw = g_malloc(rawlen);
    struct pop3_reply r;
    GString *line = g_string_sized_new(64);
    gchar *b64;
    int rc = -1;

    /* RFC 4616: authzid NUL authcid NUL passwd, authzid empty */
    raw[0] = '\0';
    memcpy(raw + 1, user, ulen);
    raw[1 + ulen] = '\0';
    memcpy(raw + 2 + ulen, password, plen);
    b64 = g_base64_encode(raw, rawlen);
    OPENSSL_cleanse(raw, rawlen);
    g_free(raw);

    /* one limit for the whole exchange, continuation and all */
    net_conn_limit_total(c->net, c->command_timeout_us);
    if (pop3_conn_cmd_build(line, "AUTH", plain, 1, err) < 0 ||
        pop3_conn_send(c, line->str, line->len, err) < 0 ||
        pop3_conn_status(c, &r, err) < 0)
        goto out;
    if (r.status != POP3_STATUS_CONT) {
        pop3_conn_note(c, &r);
        if (r.status == POP3_STATUS_OK) {
            err_set(err, ERR_PROTO, "POP3 AUTH: +OK without a challenge");
            pop3_conn_fail(c);
        } else {
            err_set(err, ERR_REFUSED, "POP3 AUTH refused: %s%s%s", r.code,
                    r.code[0] != '\0' ? " " : "", r.text);
        }
        goto out;
    }
    /* RFC 5034 §4: the PLAIN challenge is empty; the base64 alphabet has
     * no CR or LF, so this line needs no checking */
    g_string_assign(line, b64);
    g_string_append(line, "\r\n");
    rc = pop3_conn_send(c, line->str, line->len, err);
    OPENSSL_cleanse(line->str, line->len);
    if (rc < 0 || pop3_conn_status(c, &r, err) < 0) {
        rc = -1;
        goto out;
    }
    pop3_conn_note(c, &r);
    rc = -1;
    if (r.status == POP3_STATUS_CONT) {
        err_set(err, ERR_PROTO, "POP3 AUTH PLAIN: a second challenge");
        pop3_conn_fail(c);
    } else if (r.status == POP3_STATUS_ERR) {
        err_set(err, ERR_REFUSED, "POP3 AUTH refused: %s%s%s", r.code,
                r.code[0] != '\0' ? " " : "", r.text);
    } else {
        rc = 0;
    }
out:
    if (rc < 0)
        err_redact(err, b64, strlen(b64)); /* a server that echoes it */
    OPENSSL_cleanse(b64, strlen(b64));
    g_free(b64);
    g_string_free(line, TRUE);
    return rc;
}

/* RFC 1939 §7: digest = MD5(timestamp password) in lower-case hex. */
static int
pop3_conn_apop(struct pop3_conn *c, const char *user, const char *password,
               struct err *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    const char *args[2] = {user, hex};
    struct pop3_reply r;
    int ok;

    ok = md != NULL && EVP_DigestInit_ex(md, EVP_md5(), NULL) == 1 &&
         EVP_DigestUpdate(md, c->timestamp, strlen(c->timestamp)) == 1 &&
         EVP_DigestUpdate(md, password, strlen(password)) == 1 &&
         EVP_DigestFinal_ex(md, dig, &dlen) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        err_set(err, ERR_INTERNAL, "APOP: MD5 is not available");
        return -1;
    }
    for (unsigned i = 0; i < dlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    OPENSSL_cleanse(dig, sizeof(dig));
    ok = pop3_conn_cmd(c, "APOP", args, 2, &r, err);
    OPENSSL_cleanse(hex, sizeof(hex));
    return ok;
}

static int
pop3_conn_user_pass(struct pop3_conn *c, const char *user,
                    const char *password, struct err *err)
{
    struct pop3_reply r;

    if (pop3_conn_cmd(c, "USER", &user, 1, &r, err) < 0)
        return -1;
    return pop3_conn_cmd(c, "PASS", &password, 1, &r, err);
}

int
pop3_conn_login(struct pop3_conn *c, const char *user, const char *password,
                struct err *err)
{
    int rc;

    if (strpbrk(user, "\r\n") != NULL || strpbrk(password, "\r\n") != NULL) {
        err_set(err, ERR_INPUT, "CR or LF in the POP3 user name or password");
        return -1;
    }
    switch (c->auth) {
    case POP3_AUTH_AUTO:
        if (c->caps & POP3_CAP_SASL_PLAIN)
            rc = pop3_conn_auth_plain(c, user, password, err);
        else if (c->allow_apop && c->timestamp[0] != '\0')
            rc = pop3_conn_apop(c, user, password, err);
        else
            rc = pop3_conn_user_pass(c, user, password, err);
        break;
    case POP3_AUTH_PLAIN:
        rc = pop3_conn_auth_plain(c, user, password, err);
        break;
    case POP3_AUTH_APOP:
        if (c->timestamp[0] == '\0') {
            err_set(err, ERR_UNSUPPORTED, "APOP: the greeting has no "
                    "timestamp");
            return -1;
        }
        rc = pop3_conn_apop(c, user, password, err);
        break;
    case POP3_AUTH_USER:
        rc = pop3_conn_user_pass(c, user, password, err);
        break;
    default:
        xassert_unreached();
    }
    if (rc < 0)
        err_redact(err, password, strlen(password)); /* echoed back */
    if (rc < 0 && err->kind == ERR_REFUSED) {
        /* RFC 2449 §8.1 IN-USE, RFC 3206 SYS/...: not the credentials */
        if (strcmp(c->last_code, "IN-USE") != 0 &&
            strncmp(c->last_code, "SYS/", 4) != 0 &&
            strcmp(c->last_code, "SYS") != 0)
            err->kind = ERR_AUTH;
    }
    return rc;
}

/* ---- maildrop commands ---- */

int
pop3_conn_stat(struct pop3_conn *c, unsigned *count_out, uint64_t *size_out,
               struct err *err)
{
    struct pop3_reply r;
    const char *p;
    uint64_t count, size;

    if (pop3_conn_cmd(c, "STAT", NULL, 0, &r, err) < 0)
        return -1;
    /* RFC 1939 §5: "+OK nn mm" */
    if (!pop3_conn_parse_uint(r.text, &p, UINT32_MAX, &count) || *p != ' ' ||
        !pop3_conn_parse_uint(p + 1, &p, UINT64_MAX, &size) ||
        (*p != '\0' && *p != ' ')) {
        err_set(err, ERR_PROTO, "POP3 STAT: bad reply");
        return pop3_conn_fail(c);
    }
    *count_out = (unsigned)count;
    *size_out = size;
    return 0;
}

static int
pop3_conn_list_line(void *ctx, char *line, size_t len, struct err *err)
{
    GArray *a = ctx;
    struct pop3_list_entry e;
    const char *p;
    uint64_t msg;

    (void)len;
    if (a->len >= POP3_LIST_MAX) {
        err_set(err, ERR_LIMIT, "POP3 LIST over %u entries", POP3_LIST_MAX);
        return -1;
    }
    if (!pop3_conn_parse_uint(line, &p, UINT32_MAX, &msg) || msg == 0 ||
        *p != ' ' || !pop3_conn_parse_uint(p + 1, &p, UINT64_MAX, &e.size) ||
        (*p != '\0' && *p != ' ')) {
        err_set(err, ERR_PROTO, "POP3 LIST: bad line");
        return -1;
    }
    e.msg = (unsigned)msg;
    g_array_append_val(a, e);
    return 0;
}

GArray *
pop3_conn_list(struct pop3_conn *c, struct err *err)
{
    struct pop3_reply r;
    GArray *a;

    if (pop3_conn_cmd(c, "LIST", NULL, 0, &r, err) < 0)
        return NULL;
    a = g_array_new(FALSE, FALSE, sizeof(struct pop3_list_entry));
    if (pop3_conn_lines(c, UINT64_MAX, pop3_conn_list_line, a, err) < 0) {
        g_array_unref(a);
        return NULL;
    }
    return a;
}

static int
pop3_conn_uidl_line(void *ctx, char *line, size_t len, struct err *err)
{
    GArray *a = ctx;
    struct pop3_uidl_entry e;
    const char *p;
    uint64_t msg;
    size_t ulen;

    (void)len;
    if (a->len >= POP3_LIST_MAX) {
        err_set(err, ERR_LIMIT, "POP3 UIDL over %u entries", POP3_LIST_MAX);
        return -1;
    }
    if (!pop3_conn_parse_uint(line, &p, UINT32_MAX, &msg) || msg == 0 ||
        *p != ' ') {
        err_set(err, ERR_PROTO, "POP3 UIDL: bad line");
        return -1;
    }
    p++;
    /* RFC 1939 §7: unique-id is 1 to 70 characters in 0x21..0x7E */
    ulen = strlen(p);
    if (ulen == 0 || ulen > 70) {
        err_set(err, ERR_PROTO, "POP3 UIDL: unique-id of %zu characters",
                ulen);
        return -1;
    }
    for (size_t i = 0; i < ulen; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e) {
            err_set(err, ERR_PROTO, "POP3 UIDL: bad character in "
                    "unique-id");
            return -1;
        }
    }
    e.msg = (unsigned)msg;
    memcpy(e.uid, p, ulen + 1);
    g_array_append_val(a, e);
    return 0;
}

GArray *
pop3_conn_uidl(struct pop3_conn *c, struct err *err)
{
    struct pop3_reply r;
    GArray *a;

    if (pop3_conn_cmd(c, "UIDL", NULL, 0, &r, err) < 0)
        return NULL;
    a = g_array_new(FALSE, FALSE, sizeof(struct pop3_uidl_entry));
    if (pop3_conn_lines(c, UINT64_MAX, pop3_conn_uidl_line, a, err) < 0) {
        g_array_unref(a);
        return NULL;
    }
    return a;
}

static int
pop3_conn_msg_arg(unsigned msg, char *buf, size_t size, struct err *err)
{
    if (msg == 0) {
        err_set(err, ERR_INPUT, "POP3 message number 0");
        return -1;
    }
    snprintf(buf, size, "%u", msg);
    return 0;
}

int
pop3_conn_top(struct pop3_conn *c, unsigned msg, GString *out, size_t max,
              bool *truncated, struct err *err)
{
    char num[16];
    const char *args[2] = {num, "0"};
    struct pop3_reply r;
    unsigned char buf[4096];
    bool done = false;
    size_t kept = 0;

    if (truncated != NULL)
        *truncated = false;
    if (max == 0)
        max = (size_t)MIN(c->max_message, SIZE_MAX);
    if (pop3_conn_msg_arg(msg, num, sizeof(num), err) < 0 ||
        pop3_conn_cmd(c, "TOP", args, 2, &r, err) < 0)
        return -1;
    /* read to the end whatever is kept, so the connection goes on */
    pop3_dot_init(&c->dot, truncated != NULL ? c->max_message : max);
    while (!done) {
        size_t n, take;

        if (pop3_conn_body(c, buf, sizeof(buf), &n, &done, err) < 0)
            return -1;
        take = MIN(n, max - kept);
        g_string_append_len(out, (const char *)buf, (gssize)take);
        kept += take;
        if (take < n && truncated != NULL) /* else the decoder failed */
            *truncated = true;
    }
    return 0;
}

int
pop3_conn_retr_begin(struct pop3_conn *c, unsigned msg, uint64_t cap,
                     struct err *err)
{
    char num[16];
    const char *args[1] = {num};
    struct pop3_reply r;

    if (pop3_conn_msg_arg(msg, num, sizeof(num), err) < 0 ||
        pop3_conn_cmd(c, "RETR", args, 1, &r, err) < 0)
        return -1;
    pop3_dot_init(&c->dot, cap != 0 ? cap : c->max_message);
    c->streaming = true;
    c->stream_done = false;
    return 0;
}

void
pop3_conn_retr_paced(struct pop3_conn *c)
{
    if (c->streaming) /* else it ended already */
        net_conn_limit_paced(c->net, c->command_timeout_us,
                             LIM_PACED_FLOOR);
}

ssize_t
pop3_conn_retr_read(struct pop3_conn *c, void *buf, size_t max,
                    struct err *err)
{
    size_t n = 0;
    bool done = false;

    xassert(c->streaming && max > 0);
    if (c->stream_done) {
        c->streaming = false;
        return 0;
    }
    if (pop3_conn_body(c, buf, max, &n, &done, err) < 0) {
        c->streaming = false;
        return -1;
    }
    if (done) {
        /* the terminator may come with the last bytes: those go out
         * first, the next call returns 0 */
        c->stream_done = true;
        if (n == 0)
            c->streaming = false;
    }
    return (ssize_t)n;
}

int
pop3_conn_dele(struct pop3_conn *c, unsigned msg, struct err *err)
{
    char num[16];
    const char *args[1] = {num};
    struct pop3_reply r;

    if (pop3_conn_msg_arg(msg, num, sizeof(num), err) < 0)
        return -1;
    return pop3_conn_cmd(c, "DELE", args, 1, &r, err);
}

int
pop3_conn_rset(struct pop3_conn *c, struct err *err)
{
    return pop3_conn_simple(c, "RSET", err);
}

int
pop3_conn_noop(struct pop3_conn *c, struct err *err)
{
    return pop3_conn_simple(c, "NOOP", err);
}

bool
pop3_conn_quit(struct pop3_conn **cp, struct err *err)
{
    struct pop3_conn *c = *cp;
    bool ok;

    if (c == NULL)
        return false;
    if (c->streaming) {
        err_set(err, ERR_CONN, "POP3 QUIT during a RETR stream");
        ok = false;
    } else {
        ok = pop3_conn_simple(c, "QUIT", err) == 0;
    }
    pop3_conn_close(cp);
    return ok;
}

void
pop3_conn_close(struct pop3_conn **cp)
{
    struct pop3_conn *c = *cp;

    if (c == NULL)
        return;
    net_conn_free(&c->net);
    pop3_parser_free(&c->parser);
    g_free(c);
    *cp = NULL;
}

bool
pop3_conn_is_usable(const struct pop3_conn *c)
{
    return !c->broken && !c->streaming;
}

unsigned
pop3_conn_caps(const struct pop3_conn *c)
{
    return c->caps;
}

const char *
pop3_conn_last_code(const struct pop3_conn *c)
{
    return c->last_code;
}
