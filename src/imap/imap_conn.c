/* imap_conn.c - the IMAP connection state machine over net_conn: greeting,
 * STARTTLS, capabilities, login, tagged commands, selected-mailbox state.
 * Layer: imap. Trust: the server is UNTRUSTED; the parser enforces limits. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <openssl/crypto.h>

#include "core/limits.h"
#include "imap/imap_caps.h"
#include "imap/imap_conn.h"
#include "imap/imap_parser.h"
#include "net/net_conn.h"

#define IMAP_CONN_INBUF (64u * 1024)

struct imap_conn {
    struct net_conn *net;
    struct imap_parser *parser;
    unsigned char in[IMAP_CONN_INBUF];
    size_t in_start, in_end;
    unsigned next_tag;
    uint32_t caps;
    bool utf8_enabled;
    bool condstore_enabled;
    bool broken;
    bool bye;
    int64_t io_timeout_us;
    int64_t command_timeout_us; /* 0: none */
    char cmd_tag[16];      /* of the command built last: one at a time */
    char cmd_verb[32];
    char last_code[32];
    char last_code_args[128];
    struct imap_selected sel;
    unsigned select_serial;
    /* a literal being streamed (imap_conn_stream_*) */
    bool streaming, stream_done;
    bool stream_paced;        /* imap_conn_stream_paced: no total limit */
    unsigned stream_literals; /* literals of the stream begun so far */
    uint64_t stream_first_size; /* the first one's announced size */
    GByteArray *stream_q;   /* literal bytes not yet handed out */
    size_t stream_off;
    /* the caller's buffer, while stream_q is empty: literal bytes go there
     * first (one copy fewer for a big download), the rest to stream_q */
    unsigned char *direct;
    size_t direct_cap, direct_len;
};

/* ---- counters for /metrics ---- */

static const char *const stat_verbs[] = {
    "CAPABILITY", "STARTTLS", "LOGIN", "AUTHENTICATE", "ENABLE",
    "NAMESPACE",  "LIST",     "LSUB",  "STATUS",       "SELECT",
    "EXAMINE",    "SORT",     "SEARCH", "FETCH",       "STORE",
    "COPY",       "MOVE",     "EXPUNGE", "APPEND",     "CREATE",
    "DELETE",     "RENAME",   "SUBSCRIBE", "UNSUBSCRIBE", "NOOP",
    "IDLE",       "LOGOUT",   "OTHER",
};
static volatile gint stat_counts[N_ELEMENTS(stat_verbs)];

static void
imap_conn_count(const char *verb)
{
    size_t n;

    if (g_ascii_strncasecmp(verb, "UID ", 4) == 0)
        verb += 4;
    n = strcspn(verb, " ");
    for (size_t i = 0; i < N_ELEMENTS(stat_verbs) - 1; i++) {
        if (strlen(stat_verbs[i]) == n &&
            g_ascii_strncasecmp(stat_verbs[i], verb, n) == 0) {
            g_atomic_int_inc(&stat_counts[i]);
            return;
        }
    }
    g_atomic_int_inc(&stat_counts[N_ELEMENTS(stat_verbs) - 1]);
}

void
imap_conn_stats_foreach(void (*fn)(void *ctx, const struct imap_conn_stat *st),
                        void *ctx)
{
    for (size_t i = 0; i < N_ELEMENTS(stat_verbs); i++) {
        struct imap_conn_stat st = {
            .verb = stat_verbs[i],
            .count = (unsigned long)g_atomic_int_get(&stat_counts[i]),
        };

        fn(ctx, &st);
    }
}

/* ---- reading responses ---- */

static int64_t
imap_conn_deadline(const struct imap_conn *c)
{
    return g_get_monotonic_time() + c->io_timeout_us;
}

static int
imap_conn_fail(struct imap_conn *c, struct err *err)
{
    (void)err;
    c->broken = true;
    return -1;
}

/* The parser refused what the server sent: a cap crossed there is the
 * server's failure (502), not a request too large (413). */
static int
imap_conn_parse_fail(struct imap_conn *c, struct err *err)
{
    err_peer_limit(err, net_conn_peer(c->net));
    return imap_conn_fail(c, err);
}

/* Reads until one complete response is parsed. The response stays valid
 * until the next call. */
static int
imap_conn_next(struct imap_conn *c, const struct imap_resp **resp_out,
               struct err *err)
{
    for (;;) {
        if (c->in_end > c->in_start) {
            size_t used = 0;
            enum imap_feed_result r;

            r = imap_parser_feed(c->parser, c->in + c->in_start,
                                 c->in_end - c->in_start, &used, resp_out,
                                 err);
            c->in_start += used;
            if (r == IMAP_FEED_ERROR)
                return imap_conn_parse_fail(c, err);
            if (r == IMAP_FEED_RESPONSE)
                return 0;
        }
        /* the parser keeps what it needs: the buffer starts over */
        c->in_start = c->in_end = 0;
        {
            ssize_t n = net_conn_read(c->net, c->in, sizeof(c->in),
                                      imap_conn_deadline(c), err);

            if (n < 0)
                return imap_conn_fail(c, err);
            c->in_end = (size_t)n;
        }
    }
}

