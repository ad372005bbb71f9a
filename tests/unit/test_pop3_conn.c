/* test_pop3_conn.c - POP3 client transcripts against a scripted fake
 * server thread on 127.0.0.1:0: the exact bytes the client sends for each
 * login path, error mapping (-ERR, missing STLS, injection, stall), and a
 * dot-stuffed RETR streamed in small reads. No real server needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "core/limits.h"
#include "pop3/pop3_conn.h"

#include "fake_script.h"

static struct pop3_conn_opts
opts_for(const struct fake *f)
{
    struct pop3_conn_opts o = {
        .host = "127.0.0.1",
        .port = f->port,
        .tls = CFG_TLS_NONE,
        .connect_timeout = 5,
        .io_timeout = 5,
    };

    return o;
}

#define START(f, script) fake_start((f), (script), G_N_ELEMENTS(script))

static void
assert_sent(struct fake *f, const char *want)
{
    char *got = fake_finish(f);

    assert_string_equal(got, want);
    g_free(got);
}

/* ---- login paths ---- */

static void
test_user_pass_without_capa(void **state)
{
    static const char *const script[] = {
        "+OK ready\r\n",
        "-ERR unknown command\r\n", /* CAPA */
        "+OK\r\n",                  /* USER */
        "+OK logged in\r\n",        /* PASS */
        "+OK 2 320\r\n",            /* STAT */
        "+OK bye\r\n",              /* QUIT */
    };
    struct fake f;
    struct pop3_conn_opts o;
    struct pop3_conn *c;
    struct err err = {0};
    unsigned count = 0;
    uint64_t size = 0;

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    o.allow_apop = true; /* no timestamp: USER/PASS anyway */
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_caps(c), 0);
    assert_int_equal(pop3_conn_login(c, "alice", "s3cret", &err), 0);
    assert_int_equal(pop3_conn_stat(c, &count, &size, &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(size, 320);
    assert_true(pop3_conn_quit(&c, &err));
    assert_null(c);
    assert_sent(&f, "CAPA\r\nUSER alice\r\nPASS s3cret\r\nSTAT\r\n"
                    "QUIT\r\n");
}

static const char apop_greeting[] =
    "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n";

static void
test_apop_digest_of_rfc1939_example(void **state)
{
    static const char *const script[] = {
        apop_greeting,
        "+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n",
        "+OK maildrop has 1 message (369 octets)\r\n",
    };
    struct fake f;
    struct pop3_conn_opts o;
    struct pop3_conn *c;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    o.allow_apop = true;
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_caps(c), POP3_CAP_KNOWN | POP3_CAP_USER |
                                            POP3_CAP_UIDL | POP3_CAP_TOP);
    assert_int_equal(pop3_conn_login(c, "mrose", "tanstaaf", &err), 0);
    pop3_conn_close(&c);
    assert_sent(&f, "CAPA\r\nAPOP mrose c4c9334bac560ecc979e58001b3e22fb"
                    "\r\n");
}

static void
test_apop_not_allowed_uses_user_pass(void **state)
{
    static const char *const script[] = {
        apop_greeting, "-ERR\r\n", "+OK\r\n", "+OK\r\n",
    };
    struct fake f;
    struct pop3_conn_opts o;
    struct pop3_conn *c;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_login(c, "mrose", "tanstaaf", &err), 0);
    pop3_conn_close(&c);
    assert_sent(&f, "CAPA\r\nUSER mrose\r\nPASS tanstaaf\r\n");
}

static void
test_auth_plain_when_sasl_plain_offered(void **state)
{
    static const char *const script[] = {
        apop_greeting,
        "+OK\r\nSASL LOGIN PLAIN\r\nRESP-CODES\r\nUSER\r\n.\r\n",
        "+ \r\n",
        "+OK logged in\r\n",
    };
    struct fake f;
    struct pop3_conn_opts o;
    struct pop3_conn *c;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    o.allow_apop = true; /* SASL PLAIN still wins */
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_true(pop3_conn_caps(c) & POP3_CAP_SASL_PLAIN);
    assert_int_equal(pop3_conn_login(c, "alice", "secret", &err), 0);
    pop3_conn_close(&c);
    /* base64("\0alice\0secret") */
    assert_sent(&f, "CAPA\r\nAUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n");
}

