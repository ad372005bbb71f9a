/* smtp_client.c - the SMTP submission session over net_conn: the only file
 * where SMTP meets the network. Replies go through the pure smtp_reply
 * parser, the body through smtp_dot. Layer: smtp. Trust: the server is
 * UNTRUSTED; user addresses are checked before the first byte is sent. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include <glib.h>
#include <openssl/crypto.h>

#include "net/net_conn.h"
#include "smtp/smtp_caps.h"
#include "smtp/smtp_client.h"
#include "smtp/smtp_dot.h"
#include "smtp/smtp_reply.h"

#define SMTP_CONN_INBUF 4096u
#define SMTP_BODY_CHUNK (16u * 1024) /* message bytes read at once */
#define SMTP_CMD_LINE_MAX 512u       /* RFC 5321 §4.5.3.1.4, CRLF in */
#define SMTP_AUTH_LINE_MAX 12288u    /* RFC 4954 §4 */
#define SMTP_RCPT_TEXT_MAX 512u      /* server text kept per refusal */
#define SMTP_QUIT_TIMEOUT_US G_USEC_PER_SEC

struct smtp_conn {
    const struct smtp_opts *o;
    struct net_conn *net;
    struct smtp_reply_parser *parser;
    unsigned char in[SMTP_CONN_INBUF];
    size_t in_start, in_end;
    int64_t io_timeout_us;
    struct smtp_caps caps;
    const struct smtp_reply *reply; /* the last one; until the next read */
    int last_code;
    bool broken;  /* network or protocol error: out of step, just close */
    bool closing; /* the server said 421 and is going away */
};

void
smtp_result_clear(struct smtp_result *r)
{
    if (r == NULL)
        return;
    g_free(r->failed_rcpts);
    r->failed_rcpts = NULL;
    r->last_code = 0;
}

/* ---- checking what the user gave ---- */

/* An address goes between '<' and '>' in a command line: nothing in it may
 * end the line, close the path or start a parameter. */
static int
smtp_check_address(const char *what, const char *a, bool may_be_empty,
                   bool *eight_bit, struct err *err)
{
    size_t len;

    if (a == NULL) {
        err_set(err, ERR_INPUT, "%s: no address", what);
        return -1;
    }
    len = strlen(a);
    if (len == 0 && !may_be_empty) {
        err_set(err, ERR_INPUT, "%s: empty address", what);
        return -1;
    }
    if (len > SMTP_ADDRESS_MAX) {
        err_set(err, ERR_INPUT, "%s: address longer than %u bytes", what,
                SMTP_ADDRESS_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)a[i];

        if (c < 0x20 || c == 0x7f || c == ' ' || c == '<' || c == '>') {
            err_set(err, ERR_INPUT,
                    "%s: address has a control character, space, '<' or '>' at "
                    "byte %zu",
                    what, i);
            return -1;
        }
        if (c >= 0x80)
            *eight_bit = true;
    }
    if (*eight_bit && !g_utf8_validate(a, (gssize)len, NULL)) {
        err_set(err, ERR_INPUT, "%s: address is not valid UTF-8", what);
        return -1;
    }
    return 0;
}

static int
smtp_check_input(const struct smtp_opts *o, const char *user,
                 const char *password, const char *from,
                 const char *const *rcpts, size_t n_rcpts, bool *eight_bit,
                 struct err *err)
{
    const char *helo = o->helo != NULL ? o->helo : "localhost";
    size_t helo_len = strlen(helo);

