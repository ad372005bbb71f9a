/* test_imap_cmd.c - wire transcripts of the IMAP command builder: argument
 * lists in, the exact bytes out, segment by segment (the client waits for
 * "+" between segments). Plus every refusal and the redacted trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "imap/imap_cmd.h"

enum imap_test_arg_kind {
    A_END = 0,
    A_ATOM,
    A_RAW,
    A_NUMBER,
    A_ASTRING,
    A_STRING,
    A_MAILBOX,
    A_LITERAL,
    A_SEQSET
};

struct imap_test_arg {
    enum imap_test_arg_kind kind;
    const char *s;   /* A_NUMBER: unused; A_SEQSET: unused */
    size_t len;      /* 0: strlen(s) */
    uint64_t num;    /* A_NUMBER */
    uint32_t set[6]; /* A_SEQSET: numbers, 0-terminated */
};

#define ATOM(x)                                                                \
    {                                                                          \
        .kind = A_ATOM, .s = (x)                                               \
    }
#define RAW(x)                                                                 \
    {                                                                          \
        .kind = A_RAW, .s = (x)                                                \
    }
#define NUM(x)                                                                 \
    {                                                                          \
        .kind = A_NUMBER, .num = (x)                                           \
    }
#define ASTR(x)                                                                \
    {                                                                          \
        .kind = A_ASTRING, .s = (x)                                            \
    }
#define ASTRN(x)                                                               \
    {                                                                          \
        .kind = A_ASTRING, .s = (x), .len = sizeof(x) - 1                      \
    }
#define STR(x)                                                                 \
    {                                                                          \
        .kind = A_STRING, .s = (x)                                             \
    }
#define STRN(x)                                                                \
    {                                                                          \
        .kind = A_STRING, .s = (x), .len = sizeof(x) - 1                       \
    }
#define MBOX(x)                                                                \
    {                                                                          \
        .kind = A_MAILBOX, .s = (x)                                            \
    }
#define LIT(x)                                                                 \
    {                                                                          \
        .kind = A_LITERAL, .s = (x), .len = sizeof(x) - 1                      \
    }
#define SET(...)                                                               \
    {                                                                          \
        .kind = A_SEQSET, .set = { __VA_ARGS__ }                               \
    }

struct wire_case {
    const char *name;
    unsigned flags;
    const char *verb;
    struct imap_test_arg args[8]; /* A_END-terminated */
    const char *seg[4];           /* the expected segments, NULL-terminated */
};

#define UTF8 IMAP_CMD_UTF8_ACCEPT
#define LPLUS IMAP_CMD_LITERAL_PLUS
#define LMINUS IMAP_CMD_LITERAL_MINUS

