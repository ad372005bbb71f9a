/* test_imap_parser.c - the IMAP response parser: every case is fed whole,
 * split in two at every byte, byte by byte and in seeded random chunks
 * (IMAP_TEST_SEED=N repeats a run), and must give the same responses or the
 * same error every time. Also limits (at and over by one), the sink, the
 * feed contract and the argument accessors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "imap/imap_parser.h"
#include "imap/imap_resp.h"

/* ---- the driver ---- */

/* Where a run ended up: the dumps (one per line), the bytes the sink got,
 * or the error. */
struct imap_run {
    int n; /* responses, or -1 on error */
    struct err err;
    GString *dump;
    GString *sunk;
    int sink_calls;
    int sink_stop_after; /* the sink says stop on this call (1-based); 0 */
};

static int
imap_test_sink(void *ctx, const unsigned char *data, size_t len)
{
    struct imap_run *run = ctx;

    assert_true(len > 0);
    run->sink_calls++;
    if (run->sink_stop_after > 0 && run->sink_calls >= run->sink_stop_after)
        return -1;
    g_string_append_len(run->sunk, (const char *)data, (gssize)len);
    return 0;
}

/* Feeds wire[0..len) to a fresh parser in chunks ending at cuts[] (then at
 * len), checking the feed contract at each call. */
static void
imap_test_run(const char *wire, size_t len, const size_t *cuts, size_t ncuts,
              const struct imap_parser_limits *lim, bool sink,
              struct imap_run *run)
{
    struct imap_parser *p = imap_parser_new(lim);
    const unsigned char *w = (const unsigned char *)wire;
    size_t start = 0;

    run->n = 0;
    memset(&run->err, 0, sizeof(run->err));
    g_string_truncate(run->dump, 0);
    g_string_truncate(run->sunk, 0);
    run->sink_calls = 0;
    if (sink)
        imap_parser_set_sink(p, imap_test_sink, run);
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;

        while (start < end) {
            size_t used = (size_t)-1;
            const struct imap_resp *resp = NULL;
            enum imap_feed_result r;

            r = imap_parser_feed(p, w + start, end - start, &used, &resp,
                                 &run->err);
            if (r == IMAP_FEED_ERROR) {
                assert_int_not_equal(run->err.kind, ERR_NONE);
                run->n = -1;
                imap_parser_free(&p);
                return;
            }
            assert_true(used <= end - start);
            if (r == IMAP_FEED_MORE) {
                assert_int_equal(used, end - start);
            } else {
                assert_int_equal(r, IMAP_FEED_RESPONSE);
                assert_non_null(resp);
                assert_true(used > 0);
                imap_resp_dump(resp, run->dump);
                g_string_append_c(run->dump, '\n');
                run->n++;
            }
            start += used;
        }
    }
    imap_parser_free(&p);
    assert_null(p);
}

static unsigned
imap_test_seed(void)
{
    static unsigned seed;

    if (seed == 0) {
        const char *env = getenv("IMAP_TEST_SEED");

        seed = env != NULL ? (unsigned)strtoul(env, NULL, 10)
                           : (unsigned)g_get_real_time();
        if (seed == 0)
            seed = 1;
        print_message("# random chunks: IMAP_TEST_SEED=%u\n", seed);
    }
    return seed;
}

/* Compares one run with the reference run (fed whole). */
static void
imap_test_same(const char *what, const char *mode, const struct imap_run *ref,
               const struct imap_run *got)
{
    if (got->n != ref->n || strcmp(got->dump->str, ref->dump->str) != 0 ||
        strcmp(got->sunk->str, ref->sunk->str) != 0 ||
        got->sunk->len != ref->sunk->len ||
        (ref->n < 0 && (got->err.kind != ref->err.kind ||
                        strcmp(got->err.msg, ref->err.msg) != 0)))
        fail_msg("%s: fed %s: got %d responses [%s] err %s '%s'; "
                 "fed whole: %d [%s] err %s '%s'",
                 what, mode, got->n, got->dump->str,
                 err_kind_name(got->err.kind), got->err.msg, ref->n,
                 ref->dump->str, err_kind_name(ref->err.kind), ref->err.msg);
}

/* Feeds wire whole, then split in two at every byte, then byte by byte,
 * then in random chunks; every way must agree with the whole feed, which
 * is left in *ref (the caller checks it against the expectation). */
static void
imap_test_all_ways(const char *what, const char *wire, size_t len,
                   const struct imap_parser_limits *lim, bool sink,
                   struct imap_run *ref)
{
    struct imap_run got = {.dump = g_string_new(NULL),
                           .sunk = g_string_new(NULL),
                           .sink_stop_after = ref->sink_stop_after};
    size_t *cuts = g_new(size_t, len + 1);
    char mode[64];
    GRand *rnd = g_rand_new_with_seed(imap_test_seed());

    imap_test_run(wire, len, NULL, 0, lim, sink, ref);
    for (size_t k = 0; k <= len; k++) {
        cuts[0] = k;
        imap_test_run(wire, len, cuts, 1, lim, sink, &got);
        snprintf(mode, sizeof(mode), "split at byte %zu", k);
        imap_test_same(what, mode, ref, &got);
    }
    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    imap_test_run(wire, len, cuts, len, lim, sink, &got);
    imap_test_same(what, "byte by byte", ref, &got);
    for (int round = 0; round < 20; round++) {
        size_t n = 0, at = 0;

        while (at < len) {
            at += (size_t)g_rand_int_range(rnd, 1, round < 10 ? 8 : 64);
            if (at < len)
                cuts[n++] = at;
        }
        imap_test_run(wire, len, cuts, n, lim, sink, &got);
        snprintf(mode, sizeof(mode), "in random chunks (round %d)", round);
        imap_test_same(what, mode, ref, &got);
    }
    g_rand_free(rnd);
    g_free(cuts);
    g_string_free(got.dump, TRUE);
    g_string_free(got.sunk, TRUE);
}

/* ---- responses that must parse ---- */

/* A wire string and its length, which counts NUL bytes inside. */
struct imap_wire {
    const char *s;
    size_t len;
};
#define WIRE(lit)                                                              \
    {                                                                          \
        (lit), sizeof(lit) - 1                                                 \
    }