static void
test_forced_user_and_apop(void **state)
{
    static const char *const user_script[] = {
        apop_greeting, "+OK\r\nSASL PLAIN\r\n.\r\n", "+OK\r\n", "+OK\r\n",
    };
    static const char *const apop_script[] = {
        apop_greeting, "+OK\r\nSASL PLAIN\r\n.\r\n", "+OK\r\n",
    };
    static const char *const none_script[] = {"+OK hi\r\n", "-ERR\r\n"};
    struct fake f;
    struct pop3_conn_opts o;
    struct pop3_conn *c;
    struct err err = {0};

    (void)state;
    START(&f, user_script);
    o = opts_for(&f);
    o.auth = POP3_AUTH_USER;
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_login(c, "mrose", "tanstaaf", &err), 0);
    pop3_conn_close(&c);
    assert_sent(&f, "CAPA\r\nUSER mrose\r\nPASS tanstaaf\r\n");

    START(&f, apop_script);
    o = opts_for(&f);
    o.auth = POP3_AUTH_APOP;
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_login(c, "mrose", "tanstaaf", &err), 0);
    pop3_conn_close(&c);
    assert_sent(&f, "CAPA\r\nAPOP mrose c4c9334bac560ecc979e58001b3e22fb"
                    "\r\n");

    START(&f, none_script);
    o = opts_for(&f);
    o.auth = POP3_AUTH_APOP;
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_login(c, "mrose", "tanstaaf", &err), -1);
    assert_int_equal(err.kind, ERR_UNSUPPORTED);
    pop3_conn_close(&c);
    assert_sent(&f, "CAPA\r\n");
}

static void
test_err_on_pass_is_auth_without_password(void **state)
{
    static const char *const script[] = {
        "+OK ready\r\n", "-ERR\r\n", "+OK\r\n",
        "-ERR [AUTH] Authentication failed.\r\n",
    };
    struct fake f;
    struct pop3_conn_opts o;
    struct pop3_conn *c;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_login(c, "alice", "hunter2", &err), -1);
    assert_int_equal(err.kind, ERR_AUTH);
    assert_null(strstr(err.msg, "hunter2"));
    assert_non_null(strstr(err.msg, "Authentication failed."));
    assert_string_equal(pop3_conn_last_code(c), "AUTH");
    pop3_conn_close(&c);
    g_free(fake_finish(&f));
}

static void
test_auth_plain_refused_is_auth(void **state)
{
    static const char *const script[] = {
        "+OK ready\r\n", "+OK\r\nSASL PLAIN\r\n.\r\n", "+ \r\n",
        "-ERR [AUTH] Authentication failed.\r\n",
    };
    struct fake f;
    struct pop3_conn_opts o;
    struct pop3_conn *c;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_login(c, "alice", "hunter2", &err), -1);
    assert_int_equal(err.kind, ERR_AUTH);
    pop3_conn_close(&c);
    g_free(fake_finish(&f));
}

static void
test_in_use_is_refused_not_auth(void **state)
{
    static const char *const script[] = {
        "+OK ready\r\n", "-ERR\r\n", "+OK\r\n",
        "-ERR [IN-USE] Mailbox locked\r\n",
    };
    struct fake f;
    struct pop3_conn_opts o;
    struct pop3_conn *c;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_login(c, "alice", "pw", &err), -1);
    assert_int_equal(err.kind, ERR_REFUSED);
    pop3_conn_close(&c);
    g_free(fake_finish(&f));
}

static void
test_crlf_in_credentials_sends_nothing(void **state)
{
    static const char *const script[] = {"+OK ready\r\n", "-ERR\r\n"};
    struct fake f;
    struct pop3_conn_opts o;
    struct pop3_conn *c;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_login(c, "alice", "pw\r\nDELE 1", &err), -1);
    assert_int_equal(err.kind, ERR_INPUT);
    err_clear(&err);
    assert_int_equal(pop3_conn_login(c, "al\nice", "pw", &err), -1);
    assert_int_equal(err.kind, ERR_INPUT);
    pop3_conn_close(&c);
    assert_sent(&f, "CAPA\r\n");
}

/* ---- opening: greeting, STLS, timeouts ---- */

static void
test_stls_not_offered_is_conn_error(void **state)
{
    static const char *const script[] = {
        "+OK ready\r\n", "+OK\r\nUSER\r\n.\r\n",
    };
    struct fake f;
    struct pop3_conn_opts o;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    o.tls = CFG_TLS_STARTTLS;
    assert_null(pop3_conn_open(&o, &err));
    assert_int_equal(err.kind, ERR_CONN);
    assert_non_null(strstr(err.msg, "STLS"));
    assert_sent(&f, "CAPA\r\n");
}

static void
test_stls_without_capa_is_conn_error(void **state)
{
    static const char *const script[] = {"+OK ready\r\n", "-ERR\r\n"};
    struct fake f;
    struct pop3_conn_opts o;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    o.tls = CFG_TLS_STARTTLS;
    assert_null(pop3_conn_open(&o, &err));
    assert_int_equal(err.kind, ERR_CONN);
    g_free(fake_finish(&f));
}

static void
test_bytes_before_tls_handshake_are_refused(void **state)
{
    static const char *const script[] = {
        "+OK ready\r\n", "+OK\r\nSTLS\r\n.\r\n",
        "+OK Begin TLS\r\n+OK injected\r\n",
    };
    struct fake f;
    struct pop3_conn_opts o;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    o.tls = CFG_TLS_STARTTLS;
    assert_null(pop3_conn_open(&o, &err));
    assert_int_equal(err.kind, ERR_PROTO);
    assert_sent(&f, "CAPA\r\nSTLS\r\n");
}