/* clang-format off */
static const struct wire_case wire_cases[] = {
    { "plain user names and passwords are atoms", 0, "LOGIN",
      { ASTR("user"), ASTR("pa$$w0rd") },
      { "a1 LOGIN user pa$$w0rd\r\n" } },
    { "quotes and braces make a quoted string with escapes", 0, "LOGIN",
      { ASTR("\"user"), ASTR("sec\"ret{") },
      { "a1 LOGIN \"\\\"user\" \"sec\\\"ret{\"\r\n" } },
    { "a backslash is escaped inside quotes", 0, "LOGIN",
      { ASTR("dom\\user"), ASTR("\\\\") },
      { "a1 LOGIN \"dom\\\\user\" \"\\\\\\\\\"\r\n" } },
    { "NIL in any case is quoted, not sent as an atom", 0, "LOGIN",
      { ASTR("nil"), ASTR("NIL") },
      { "a1 LOGIN \"nil\" \"NIL\"\r\n" } },
    { "an empty string is two quotes", 0, "LOGIN",
      { ASTR(""), STR("") },
      { "a1 LOGIN \"\" \"\"\r\n" } },
    { "spaces, wildcards, parens and brackets are quoted", 0, "LIST",
      { ASTR("a b"), ASTR("*"), ASTR("%"), ASTR("(x)"), ASTR("a]"),
        ASTR("[Gmail]") },
      { "a1 LIST \"a b\" \"*\" \"%\" \"(x)\" \"a]\" \"[Gmail]\"\r\n" } },
    { "8-bit without UTF8=ACCEPT is a synchronizing literal", 0, "LOGIN",
      { ASTR("J\xc3\xa9r\xc3\xb4me"), ASTR("pw") },
      { "a1 LOGIN {8}\r\n", "J\xc3\xa9r\xc3\xb4me pw\r\n" } },
    { "8-bit with UTF8=ACCEPT is quoted", UTF8, "LOGIN",
      { ASTR("J\xc3\xa9r\xc3\xb4me"), ASTR("pw") },
      { "a1 LOGIN \"J\xc3\xa9r\xc3\xb4me\" pw\r\n" } },
    { "invalid UTF-8 with UTF8=ACCEPT is still a literal", UTF8, "LOGIN",
      { ASTR("\xff\xfe"), ASTR("pw") },
      { "a1 LOGIN {2}\r\n", "\xff\xfe pw\r\n" } },
    { "with LITERAL+ literals do not wait", LPLUS, "LOGIN",
      { ASTR("J\xc3\xa9r\xc3\xb4me"), ASTR("p\xc3\xa4ss") },
      { "a1 LOGIN {8+}\r\nJ\xc3\xa9r\xc3\xb4me {5+}\r\np\xc3\xa4ss\r\n" } },
    { "with LITERAL- small literals do not wait", LMINUS, "LOGIN",
      { ASTR("J\xc3\xa9r\xc3\xb4me"), ASTR("pw") },
      { "a1 LOGIN {8+}\r\nJ\xc3\xa9r\xc3\xb4me pw\r\n" } },
    { "two synchronizing literals make three segments", 0, "LOGIN",
      { ASTR("\xc3\xa9"), ASTR("\xc3\xa8") },
      { "a1 LOGIN {2}\r\n", "\xc3\xa9 {2}\r\n", "\xc3\xa8\r\n" } },
    { "a search string is never an atom", 0, "UID SEARCH",
      { RAW("CHARSET UTF-8 TEXT"), STR("hello"), RAW("SUBJECT"),
        STR("caf\xc3\xa9") },
      { "a1 UID SEARCH CHARSET UTF-8 TEXT \"hello\" SUBJECT {5}\r\n",
        "caf\xc3\xa9\r\n" } },
    { "a search string with UTF8=ACCEPT is quoted", UTF8, "SEARCH",
      { RAW("TEXT"), STR("caf\xc3\xa9 \"x\"") },
      { "a1 SEARCH TEXT \"caf\xc3\xa9 \\\"x\\\"\"\r\n" } },
    { "INBOX in any case is INBOX", 0, "SELECT",
      { MBOX("inbox"), MBOX("InBoX"), MBOX("INBOX") },
      { "a1 SELECT INBOX INBOX INBOX\r\n" } },
    { "INBOX children keep their case", 0, "SELECT",
      { MBOX("Inbox/Sub"), MBOX("INBOX.Sent") },
      { "a1 SELECT Inbox/Sub INBOX.Sent\r\n" } },
    { "mailbox names are modified UTF-7 without UTF8=ACCEPT", 0, "RENAME",
      { MBOX("Re\xc3\xa7us"), MBOX("~peter/\xe5\x8f\xb0\xe5\x8c\x97") },
      { "a1 RENAME Re&AOc-us ~peter/&U,BTFw-\r\n" } },
    { "modified UTF-7 names are quoted when they need it", 0, "CREATE",
      { MBOX("Sent Items \xc3\xa9"), MBOX("a&b"), MBOX("50%") },
      { "a1 CREATE \"Sent Items &AOk-\" a&-b \"50%\"\r\n" } },
    { "mailbox names are UTF-8 with UTF8=ACCEPT", UTF8, "CREATE",
      { MBOX("Re\xc3\xa7us"), MBOX("Sent Items"), MBOX("a&b") },
      { "a1 CREATE \"Re\xc3\xa7us\" \"Sent Items\" a&b\r\n" } },
    { "an empty mailbox name is two quotes", 0, "LIST",
      { MBOX(""), ASTR("*") },
      { "a1 LIST \"\" \"*\"\r\n" } },
    { "numbers, sequence sets and raw fragments", 0, "UID FETCH",
      { SET(9, 1, 2, 3, 5, 9), RAW("(UID FLAGS ENVELOPE)"), NUM(0),
        NUM(UINT64_MAX), SET(4294967295u, 4294967294u), SET(7) },
      { "a1 UID FETCH 1:3,5,9 (UID FLAGS ENVELOPE) 0 18446744073709551615 "
        "4294967294:4294967295 7\r\n" } },
    { "our atoms go as they are", 0, "AUTHENTICATE",
      { ATOM("PLAIN"), ATOM("AGFubgBzZWNyZXQ+/w==") },
      { "a1 AUTHENTICATE PLAIN AGFubgBzZWNyZXQ+/w==\r\n" } },
    { "a literal may hold CR and LF", 0, "APPEND",
      { MBOX("Sent"), RAW("(\\Seen)"), LIT("Subject: x\r\n\r\nhi\r\n") },
      { "a1 APPEND Sent (\\Seen) {18}\r\n", "Subject: x\r\n\r\nhi\r\n\r\n" } },
    { "an empty literal is still a literal", LPLUS, "APPEND",
      { MBOX("Drafts"), LIT("") },
      { "a1 APPEND Drafts {0+}\r\n\r\n" } },
    { "a command with no arguments", 0, "NOOP", { { 0 } },
      { "a1 NOOP\r\n" } },
};
/* clang-format on */