/* verb ("UID FETCH", "SELECT") is, UID aside, one of names. */
static bool
imap_conn_verb_in(const char *verb, const char *const *names, size_t n_names)
{
    size_t n;

    if (g_ascii_strncasecmp(verb, "UID ", 4) == 0)
        verb += 4;
    n = strcspn(verb, " ");
    for (size_t i = 0; i < n_names; i++) {
        if (strlen(names[i]) == n &&
            g_ascii_strncasecmp(names[i], verb, n) == 0)
            return true;
    }
    return false;
}

/* Commands that leave the selected mailbox as it is (FETCH uses PEEK; an
 * implicit \Seen would show as a FETCH with a higher MODSEQ). */
static bool
imap_conn_verb_is_readonly(const char *verb)
{
    static const char *const ro[] = {
        "NOOP", "CAPABILITY", "FETCH", "SORT", "SEARCH", "LIST", "LSUB",
        "STATUS", "NAMESPACE", "ENABLE", "CHECK", "LOGOUT",
    };

    return imap_conn_verb_in(verb, ro, G_N_ELEMENTS(ro));
}

/* Bookkeeping every untagged response gets, whoever asked. */
static void
imap_conn_track(struct imap_conn *c, const struct imap_resp *r)
{
    if (r->status == IMAP_STATUS_BYE)
        c->bye = true;
    if (r->code != NULL && strcmp(r->code, "CAPABILITY") == 0 &&
        r->code_args != NULL)
        c->caps = imap_caps_parse_text(r->code_args);
    if (r->name != NULL && strcmp(r->name, "CAPABILITY") == 0) {
        c->caps = 0;
        for (size_t i = 0; i < r->n_args; i++) {
            if (r->args[i].type == IMAP_ARG_ATOM)
                c->caps |= imap_caps_bit(r->args[i].str, r->args[i].len);
        }
    }
    if (r->name != NULL && strcmp(r->name, "ENABLED") == 0) {
        for (size_t i = 0; i < r->n_args; i++) {
            if (imap_arg_is_atom(&r->args[i], "UTF8=ACCEPT"))
                c->utf8_enabled = true;
            if (imap_arg_is_atom(&r->args[i], "CONDSTORE"))
                c->condstore_enabled = true;
        }
    }
    if (c->sel.mailbox == NULL)
        return;
    if (r->has_number && r->name != NULL && strcmp(r->name, "EXISTS") == 0)
        c->sel.exists = r->number;
    if (r->name != NULL && (strcmp(r->name, "EXISTS") == 0 ||
                            strcmp(r->name, "EXPUNGE") == 0 ||
                            strcmp(r->name, "VANISHED") == 0))
        c->sel.changes++;
    if (r->name != NULL && strcmp(r->name, "FETCH") == 0) {
        /* With CONDSTORE on, a FETCH that reports a change carries MODSEQ
         * (RFC 7162; Dovecot's do): above HIGHESTMODSEQ, it is a change.
         * One without answers our own FETCH, unless none is running. */
        static const char *const fetch[] = {"FETCH"};
        const struct imap_arg *m = r->n_args > 0
                                       ? imap_arg_list_get(&r->args[0],
                                                           "MODSEQ")
                                       : NULL;
        uint64_t v;

        if (m != NULL && m->type == IMAP_ARG_LIST && m->n == 1 &&
            imap_arg_number(&m->list[0], &v)) {
            if (v > c->sel.modseq_seen)
                c->sel.modseq_seen = v;
        } else if (!imap_conn_verb_in(c->cmd_verb, fetch, 1)) {
            c->sel.changes++;
        }
    }
    if (r->status == IMAP_STATUS_OK && r->code != NULL &&
        r->code_args != NULL) {
        guint64 v = g_ascii_strtoull(r->code_args, NULL, 10);

        if (strcmp(r->code, "UIDVALIDITY") == 0)
            c->sel.uidvalidity = (uint32_t)v;
        else if (strcmp(r->code, "UIDNEXT") == 0)
            c->sel.uidnext = (uint32_t)v;
        else if (strcmp(r->code, "HIGHESTMODSEQ") == 0)
            c->sel.highestmodseq = v;
    }
    if (r->code != NULL && strcmp(r->code, "NOMODSEQ") == 0)
        c->sel.highestmodseq = 0;
}

/* Counts the command for /metrics and, if it may change the selected
 * mailbox, in sel.changes. */
static void
imap_conn_note(struct imap_conn *c, const char *verb)
{
    imap_conn_count(verb);
    if (c->sel.mailbox != NULL && !imap_conn_verb_is_readonly(verb))
        c->sel.changes++;
}