struct ok_case {
    const char *name;
    struct imap_wire wire;
    const char *dump; /* one line per response */
};

/* clang-format off */
static const struct ok_case ok_cases[] = {
    { "a FETCH with a literal is followed by a tagged OK",
      WIRE("* 3 FETCH (UID 7 BODY[1] {5}\r\nhello FLAGS (\\Seen))\r\n"
      "a1 OK done\r\n"),
      "* 3 FETCH (UID 7 BODY[1] \"hello\" FLAGS (\\Seen))\n"
      "a1 OK \"done\"\n" },
    { "a greeting carries its capabilities in a response code",
      WIRE("* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ AUTH=PLAIN] Dovecot "
      "ready.\r\n"),
      "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ AUTH=PLAIN] "
      "\"Dovecot ready.\"\n" },
    { "an untagged NO carries an ALERT code",
      WIRE("* NO [ALERT] Disk is full\r\n"),
      "* NO [ALERT] \"Disk is full\"\n" },
    { "a response code may end the line without text",
      WIRE("* OK [UNSEEN 12]\r\n* OK [READ-WRITE]\r\n"),
      "* OK [UNSEEN 12] \"\"\n* OK [READ-WRITE] \"\"\n" },
    { "a response code may be glued to its text",
      WIRE("* OK [ALERT]Glued\r\n"),
      "* OK [ALERT] \"Glued\"\n" },
    { "response codes and status words are case-insensitive",
      WIRE("* ok [uidvalidity 3857529045] UIDs valid\r\nA7 no [nonexistent] "
      "Unknown\r\n"),
      "* OK [UIDVALIDITY 3857529045] \"UIDs valid\"\n"
      "A7 NO [NONEXISTENT] \"Unknown\"\n" },
    { "PERMANENTFLAGS keeps its list raw in the code arguments",
      WIRE("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"),
      "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] \"Limited\"\n" },
    { "a ']' inside a quoted code argument does not end the code",
      WIRE("* OK [REFERRAL \"imap://a]b\"] go there\r\n"),
      "* OK [REFERRAL \"imap://a]b\"] \"go there\"\n" },
    { "a '[' that opens no code is plain text",
      WIRE("* OK [not a code\r\n* BAD [] empty\r\n"),
      "* OK \"[not a code\"\n* BAD \"[] empty\"\n" },
    { "a tagged status without text has empty text",
      WIRE("a2 OK\r\nb3 BAD \r\n"),
      "a2 OK \"\"\nb3 BAD \"\"\n" },
    { "BYE and PREAUTH are status responses",
      WIRE("* PREAUTH [CAPABILITY IMAP4rev2] Welcome\r\n* BYE Logging out\r\n"),
      "* PREAUTH [CAPABILITY IMAP4rev2] \"Welcome\"\n"
      "* BYE \"Logging out\"\n" },
    { "status text keeps quotes, parens and 8-bit bytes as they are",
      WIRE("a1 NO \"Bo\\te\" (r\xc3\xa9ponse) {5}\r\n"),
      "a1 NO \"\\\"Bo\\\\te\\\" (r\xc3\xa9ponse) {5}\"\n" },
    { "a continuation may be a bare plus, text or base64",
      WIRE("+\r\n+ idling\r\n+ dGVzdA==\r\n+ \r\n"),
      "+ \"\"\n+ \"idling\"\n+ \"dGVzdA==\"\n+ \"\"\n" },
    { "numbered data responses have no arguments",
      WIRE("* 23 EXISTS\r\n* 0 RECENT\r\n* 4294967295 EXPUNGE\r\n"),
      "* 23 EXISTS\n* 0 RECENT\n* 4294967295 EXPUNGE\n" },
    { "names are upper-cased and atoms kept as sent",
      WIRE("* 5 fetch (uid 9 flags (\\seen))\r\n"),
      "* 5 FETCH (uid 9 flags (\\seen))\n" },
    { "FLAGS lists system flags with backslashes",
      WIRE("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
           "$Forwarded)\r\n"),
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\n" },
    { "LIST with no attributes and an atom mailbox",
      WIRE("* LIST () \"/\" INBOX\r\n"),
      "* LIST () \"/\" INBOX\n" },
    { "LIST with a dot delimiter and a quoted name",
      WIRE("* LIST (\\HasNoChildren) \".\" \"INBOX.Sent\"\r\n"),
      "* LIST (\\HasNoChildren) \".\" \"INBOX.Sent\"\n" },
    { "LIST with a NIL delimiter and a literal name",
      WIRE("* LIST (\\Noselect) NIL {4}\r\nfoo\"\r\n"),
      "* LIST (\\Noselect) NIL \"foo\\\"\"\n" },
    { "quoted strings unescape backslash and quote",
      WIRE("* LIST () \"\\\\\" \"a\\\"b\\\\c\"\r\n"),
      "* LIST () \"\\\\\" \"a\\\"b\\\\c\"\n" },
    { "quoted strings may hold UTF-8 (UTF8=ACCEPT)",
      WIRE("* LIST () \"/\" \"Re\xc3\xa7us/\xe5\x8f\xb0\xe5\x8c\x97\"\r\n"),
      "* LIST () \"/\" \"Re\xc3\xa7us/\xe5\x8f\xb0\xe5\x8c\x97\"\n" },
    { "STATUS with a modified UTF-7 name",
      WIRE("* STATUS \"Re&AOc-us\" (MESSAGES 3 UNSEEN 1)\r\n"),
      "* STATUS \"Re&AOc-us\" (MESSAGES 3 UNSEEN 1)\n" },
    { "ESEARCH with a tag correlator and a sequence set",
      WIRE("* ESEARCH (TAG \"a5\") UID ALL 1:3,5\r\n"),
      "* ESEARCH (TAG \"a5\") UID ALL 1:3,5\n" },
    { "SEARCH without results, and with a trailing space",
      WIRE("* SEARCH\r\n* SEARCH 1 2 3 \r\n"),
      "* SEARCH\n* SEARCH 1 2 3\n" },
    { "NIL is recognised in any case, and not inside longer atoms",
      WIRE("* 1 FETCH (A nil B Nil C NIL D NILS E \"NIL\")\r\n"),
      "* 1 FETCH (A NIL B NIL C NIL D NILS E \"NIL\")\n" },
    { "empty and nested empty lists",
      WIRE("* X () (()) ((()) ())\r\n"),
      "* X () (()) ((()) ())\n" },
    { "NAMESPACE nests lists of strings",
      WIRE("* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared.\" \".\"))\r\n"),
      "* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared.\" \".\"))\n" },
    { "a section with spaces and parens is one atom, partial included",
      WIRE("* 2 FETCH (BODY[HEADER.FIELDS (FROM TO)]<0> {16}\r\n"
      "From: a\r\nTo: b\r\n)\r\n"),
      "* 2 FETCH (BODY[HEADER.FIELDS (FROM TO)]<0> "
      "\"From: a\\x0d\\x0aTo: b\\x0d\\x0a\")\n" },
    { "a literal8 may hold NUL, CR and LF",
      WIRE("* 4 FETCH (BINARY[1.2] ~{5}\r\na\0\r\nb)\r\n"),
      "* 4 FETCH (BINARY[1.2] \"a\\x00\\x0d\\x0ab\")\n" },
    { "a '~' not followed by '{' starts an atom",
      WIRE("* X ~foo a~b\r\n"),
      "* X ~foo a~b\n" },
    { "an empty literal, and a non-synchronizing one",
      WIRE("* 1 FETCH (BODY[] {0}\r\n BODY[1] {3+}\r\nxyz)\r\n"),
      "* 1 FETCH (BODY[] \"\" BODY[1] \"xyz\")\n" },
    { "two literals on one response, each ending a line",
      WIRE("* 1 FETCH (BODY[1] {3}\r\nabc BODY[2] {2}\r\nde)\r\n"),
      "* 1 FETCH (BODY[1] \"abc\" BODY[2] \"de\")\n" },
    { "a literal as the last token of the response",
      WIRE("* 7 FETCH (X) {2}\r\nok\r\n"),
      "* 7 FETCH (X) \"ok\"\n" },
    { "ENVELOPE and BODYSTRUCTURE with upper-case types and a literal",
      WIRE("* 1 FETCH (UID 42 ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" "
      "\"Hi\" ((\"Ann\" NIL \"ann\" \"example.org\")) NIL NIL "
      "((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL \"<1@x>\") "
      "BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL "
      "NIL \"7BIT\" 1152 23)(\"TEXT\" \"HTML\" (\"CHARSET\" {5}\r\nUTF-8) "
      "NIL NIL \"QUOTED-PRINTABLE\" 4 1) \"MIXED\" (\"BOUNDARY\" \"b1\") "
      "NIL NIL))\r\n"),
      "* 1 FETCH (UID 42 ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" "
      "\"Hi\" ((\"Ann\" NIL \"ann\" \"example.org\")) NIL NIL "
      "((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL \"<1@x>\") "
      "BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL "
      "NIL \"7BIT\" 1152 23) (\"TEXT\" \"HTML\" (\"CHARSET\" \"UTF-8\") "
      "NIL NIL \"QUOTED-PRINTABLE\" 4 1) \"MIXED\" (\"BOUNDARY\" \"b1\") "
      "NIL NIL))\n" },
    { "VANISHED, ENABLED, CAPABILITY and MODSEQ data",
      WIRE("* VANISHED (EARLIER) 1:5,7\r\n* ENABLED CONDSTORE UTF8=ACCEPT\r\n"
      "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"
      "* 2 FETCH (FLAGS () UID 9 MODSEQ (12345))\r\n"),
      "* VANISHED (EARLIER) 1:5,7\n* ENABLED CONDSTORE UTF8=ACCEPT\n"
      "* CAPABILITY IMAP4rev1 AUTH=PLAIN\n"
      "* 2 FETCH (FLAGS () UID 9 MODSEQ (12345))\n" },
    { "lines may end with a bare LF",
      WIRE("* 1 EXISTS\na1 OK x\n* 1 FETCH (BODY[] {1}\nz)\n"),
      "* 1 EXISTS\na1 OK \"x\"\n* 1 FETCH (BODY[] \"z\")\n" },
    { "8-bit bytes are taken inside atoms",
      WIRE("* LIST () \"/\" Re\xc3\xa7us\r\n"),
      "* LIST () \"/\" Re\xc3\xa7us\n" },
    { "a tag may contain ']' and any case",
      WIRE("x]1 ok fine\r\n"),
      "x]1 OK \"fine\"\n" },
    { "extra spaces between and after arguments are skipped",
      WIRE("* X  a   ( b  c )  \r\n"),
      "* X a (b c)\n" },
};
/* clang-format on */

static void
test_response_parses_the_same_fed_any_way(void **state)
{
    const struct ok_case *c = *state;
    struct imap_run ref = {.dump = g_string_new(NULL),
                           .sunk = g_string_new(NULL)};
    int lines = 0;

    for (const char *s = c->dump; *s != '\0'; s++)
        lines += *s == '\n';
    imap_test_all_ways(c->name, c->wire.s, c->wire.len, NULL, false, &ref);
    if (ref.n < 0)
        fail_msg("%s: %s '%s'", c->name, err_kind_name(ref.err.kind),
                 ref.err.msg);
    assert_string_equal(ref.dump->str, c->dump);
    assert_int_equal(ref.n, lines);
    g_string_free(ref.dump, TRUE);
    g_string_free(ref.sunk, TRUE);
}

/* ---- responses that must fail ---- */

struct bad_case {
    const char *name;
    struct imap_wire wire;
    enum err_kind kind;
    const char *msg; /* a substring of err.msg */
};

/* clang-format off */
static const struct bad_case bad_cases[] = {
    { "an empty line is not a response",
      WIRE("\r\n"),
      ERR_PROTO,
      "starts with 0x0d" },
    { "a response may not start with a space",
      WIRE(" a1 OK\r\n"),
      ERR_PROTO,
      "starts with 0x20" },
    { "a response may not start with a paren",
      WIRE("(a1 OK\r\n"),
      ERR_PROTO,
      "starts with '('" },
    { "a line may not end after the tag",
      WIRE("a1\r\n"),
      ERR_PROTO,
      "line ends after the tag" },
    { "a tag may not hold a brace",
      WIRE("a{1 OK\r\n"),
      ERR_PROTO,
      "'{' in the tag at byte 1" },
    { "a tagged response needs OK, NO or BAD",
      WIRE("a1 FOO bar\r\n"),
      ERR_PROTO,
      "without OK, NO or BAD" },
    { "a tagged PREAUTH is refused",
      WIRE("a1 PREAUTH x\r\n"),
      ERR_PROTO,
      "without OK, NO or BAD" },
    { "a tagged response needs a status",
      WIRE("a1  OK\r\n"),
      ERR_PROTO,
      "status missing at byte 3" },
    { "a star needs a space",
      WIRE("*OK\r\n"),
      ERR_PROTO,
      "'O' after '*' instead of a space at byte 1" },
    { "an untagged response needs a name",
      WIRE("* \r\n"),
      ERR_PROTO,
      "response name missing" },
    { "a plus needs a space or the line end",
      WIRE("+x\r\n"),
      ERR_PROTO,
      "after '+'" },
    { "a number needs a name after it",
      WIRE("* 3\r\n"),
      ERR_PROTO,
      "number without a response name" },
    { "a message number over 32 bits is refused",
      WIRE("* 4294967296 EXISTS\r\n"),
      ERR_PROTO,
      "over 2^32-1" },
    { "a name may not start with a digit",
      WIRE("* 3FETCH\r\n"),
      ERR_PROTO,
      "starts with a digit" },
    { "a name may not hold a paren",
      WIRE("* FL(AGS)\r\n"),
      ERR_PROTO,
      "'(' in the response name at byte 4" },
    { "a CR must be followed by LF",
      WIRE("* OK x\ry\r\n"),
      ERR_PROTO,
      "CR followed by 'y', not LF at byte 7" },
    { "a NUL may not appear in text",
      WIRE("* OK a\0b\r\n"),
      ERR_PROTO,
      "NUL in text at byte 6" },
    { "a list must be closed before the line ends",
      WIRE("* X (a (b)\r\n"),
      ERR_PROTO,
      "line ends inside 1 open list(s) at byte 10" },
    { "a ')' needs a '('",
      WIRE("* X a)\r\n"),
      ERR_PROTO,
      "')' without '('" },
    { "a quoted string may not span lines",
      WIRE("* X \"abc\r\n\"\r\n"),
      ERR_PROTO,
      "line end inside a quoted string at byte 8" },
    { "a quoted string may not hold NUL",
      WIRE("* X \"a\0\"\r\n"),
      ERR_PROTO,
      "NUL inside a quoted string" },
    { "only quote and backslash may be escaped",
      WIRE("* X \"a\\b\"\r\n"),
      ERR_PROTO,
      "'\\' followed by 'b'" },
    { "a quote may not appear inside an atom",
      WIRE("* X a\"b\"\r\n"),
      ERR_PROTO,
      "'\"' in an atom at byte 5" },
    { "a control byte may not appear inside an atom",
      WIRE("* X a\x01 b\r\n"),
      ERR_PROTO,
      "0x01 in an atom" },
    { "a control byte may not start a token",
      WIRE("* X \x7f\r\n"),
      ERR_PROTO,
      "unexpected byte 0x7f" },
    { "a section must be closed on the same line",
      WIRE("* X BODY[1 (A\r\n)]\r\n"),
      ERR_PROTO,
      "0x0d inside '[' ']' of an atom" },
    { "a literal length needs digits",
      WIRE("* X {}\r\n"),
      ERR_PROTO,
      "'}' in a literal length" },
    { "a literal length may not start with a plus",
      WIRE("* X {+}\r\n"),
      ERR_PROTO,
      "'+' in a literal length" },
    { "a literal length holds only digits",
      WIRE("* X {5x}\r\n"),
      ERR_PROTO,
      "'x' in a literal length" },
    { "a literal length may not overflow 64 bits",
      WIRE("* X {184467440737095516150}\r\n"),
      ERR_PROTO,
      "literal length overflow" },
    { "a literal length is followed by CRLF",
      WIRE("* X {3} abc\r\n"),
      ERR_PROTO,
      "0x20 after a literal length, not CRLF" },
    { "a literal length is followed by CR LF, not CR alone",
      WIRE("* X {3}\rabc\r\n"),
      ERR_PROTO,
      "CR followed by 'a' after a literal" },
    { "a literal over the memory cap without a sink is over a limit",
      WIRE("* 1 FETCH (BODY[] {1048577}\r\n"),
      ERR_LIMIT,
      "literal of 1048577 bytes over 1048576 and no sink" },
    { "a literal of 2^64-1 bytes without a sink is over a limit",
      WIRE("* X {18446744073709551615}\r\n"),
      ERR_LIMIT,
      "and no sink" },
};
/* clang-format on */

static void
test_bad_response_fails_the_same_fed_any_way(void **state)
{
    const struct bad_case *c = *state;
    struct imap_run ref = {.dump = g_string_new(NULL),
                           .sunk = g_string_new(NULL)};

    imap_test_all_ways(c->name, c->wire.s, c->wire.len, NULL, false, &ref);
    if (ref.n >= 0)
        fail_msg("%s: parsed as [%s]", c->name, ref.dump->str);
    if (ref.err.kind != c->kind || strstr(ref.err.msg, c->msg) == NULL)
        fail_msg("%s: got %s '%s', expected %s '...%s...'", c->name,
                 err_kind_name(ref.err.kind), ref.err.msg,
                 err_kind_name(c->kind), c->msg);
    g_string_free(ref.dump, TRUE);
    g_string_free(ref.sunk, TRUE);
}

/* ---- limits: exactly at each one is fine, one over is ERR_LIMIT ---- */

struct limit_case {
    const char *name;
    struct imap_parser_limits lim;
    const char *wire;
    enum err_kind kind; /* ERR_NONE: must parse */
};

/* "* OK x\r\n" is 8 bytes; the FETCH below has 26 bytes outside its
 * 5-byte literal; "* X ((a))" nests 2 deep and has 3 tokens; the two
 * literals of the last FETCH hold 6 bytes in memory. */
#define LIM_FETCH "* 1 FETCH (BODY[] {5}\r\nhello)\r\n"
#define LIM_TWO "* 1 FETCH (A {3}\r\nabc B {3}\r\ndef)\r\n"
/* clang-format off */
static const struct limit_case limit_cases[] = {
    { "a line exactly at max_line parses", { .max_line = 8 },
      "* OK x\r\n", ERR_NONE },
    { "a line one byte over max_line fails", { .max_line = 7 },
      "* OK x\r\n", ERR_LIMIT },
    { "literal contents do not count toward max_line", { .max_line = 26 },
      LIM_FETCH, ERR_NONE },
    { "the bytes around a literal do count toward max_line",
      { .max_line = 25 }, LIM_FETCH, ERR_LIMIT },
    { "a literal exactly at max_literal_mem is kept",
      { .max_literal_mem = 5 }, LIM_FETCH, ERR_NONE },
    { "a literal one over max_literal_mem without a sink fails",
      { .max_literal_mem = 4 }, LIM_FETCH, ERR_LIMIT },
    { "literals exactly at max_literal_total are kept",
      { .max_literal_total = 6 }, LIM_TWO, ERR_NONE },
    { "literals one over max_literal_total fail",
      { .max_literal_total = 5 }, LIM_TWO, ERR_LIMIT },
    { "lists exactly max_depth deep parse", { .max_depth = 2 },
      "* X ((a))\r\n", ERR_NONE },
    { "lists one deeper than max_depth fail", { .max_depth = 1 },
      "* X ((a))\r\n", ERR_LIMIT },
    { "exactly max_tokens tokens parse", { .max_tokens = 3 },
      "* X ((a))\r\n", ERR_NONE },
    { "one token over max_tokens fails", { .max_tokens = 2 },
      "* X ((a))\r\n", ERR_LIMIT },
    { "literals and NIL count as tokens", { .max_tokens = 3 },
      "* 1 FETCH (NIL {1}\r\nx)\r\n", ERR_NONE },
    { "literals and NIL count as tokens, one over", { .max_tokens = 2 },
      "* 1 FETCH (NIL {1}\r\nx)\r\n", ERR_LIMIT },
};
/* clang-format on */

static void
test_limit_is_enforced_the_same_fed_any_way(void **state)
{
    const struct limit_case *c = *state;
    struct imap_run ref = {.dump = g_string_new(NULL),
                           .sunk = g_string_new(NULL)};

    imap_test_all_ways(c->name, c->wire, strlen(c->wire), &c->lim, false, &ref);
    if (c->kind == ERR_NONE && ref.n != 1)
        fail_msg("%s: %s '%s'", c->name, err_kind_name(ref.err.kind),
                 ref.err.msg);
    if (c->kind != ERR_NONE && (ref.n != -1 || ref.err.kind != c->kind))
        fail_msg("%s: got %d responses, %s '%s'", c->name, ref.n,
                 err_kind_name(ref.err.kind), ref.err.msg);
    g_string_free(ref.dump, TRUE);
    g_string_free(ref.sunk, TRUE);
}

static void
test_ten_thousand_nested_lists_fail_cleanly(void **state)
{
    GString *w = g_string_new("* X ");
    struct imap_parser *p = imap_parser_new(NULL);
    const struct imap_resp *resp;
    struct err err = {0};
    size_t used;

    (void)state;
    for (int i = 0; i < 10000; i++)
        g_string_append_c(w, '(');
    for (int i = 0; i < 10000; i++)
        g_string_append_c(w, ')');
    g_string_append(w, "\r\n");
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)w->str, w->len,
                                      &used, &resp, &err),
                     IMAP_FEED_ERROR);
    assert_int_equal(err.kind, ERR_LIMIT);
    assert_non_null(strstr(err.msg, "deeper than 64 at byte 68"));
    imap_parser_free(&p);
    g_string_free(w, TRUE);
}