static void
test_stall_is_timeout(void **state)
{
    static const char *const script[] = {NULL};
    struct fake f;
    struct pop3_conn_opts o;
    struct err err = {0};
    gint64 t0 = g_get_monotonic_time();

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    o.io_timeout = 1;
    assert_null(pop3_conn_open(&o, &err));
    assert_int_equal(err.kind, ERR_TIMEOUT);
    assert_true(g_get_monotonic_time() - t0 < 4 * G_USEC_PER_SEC);
    g_free(fake_finish(&f));
}

static void
test_bad_greetings(void **state)
{
    static const struct {
        const char *greeting;
        enum err_kind kind;
    } cases[] = {
        {"* OK IMAP4rev1 ready\r\n", ERR_PROTO},
        {"-ERR [SYS/TEMP] too busy\r\n", ERR_REFUSED},
        {"+ \r\n", ERR_PROTO},
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *script[] = {cases[i].greeting};
        struct fake f;
        struct pop3_conn_opts o;
        struct err err = {0};

        fake_start(&f, script, 1);
        o = opts_for(&f);
        assert_null(pop3_conn_open(&o, &err));
        assert_int_equal(err.kind, cases[i].kind);
        g_free(fake_finish(&f));
    }
}

/* ---- maildrop commands ---- */

static struct pop3_conn *
open_logged_in(struct fake *f, const char *const *script, size_t n)
{
    struct pop3_conn_opts o;
    struct pop3_conn *c;
    struct err err = {0};

    fake_start(f, script, n);
    o = opts_for(f);
    o.max_message = 64 * 1024;
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_login(c, "u", "p", &err), 0);
    return c;
}

/* As open_logged_in, with io_timeout 1 s and command_timeout (0: none). */
static struct pop3_conn *
open_logged_in_timed(struct fake *f, const char *const *script, size_t n,
                     unsigned command_timeout)
{
    struct pop3_conn_opts o;
    struct pop3_conn *c;
    struct err err = {0};

    fake_start(f, script, n);
    o = opts_for(f);
    o.io_timeout = 1;
    o.command_timeout = command_timeout;
    c = pop3_conn_open(&o, &err);
    assert_non_null(c);
    assert_int_equal(pop3_conn_login(c, "u", "p", &err), 0);
    return c;
}

#define LOGIN_SCRIPT "+OK ready\r\n", "-ERR\r\n", "+OK\r\n", "+OK\r\n"
#define LOGIN_SENT "CAPA\r\nUSER u\r\nPASS p\r\n"

static void
test_list_uidl_top(void **state)
{
    static const char *const script[] = {
        LOGIN_SCRIPT,
        "+OK 2 messages\r\n1 120\r\n2 4000\r\n.\r\n",
        "+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n",
        "+OK top\r\nSubject: hi\r\n..dotted: yes\r\n\r\n.\r\n",
        "+OK\r\n", "+OK\r\n", "+OK\r\n", "-ERR no such message\r\n",
        "+OK bye\r\n",
    };
    struct fake f;
    struct pop3_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct err err = {0};
    GArray *a;
    GString *hdr = g_string_new(NULL);

    (void)state;
    a = pop3_conn_list(c, &err);
    assert_non_null(a);
    assert_int_equal(a->len, 2);
    assert_int_equal(g_array_index(a, struct pop3_list_entry, 1).msg, 2);
    assert_int_equal(g_array_index(a, struct pop3_list_entry, 1).size, 4000);
    g_array_unref(a);
    a = pop3_conn_uidl(c, &err);
    assert_non_null(a);
    assert_int_equal(a->len, 2);
    assert_string_equal(g_array_index(a, struct pop3_uidl_entry, 0).uid,
                        "whqtswO00WBw418f9t5JxYwZ");
    g_array_unref(a);
    assert_int_equal(pop3_conn_top(c, 1, hdr, 0, NULL, &err), 0);
    assert_string_equal(hdr->str, "Subject: hi\r\n.dotted: yes\r\n\r\n");
    assert_int_equal(pop3_conn_dele(c, 2, &err), 0);
    assert_int_equal(pop3_conn_rset(c, &err), 0);
    assert_int_equal(pop3_conn_noop(c, &err), 0);
    assert_int_equal(pop3_conn_dele(c, 9, &err), -1);
    assert_int_equal(err.kind, ERR_REFUSED);
    err_clear(&err);
    assert_int_equal(pop3_conn_dele(c, 0, &err), -1); /* nothing sent */
    assert_int_equal(err.kind, ERR_INPUT);
    err_clear(&err);
    assert_true(pop3_conn_quit(&c, &err));
    g_string_free(hdr, TRUE);
    assert_sent(&f, LOGIN_SENT "LIST\r\nUIDL\r\nTOP 1 0\r\nDELE 2\r\n"
                               "RSET\r\nNOOP\r\nDELE 9\r\nQUIT\r\n");
}

