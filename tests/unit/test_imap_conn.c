/* test_imap_conn.c - imap_conn against a scripted fake server: a reply
 * that drips, each byte within io_timeout, is cut at command_timeout,
 * also inside a streamed literal, unless the stream is paced (a download);
 * an upload (APPEND) gets more time by its size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "imap/imap_conn.h"

#include "fake_script.h"

#define GREETING "* OK [CAPABILITY IMAP4rev1] fake ready\r\n"
/* new capabilities in the OK: no CAPABILITY command follows */
#define LOGIN_OK "p1 OK [CAPABILITY IMAP4rev1 LITERAL+] logged in\r\n"
/* the 20-byte literal of a FETCH, dripped: 2 s, twice command_timeout */
#define FETCH_DRIPPED                                                        \
    "* 1 FETCH (UID 1 BODY[1] {20}\r\n" FAKE_DRIP "0123456789abcdefghij)\r\n" \
    "p2 OK done\r\n"

static struct imap_conn *
open_logged_in(struct fake *f, const char *const *script, size_t n)
{
    struct imap_conn_opts o = {
        .host = "127.0.0.1",
        .tls = CFG_TLS_NONE,
        .connect_timeout = 5,
        .io_timeout = 1,
        .command_timeout = 1,
    };
    struct err err = {0};
    struct imap_conn *c;

    fake_start(f, script, n);
    o.port = f->port;
    c = imap_conn_open(&o, &err);
    if (c == NULL)
        fail_msg("open: %s", err.msg);
    if (imap_conn_login(c, "u", "p", &err) < 0)
        fail_msg("login: %s", err.msg);
    return c;
}

static struct imap_cmd *
fetch_cmd(struct imap_conn *c)
{
    struct imap_cmd *cmd = imap_conn_cmd_new(c, "UID FETCH");

    imap_cmd_add_raw(cmd, "1 BODY.PEEK[1]");
    return cmd;
}

/* Reads the stream to its end: 0 with all of it in got, or -1. */
static int
read_all(struct imap_conn *c, GString *got, struct err *err)
{
    char buf[64];
    ssize_t n;

    while ((n = imap_conn_stream_read(c, buf, sizeof(buf), err)) > 0)
        g_string_append_len(got, buf, n);
    return n < 0 ? -1 : 0;
}

static void
test_a_reply_that_drips_is_cut_at_command_timeout(void **state)
{
    static const char *const script[] = {
        GREETING, LOGIN_OK,
        /* "* OK" news a byte at a time, never the tagged reply in time */
        FAKE_DRIP "* OK still working\r\n* OK still\r\np2 OK done\r\n",
    };
    struct fake f;
    struct imap_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct err err = {0};

    (void)state;
    assert_int_equal(
        imap_conn_run(c, imap_conn_cmd_new(c, "NOOP"), NULL, NULL, &err), -1);
    assert_int_equal(err.kind, ERR_TIMEOUT);
    assert_non_null(strstr(err.msg, "no complete reply within 1 s in all"));
    imap_conn_close(&c);
    g_free(fake_finish(&f));
}

/* A literal read into memory (a text part for the page) is a command
 * like any other. */
static void
test_a_stream_read_into_memory_keeps_the_limit(void **state)
{
    static const char *const script[] = {GREETING, LOGIN_OK, FETCH_DRIPPED};
    struct fake f;
    struct imap_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct err err = {0};
    GString *got = g_string_new(NULL);

    (void)state;
    assert_int_equal(imap_conn_stream_begin(c, fetch_cmd(c), &err), 0);
    assert_int_equal(read_all(c, got, &err), -1);
    assert_int_equal(err.kind, ERR_TIMEOUT);
    assert_non_null(strstr(err.msg, "in all"));
    g_string_free(got, TRUE);
    imap_conn_close(&c);
    g_free(fake_finish(&f));
}

/* A download the browser paces: a browser slower than command_timeout
 * keeps it (the time between reads does not count), and the next command
 * has its limit again. */