/* With the cap raised, a deep tree parses and dumps without recursion. */
static void
test_ten_thousand_nested_lists_parse_when_allowed(void **state)
{
    struct imap_parser_limits lim = {.max_depth = 10000};
    struct imap_parser *p = imap_parser_new(&lim);
    GString *w = g_string_new("* X ");
    GString *d = g_string_new(NULL);
    const struct imap_resp *resp;
    const struct imap_arg *a;
    struct err err = {0};
    size_t used;

    (void)state;
    for (int i = 0; i < 10000; i++)
        g_string_append_c(w, '(');
    g_string_append_c(w, 'z');
    for (int i = 0; i < 10000; i++)
        g_string_append_c(w, ')');
    g_string_append(w, "\r\n");
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)w->str, w->len,
                                      &used, &resp, &err),
                     IMAP_FEED_RESPONSE);
    assert_int_equal(used, w->len);
    a = &resp->args[0];
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(a->type, IMAP_ARG_LIST);
        assert_int_equal(a->n, 1);
        a = &a->list[0];
    }
    assert_true(imap_arg_is_atom(a, "Z"));
    imap_resp_dump(resp, d);
    g_string_truncate(w, w->len - 2); /* the dump has no CRLF */
    assert_string_equal(d->str, w->str);
    imap_parser_free(&p);
    g_string_free(w, TRUE);
    g_string_free(d, TRUE);
}