/* One message's header past the caller's cap: the first bytes are kept,
 * the rest read and dropped, and the connection goes on. Without a place
 * to say so, the cap is an error. */
static void
test_top_past_the_cap_keeps_the_head_and_the_connection(void **state)
{
    static const char *const script[] = {
        LOGIN_SCRIPT,
        "+OK\r\nSubject: big\r\nX-A: 0123456789\r\nX-B: 0123456789\r\n"
        "\r\n.\r\n",
        "+OK\r\n",
        "+OK\r\nSubject: big\r\nX-A: 0123456789\r\n\r\n.\r\n",
    };
    struct fake f;
    struct pop3_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct err err = {0};
    GString *hdr = g_string_new(NULL);
    bool cut = false;

    (void)state;
    assert_int_equal(pop3_conn_top(c, 1, hdr, 20, &cut, &err), 0);
    assert_true(cut);
    assert_string_equal(hdr->str, "Subject: big\r\nX-A: 0");
    assert_int_equal(pop3_conn_noop(c, &err), 0);
    g_string_truncate(hdr, 0);
    assert_int_equal(pop3_conn_top(c, 1, hdr, 20, NULL, &err), -1);
    assert_int_equal(err.kind, ERR_LIMIT);
    err_clear(&err);
    pop3_conn_close(&c);
    g_string_free(hdr, TRUE);
    assert_sent(&f, LOGIN_SENT "TOP 1 0\r\nNOOP\r\nTOP 1 0\r\n");
}

static void
test_bad_uids_are_protocol_errors(void **state)
{
    static const char *const bad[] = {
        "+OK\r\n1 \r\n.\r\n",
        "+OK\r\n1 a b\r\n.\r\n",
        "+OK\r\n1 caf\xc3\xa9\r\n.\r\n",
        "+OK\r\n1 "
        "12345678901234567890123456789012345678901234567890123456789012345678901"
        "\r\n.\r\n",
        "+OK\r\nx 1\r\n.\r\n",
        "+OK\r\n0 a\r\n.\r\n",
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *script[] = {LOGIN_SCRIPT, bad[i]};
        struct fake f;
        struct pop3_conn *c = open_logged_in(&f, script, 5);
        struct err err = {0};

        assert_null(pop3_conn_uidl(c, &err));
        if (err.kind != ERR_PROTO)
            fail_msg("case %zu: kind %d", i, (int)err.kind);
        pop3_conn_close(&c);
        g_free(fake_finish(&f));
    }
    {
        /* exactly 70 characters is fine */
        const char *script[] = {
            LOGIN_SCRIPT,
            "+OK\r\n1 "
            "1234567890123456789012345678901234567890123456789012345678901234567890"
            "\r\n.\r\n"};
        struct fake f;
        struct pop3_conn *c = open_logged_in(&f, script, 5);
        struct err err = {0};
        GArray *a = pop3_conn_uidl(c, &err);

        assert_non_null(a);
        assert_int_equal(strlen(g_array_index(a, struct pop3_uidl_entry,
                                              0).uid), 70);
        g_array_unref(a);
        pop3_conn_close(&c);
        g_free(fake_finish(&f));
    }
}

/* A message whose lines often start with '.', about 40 KB: several reads. */
static GString *
sample_message(void)
{
    GString *m = g_string_new("Subject: dots\r\n\r\n");

    for (int i = 0; i < 2000; i++) {
        if (i % 3 == 0)
            g_string_append(m, ".");
        if (i % 7 == 0)
            g_string_append(m, "..");
        g_string_append_printf(m, "line %d .\r\n", i);
    }
    g_string_append(m, ".\r\n.x\r\n"); /* a "." line inside the message */
    return m;
}

static GString *
stuffed(const GString *m)
{
    GString *w = g_string_new("+OK message follows\r\n");
    bool bol = true;

    for (size_t i = 0; i < m->len; i++) {
        if (bol && m->str[i] == '.')
            g_string_append_c(w, '.');
        g_string_append_c(w, m->str[i]);
        bol = m->str[i] == '\n';
    }
    g_string_append(w, ".\r\n");
    return w;
}