    if (helo_len == 0 || helo_len > 255) {
        err_set(err, ERR_INPUT, "EHLO name must have 1 to 255 bytes");
        return -1;
    }
    for (size_t i = 0; i < helo_len; i++) {
        unsigned char c = (unsigned char)helo[i];

        if (c <= ' ' || c >= 0x7f || c == '<' || c == '>') {
            err_set(err, ERR_INPUT,
                    "EHLO name has a byte that is not printable ASCII, or a "
                    "space, '<' or '>'");
            return -1;
        }
    }
    if (password != NULL && user == NULL) {
        err_set(err, ERR_INPUT, "a password without a user name");
        return -1;
    }
    if (n_rcpts == 0) {
        err_set(err, ERR_INPUT, "no recipients");
        return -1;
    }
    if (n_rcpts > SMTP_RCPTS_MAX) {
        err_set(err, ERR_LIMIT, "%zu recipients, more than the cap of %u",
                n_rcpts, SMTP_RCPTS_MAX);
        return -1;
    }
    if (smtp_check_address("sender", from, true, eight_bit, err) < 0)
        return -1;
    for (size_t i = 0; i < n_rcpts; i++) {
        char what[48];

        g_snprintf(what, sizeof(what), "recipient %zu", i + 1);
        if (smtp_check_address(what, rcpts[i], false, eight_bit, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- replies and commands ---- */

static int64_t
smtp_conn_deadline(const struct smtp_conn *c)
{
    return g_get_monotonic_time() + c->io_timeout_us;
}

static int
smtp_conn_fail(struct smtp_conn *c)
{
    c->broken = true;
    return -1;
}

/* "550 5.1.1 text" for messages: at most size bytes, always terminated. */
static void
smtp_reply_describe(const struct smtp_reply *r, char *buf, size_t size)
{
    g_snprintf(buf, size, "%u%s%s%s%s", r->code, r->enhanced[0] ? " " : "",
               r->enhanced, r->text[0] ? " " : "", r->text);
}

/* Reads one complete reply into c->reply, which stays valid until the
 * next call. The whole reply must come before the deadline. */
static int
smtp_conn_read_reply(struct smtp_conn *c, int64_t deadline, struct err *err)
{
    for (;;) {
        if (c->in_end > c->in_start) {
            const struct smtp_reply *r = NULL;
            size_t used = 0;
            enum smtp_feed_result fr;

            fr = smtp_reply_feed(c->parser, c->in + c->in_start,
                                 c->in_end - c->in_start, &used, &r, err);
            c->in_start += used;
            if (fr == SMTP_FEED_ERROR) {
                err_peer_limit(err, net_conn_peer(c->net));
                return smtp_conn_fail(c);
            }
            if (fr == SMTP_FEED_REPLY) {
                c->reply = r;
                c->last_code = (int)r->code;
                if (r->code == 421)
                    c->closing = true; /* RFC 5321 §3.8 */
                return 0;
            }
        }
        /* the parser copied what it keeps: the buffer starts over */
        c->in_start = c->in_end = 0;
        {
            ssize_t n =
                net_conn_read(c->net, c->in, sizeof(c->in), deadline, err);

            if (n < 0)
                return smtp_conn_fail(c);
            c->in_end = (size_t)n;
        }
    }
}

/* Writes bytes of a command or of the body. We never pipeline, so a reply
 * byte still unread here is one the server sent unasked: refuse it rather
 * than take it later for the reply to this command. */
static int
smtp_conn_write(struct smtp_conn *c, const void *data, size_t len,
                struct err *err)
{
    if (c->in_end > c->in_start) {
        err_set(err, ERR_PROTO, "%s sent data nobody asked for",
                net_conn_peer(c->net));
        return smtp_conn_fail(c);
    }
    if (net_conn_write_all(c->net, data, len, smtp_conn_deadline(c), err) < 0)
        return smtp_conn_fail(c);
    return 0;
}

/* Sends one command line (CRLF added) and reads its reply. Only for lines
 * without secrets: the line is built in ordinary memory. */
static int smtp_conn_cmd(struct smtp_conn *c, struct err *err, const char *fmt,
                         ...) ATTR_PRINTF(3, 4);

static int
smtp_conn_cmd(struct smtp_conn *c, struct err *err, const char *fmt, ...)
{
    char line[SMTP_CMD_LINE_MAX + 1];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = g_vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    /* the input checks keep every command under the line limit */
    xassert(n > 0 && (size_t)n + 2 <= SMTP_CMD_LINE_MAX);
    memcpy(line + n, "\r\n", 2);
    if (smtp_conn_write(c, line, (size_t)n + 2, err) < 0)
        return -1;
    return smtp_conn_read_reply(c, smtp_conn_deadline(c), err);
}

/* Turns an unwanted reply to what into an error. size_matters: 552 and
 * 452 mean the message is too big (RFC 1870 §6, RFC 5321 §4.2.3). */
static int
smtp_conn_refused(struct smtp_conn *c, const char *what, bool size_matters,
                  struct err *err)
{
    const struct smtp_reply *r = c->reply;
    char desc[200];

    smtp_reply_describe(r, desc, sizeof(desc));
    if (r->code == 421) {
        err_set(err, ERR_REFUSED,
                "the mail server is closing the session (%s): %s", what, desc);
    } else if (size_matters && (r->code == 552 || r->code == 452)) {
        err_set(err, ERR_LIMIT,
                "the mail server refused the message size (%s): %s", what,
                desc);
    } else if (r->code >= 400) {
        err_set(err, ERR_REFUSED, "the mail server refused %s: %s", what, desc);
    } else {
        err_set(err, ERR_PROTO, "unexpected reply to %s: %s", what, desc);
        return smtp_conn_fail(c);
    }
    return -1;
}

/* ---- session steps ---- */

/* EHLO, or HELO when EHLO gets a 5xx (RFC 5321 §4.1.4); fills c->caps. */
static int
smtp_conn_hello(struct smtp_conn *c, const char *helo, struct err *err)
{
    memset(&c->caps, 0, sizeof(c->caps));
    if (smtp_conn_cmd(c, err, "EHLO %s", helo) < 0)
        return -1;
    if (c->reply->code == 250) {
        smtp_caps_parse(c->reply, &c->caps);
        return 0;
    }
    if (c->reply->code / 100 != 5)
        return smtp_conn_refused(c, "EHLO", false, err);
    if (smtp_conn_cmd(c, err, "HELO %s", helo) < 0)
        return -1;
    if (c->reply->code != 250)
        return smtp_conn_refused(c, "HELO", false, err);
    return 0;
}

/* RFC 3207. A server that cannot or will not is an error, never a reason
 * to go on in clear. */
static int
smtp_conn_starttls(struct smtp_conn *c, const char *helo, struct err *err)
{
    const struct smtp_opts *o = c->o;
    struct net_tls_opts tls = {.ca_file = o->ca_file, .verify_host = o->host};
    char desc[200];

    if (!(c->caps.bits & SMTP_CAP_STARTTLS)) {
        err_set(err, ERR_CONN,
                "%s does not offer STARTTLS, and tls = starttls requires it",
                net_conn_peer(c->net));
        return -1;
    }
    if (smtp_conn_cmd(c, err, "STARTTLS") < 0)
        return -1;
    if (c->reply->code != 220) {
        smtp_reply_describe(c->reply, desc, sizeof(desc));
        err_set(err, ERR_CONN,
                "%s refused STARTTLS, and tls = starttls requires it: %s",
                net_conn_peer(c->net), desc);
        if (c->reply->code < 400)
            return smtp_conn_fail(c); /* 2xx/3xx: who knows what now */
        return -1;
    }
    /* Bytes after the 220 and before the handshake would be taken as if
     * they came over TLS: a known injection (CVE-2011-0411). */
    if (c->in_end > c->in_start) {
        err_set(err, ERR_PROTO,
                "%s sent data after its STARTTLS reply: possible injection, "
                "refusing",
                net_conn_peer(c->net));
        return smtp_conn_fail(c);
    }
    if (net_conn_start_tls(c->net, &tls, smtp_conn_deadline(c), err) < 0)
        return smtp_conn_fail(c);
    /* RFC 3207 §4.2: forget what was said before TLS, and ask again */
    return smtp_conn_hello(c, helo, err);
}

/* The reply to an AUTH step that is not 334 or 235. */
static int
smtp_conn_auth_refused(struct smtp_conn *c, struct err *err)
{
    unsigned code = c->reply->code;
    char desc[200];

    if (code == 530 || code == 534 || code == 535) {
        smtp_reply_describe(c->reply, desc, sizeof(desc));
        err_set(err, ERR_AUTH,
                "the mail server refused the login for sending: %s", desc);
        return -1;
    }
    return smtp_conn_refused(c, "AUTH", false, err);
}

/* Sends a secret line (base64 of credentials), CRLF added, and wipes the
 * copy it made. */
static int
smtp_conn_write_secret(struct smtp_conn *c, const char *prefix, const char *b64,
                       struct err *err)
{
    size_t plen = strlen(prefix), blen = strlen(b64);
    size_t len = plen + blen + 2;
    char *line = g_malloc(len);
    int rc;

    memcpy(line, prefix, plen);
    memcpy(line + plen, b64, blen);
    memcpy(line + plen + blen, "\r\n", 2);
    rc = smtp_conn_write(c, line, len, err);
    OPENSSL_cleanse(line, len);
    g_free(line);
    return rc;
}

static char *
smtp_b64_secret(const char *s)
{
    return g_base64_encode((const guchar *)s, strlen(s));
}

static void
smtp_secret_free(char **s)
{
    if (*s == NULL)
        return;
    OPENSSL_cleanse(*s, strlen(*s));
    g_free(*s);
    *s = NULL;
}

/* Waits for the reply to one AUTH step; 0 when it is want (334 or 235). */
static int
smtp_conn_auth_step(struct smtp_conn *c, unsigned want, struct err *err)
{
    if (smtp_conn_read_reply(c, smtp_conn_deadline(c), err) < 0)
        return -1;
    if (c->reply->code == want)
        return 0;
    if (c->reply->code == 334 || c->reply->code == 235) {
        err_set(err, ERR_PROTO, "AUTH: reply %u where %u was due",
                c->reply->code, want);
        return smtp_conn_fail(c);
    }
    return smtp_conn_auth_refused(c, err);
}

/* RFC 4954 with PLAIN (RFC 4616: authzid NUL authcid NUL passwd, authzid
 * empty), else LOGIN. */
static int
smtp_conn_auth(struct smtp_conn *c, const char *user, const char *password,
               struct err *err)
{
    char *b64 = NULL, *b64_pass = NULL;
    int rc = -1;

    if (c->caps.bits & SMTP_CAP_AUTH_PLAIN) {
        size_t ulen = strlen(user), plen = strlen(password);
        size_t rawlen = ulen + plen + 2;
        unsigned char *raw = g_malloc(rawlen);

        raw[0] = '\0';
        memcpy(raw + 1, user, ulen);
        raw[1 + ulen] = '\0';
        memcpy(raw + 2 + ulen, password, plen);
        b64 = g_base64_encode(raw, rawlen);
        OPENSSL_cleanse(raw, rawlen);
        g_free(raw);
        if (strlen(b64) + 2 > SMTP_AUTH_LINE_MAX) {
            err_set(err, ERR_INPUT,
                    "user name and password too long for SMTP AUTH (RFC 4954: "
                    "%u bytes a line)",
                    SMTP_AUTH_LINE_MAX);
            goto out;
        }
        /* RFC 4954 §4: no initial response if the line would be too long */
        if (strlen("AUTH PLAIN ") + strlen(b64) + 2 <= SMTP_CMD_LINE_MAX) {
            if (smtp_conn_write_secret(c, "AUTH PLAIN ", b64, err) < 0)
                goto out;
        } else {
            if (smtp_conn_write(c, "AUTH PLAIN\r\n", 12, err) < 0 ||
                smtp_conn_auth_step(c, 334, err) < 0 ||
                smtp_conn_write_secret(c, "", b64, err) < 0)
                goto out;
        }
        rc = smtp_conn_auth_step(c, 235, err);
        goto out;
    }
    if (c->caps.bits & SMTP_CAP_AUTH_LOGIN) {
        b64 = smtp_b64_secret(user);
        b64_pass = smtp_b64_secret(password);
        if (strlen(b64) + 2 > SMTP_AUTH_LINE_MAX ||
            strlen(b64_pass) + 2 > SMTP_AUTH_LINE_MAX) {
            err_set(err, ERR_INPUT,
                    "user name or password too long for SMTP AUTH (RFC 4954: "
                    "%u bytes a line)",
                    SMTP_AUTH_LINE_MAX);
            goto out;
        }
        if (smtp_conn_write(c, "AUTH LOGIN\r\n", 12, err) < 0 ||
            smtp_conn_auth_step(c, 334, err) < 0 ||
            smtp_conn_write_secret(c, "", b64, err) < 0 ||
            smtp_conn_auth_step(c, 334, err) < 0 ||
            smtp_conn_write_secret(c, "", b64_pass, err) < 0)
            goto out;
        rc = smtp_conn_auth_step(c, 235, err);
        goto out;
    }
    err_set(err, ERR_UNSUPPORTED, "%s offers AUTH but neither PLAIN nor LOGIN",
            net_conn_peer(c->net));
out:
    /* a server that repeats what it got must not put it in our logs */
    if (rc < 0) {
        err_redact(err, password, strlen(password));
        if (b64 != NULL)
            err_redact(err, b64, strlen(b64));
        if (b64_pass != NULL)
            err_redact(err, b64_pass, strlen(b64_pass));
    }
    smtp_secret_free(&b64);
    smtp_secret_free(&b64_pass);
    return rc;
}

/* Adds "rcpt (550 5.1.1 text)" to the list of refusals, the server's text
 * shortened (visibly) to SMTP_RCPT_TEXT_MAX bytes. */
static void
smtp_refusal_add(GString *list, const char *rcpt, const struct smtp_reply *r)
{
    const char *text = r->text;
    size_t len = strlen(text);
    bool cut = false;

    if (len > SMTP_RCPT_TEXT_MAX) {
        const char *end =
            g_utf8_find_prev_char(text, text + SMTP_RCPT_TEXT_MAX + 1);

        len = (size_t)(end - text);
        cut = true;
    }
    if (list->len > 0)
        g_string_append(list, ", ");
    g_string_append_printf(list, "%s (%u", rcpt, r->code);
    if (r->enhanced[0] != '\0')
        g_string_append_printf(list, " %s", r->enhanced);
    if (len > 0) {
        g_string_append_c(list, ' ');
        g_string_append_len(list, text, (gssize)len);
    }
    g_string_append(list, cut ? "...)" : ")");
}

/* RCPT TO for every recipient; all are tried so that every refusal is
 * named. Returns 0 when all were taken. */
static int
smtp_conn_rcpts(struct smtp_conn *c, const char *const *rcpts, size_t n_rcpts,
                struct smtp_result *result, struct err *err)
{
    GString *refused = g_string_new(NULL);
    size_t n_refused = 0;
    int refusal = 0; /* the last refusing code */

    for (size_t i = 0; i < n_rcpts; i++) {
        if (smtp_conn_cmd(c, err, "RCPT TO:<%s>", rcpts[i]) < 0)
            goto fail;
        if (c->reply->code == 250 || c->reply->code == 251)
            continue;
        if (c->reply->code == 421 || c->reply->code < 400) {
            smtp_conn_refused(c, "RCPT", false, err);
            goto fail;
        }
        smtp_refusal_add(refused, rcpts[i], c->reply);
        refusal = c->last_code;
        n_refused++;
    }
    if (n_refused == 0) {
        g_string_free(refused, TRUE);
        return 0;
    }
    err_set(err, ERR_REFUSED,
            "the mail server refused %zu of %zu recipients: %s", n_refused,
            n_rcpts, refused->str);
    if (result != NULL)
        result->failed_rcpts = g_strdup(refused->str);
    g_string_free(refused, TRUE);
    /* RFC 5321 §4.1.1.5: end the transaction; any reply will do, and
     * the code the user sees stays the last refusal's */
    {
        struct err ignored = {0};

        if (smtp_conn_cmd(c, &ignored, "RSET") < 0) {
            /* broken now: the close below skips QUIT */
        }
        c->last_code = refusal;
    }
    return -1;
fail:
    g_string_free(refused, TRUE);
    return -1;
}

/* DATA, the body, the final dot, and the server's verdict. */
static int
smtp_conn_data(struct smtp_conn *c, smtp_read_fn *read_fn, void *read_ctx,
               struct err *err)
{
    unsigned char *in = g_malloc(SMTP_BODY_CHUNK);
    unsigned char *out = g_malloc(SMTP_DOT_OUT_MAX(SMTP_BODY_CHUNK));
    struct smtp_dot dot = {0};
    size_t olen;
    int rc = -1;

    if (smtp_conn_cmd(c, err, "DATA") < 0)
        goto out;
    if (c->reply->code != 354) {
        smtp_conn_refused(c, "DATA", true, err);
        goto out;
    }
    for (;;) {
        ssize_t n = read_fn(read_ctx, in, SMTP_BODY_CHUNK);

        if (n < 0) {
            /* Without the final dot the server drops what it got. No QUIT
             * either: it would be read as part of the message. */
            err_set(err, ERR_ABORTED, "reading the message to send failed");
            smtp_conn_fail(c);
            goto out;
        }
        if (n == 0)
            break;
        xassert((size_t)n <= SMTP_BODY_CHUNK); /* the reader's contract */
        olen = smtp_dot_stuff(&dot, in, (size_t)n, out);
        if (olen > 0 && smtp_conn_write(c, out, olen, err) < 0)
            goto out;
    }
    olen = smtp_dot_finish(&dot, out);
    if (smtp_conn_write(c, out, olen, err) < 0 ||
        smtp_conn_read_reply(c, smtp_conn_deadline(c), err) < 0)
        goto out;
    if (c->reply->code != 250) {
        smtp_conn_refused(c, "the message", true, err);
        goto out;
    }
    rc = 0;
out:
    g_free(in);
    g_free(out);
    return rc;
}

static int
smtp_conn_session(struct smtp_conn *c, const char *user, const char *password,
                  const char *from, const char *const *rcpts, size_t n_rcpts,
                  uint64_t size_hint, bool eight_bit, smtp_read_fn *read_fn,
                  void *read_ctx, struct smtp_result *result, struct err *err)
{
    const struct smtp_opts *o = c->o;
    const char *helo = o->helo != NULL ? o->helo : "localhost";
    int64_t deadline =
        g_get_monotonic_time() + (int64_t)o->connect_timeout * G_USEC_PER_SEC;
    char size_param[32] = "";

    c->net = net_conn_connect_guarded(o->host, o->port, o->guard, deadline,
                                      err);
    if (c->net == NULL)
        return smtp_conn_fail(c);
    if (o->tls == CFG_TLS_IMPLICIT) {
        struct net_tls_opts tls = {.ca_file = o->ca_file,
                                   .verify_host = o->host};

        if (net_conn_start_tls(c->net, &tls, deadline, err) < 0)
            return smtp_conn_fail(c);
    }
    /* RFC 5321 §4.3.1: 220, or 554 and the client should QUIT */
    if (smtp_conn_read_reply(c, smtp_conn_deadline(c), err) < 0)
        return -1;
    if (c->reply->code != 220)
        return smtp_conn_refused(c, "the session", false, err);
    if (smtp_conn_hello(c, helo, err) < 0)
        return -1;
    if (o->tls == CFG_TLS_STARTTLS && smtp_conn_starttls(c, helo, err) < 0)
        return -1;

    /* Refusals we can tell before asking the server anything more. */
    if (c->caps.size_max > 0 && size_hint > c->caps.size_max) {
        err_set(err, ERR_LIMIT,
                "the message (%" PRIu64
                " bytes) is larger than the mail server's limit of %" PRIu64
                " bytes",
                size_hint, c->caps.size_max);
        return -1;
    }
    if (eight_bit && !(c->caps.bits & SMTP_CAP_SMTPUTF8)) {
        err_set(err, ERR_UNSUPPORTED,
                "%s does not take non-ASCII addresses (no SMTPUTF8)",
                net_conn_peer(c->net));
        return -1;
    }

    if (password != NULL && (c->caps.bits & SMTP_CAP_AUTH) &&
        smtp_conn_auth(c, user, password, err) < 0)
        return -1;

    if ((c->caps.bits & SMTP_CAP_SIZE) && size_hint > 0)
        g_snprintf(size_param, sizeof(size_param), " SIZE=%" PRIu64, size_hint);
    /* RFC 6152: the message may hold 8-bit text (GMime writes 8bit parts);
     * declaring it costs nothing when the content is 7-bit after all */
    if (smtp_conn_cmd(c, err, "MAIL FROM:<%s>%s%s%s", from, size_param,
                      (c->caps.bits & SMTP_CAP_8BITMIME) ? " BODY=8BITMIME"
                                                         : "",
                      eight_bit ? " SMTPUTF8" : "") < 0)
        return -1;
    if (c->reply->code != 250)
        return smtp_conn_refused(c, "the sender", true, err);
    if (smtp_conn_rcpts(c, rcpts, n_rcpts, result, err) < 0)
        return -1;
    return smtp_conn_data(c, read_fn, read_ctx, err);
}

/* QUIT when the session is still in step (RFC 5321 §4.1.1.10), then
 * close. The reply is waited for briefly and not checked: the outcome is
 * already known. */
static void
smtp_conn_close(struct smtp_conn *c)
{
    if (c->net != NULL && !c->broken && !c->closing) {
        struct err ignored = {0};

        c->io_timeout_us = SMTP_QUIT_TIMEOUT_US;
        if (smtp_conn_cmd(c, &ignored, "QUIT") < 0) {
            /* the server may close first: nothing to do */
        }
    }
    net_conn_free(&c->net);
    smtp_reply_parser_free(&c->parser);
}

int
smtp_send(const struct smtp_opts *o, const char *user, const char *password,
          const char *from, const char *const *rcpts, size_t n_rcpts,
          uint64_t size_hint, smtp_read_fn *read_fn, void *read_ctx,
          struct smtp_result *result, struct err *err)
{
    struct smtp_conn *c;
    bool eight_bit = false;
    int rc;

    smtp_result_clear(result);
    if (smtp_check_input(o, user, password, from, rcpts, n_rcpts, &eight_bit,
                         err) < 0)
        return -1;
    c = g_new0(struct smtp_conn, 1);
    c->o = o;
    c->io_timeout_us = (int64_t)o->io_timeout * G_USEC_PER_SEC;
    c->parser = smtp_reply_parser_new();
    rc = smtp_conn_session(c, user, password, from, rcpts, n_rcpts, size_hint,
                           eight_bit, read_fn, read_ctx, result, err);
    if (result != NULL)
        result->last_code = c->last_code;
    smtp_conn_close(c);
    g_free(c);
    return rc;
}