static void
test_a_paced_stream_gets_through_and_the_next_command_is_limited(
    void **state)
{
    static const char *const script[] = {
        GREETING, LOGIN_OK,
        "* 1 FETCH (UID 1 BODY[1] {20}\r\n0123456789abcdefghij)\r\n"
        "p2 OK done\r\n",
        FAKE_DRIP "* OK slow\r\n* OK slower\r\np3 OK done\r\n", /* NOOP */
    };
    struct fake f;
    struct imap_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct err err = {0};
    GString *got = g_string_new(NULL);
    char buf[6];
    ssize_t n;

    (void)state;
    assert_int_equal(imap_conn_stream_begin(c, fetch_cmd(c), &err), 0);
    imap_conn_stream_paced(c);
    do {
        g_usleep(300 * 1000); /* 1.2 s in all: past command_timeout */
        n = imap_conn_stream_read(c, buf, sizeof(buf), &err);
        if (n > 0)
            g_string_append_len(got, buf, n);
    } while (n > 0);
    if (n < 0)
        fail_msg("paced stream: %s", err.msg);
    assert_string_equal(got->str, "0123456789abcdefghij");
    assert_int_equal(
        imap_conn_run(c, imap_conn_cmd_new(c, "NOOP"), NULL, NULL, &err), -1);
    assert_int_equal(err.kind, ERR_TIMEOUT);
    g_string_free(got, TRUE);
    imap_conn_close(&c);
    g_free(fake_finish(&f));
}

/* ... but a server that drips the literal is cut once it has kept the
 * download waiting a command_timeout for under LIM_PACED_FLOOR. */
static void
test_a_paced_stream_that_drips_is_cut(void **state)
{
    static const char *const script[] = {GREETING, LOGIN_OK, FETCH_DRIPPED};
    struct fake f;
    struct imap_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct err err = {0};
    GString *got = g_string_new(NULL);

    (void)state;
    assert_int_equal(imap_conn_stream_begin(c, fetch_cmd(c), &err), 0);
    imap_conn_stream_paced(c);
    assert_int_equal(read_all(c, got, &err), -1);
    assert_int_equal(err.kind, ERR_TIMEOUT);
    if (strstr(err.msg, "of waiting, under the 16384") == NULL)
        fail_msg("%s", err.msg);
    g_string_free(got, TRUE);
    imap_conn_close(&c);
    g_free(fake_finish(&f));
}

/* An APPEND of len bytes of 'x' (LOGIN_OK offers LITERAL+: one segment,
 * no continuation) against a server whose OK drips, 100 ms a byte. */
static int
append_against_a_dripping_ok(size_t len, const char *dripped_ok,
                             struct err *err)
{
    const char *const script[] = {GREETING, LOGIN_OK, dripped_ok};
    struct fake f;
    struct imap_conn *c = open_logged_in(&f, script, G_N_ELEMENTS(script));
    struct imap_cmd *cmd = imap_conn_cmd_new(c, "APPEND");
    char *msg = g_malloc(len);
    int rc;

    memset(msg, 'x', len);
    if (imap_cmd_add_mailbox(cmd, "Sent", err) < 0 ||
        imap_cmd_add_literal(cmd, msg, len, err) < 0)
        fail_msg("APPEND: %s", err->msg);
    rc = imap_conn_run(c, cmd, NULL, NULL, err);
    g_free(msg);
    imap_conn_close(&c);
    g_free(fake_finish(&f));
    return rc;
}

/* command_timeout is 1 s: a small APPEND gets that, one of 32 KiB two
 * seconds more (a second per 16 KiB), and not more than that. */
static void
test_an_upload_gets_a_second_more_per_16_kib(void **state)
{
    struct err err = {0};

    (void)state;
    assert_int_equal(append_against_a_dripping_ok(
                         100, FAKE_DRIP "p2 OK appended\r\n", &err), -1);
    assert_int_equal(err.kind, ERR_TIMEOUT);
    assert_non_null(strstr(err.msg, "within 1 s in all"));

    err = (struct err){0};
    if (append_against_a_dripping_ok(
            32 * 1024, FAKE_DRIP "p2 OK appended\r\n", &err) < 0)
        fail_msg("32 KiB APPEND within 3 s: %s", err.msg);

    err = (struct err){0};
    assert_int_equal(append_against_a_dripping_ok(
                         16 * 1024, FAKE_DRIP "p2 OK appended at last\r\n",
                         &err), -1);
    assert_int_equal(err.kind, ERR_TIMEOUT);
    assert_non_null(strstr(err.msg, "within 2 s in all"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_reply_that_drips_is_cut_at_command_timeout),
        cmocka_unit_test(test_an_upload_gets_a_second_more_per_16_kib),
        cmocka_unit_test(test_a_stream_read_into_memory_keeps_the_limit),
        cmocka_unit_test(
            test_a_paced_stream_gets_through_and_the_next_command_is_limited),
        cmocka_unit_test(test_a_paced_stream_that_drips_is_cut),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