static void
test_retr_streamed_in_small_reads(void **state)
{
    GString *msg = sample_message(), *wire = stuffed(msg);
    const char *script[] = {LOGIN_SCRIPT, wire->str, "+OK\r\n"};
    struct fake f;
    struct pop3_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct err err = {0};
    GString *got = g_string_new(NULL);
    size_t reads = 0;

    (void)state;
    assert_int_equal(pop3_conn_retr_begin(c, 1, 0, &err), 0);
    for (;;) {
        char buf[7];
        ssize_t n = pop3_conn_retr_read(c, buf, 1 + reads % sizeof(buf),
                                        &err);

        assert_true(n >= 0);
        if (n == 0)
            break;
        g_string_append_len(got, buf, n);
        reads++;
    }
    assert_int_equal(got->len, msg->len);
    assert_memory_equal(got->str, msg->str, msg->len);
    /* the connection is in step after the stream */
    assert_int_equal(pop3_conn_noop(c, &err), 0);
    pop3_conn_close(&c);
    assert_sent(&f, LOGIN_SENT "RETR 1\r\nNOOP\r\n");
    g_string_free(got, TRUE);
    g_string_free(msg, TRUE);
    g_string_free(wire, TRUE);
}

static void
test_retr_over_max_message_is_limit(void **state)
{
    GString *w = g_string_new("+OK\r\n");
    struct fake f;
    struct pop3_conn *c;
    struct err err = {0};
    ssize_t n;
    char buf[4096];

    (void)state;
    while (w->len < 5 + 64 * 1024)
        g_string_append(w, "0123456789abcd\r\n");
    g_string_truncate(w, 5 + 64 * 1024);   /* body: exactly 64 KiB */
    g_string_append(w, "x\r\n.\r\n");      /* one over, and more */
    {
        const char *script[] = {LOGIN_SCRIPT, w->str};

        c = open_logged_in(&f, script, 5);
        assert_int_equal(pop3_conn_retr_begin(c, 1, 0, &err), 0);
        do {
            n = pop3_conn_retr_read(c, buf, sizeof(buf), &err);
        } while (n > 0);
        assert_int_equal(n, -1);
        assert_int_equal(err.kind, ERR_LIMIT);
        err_clear(&err);
        assert_int_equal(pop3_conn_noop(c, &err), -1); /* broken now */
        assert_int_equal(err.kind, ERR_CONN);
        pop3_conn_close(&c);
        g_free(fake_finish(&f));
    }
    {
        /* a stream that holds nothing names its own cap: the same reply
         * then comes whole */
        const char *script[] = {LOGIN_SCRIPT, w->str};
        size_t got = 0;

        c = open_logged_in(&f, script, 5);
        assert_int_equal(pop3_conn_retr_begin(c, 1, 128 * 1024, &err), 0);
        while ((n = pop3_conn_retr_read(c, buf, sizeof(buf), &err)) > 0)
            got += (size_t)n;
        assert_int_equal(n, 0);
        assert_int_equal(got, 64 * 1024 + 3);
        pop3_conn_close(&c);
        g_free(fake_finish(&f));
    }
    g_string_free(w, TRUE);
}

static void
test_retr_refused(void **state)
{
    static const char *const script[] = {LOGIN_SCRIPT,
                                         "-ERR no such message\r\n"};
    struct fake f;
    struct pop3_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct err err = {0};

    (void)state;
    assert_int_equal(pop3_conn_retr_begin(c, 3, 0, &err), -1);
    assert_int_equal(err.kind, ERR_REFUSED);
    pop3_conn_close(&c);
    assert_sent(&f, LOGIN_SENT "RETR 3\r\n");
}

static void
test_quit_not_acknowledged(void **state)
{
    static const char *const script[] = {LOGIN_SCRIPT,
                                         "-ERR some deleted messages not "
                                         "removed\r\n"};
    struct fake f;
    struct pop3_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct err err = {0};

    (void)state;
    assert_false(pop3_conn_quit(&c, &err));
    assert_null(c);
    assert_int_equal(err.kind, ERR_REFUSED);
    assert_false(pop3_conn_quit(&c, &err)); /* NULL-safe */
    g_free(fake_finish(&f));
}


/* ---- a hostile server (issue 9): every attack ends in an error, the
 * connection broken, and no credentials sent where TLS was required ---- */

static void
assert_no_credentials_sent(struct fake *f)
{
    char *got = fake_finish(f);

    assert_null(strstr(got, "USER"));
    assert_null(strstr(got, "PASS"));
    assert_null(strstr(got, "AUTH"));
    assert_null(strstr(got, "APOP"));
    g_free(got);
}

static void
test_stls_refused_after_being_offered_sends_no_credentials(void **state)
{
    static const char *const script[] = {
        "+OK ready\r\n", "+OK\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n",
        "-ERR not today\r\n",
    };
    struct fake f;
    struct pop3_conn_opts o;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    o.tls = CFG_TLS_STARTTLS;
    assert_null(pop3_conn_open(&o, &err));
    /* a 502 page that says why, never a login in clear */
    assert_true(err.kind == ERR_REFUSED || err.kind == ERR_CONN);
    assert_non_null(strstr(err.msg, "STLS"));
    assert_no_credentials_sent(&f);
}