/* Adds one test argument; returns what the adder returned. */
static int
imap_test_add(struct imap_cmd *cmd, const struct imap_test_arg *a,
              struct err *err)
{
    size_t len = a->s != NULL && a->len == 0 ? strlen(a->s) : a->len;
    size_t n = 0;

    switch (a->kind) {
    case A_ATOM:
        return imap_cmd_add_atom(cmd, a->s, err);
    case A_RAW:
        imap_cmd_add_raw(cmd, a->s);
        return 0;
    case A_NUMBER:
        imap_cmd_add_number(cmd, a->num);
        return 0;
    case A_ASTRING:
        return imap_cmd_add_astring(cmd, a->s, len, err);
    case A_STRING:
        return imap_cmd_add_string(cmd, a->s, len, err);
    case A_MAILBOX:
        return imap_cmd_add_mailbox(cmd, a->s, err);
    case A_LITERAL:
        return imap_cmd_add_literal(cmd, a->s, len, err);
    case A_SEQSET:
        while (n < N_ELEMENTS(a->set) && a->set[n] != 0)
            n++;
        imap_cmd_add_seqset(cmd, a->set, n);
        return 0;
    case A_END:
        break;
    }
    fail_msg("bad test argument");
    return -1;
}

static void
test_arguments_give_the_exact_wire_bytes(void **state)
{
    const struct wire_case *c = *state;
    struct imap_cmd *cmd = imap_cmd_new("a1", c->verb, c->flags);
    struct err err = {0};
    size_t nseg = 0;

    for (size_t i = 0; c->args[i].kind != A_END; i++) {
        if (imap_test_add(cmd, &c->args[i], &err) < 0)
            fail_msg("%s: argument %zu refused: %s", c->name, i, err.msg);
    }
    imap_cmd_finish(cmd);
    imap_cmd_finish(cmd); /* a second finish does nothing */
    while (nseg < N_ELEMENTS(c->seg) && c->seg[nseg] != NULL)
        nseg++;
    assert_int_equal(imap_cmd_segments(cmd), nseg);
    for (size_t i = 0; i < nseg; i++) {
        size_t len = 0;
        const unsigned char *seg = imap_cmd_segment(cmd, i, &len);
        char *got = g_strndup((const char *)seg, len);

        if (len != strlen(c->seg[i]) || memcmp(seg, c->seg[i], len) != 0)
            fail_msg("%s: segment %zu is \"%s\", expected \"%s\"", c->name, i,
                     g_strescape(got, NULL), g_strescape(c->seg[i], NULL));
        g_free(got);
    }
    assert_string_equal(imap_cmd_tag(cmd), "a1");
    imap_cmd_free(&cmd);
    assert_null(cmd);
    imap_cmd_free(&cmd); /* NULL-safe */
}