static void
test_a_long_line_fails_at_the_first_byte_over(void **state)
{
    struct imap_parser_limits lim = {.max_line = 100};
    struct imap_parser *p = imap_parser_new(&lim);
    char line[300];
    const struct imap_resp *resp;
    struct err err = {0};
    size_t used;

    (void)state;
    memset(line, 'a', sizeof(line));
    memcpy(line, "* X ", 4);
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)line, 100,
                                      &used, &resp, &err),
                     IMAP_FEED_MORE);
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)line, 200,
                                      &used, &resp, &err),
                     IMAP_FEED_ERROR);
    assert_int_equal(err.kind, ERR_LIMIT);
    assert_non_null(strstr(err.msg, "longer than 100 bytes at byte 100"));
    imap_parser_free(&p);
}

/* imap_conn starts with LIM_IMAP_LINE_PRELOGIN and raises it after login. */
static void
test_limits_can_be_raised_between_responses(void **state)
{
    struct imap_parser_limits pre = {.max_line = 16};
    struct imap_parser *p = imap_parser_new(&pre);
    const char *a = "* OK short\r\n", *b = "* OK a longer line than 16\r\n";
    const struct imap_resp *resp;
    struct err err = {0};
    size_t used;

    (void)state;
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)a, strlen(a),
                                      &used, &resp, &err),
                     IMAP_FEED_RESPONSE);
    imap_parser_set_limits(p, NULL);
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)b, strlen(b),
                                      &used, &resp, &err),
                     IMAP_FEED_RESPONSE);
    assert_string_equal(resp->text, "a longer line than 16");
    imap_parser_set_limits(p, &pre);
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)b, strlen(b),
                                      &used, &resp, &err),
                     IMAP_FEED_ERROR);
    assert_int_equal(err.kind, ERR_LIMIT);
    imap_parser_free(&p);
}