static void
test_stls_accepted_but_no_tls_follows_sends_no_credentials(void **state)
{
    /* "+OK" to STLS, then the server never answers the ClientHello */
    static const char *const script[] = {
        "+OK ready\r\n", "+OK\r\nSTLS\r\nUSER\r\n.\r\n", "+OK go ahead\r\n",
    };
    struct fake f;
    struct pop3_conn_opts o;
    struct err err = {0};

    (void)state;
    START(&f, script);
    o = opts_for(&f);
    o.tls = CFG_TLS_STARTTLS;
    o.connect_timeout = 1;
    o.io_timeout = 1;
    assert_null(pop3_conn_open(&o, &err));
    assert_true(err.kind == ERR_TIMEOUT || err.kind == ERR_CONN);
    assert_no_credentials_sent(&f);
}

static void
test_endless_greeting_is_a_protocol_error(void **state)
{
    GString *g = g_string_new("+OK ");
    struct fake f;
    struct pop3_conn_opts o;
    struct err err = {0};

    (void)state;
    while (g->len < 1024 * 1024) /* 1 MiB, no CRLF: far past LIM_POP3_LINE */
        g_string_append(g, "AAAAAAAAAAAAAAAA");
    {
        const char *script[] = {g->str};

        fake_start(&f, script, 1);
        o = opts_for(&f);
        assert_null(pop3_conn_open(&o, &err));
        /* the server's fault: 502, not "request too large" */
        assert_int_equal(err.kind, ERR_PROTO);
        assert_non_null(strstr(err.msg, "sent too much"));
        assert_sent(&f, "");
    }
    g_string_free(g, TRUE);
}

static void
test_garbage_greeting_is_a_protocol_error(void **state)
{
    /* a TLS record where the greeting should be, then high bytes */
    static const char garbage[] = "\x16\x03\x01\x02\x01\x01\x7f\x01\xfc"
                                  "\xff\xfe\x80\r\n";
    const char *script[] = {garbage};
    struct fake f;
    struct pop3_conn_opts o;
    struct err err = {0};

    (void)state;
    fake_start(&f, script, 1);
    o = opts_for(&f);
    assert_null(pop3_conn_open(&o, &err));
    assert_int_equal(err.kind, ERR_PROTO);
    assert_sent(&f, "");
}

static void
test_status_line_over_the_cap_after_login_breaks_the_connection(
    void **state)
{
    GString *line = g_string_new("+OK ");
    struct fake f;
    struct pop3_conn *c;
    struct err err = {0};
    unsigned count;
    uint64_t size;

    (void)state;
    while (line->len < LIM_POP3_LINE + 16)
        g_string_append(line, "1234567890");
    g_string_append(line, "\r\n");
    {
        const char *script[] = {LOGIN_SCRIPT, line->str};

        c = open_logged_in(&f, script, G_N_ELEMENTS(script));
        assert_int_equal(pop3_conn_stat(c, &count, &size, &err), -1);
        assert_int_equal(err.kind, ERR_PROTO);
        err_clear(&err);
        assert_int_equal(pop3_conn_noop(c, &err), -1);
        assert_int_equal(err.kind, ERR_CONN);
        pop3_conn_close(&c);
        assert_sent(&f, LOGIN_SENT "STAT\r\n");
    }
    g_string_free(line, TRUE);
}

static void
test_list_line_over_the_cap_is_a_protocol_error(void **state)
{
    GString *w = g_string_new("+OK\r\n1 ");
    struct fake f;
    struct pop3_conn *c;
    struct err err = {0};

    (void)state;
    while (w->len < LIM_POP3_LINE + 64)
        g_string_append(w, "9999999999");
    g_string_append(w, "\r\n.\r\n");
    {
        const char *script[] = {LOGIN_SCRIPT, w->str};

        c = open_logged_in(&f, script, G_N_ELEMENTS(script));
        assert_null(pop3_conn_list(c, &err));
        assert_int_equal(err.kind, ERR_PROTO);
        pop3_conn_close(&c);
        g_free(fake_finish(&f));
    }
    g_string_free(w, TRUE);
}

static void
test_stall_in_the_middle_of_retr_is_a_timeout(void **state)
{
    static const char *const script[] = {
        LOGIN_SCRIPT, "+OK 500 octets\r\nSubject: half\r\n\r\nand th",
    };
    struct fake f;
    struct pop3_conn *c;
    struct err err = {0};
    char buf[256];
    ssize_t n;

    (void)state;
    /* the fake never sends the rest of the message */
    c = open_logged_in_timed(&f, script, G_N_ELEMENTS(script), 0);
    assert_int_equal(pop3_conn_retr_begin(c, 1, 0, &err), 0);
    do {
        n = pop3_conn_retr_read(c, buf, sizeof(buf), &err);
    } while (n > 0);
    assert_int_equal(n, -1);
    assert_int_equal(err.kind, ERR_TIMEOUT);
    pop3_conn_close(&c);
    g_free(fake_finish(&f));
}