static int
imap_conn_send(struct imap_conn *c, const void *data, size_t len,
               struct err *err)
{
    if (net_conn_write_all(c->net, data, len, imap_conn_deadline(c), err) < 0)
        return imap_conn_fail(c, err);
    return 0;
}

/* Waits for the "+" that lets the next literal go; untagged responses may
 * come first. A tagged reply here means the server refused the command. */
static int
imap_conn_wait_continue(struct imap_conn *c, const char *tag,
                        imap_untagged_fn *fn, void *ctx, struct err *err)
{
    for (;;) {
        const struct imap_resp *r;

        if (imap_conn_next(c, &r, err) < 0)
            return -1;
        if (r->kind == IMAP_RESP_CONTINUE)
            return 0;
        if (r->kind == IMAP_RESP_TAGGED) {
            if (strcmp(r->tag, tag) != 0) {
                err_set(err, ERR_PROTO, "tagged reply %s while waiting for "
                        "%s", r->tag, tag);
                return imap_conn_fail(c, err);
            }
            err_set(err, ERR_REFUSED, "server refused the command: %s",
                    r->text);
            return -1;
        }
        imap_conn_track(c, r);
        if (fn != NULL && fn(ctx, r, err) < 0)
            return imap_conn_fail(c, err);
    }
}

static int
imap_conn_finish_tagged(struct imap_conn *c, const struct imap_resp *r,
                        const char *verb, struct err *err)
{
    c->last_code[0] = '\0';
    c->last_code_args[0] = '\0';
    if (r->code != NULL)
        g_strlcpy(c->last_code, r->code, sizeof(c->last_code));
    if (r->code_args != NULL)
        g_strlcpy(c->last_code_args, r->code_args,
                  sizeof(c->last_code_args));
    switch (r->status) {
    case IMAP_STATUS_OK:
        /* Dovecot and others put the new capabilities in the OK of LOGIN
         * and AUTHENTICATE: taking them saves a CAPABILITY round trip */
        if (r->code != NULL && strcmp(r->code, "CAPABILITY") == 0 &&
            r->code_args != NULL)
            c->caps = imap_caps_parse_text(r->code_args);
        return 0;
    case IMAP_STATUS_NO:
        err_set(err, ERR_REFUSED, "%s refused: %s%s%s", verb,
                r->code != NULL ? r->code : "", r->code != NULL ? " " : "",
                r->text != NULL ? r->text : "");
        return -1;
    case IMAP_STATUS_BAD:
        err_set(err, ERR_PROTO, "%s rejected as bad: %s", verb,
                r->text != NULL ? r->text : "");
        return -1;
    default:
        err_set(err, ERR_PROTO, "%s: tagged reply without OK, NO or BAD",
                verb);
        return imap_conn_fail(c, err);
    }
}

static int
imap_conn_await_tagged(struct imap_conn *c, const char *tag, const char *verb,
                       imap_untagged_fn *fn, void *ctx, struct err *err)
{
    for (;;) {
        const struct imap_resp *r;

        if (imap_conn_next(c, &r, err) < 0)
            return -1;
        if (r->kind == IMAP_RESP_TAGGED) {
            if (strcmp(r->tag, tag) != 0) {
                err_set(err, ERR_PROTO, "reply for unknown tag %s", r->tag);
                return imap_conn_fail(c, err);
            }
            return imap_conn_finish_tagged(c, r, verb, err);
        }
        if (r->kind == IMAP_RESP_CONTINUE) {
            err_set(err, ERR_PROTO, "%s: unexpected continuation", verb);
            return imap_conn_fail(c, err);
        }
        imap_conn_track(c, r);
        if (c->bye && r->status == IMAP_STATUS_BYE) {
            /* the server is going away; the tagged reply may not come */
            continue;
        }
        if (fn != NULL && fn(ctx, r, err) < 0)
            return imap_conn_fail(c, err);
    }
}

struct imap_cmd *
imap_conn_cmd_new(struct imap_conn *c, const char *verb)
{
    unsigned flags = 0;

    g_snprintf(c->cmd_tag, sizeof(c->cmd_tag), "p%u", ++c->next_tag);
    g_strlcpy(c->cmd_verb, verb, sizeof(c->cmd_verb));
    if (c->utf8_enabled)
        flags |= IMAP_CMD_UTF8_ACCEPT;
    if (c->caps & IMAP_CAP_LITERAL_PLUS)
        flags |= IMAP_CMD_LITERAL_PLUS;
    else if (c->caps & IMAP_CAP_LITERAL_MINUS)
        flags |= IMAP_CMD_LITERAL_MINUS;
    return imap_cmd_new(c->cmd_tag, verb, flags);
}

/* A command that carries a message (APPEND of a Sent copy, up to
 * max_message_size) gets command_timeout and a second more for each
 * IMAP_UPLOAD_FLOOR bytes it sends: a big copy over a slow link still gets
 * there, a server that swallows it a byte at a time is still cut. */