/* ---- the sink ---- */

static void
test_big_literals_stream_to_the_sink_fed_any_way(void **state)
{
    struct imap_parser_limits lim = {.max_literal_mem = 8};
    GString *w = g_string_new("* 9 FETCH (BODY[1] {40}\r\n");
    GString *want = g_string_new(NULL);
    struct imap_run ref = {.dump = g_string_new(NULL),
                           .sunk = g_string_new(NULL)};

    (void)state;
    for (int i = 0; i < 40; i++)
        g_string_append_c(want, "ab\r\n\0xyz"[i % 8]);
    g_string_append_len(w, want->str, (gssize)want->len);
    g_string_append(w, " BODY[2] {8}\r\n12345678 BODY[3] {9}\r\n"
                       "ninebytes)\r\na1 OK done\r\n");
    imap_test_all_ways("literals over 8 bytes go to the sink", w->str, w->len,
                       &lim, true, &ref);
    assert_int_equal(ref.n, 2);
    assert_string_equal(ref.dump->str,
                        "* 9 FETCH (BODY[1] {40 streamed} BODY[2] "
                        "\"12345678\" BODY[3] {9 streamed})\n"
                        "a1 OK \"done\"\n");
    g_string_append(want, "ninebytes");
    assert_int_equal(ref.sunk->len, want->len);
    assert_memory_equal(ref.sunk->str, want->str, want->len);
    g_string_free(w, TRUE);
    g_string_free(want, TRUE);
    g_string_free(ref.dump, TRUE);
    g_string_free(ref.sunk, TRUE);
}