/* Each byte within io_timeout, the reply 1.7 s in all: command_timeout
 * (1 s) ends it, where io_timeout alone would wait for ever. */
static void
test_a_reply_that_drips_past_command_timeout_is_a_timeout(void **state)
{
    static const char *const script[] = {
        LOGIN_SCRIPT,
        "+OK\r\n" FAKE_DRIP "Subject: hi\r\n\r\n.\r\n", /* TOP */
    };
    struct fake f;
    struct pop3_conn *c;
    struct err err = {0};
    GString *hdr = g_string_new(NULL);

    (void)state;
    c = open_logged_in_timed(&f, script, G_N_ELEMENTS(script), 1);
    assert_int_equal(pop3_conn_top(c, 1, hdr, 0, NULL, &err), -1);
    assert_int_equal(err.kind, ERR_TIMEOUT);
    assert_non_null(strstr(err.msg, "no complete reply within 1 s in all"));
    g_string_free(hdr, TRUE);
    pop3_conn_close(&c);
    g_free(fake_finish(&f));
}

/* A download the browser paces: a browser slower than command_timeout
 * keeps it, for the time between reads does not count. */
static void
test_a_paced_retr_is_not_held_to_command_timeout(void **state)
{
    static const char *const script[] = {
        LOGIN_SCRIPT,
        "+OK\r\nSubject: hi\r\n\r\nbody\r\n.\r\n", /* RETR */
        "+OK bye\r\n",
    };
    struct fake f;
    struct pop3_conn *c;
    struct err err = {0};
    GString *got = g_string_new(NULL);
    char buf[6];
    ssize_t n;

    (void)state;
    c = open_logged_in_timed(&f, script, G_N_ELEMENTS(script), 1);
    assert_int_equal(pop3_conn_retr_begin(c, 1, 0, &err), 0);
    pop3_conn_retr_paced(c);
    do {
        g_usleep(300 * 1000); /* 1.2 s in all: past command_timeout */
        n = pop3_conn_retr_read(c, buf, sizeof(buf), &err);
        if (n > 0)
            g_string_append_len(got, buf, n);
    } while (n > 0);
    if (n < 0)
        fail_msg("RETR: %s", err.msg);
    assert_string_equal(got->str, "Subject: hi\r\n\r\nbody\r\n");
    g_string_free(got, TRUE);
    pop3_conn_close(&c);
    g_free(fake_finish(&f));
}

/* ... but a server that drips keeps it waiting: under LIM_PACED_FLOOR in
 * a command_timeout of waiting is the end of it. */
static void
test_a_paced_retr_that_drips_is_cut(void **state)
{
    static const char *const script[] = {
        LOGIN_SCRIPT,
        "+OK\r\n" FAKE_DRIP "Subject: hi\r\n\r\n.\r\n", /* RETR: 1.9 s */
    };
    struct fake f;
    struct pop3_conn *c;
    struct err err = {0};
    char buf[256];
    ssize_t n;
    int64_t start;

    (void)state;
    c = open_logged_in_timed(&f, script, G_N_ELEMENTS(script), 1);
    assert_int_equal(pop3_conn_retr_begin(c, 1, 0, &err), 0);
    pop3_conn_retr_paced(c);
    start = g_get_monotonic_time();
    while ((n = pop3_conn_retr_read(c, buf, sizeof(buf), &err)) > 0)
        ;
    assert_int_equal(n, -1);
    assert_int_equal(err.kind, ERR_TIMEOUT);
    if (strstr(err.msg, "of waiting, under the 16384") == NULL)
        fail_msg("%s", err.msg);
    assert_true(g_get_monotonic_time() - start < 1800 * 1000);
    pop3_conn_close(&c);
    g_free(fake_finish(&f));
}

static void
test_hang_up_in_the_middle_of_retr_is_a_connection_error(void **state)
{
    static const char *const script[] = {
        LOGIN_SCRIPT, "+OK\r\nSubject: cut\r\n\r\nhalf a li", FAKE_HANG_UP,
    };
    struct fake f;
    struct pop3_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct err err = {0};
    char buf[256];
    ssize_t n;

    (void)state;
    assert_int_equal(pop3_conn_retr_begin(c, 1, 0, &err), 0);
    do {
        n = pop3_conn_retr_read(c, buf, sizeof(buf), &err);
    } while (n > 0);
    assert_int_equal(n, -1);
    assert_int_equal(err.kind, ERR_CONN);
    assert_non_null(strstr(err.msg, "closed"));
    pop3_conn_close(&c);
    g_free(fake_finish(&f));
}

static void
test_hang_up_in_the_middle_of_a_status_line_is_a_connection_error(
    void **state)
{
    static const char *const script[] = {LOGIN_SCRIPT, "+OK 3 3",
                                         FAKE_HANG_UP};
    struct fake f;
    struct pop3_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct err err = {0};
    unsigned count;
    uint64_t size;

    (void)state;
    /* STAT gets half a line, then the end: no answer is made up */
    assert_int_equal(pop3_conn_stat(c, &count, &size, &err), -1);
    assert_int_equal(err.kind, ERR_CONN);
    pop3_conn_close(&c);
    g_free(fake_finish(&f));
}