#define IMAP_UPLOAD_FLOOR (16 * 1024) /* bytes a second, the slowest link */

static int64_t
imap_conn_command_span(const struct imap_conn *c, const struct imap_cmd *cmd)
{
    size_t bytes = 0;

    if (c->command_timeout_us == 0)
        return 0;
    for (size_t i = 0; i < imap_cmd_segments(cmd); i++) {
        size_t len;

        imap_cmd_segment(cmd, i, &len);
        bytes += len;
    }
    /* whole seconds: "no complete reply within 3 s", and a command line
       alone gets command_timeout exactly */
    return c->command_timeout_us +
           (int64_t)(bytes / IMAP_UPLOAD_FLOOR) * G_USEC_PER_SEC;
}

int
imap_conn_run(struct imap_conn *c, struct imap_cmd *cmd, imap_untagged_fn *fn,
              void *ctx, struct err *err)
{
    char tag[16], verb[32];
    size_t nseg;
    int rc = -1;

    if (c->broken) {
        err_set(err, ERR_CONN, "IMAP connection already failed");
        imap_cmd_free(&cmd);
        return -1;
    }
    imap_cmd_finish(cmd);
    g_strlcpy(tag, c->cmd_tag, sizeof(tag));
    g_strlcpy(verb, c->cmd_verb, sizeof(verb));
    imap_conn_note(c, verb);
    net_conn_limit_total(c->net, imap_conn_command_span(c, cmd));
    nseg = imap_cmd_segments(cmd);
    for (size_t i = 0; i < nseg; i++) {
        size_t len;
        const unsigned char *seg = imap_cmd_segment(cmd, i, &len);

        if (i > 0 && imap_conn_wait_continue(c, tag, fn, ctx, err) < 0)
            goto out;
        if (imap_conn_send(c, seg, len, err) < 0)
            goto out;
    }
    rc = imap_conn_await_tagged(c, tag, verb, fn, ctx, err);
out:
    imap_cmd_free(&cmd);
    return rc;
}

/* ---- streaming literals ---- */

/* Literal bytes about to be delivered, with left of the literal's size
 * still to come: its first bytes are counted for imap_conn_stream_size(). */
static void
imap_conn_stream_note(struct imap_conn *c, uint64_t left, uint64_t size)
{
    if (left == size && c->stream_literals++ == 0) {
        c->stream_first_size = size;
        /* from here the browser sets the pace; each read keeps its own */
        if (c->stream_paced)
            net_conn_limit_paced(c->net, c->command_timeout_us,
                                 LIM_PACED_FLOOR);
    }
}

static int
imap_conn_stream_sink(void *ctx, const unsigned char *data, size_t len)
{
    struct imap_conn *c = ctx;
    uint64_t size, left = imap_parser_sink_left(c->parser, &size);

    imap_conn_stream_note(c, left, size);
    if (c->direct != NULL && c->direct_len < c->direct_cap) {
        size_t take = MIN(len, c->direct_cap - c->direct_len);

        memcpy(c->direct + c->direct_len, data, take);
        c->direct_len += take;
        data += take;
        len -= take;
    }
    if (len > 0)
        g_byte_array_append(c->stream_q, data, (guint)len);
    return 0;
}

/* One step: feeds what is buffered, or reads once from the network.
 * Returns 1 with a response, 0 when more input is needed, -1 on error. */
static int
imap_conn_pump(struct imap_conn *c, const struct imap_resp **resp_out,
               struct err *err)
{
    if (c->in_end > c->in_start) {
        size_t used = 0;
        enum imap_feed_result r;

        r = imap_parser_feed(c->parser, c->in + c->in_start,
                             c->in_end - c->in_start, &used, resp_out, err);
        c->in_start += used;
        if (r == IMAP_FEED_ERROR)
            return imap_conn_parse_fail(c, err);
        return r == IMAP_FEED_RESPONSE ? 1 : 0;
    }
    c->in_start = c->in_end = 0;
    {
        ssize_t n = net_conn_read(c->net, c->in, sizeof(c->in),
                                  imap_conn_deadline(c), err);

        if (n < 0)
            return imap_conn_fail(c, err);
        c->in_end = (size_t)n;
    }
    return 0;
}

/* A literal small enough to stay in the parser's memory (a 1-byte part)
 * arrives in the FETCH response instead of the sink. */
static void
imap_conn_stream_small(struct imap_conn *c, const struct imap_resp *r)
{
    const struct imap_arg *att;

    if (r->name == NULL || strcmp(r->name, "FETCH") != 0 || r->n_args < 1 ||
        r->args[0].type != IMAP_ARG_LIST)
        return;
    att = &r->args[0];
    for (size_t i = 0; i + 1 < att->n; i += 2) {
        const struct imap_arg *k = &att->list[i], *v = &att->list[i + 1];

        if (k->type == IMAP_ARG_ATOM && v->type == IMAP_ARG_STRING &&
            (g_ascii_strncasecmp(k->str, "BODY[", 5) == 0 ||
             g_ascii_strncasecmp(k->str, "BINARY[", 7) == 0))
            g_byte_array_append(c->stream_q, (const guint8 *)v->str,
                                (guint)v->len);
    }
}