static void
test_a_sink_that_says_stop_aborts_the_feed(void **state)
{
    struct imap_parser_limits lim = {.max_literal_mem = 2};
    const char *w = "* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n";
    struct imap_run ref = {.dump = g_string_new(NULL),
                           .sunk = g_string_new(NULL),
                           .sink_stop_after = 1};

    (void)state;
    imap_test_all_ways("a sink that stops", w, strlen(w), &lim, true, &ref);
    assert_int_equal(ref.n, -1);
    assert_int_equal(ref.err.kind, ERR_ABORTED);
    g_string_free(ref.dump, TRUE);
    g_string_free(ref.sunk, TRUE);
}

/* ---- the feed contract ---- */

static void
test_feed_returns_one_response_and_leaves_the_rest(void **state)
{
    struct imap_parser *p = imap_parser_new(NULL);
    const char *w = "* 1 EXISTS\r\n* 2 EXISTS\r\na1 OK x";
    const unsigned char *u = (const unsigned char *)w;
    const struct imap_resp *resp;
    struct err err = {0};
    size_t used, off = 0;

    (void)state;
    assert_int_equal(imap_parser_feed(p, u, strlen(w), &used, &resp, &err),
                     IMAP_FEED_RESPONSE);
    assert_int_equal(used, 12);
    assert_int_equal(resp->kind, IMAP_RESP_UNTAGGED);
    assert_true(resp->has_number);
    assert_int_equal(resp->number, 1);
    assert_string_equal(resp->name, "EXISTS");
    assert_null(resp->tag);
    assert_null(resp->text);
    off += used;
    assert_int_equal(
        imap_parser_feed(p, u + off, strlen(w) - off, &used, &resp, &err),
        IMAP_FEED_RESPONSE);
    assert_int_equal(resp->number, 2);
    off += used;
    assert_int_equal(
        imap_parser_feed(p, u + off, strlen(w) - off, &used, &resp, &err),
        IMAP_FEED_MORE);
    assert_int_equal(used, strlen(w) - off);
    assert_int_equal(imap_parser_feed(p, u, 0, &used, &resp, &err),
                     IMAP_FEED_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)"\r\n", 2,
                                      &used, &resp, &err),
                     IMAP_FEED_RESPONSE);
    assert_int_equal(resp->kind, IMAP_RESP_TAGGED);
    assert_string_equal(resp->tag, "a1");
    assert_int_equal(resp->status, IMAP_STATUS_OK);
    assert_string_equal(resp->text, "x");
    assert_null(resp->code);
    assert_null(resp->name);
    imap_parser_free(&p);
    imap_parser_free(&p); /* NULL-safe */
}

static void
test_parser_refuses_use_after_error_until_reset(void **state)
{
    struct imap_parser *p = imap_parser_new(NULL);
    const unsigned char *bad = (const unsigned char *)"* X )\r\n";
    const unsigned char *good = (const unsigned char *)"* OK [CAPABILITY "
                                                       "IMAP4rev1 IDLE] hi\r\n";
    const struct imap_resp *resp;
    struct err err = {0};
    size_t used;

    (void)state;
    assert_int_equal(imap_parser_feed(p, bad, 7, &used, &resp, &err),
                     IMAP_FEED_ERROR);
    assert_int_equal(err.kind, ERR_PROTO);
    err_clear(&err);
    assert_int_equal(imap_parser_feed(p, good, 10, &used, &resp, &err),
                     IMAP_FEED_ERROR);
    assert_int_equal(err.kind, ERR_INTERNAL);
    err_clear(&err);
    imap_parser_reset(p);
    assert_int_equal(imap_parser_feed(p, good, strlen((const char *)good),
                                      &used, &resp, &err),
                     IMAP_FEED_RESPONSE);
    assert_int_equal(resp->status, IMAP_STATUS_OK);
    assert_string_equal(resp->code, "CAPABILITY");
    assert_string_equal(resp->code_args, "IMAP4rev1 IDLE");
    assert_string_equal(resp->text, "hi");
    imap_parser_free(&p);
}