/* ---- the command builder ---- */

static void
test_cmd_build_wire_and_refusals(void **state)
{
    GString *out = g_string_new("x");
    struct err err = {0};
    const char *two[] = {"1", "0"};
    const char *cr[] = {"a\rb"}, *lf[] = {"a\nb"};
    char big[300];
    const char *bigarg[] = {big};

    (void)state;
    assert_int_equal(pop3_conn_cmd_build(out, "TOP", two, 2, &err), 0);
    assert_int_equal(pop3_conn_cmd_build(out, "QUIT", NULL, 0, &err), 0);
    assert_string_equal(out->str, "xTOP 1 0\r\nQUIT\r\n");
    assert_int_equal(pop3_conn_cmd_build(out, "USER", cr, 1, &err), -1);
    assert_int_equal(err.kind, ERR_INPUT);
    err_clear(&err);
    assert_int_equal(pop3_conn_cmd_build(out, "USER", lf, 1, &err), -1);
    assert_int_equal(err.kind, ERR_INPUT);
    err_clear(&err);
    assert_int_equal(pop3_conn_cmd_build(out, "NO\r\nOP", NULL, 0, &err), -1);
    err_clear(&err);
    assert_string_equal(out->str, "xTOP 1 0\r\nQUIT\r\n");
    /* "PASS " + arg + CRLF: 255 bytes is fine, 256 is not */
    memset(big, 'a', 248);
    big[248] = '\0';
    g_string_truncate(out, 0);
    assert_int_equal(pop3_conn_cmd_build(out, "PASS", bigarg, 1, &err), 0);
    assert_int_equal(out->len, 255);
    big[248] = 'a';
    big[249] = '\0';
    g_string_truncate(out, 0);
    assert_int_equal(pop3_conn_cmd_build(out, "PASS", bigarg, 1, &err), -1);
    assert_int_equal(err.kind, ERR_INPUT);
    assert_int_equal(out->len, 0);
    g_string_free(out, TRUE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_pass_without_capa),
        cmocka_unit_test(test_apop_digest_of_rfc1939_example),
        cmocka_unit_test(test_apop_not_allowed_uses_user_pass),
        cmocka_unit_test(test_auth_plain_when_sasl_plain_offered),
        cmocka_unit_test(test_forced_user_and_apop),
        cmocka_unit_test(test_err_on_pass_is_auth_without_password),
        cmocka_unit_test(test_auth_plain_refused_is_auth),
        cmocka_unit_test(test_in_use_is_refused_not_auth),
        cmocka_unit_test(test_crlf_in_credentials_sends_nothing),
        cmocka_unit_test(test_stls_not_offered_is_conn_error),
        cmocka_unit_test(test_stls_without_capa_is_conn_error),
        cmocka_unit_test(test_bytes_before_tls_handshake_are_refused),
        cmocka_unit_test(test_stall_is_timeout),
        cmocka_unit_test(test_bad_greetings),
        cmocka_unit_test(test_list_uidl_top),
        cmocka_unit_test(test_bad_uids_are_protocol_errors),
        cmocka_unit_test(test_retr_streamed_in_small_reads),
        cmocka_unit_test(test_retr_over_max_message_is_limit),
        cmocka_unit_test(test_retr_refused),
        cmocka_unit_test(test_quit_not_acknowledged),
        cmocka_unit_test(test_cmd_build_wire_and_refusals),
        cmocka_unit_test(
            test_stls_refused_after_being_offered_sends_no_credentials),
        cmocka_unit_test(
            test_stls_accepted_but_no_tls_follows_sends_no_credentials),
        cmocka_unit_test(test_endless_greeting_is_a_protocol_error),
        cmocka_unit_test(test_garbage_greeting_is_a_protocol_error),
        cmocka_unit_test(
            test_status_line_over_the_cap_after_login_breaks_the_connection),
        cmocka_unit_test(test_list_line_over_the_cap_is_a_protocol_error),
        cmocka_unit_test(
            test_top_past_the_cap_keeps_the_head_and_the_connection),
        cmocka_unit_test(test_stall_in_the_middle_of_retr_is_a_timeout),
        cmocka_unit_test(
            test_a_reply_that_drips_past_command_timeout_is_a_timeout),
        cmocka_unit_test(test_a_paced_retr_is_not_held_to_command_timeout),
        cmocka_unit_test(test_a_paced_retr_that_drips_is_cut),
        cmocka_unit_test(
            test_hang_up_in_the_middle_of_retr_is_a_connection_error),
        cmocka_unit_test(
            test_hang_up_in_the_middle_of_a_status_line_is_a_connection_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