/* LITERAL- (RFC 7888): up to 4096 bytes non-synchronizing, then not. */
static void
test_literal_minus_waits_above_4096_bytes(void **state)
{
    char *big = g_malloc(4098);
    struct err err = {0};

    (void)state;
    memset(big, 0xe9, 4097);
    big[4097] = '\0';
    for (size_t len = 4096; len <= 4097; len++) {
        struct imap_cmd *cmd = imap_cmd_new("t9", "SEARCH", LMINUS);
        const unsigned char *seg;
        size_t n;
        char head[32];

        assert_int_equal(imap_cmd_add_string(cmd, big, len, &err), 0);
        imap_cmd_finish(cmd);
        seg = imap_cmd_segment(cmd, 0, &n);
        snprintf(head, sizeof(head), "t9 SEARCH {%zu%s}\r\n", len,
                 len == 4096 ? "+" : "");
        assert_memory_equal(seg, head, strlen(head));
        assert_int_equal(imap_cmd_segments(cmd), len == 4096 ? 1 : 2);
        imap_cmd_free(&cmd);
    }
    g_free(big);
}

/* ---- refusals ---- */

struct refusal {
    const char *name;
    unsigned flags;
    struct imap_test_arg arg;
    enum err_kind kind;
};

/* clang-format off */
static const struct refusal refusals[] = {
    { "NUL in an astring", 0, ASTRN("us\0er"), ERR_INPUT },
    { "CR in an astring", 0, ASTR("user\r"), ERR_INPUT },
    { "LF in an astring", 0, ASTR("us\ner"), ERR_INPUT },
    { "CRLF and a new command in an astring", 0,
      ASTR("x\r\na2 DELETE INBOX"), ERR_INPUT },
    { "CR in an 8-bit astring with UTF8=ACCEPT", UTF8,
      ASTR("\xc3\xa9\r"), ERR_INPUT },
    { "NUL in a string", 0, STRN("te\0xt"), ERR_INPUT },
    { "CR in a string", LPLUS, STR("text\r"), ERR_INPUT },
    { "LF in a string", 0, STR("\n"), ERR_INPUT },
    { "CR in a mailbox name", 0, MBOX("Sent\r"), ERR_INPUT },
    { "LF in a mailbox name with UTF8=ACCEPT", UTF8, MBOX("a\nb"),
      ERR_INPUT },
    { "invalid UTF-8 in a mailbox name", 0, MBOX("Re\xe7us"), ERR_INPUT },
    { "invalid UTF-8 in a mailbox name with UTF8=ACCEPT", UTF8,
      MBOX("Re\xe7us"), ERR_INPUT },
    { "NUL in a literal", 0, LIT("a\0b"), ERR_INPUT },
    { "an empty atom", 0, ATOM(""), ERR_INTERNAL },
    { "a space in an atom", 0, ATOM("A B"), ERR_INTERNAL },
    { "a quote in an atom", 0, ATOM("A\""), ERR_INTERNAL },
    { "a ']' in an atom", 0, ATOM("A]"), ERR_INTERNAL },
    { "a '[' in an atom", 0, ATOM("A[1"), ERR_INTERNAL },
    { "8-bit in an atom", 0, ATOM("\xc3\xa9"), ERR_INTERNAL },
    { "a CR in an atom", 0, ATOM("A\r"), ERR_INTERNAL },
};
/* clang-format on */