static void
imap_conn_stream_end(struct imap_conn *c)
{
    struct imap_parser_limits lim = {.max_line = LIM_IMAP_LINE};

    /* a stream may end in the middle of a literal (the browser went away,
     * the server hung up): reset, not just unhook the sink, which is only
     * allowed between responses; after the tagged reply nothing is
     * pending, and a reset there forgets nothing */
    imap_parser_reset(c->parser);
    imap_parser_set_limits(c->parser, &lim);
    if (c->stream_q != NULL)
        g_byte_array_free(c->stream_q, TRUE);
    c->stream_q = NULL;
    c->streaming = false;
}

int
imap_conn_stream_begin(struct imap_conn *c, struct imap_cmd *cmd,
                       struct err *err)
{
    /* every literal, however small, goes through the sink */
    struct imap_parser_limits lim = {.max_line = LIM_IMAP_LINE,
                                     .max_literal_mem = 1};
    size_t len;
    const unsigned char *seg;

    xassert(!c->streaming);
    if (c->broken) {
        err_set(err, ERR_CONN, "IMAP connection already failed");
        imap_cmd_free(&cmd);
        return -1;
    }
    imap_cmd_finish(cmd);
    xassert(imap_cmd_segments(cmd) == 1); /* FETCH carries no literal */
    imap_conn_note(c, c->cmd_verb);
    net_conn_limit_total(c->net, c->command_timeout_us);
    seg = imap_cmd_segment(cmd, 0, &len);
    if (imap_conn_send(c, seg, len, err) < 0) {
        imap_cmd_free(&cmd);
        return -1;
    }
    imap_cmd_free(&cmd);
    c->streaming = true;
    c->stream_done = false;
    c->stream_paced = false;
    c->stream_literals = 0;
    c->stream_q = g_byte_array_new();
    c->stream_off = 0;
    imap_parser_set_limits(c->parser, &lim);
    imap_parser_set_sink(c->parser, imap_conn_stream_sink, c);
    return 0;
}

/* One step of a stream: one network read or one parsed response, whose
 * tagged reply ends the stream. 0 to go on, -1 with err. */
static int
imap_conn_stream_step(struct imap_conn *c, struct err *err)
{
    const struct imap_resp *r;
    int rc = imap_conn_pump(c, &r, err);

    if (rc < 0) {
        imap_conn_stream_end(c);
        return -1;
    }
    if (rc == 0)
        return 0;
    if (r->kind == IMAP_RESP_TAGGED) {
        if (strcmp(r->tag, c->cmd_tag) != 0) {
            err_set(err, ERR_PROTO, "reply for unknown tag %s", r->tag);
            imap_conn_stream_end(c);
            return imap_conn_fail(c, err);
        }
        if (imap_conn_finish_tagged(c, r, c->cmd_verb, err) < 0) {
            imap_conn_stream_end(c);
            return -1;
        }
        c->stream_done = true;
    } else if (r->kind == IMAP_RESP_CONTINUE) {
        err_set(err, ERR_PROTO, "unexpected continuation in FETCH");
        imap_conn_stream_end(c);
        return imap_conn_fail(c, err);
    } else {
        imap_conn_track(c, r);
        imap_conn_stream_small(c, r);
    }
    return 0;
}

void
imap_conn_stream_paced(struct imap_conn *c)
{
    if (!c->streaming) /* ended already: nothing left to pace */
        return;
    c->stream_paced = true;
    if (c->stream_literals > 0) /* already flowing */
        net_conn_limit_paced(c->net, c->command_timeout_us,
                             LIM_PACED_FLOOR);
}

int
imap_conn_stream_size(struct imap_conn *c, uint64_t *size_out,
                      struct err *err)
{
    xassert(c->streaming);
    for (;;) {
        if (c->stream_done) { /* all of it is queued: small or empty */
            *size_out = c->stream_q->len - c->stream_off;
            return 0;
        }
        if (c->stream_literals > 0) {
            *size_out = c->stream_first_size;
            return 0;
        }
        /* at the first literal's start, none of it read yet */
        if (imap_parser_sink_left(c->parser, size_out) > 0)
            return 0;
        if (imap_conn_stream_step(c, err) < 0)
            return -1;
    }
}

ssize_t
imap_conn_stream_read(struct imap_conn *c, void *buf, size_t max,
                      struct err *err)
{
    size_t avail;