static void
test_reset_drops_a_partial_response_and_the_sink(void **state)
{
    struct imap_parser_limits lim = {.max_literal_mem = 1};
    struct imap_parser *p = imap_parser_new(&lim);
    struct imap_run run = {.sunk = g_string_new(NULL)};
    const char *part = "* 1 FETCH (BODY[] {3}\r\nab";
    const char *big = "* 1 FETCH (BODY[] {3}\r\nabc)\r\n";
    const struct imap_resp *resp;
    struct err err = {0};
    size_t used;

    (void)state;
    imap_parser_set_sink(p, imap_test_sink, &run);
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)part,
                                      strlen(part), &used, &resp, &err),
                     IMAP_FEED_MORE);
    assert_string_equal(run.sunk->str, "ab");
    imap_parser_reset(p);
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)big,
                                      strlen(big), &used, &resp, &err),
                     IMAP_FEED_ERROR);
    assert_int_equal(err.kind, ERR_LIMIT);
    imap_parser_free(&p);
    g_string_free(run.sunk, TRUE);
}

/* A caller that reads the middle of a big literal itself (imap_conn's
 * downloads) tells the parser how much, and the response still ends
 * right: the streamed argument has the announced size. */
static void
test_skipped_literal_bytes_end_the_literal_like_fed_ones(void **state)
{
    struct imap_parser_limits lim = {.max_literal_mem = 1};
    struct imap_parser *p = imap_parser_new(&lim);
    struct imap_run run = {.sunk = g_string_new(NULL)};
    const char *head = "* 1 FETCH (BINARY[2] {10}\r\nab";
    const char *tail = "ij UID 7)\r\n";
    const struct imap_resp *resp;
    struct err err = {0};
    uint64_t size = 1;
    size_t used;

    (void)state;
    imap_parser_set_sink(p, imap_test_sink, &run);
    assert_int_equal(imap_parser_sink_left(p, &size), 0);
    assert_int_equal(size, 0);
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)head,
                                      strlen(head), &used, &resp, &err),
                     IMAP_FEED_MORE);
    assert_string_equal(run.sunk->str, "ab");
    assert_int_equal(imap_parser_sink_left(p, &size), 8);
    assert_int_equal(size, 10);
    imap_parser_skip(p, 3); /* "cde", read elsewhere */
    imap_parser_skip(p, 3); /* "fgh" */
    assert_int_equal(imap_parser_sink_left(p, &size), 2);
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)tail,
                                      strlen(tail), &used, &resp, &err),
                     IMAP_FEED_RESPONSE);
    assert_int_equal(used, strlen(tail));
    assert_string_equal(run.sunk->str, "abij");
    assert_int_equal(imap_parser_sink_left(p, NULL), 0);
    assert_int_equal(resp->args[0].n, 4);
    assert_int_equal(resp->args[0].list[1].type, IMAP_ARG_LITERAL_STREAMED);
    assert_int_equal(resp->args[0].list[1].len, 10);
    assert_string_equal(resp->args[0].list[3].str, "7");

    /* skipping the whole rest at once ends the literal too */
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)head,
                                      strlen(head), &used, &resp, &err),
                     IMAP_FEED_MORE);
    imap_parser_skip(p, 8);
    assert_int_equal(imap_parser_sink_left(p, NULL), 0);
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)tail + 2,
                                      strlen(tail) - 2, &used, &resp, &err),
                     IMAP_FEED_RESPONSE);
    assert_int_equal(resp->args[0].list[1].len, 10);
    imap_parser_free(&p);
    g_string_free(run.sunk, TRUE);
}

/* ---- accessors ---- */

static void
test_accessors_read_a_fetch_response(void **state)
{
    struct imap_parser *p = imap_parser_new(NULL);
    static const char w[] = "* 3 FETCH (UID 18446744073709551615 FLAGS "
                            "(\\Seen $Junk) RFC822.SIZE "
                            "18446744073709551616 BODY[1] {3}\r\na\0b "
                            "ENVELOPE (NIL \"s\" x) X-EMPTY ())\r\n";
    const struct imap_resp *resp;
    const struct imap_arg *msg, *v, *env;
    struct err err = {0};
    size_t used, len = 0;
    uint64_t n = 0;

    (void)state;
    assert_int_equal(imap_parser_feed(p, (const unsigned char *)w,
                                      sizeof(w) - 1, &used, &resp, &err),
                     IMAP_FEED_RESPONSE);
    assert_int_equal(resp->n_args, 1);
    msg = &resp->args[0];
    assert_true(imap_arg_number(imap_arg_list_get(msg, "UID"), &n));
    assert_true(n == UINT64_MAX);
    n = 7;
    assert_false(imap_arg_number(imap_arg_list_get(msg, "RFC822.SIZE"), &n));
    assert_int_equal(n, 7);
    v = imap_arg_list_get(msg, "flags");
    assert_non_null(v);
    assert_int_equal(v->n, 2);
    assert_true(imap_arg_is_atom(&v->list[0], "\\SEEN"));
    assert_false(imap_arg_is_atom(&v->list[1], "\\SEEN"));
    assert_false(imap_arg_number(&v->list[0], &n));
    v = imap_arg_list_get(msg, "BODY[1]");
    assert_int_equal(v->type, IMAP_ARG_STRING);
    assert_int_equal(v->len, 3);
    assert_memory_equal(imap_arg_nstring(v), "a\0b", 4);
    env = imap_arg_list_get(msg, "ENVELOPE");
    assert_null(imap_arg_nstring(&env->list[0]));
    assert_string_equal(imap_arg_nstring(&env->list[1]), "s");
    assert_null(imap_arg_nstring(&env->list[2]));
    assert_string_equal(imap_arg_astring(&env->list[2], &len), "x");
    assert_int_equal(len, 1);
    assert_string_equal(imap_arg_astring(&env->list[1], NULL), "s");
    assert_null(imap_arg_astring(&env->list[0], NULL));
    assert_null(imap_arg_astring(env, NULL));
    v = imap_arg_list_get(msg, "X-EMPTY");
    assert_int_equal(v->type, IMAP_ARG_LIST);
    assert_int_equal(v->n, 0);
    assert_null(imap_arg_list_get(msg, "MISSING"));
    assert_null(imap_arg_list_get(msg, "1")); /* values are not keys */
    assert_null(imap_arg_list_get(env, "X")); /* a key needs a value */
    assert_null(imap_arg_list_get(NULL, "UID"));
    assert_null(imap_arg_list_get(&msg->list[0], "UID")); /* not a list */
    assert_false(imap_arg_is_atom(NULL, "UID"));
    assert_false(imap_arg_number(NULL, &n));
    imap_parser_free(&p);
}