/* Each refusal has the right kind and leaves the command as it was. */
static void
test_refused_arguments_leave_the_command_unchanged(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(refusals); i++) {
        const struct refusal *r = &refusals[i];
        struct imap_cmd *cmd = imap_cmd_new("a1", "X", r->flags);
        struct err err = {0};
        const unsigned char *seg;
        size_t len;

        imap_cmd_add_raw(cmd, "BEFORE");
        if (imap_test_add(cmd, &r->arg, &err) != -1 || err.kind != r->kind)
            fail_msg("%s: got %s '%s', expected %s", r->name,
                     err_kind_name(err.kind), err.msg, err_kind_name(r->kind));
        imap_cmd_add_raw(cmd, "AFTER");
        imap_cmd_finish(cmd);
        assert_int_equal(imap_cmd_segments(cmd), 1);
        seg = imap_cmd_segment(cmd, 0, &len);
        assert_int_equal(len, strlen("a1 X BEFORE AFTER\r\n"));
        assert_memory_equal(seg, "a1 X BEFORE AFTER\r\n", len);
        imap_cmd_free(&cmd);
    }
}

/* ---- the trace ---- */

static void
test_trace_hides_login_and_authenticate_arguments(void **state)
{
    struct imap_cmd *cmd;
    struct err err = {0};
    char *t;

    (void)state;
    cmd = imap_cmd_new("p1", "LOGIN", 0);
    assert_int_equal(imap_cmd_add_astring(cmd, "ann", 3, &err), 0);
    assert_int_equal(imap_cmd_add_astring(cmd, "s3cr\xc3\xa9t", 7, &err), 0);
    imap_cmd_finish(cmd);
    t = imap_cmd_trace(cmd);
    assert_string_equal(t, "p1 LOGIN *** ***");
    g_free(t);
    imap_cmd_free(&cmd);

    cmd = imap_cmd_new("p2", "authenticate", 0);
    assert_int_equal(imap_cmd_add_atom(cmd, "PLAIN", &err), 0);
    assert_int_equal(imap_cmd_add_atom(cmd, "AGFubgBzM2NyZXQ=", &err), 0);
    t = imap_cmd_trace(cmd); /* before finish too */
    assert_string_equal(t, "p2 authenticate PLAIN ***");
    g_free(t);
    imap_cmd_free(&cmd);
}

static void
test_trace_shows_other_commands_on_one_safe_line(void **state)
{
    struct imap_cmd *cmd = imap_cmd_new("p3", "UID SEARCH", 0);
    struct err err = {0};
    char big[100];
    char *t;

    (void)state;
    memset(big, 'x', sizeof(big));
    imap_cmd_add_raw(cmd, "TEXT");
    assert_int_equal(imap_cmd_add_string(cmd, "caf\xc3\xa9", 5, &err), 0);
    assert_int_equal(imap_cmd_add_string(cmd, "a \"b\"", 5, &err), 0);
    assert_int_equal(imap_cmd_add_literal(cmd, big, sizeof(big), &err), 0);
    assert_int_equal(imap_cmd_add_mailbox(cmd, "Re\xc3\xa7us", &err), 0);
    imap_cmd_finish(cmd);
    t = imap_cmd_trace(cmd);
    assert_string_equal(t, "p3 UID SEARCH TEXT {5}caf\\xc3\\xa9 "
                           "\"a \\\"b\\\"\" {100}<100 bytes> Re&AOc-us");
    g_free(t);
    imap_cmd_free(&cmd);
}

int
main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_literal_minus_waits_above_4096_bytes),
        cmocka_unit_test(test_refused_arguments_leave_the_command_unchanged),
        cmocka_unit_test(test_trace_hides_login_and_authenticate_arguments),
        cmocka_unit_test(test_trace_shows_other_commands_on_one_safe_line),
    };
    size_t n = N_ELEMENTS(wire_cases) + N_ELEMENTS(fixed), k = 0;
    struct CMUnitTest *tests = g_new0(struct CMUnitTest, n);
    int rc;

    for (size_t i = 0; i < N_ELEMENTS(wire_cases); i++, k++) {
        tests[k].name = wire_cases[i].name;
        tests[k].test_func = test_arguments_give_the_exact_wire_bytes;
        tests[k].initial_state = (void *)&wire_cases[i];
    }
    for (size_t i = 0; i < N_ELEMENTS(fixed); i++, k++)
        tests[k] = fixed[i];
    rc = _cmocka_run_group_tests("imap_cmd", tests, n, NULL, NULL);
    g_free(tests);
    return rc;
}