    xassert(c->streaming);
    for (;;) {
        uint64_t left, size;

        avail = c->stream_q->len - c->stream_off;
        if (avail > 0 || c->stream_done)
            break;
        /* hand out a drained queue's memory before more arrives */
        g_byte_array_set_size(c->stream_q, 0);
        c->stream_off = 0;
        /* the bulk of a big literal goes from the network straight into
         * buf, past the parser, which is only told how much */
        left = imap_parser_sink_left(c->parser, &size);
        if (left > 0 && c->in_start == c->in_end) {
            ssize_t n = net_conn_read(c->net, buf, (size_t)MIN(max, left),
                                      imap_conn_deadline(c), err);

            if (n < 0) {
                imap_conn_stream_end(c);
                return imap_conn_fail(c, err);
            }
            imap_conn_stream_note(c, left, size);
            imap_parser_skip(c->parser, (size_t)n);
            return n;
        }
        c->direct = buf;
        c->direct_cap = max;
        c->direct_len = 0;
        if (imap_conn_stream_step(c, err) < 0) {
            c->direct = NULL;
            return -1;
        }
        c->direct = NULL;
        if (c->direct_len > 0)
            return (ssize_t)c->direct_len; /* the queue holds what is later */
    }
    if (avail == 0) {
        imap_conn_stream_end(c); /* the tagged OK came: done */
        return 0;
    }
    if (avail > max)
        avail = max;
    memcpy(buf, c->stream_q->data + c->stream_off, avail);
    c->stream_off += avail;
    return (ssize_t)avail;
}

void
imap_conn_stream_abort(struct imap_conn *c)
{
    if (!c->streaming)
        return;
    imap_conn_stream_end(c);
    c->broken = true; /* the rest of the reply is still on the wire */
}

/* Simple commands with no arguments and no interest in the data. */
static int
imap_conn_simple(struct imap_conn *c, const char *verb, struct err *err)
{
    return imap_conn_run(c, imap_conn_cmd_new(c, verb), NULL, NULL, err);
}

/* ---- opening and login ---- */

static int
imap_conn_greeting(struct imap_conn *c, struct err *err)
{
    const struct imap_resp *r;

    if (imap_conn_next(c, &r, err) < 0)
        return -1;
    if (r->kind != IMAP_RESP_UNTAGGED ||
        (r->status != IMAP_STATUS_OK && r->status != IMAP_STATUS_PREAUTH)) {
        err_set(err, r->status == IMAP_STATUS_BYE ? ERR_REFUSED : ERR_PROTO,
                "IMAP greeting: %s", r->status == IMAP_STATUS_BYE
                                         ? r->text
                                         : "not an IMAP server");
        return imap_conn_fail(c, err);
    }
    imap_conn_track(c, r);
    return 0;
}

static int
imap_conn_starttls(struct imap_conn *c, const struct imap_conn_opts *o,
                   struct err *err)
{
    struct net_tls_opts tls = {.ca_file = o->ca_file, .verify_host = o->host};

    if (!(c->caps & IMAP_CAP_STARTTLS)) {
        err_set(err, ERR_CONN, "%s:%u does not offer STARTTLS, and tls = "
                "starttls requires it", o->host, o->port);
        return imap_conn_fail(c, err);
    }
    if (imap_conn_simple(c, "STARTTLS", err) < 0)
        return -1;
    /* Bytes after the OK and before the handshake would be read as if they
     * came over TLS: a known injection (CVE-2011-0411). */
    if (c->in_end > c->in_start) {
        err_set(err, ERR_PROTO, "data after STARTTLS reply: possible "
                "injection, refusing");
        return imap_conn_fail(c, err);
    }
    if (net_conn_start_tls(c->net, &tls, imap_conn_deadline(c), err) < 0)
        return imap_conn_fail(c, err);
    /* RFC 9051 §6.2.1: forget what was said before TLS */
    c->caps = 0;
    return imap_conn_simple(c, "CAPABILITY", err);
}

/* RFC 2971 ID with x-originating-ip (Dovecot reads it from trusted
 * networks, login_trusted_networks). The address is re-spelled by
 * inet_ntop, so only our own bytes reach the command. */
static int
imap_conn_send_id(struct imap_conn *c, const char *client_addr,
                  struct err *err)
{
    unsigned char bin[sizeof(struct in6_addr)];
    char canon[INET6_ADDRSTRLEN];
    struct imap_cmd *cmd;
    char *args;
    int af;
    struct err ierr = {0};

    if (client_addr == NULL || !(c->caps & IMAP_CAP_ID))
        return 0;
    af = strchr(client_addr, ':') != NULL ? AF_INET6 : AF_INET;
    if (inet_pton(af, client_addr, bin) != 1 ||
        inet_ntop(af, bin, canon, sizeof(canon)) == NULL)
        return 0; /* not an address (CGI without REMOTE_ADDR): no ID */
    cmd = imap_conn_cmd_new(c, "ID");
    args = g_strdup_printf("(\"name\" \"postern\" \"x-originating-ip\" "
                           "\"%s\")", canon);
    imap_cmd_add_raw(cmd, args);
    g_free(args);
    if (imap_conn_run(c, cmd, NULL, NULL, &ierr) < 0 && c->broken) {
        *err = ierr;
        return -1;
    }
    return 0; /* NO or BAD to ID: the server just does not care */
}