static void
test_numbers_are_digits_only_and_overflow_checked(void **state)
{
    static const struct {
        const char *atom;
        bool ok;
        uint64_t v;
    } cases[] = {
        {"0", true, 0},
        {"42", true, 42},
        {"0007", true, 7},
        {"18446744073709551615", true, UINT64_MAX},
        {"18446744073709551616", false, 0},
        {"99999999999999999999", false, 0},
        {"000000000000000000001", false, 0}, /* 21 digits */
        {"", false, 0},
        {"-1", false, 0},
        {"+1", false, 0},
        {"1a", false, 0},
        {"1:3", false, 0},
    };

    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
        struct imap_arg a = {.type = IMAP_ARG_ATOM,
                             .str = cases[i].atom,
                             .len = strlen(cases[i].atom)};
        struct imap_arg s = a;
        uint64_t v = 12345;

        s.type = IMAP_ARG_STRING;
        assert_int_equal(imap_arg_number(&a, &v), cases[i].ok);
        assert_true(v == (cases[i].ok ? cases[i].v : 12345));
        assert_false(imap_arg_number(&s, &v));
    }
}

static void
test_status_and_kind_names(void **state)
{
    (void)state;
    assert_string_equal(imap_status_name(IMAP_STATUS_PREAUTH), "PREAUTH");
    assert_string_equal(imap_status_name(IMAP_STATUS_NONE), "NONE");
    assert_string_equal(imap_resp_kind_name(IMAP_RESP_CONTINUE), "continue");
}

/* ---- a page of summaries, as the mailbox view fetches it ---- */

static void
test_fifty_fetch_responses_parse_in_one_buffer(void **state)
{
    struct imap_parser *p = imap_parser_new(NULL);
    GString *w = g_string_new(NULL);
    const struct imap_resp *resp;
    struct err err = {0};
    size_t used, off = 0;
    unsigned n = 0;

    (void)state;
    for (unsigned i = 1; i <= 50; i++)
        g_string_append_printf(
            w,
            "* %u FETCH (UID %u FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 "
            "02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul "
            "1996 02:23:25 -0700 (PDT)\" {23}\r\nIMAP4rev1 WG mtg summary "
            "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) NIL "
            "NIL ((NIL NIL \"imap\" \"cac.washington.edu\")) NIL NIL NIL "
            "\"<B27397-0100000@cac.washington.edu>\") BODYSTRUCTURE "
            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
            "\"7BIT\" 3028 92))\r\n",
            i, 1000 + i);
    g_string_append(w, "a9 OK FETCH done\r\n");
    while (off < w->len) {
        assert_int_equal(imap_parser_feed(p,
                                          (const unsigned char *)w->str + off,
                                          w->len - off, &used, &resp, &err),
                         IMAP_FEED_RESPONSE);
        off += used;
        if (resp->kind == IMAP_RESP_TAGGED)
            break;
        n++;
        assert_int_equal(resp->number, n);
        assert_memory_equal(
            imap_arg_nstring(
                &imap_arg_list_get(&resp->args[0], "ENVELOPE")->list[1]),
            "IMAP4rev1 WG mtg summary", 23);
    }
    assert_int_equal(n, 50);
    assert_int_equal(off, w->len);
    imap_parser_free(&p);
    g_string_free(w, TRUE);
}

/* ---- the group: one test per table row, named by its sentence ---- */

int
main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_ten_thousand_nested_lists_fail_cleanly),
        cmocka_unit_test(test_ten_thousand_nested_lists_parse_when_allowed),
        cmocka_unit_test(test_a_long_line_fails_at_the_first_byte_over),
        cmocka_unit_test(test_limits_can_be_raised_between_responses),
        cmocka_unit_test(test_big_literals_stream_to_the_sink_fed_any_way),
        cmocka_unit_test(test_a_sink_that_says_stop_aborts_the_feed),
        cmocka_unit_test(test_feed_returns_one_response_and_leaves_the_rest),
        cmocka_unit_test(test_parser_refuses_use_after_error_until_reset),
        cmocka_unit_test(test_reset_drops_a_partial_response_and_the_sink),
        cmocka_unit_test(
            test_skipped_literal_bytes_end_the_literal_like_fed_ones),
        cmocka_unit_test(test_accessors_read_a_fetch_response),
        cmocka_unit_test(test_numbers_are_digits_only_and_overflow_checked),
        cmocka_unit_test(test_status_and_kind_names),
        cmocka_unit_test(test_fifty_fetch_responses_parse_in_one_buffer),
    };
    size_t n = N_ELEMENTS(ok_cases) + N_ELEMENTS(bad_cases) +
               N_ELEMENTS(limit_cases) + N_ELEMENTS(fixed);
    struct CMUnitTest *tests = g_new0(struct CMUnitTest, n);
    size_t k = 0;
    int rc;

    for (size_t i = 0; i < N_ELEMENTS(ok_cases); i++, k++) {
        tests[k].name = ok_cases[i].name;
        tests[k].test_func = test_response_parses_the_same_fed_any_way;
        tests[k].initial_state = (void *)&ok_cases[i];
    }
    for (size_t i = 0; i < N_ELEMENTS(bad_cases); i++, k++) {
        tests[k].name = bad_cases[i].name;
        tests[k].test_func = test_bad_response_fails_the_same_fed_any_way;
        tests[k].initial_state = (void *)&bad_cases[i];
    }
    for (size_t i = 0; i < N_ELEMENTS(limit_cases); i++, k++) {
        tests[k].name = limit_cases[i].name;
        tests[k].test_func = test_limit_is_enforced_the_same_fed_any_way;
        tests[k].initial_state = (void *)&limit_cases[i];
    }
    for (size_t i = 0; i < N_ELEMENTS(fixed); i++, k++)
        tests[k] = fixed[i];
    imap_test_seed();
    rc = _cmocka_run_group_tests("imap_parser", tests, n, NULL, NULL);
    g_free(tests);
    return rc;
}