struct imap_conn *
imap_conn_open(const struct imap_conn_opts *o, struct err *err)
{
    struct imap_conn *c = g_new0(struct imap_conn, 1);
    struct imap_parser_limits lim = {.max_line = LIM_IMAP_LINE_PRELOGIN};
    int64_t deadline = g_get_monotonic_time() +
                       (int64_t)o->connect_timeout * G_USEC_PER_SEC;

    c->io_timeout_us = (int64_t)o->io_timeout * G_USEC_PER_SEC;
    c->command_timeout_us = (int64_t)o->command_timeout * G_USEC_PER_SEC;
    c->parser = imap_parser_new(&lim);
    c->net = net_conn_connect_guarded(o->host, o->port, o->guard, deadline,
                                      err);
    if (c->net == NULL)
        goto fail;
    /* the handshake and greeting, like a command's reply */
    net_conn_limit_total(c->net, c->command_timeout_us);
    if (o->tls == CFG_TLS_IMPLICIT) {
        struct net_tls_opts tls = {.ca_file = o->ca_file,
                                   .verify_host = o->host};

        if (net_conn_start_tls(c->net, &tls, deadline, err) < 0)
            goto fail;
    }
    if (imap_conn_greeting(c, err) < 0)
        goto fail;
    if (o->tls == CFG_TLS_STARTTLS) {
        if (c->caps == 0 && imap_conn_simple(c, "CAPABILITY", err) < 0)
            goto fail;
        if (imap_conn_starttls(c, o, err) < 0)
            goto fail;
    } else if (c->caps == 0 && imap_conn_simple(c, "CAPABILITY", err) < 0) {
        goto fail;
    }
    if (!(c->caps & (IMAP_CAP_IMAP4REV1 | IMAP_CAP_IMAP4REV2))) {
        err_set(err, ERR_PROTO, "%s:%u is not an IMAP4rev1 server", o->host,
                o->port);
        goto fail;
    }
    if (imap_conn_send_id(c, o->client_addr, err) < 0)
        goto fail;
    return c;
fail:
    imap_conn_close(&c);
    return NULL;
}

static int
imap_conn_auth_plain(struct imap_conn *c, const char *user,
                     const char *password, struct err *err)
{
    size_t ulen = strlen(user), plen = strlen(password);
    size_t rawlen = ulen + plen + 2;
    unsigned char *raw = g_malloc(rawlen);
    gchar *b64;
    struct imap_cmd *cmd;
    char tag[16];
    int rc = -1;

    /* RFC 4616: authzid NUL authcid NUL passwd, authzid empty */
    raw[0] = '\0';
    memcpy(raw + 1, user, ulen);
    raw[1 + ulen] = '\0';
    memcpy(raw + 2 + ulen, password, plen);
    b64 = g_base64_encode(raw, rawlen);
    OPENSSL_cleanse(raw, rawlen);
    g_free(raw);

    cmd = imap_conn_cmd_new(c, "AUTHENTICATE");
    if (imap_cmd_add_atom(cmd, "PLAIN", err) < 0)
        goto out;
    if (c->caps & IMAP_CAP_SASL_IR) {
        if (imap_cmd_add_atom(cmd, b64, err) < 0)
            goto out;
        rc = imap_conn_run(c, cmd, NULL, NULL, err);
        cmd = NULL;
        goto out;
    }
    imap_cmd_finish(cmd);
    g_strlcpy(tag, c->cmd_tag, sizeof(tag));
    imap_conn_count("AUTHENTICATE");
    net_conn_limit_total(c->net, c->command_timeout_us);
    {
        size_t len;
        const unsigned char *seg = imap_cmd_segment(cmd, 0, &len);

        if (imap_conn_send(c, seg, len, err) < 0 ||
            imap_conn_wait_continue(c, tag, NULL, NULL, err) < 0 ||
            imap_conn_send(c, b64, strlen(b64), err) < 0 ||
            imap_conn_send(c, "\r\n", 2, err) < 0)
            goto out;
    }
    rc = imap_conn_await_tagged(c, tag, "AUTHENTICATE", NULL, NULL, err);
out:
    if (rc < 0)
        err_redact(err, b64, strlen(b64)); /* a server that echoes it */
    imap_cmd_free(&cmd);
    OPENSSL_cleanse(b64, strlen(b64));
    g_free(b64);
    return rc;
}

int
imap_conn_login(struct imap_conn *c, const char *user, const char *password,
                struct err *err)
{
    struct imap_parser_limits lim = {.max_line = LIM_IMAP_LINE};
    uint32_t before;
    int rc;

    if (c->caps & IMAP_CAP_LOGINDISABLED && !(c->caps & IMAP_CAP_AUTH_PLAIN)) {
        err_set(err, ERR_REFUSED, "the server refuses to log in without TLS "
                "(LOGINDISABLED): configure tls = starttls or implicit");
        return -1;
    }
    before = c->caps;
    if (c->caps & IMAP_CAP_AUTH_PLAIN) {
        rc = imap_conn_auth_plain(c, user, password, err);
    } else {
        struct imap_cmd *cmd = imap_conn_cmd_new(c, "LOGIN");

        if (imap_cmd_add_astring(cmd, user, strlen(user), err) < 0 ||
            imap_cmd_add_astring(cmd, password, strlen(password), err) < 0) {
            imap_cmd_free(&cmd);
            return -1;
        }
        rc = imap_conn_run(c, cmd, NULL, NULL, err);
    }
    if (rc < 0) {
        /* a hostile server may repeat the password in its refusal */
        err_redact(err, password, strlen(password));
        if (err->kind == ERR_REFUSED) {
            /* keep the server's words for the log, not the user's input */
            err->kind = ERR_AUTH;
        }
        return -1;
    }
    imap_parser_set_limits(c->parser, &lim);
    /* Servers differ: some send new capabilities with the OK, some not at
     * all, some change them after login. Ask when nothing came. */
    if (c->caps == before && imap_conn_simple(c, "CAPABILITY", err) < 0)
        return -1;
    if (c->caps & IMAP_CAP_ENABLE) {
        struct imap_cmd *cmd = imap_conn_cmd_new(c, "ENABLE");
        bool any = false;

        if (c->caps & IMAP_CAP_UTF8_ACCEPT) {
            imap_cmd_add_raw(cmd, "UTF8=ACCEPT");
            any = true;
        }
        if (c->caps & IMAP_CAP_CONDSTORE) {
            imap_cmd_add_raw(cmd, "CONDSTORE");
            any = true;
        }
        if (any)
            return imap_conn_run(c, cmd, NULL, NULL, err);
        imap_cmd_free(&cmd);
    }
    return 0;
}

int
imap_conn_select(struct imap_conn *c, const char *mailbox, bool readonly,
                 struct err *err)
{
    struct imap_cmd *cmd = imap_conn_cmd_new(c, readonly ? "EXAMINE"
                                                         : "SELECT");

    if (imap_cmd_add_mailbox(cmd, mailbox, err) < 0) {
        imap_cmd_free(&cmd);
        return -1;
    }
    if (c->condstore_enabled)
        imap_cmd_add_raw(cmd, "(CONDSTORE)");
    g_free(c->sel.mailbox);
    memset(&c->sel, 0, sizeof(c->sel));
    /* tracked while the replies come in */
    c->sel.mailbox = g_strdup(mailbox);
    c->sel.readonly = readonly;
    c->sel.serial = ++c->select_serial;
    if (imap_conn_run(c, cmd, NULL, NULL, err) < 0) {
        g_free(c->sel.mailbox);
        c->sel.mailbox = NULL;
        return -1;
    }
    return 0;
}

const struct imap_selected *
imap_conn_selected(const struct imap_conn *c)
{
    return &c->sel;
}

const char *
imap_conn_last_code(const struct imap_conn *c)
{
    return c->last_code;
}

const char *
imap_conn_last_code_args(const struct imap_conn *c)
{
    return c->last_code_args;
}

uint32_t
imap_conn_caps(const struct imap_conn *c)
{
    return c->caps;
}

bool
imap_conn_has_cap(const struct imap_conn *c, uint32_t cap)
{
    return (c->caps & cap) == cap;
}

bool
imap_conn_utf8(const struct imap_conn *c)
{
    return c->utf8_enabled;
}

bool
imap_conn_is_usable(struct imap_conn *c)
{
    struct err err = {0};

    if (c->broken || c->bye)
        return false;
    if (!net_conn_is_readable(c->net))
        return true;
    /* Something arrived while idle: a BYE and a close (server restart,
     * idle timeout), or news such as EXISTS. A NOOP reads it all. */
    if (imap_conn_simple(c, "NOOP", &err) < 0)
        return false;
    return !c->bye;
}

void
imap_conn_close(struct imap_conn **cp)
{
    struct imap_conn *c = *cp;

    if (c == NULL)
        return;
    if (c->streaming)
        imap_conn_stream_abort(c);
    if (c->net != NULL && !c->broken && !c->bye) {
        struct err err = {0};

        c->io_timeout_us = G_USEC_PER_SEC; /* do not wait long to say bye */
        if (imap_conn_simple(c, "LOGOUT", &err) < 0) {
            /* the server may close before the tagged OK: nothing to do */
        }
    }
    net_conn_free(&c->net);
    imap_parser_free(&c->parser);
    g_free(c->sel.mailbox);
    g_free(c);
    *cp = NULL;
}
