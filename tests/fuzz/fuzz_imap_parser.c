/* fuzz_imap_parser.c - libFuzzer harness for the IMAP response parser: any
 * bytes, fed in chunks the input chooses, with small limits so every cap is
 * reachable; asserts the feed contract of imap_parser.h and that the
 * responses do not depend on where the input was split. */
#include <string.h>

#include "fuzz.h"
#include "imap/imap_parser.h"

static uint64_t sunk;

static int
count_sink(void *ctx, const unsigned char *data, size_t len)
{
    (void)ctx;
    (void)data;
    sunk += len;
    return 0;
}

static const struct imap_parser_limits lim = {
    .max_line = 4096,
    .max_literal_mem = 256,
    .max_depth = 8,
    .max_tokens = 512,
    .max_literal_total = 1024,
};
static const struct imap_parser_limits tight = {
    .max_line = 512,
    .max_literal_mem = 64,
    .max_depth = 4,
    .max_tokens = 64,
    .max_literal_total = 128,
};

/* Feeds in[0..len) in chunks of chunk bytes, asserting the contract at
 * every call. Until the first error, transcript_out gets one line per
 * response (its dump) and then the error kind and the bytes sunk; after
 * an error the parser is reset and the bad chunk skipped, to reach more
 * code. tighten: switch to the tight limits half way. */
static void
run(const uint8_t *in, size_t len, size_t chunk, bool sink, bool tighten,
    GString *transcript_out)
{
    struct imap_parser *p = imap_parser_new(&lim);
    GString *dump = g_string_new(NULL);
    bool failed = false;
    size_t off = 0;

    sunk = 0;
    if (sink)
        imap_parser_set_sink(p, count_sink, NULL);
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        size_t used = 12345;
        const struct imap_resp *resp = NULL;
        struct err err = {0};
        enum imap_feed_result r;

        if (tighten && off >= len / 2)
            imap_parser_set_limits(p, &tight);
        r = imap_parser_feed(p, in + off, n, &used, &resp, &err);
        if (r == IMAP_FEED_ERROR) {
            /* errors always say why, and never "internal" on fresh input */
            xassert(err.kind != ERR_NONE && err.kind != ERR_INTERNAL);
            xassert(err.msg[0] != '\0');
            if (!failed)
                g_string_append_printf(transcript_out, "error %d sunk %llu\n",
                                       (int)err.kind,
                                       (unsigned long long)sunk);
            failed = true;
            imap_parser_reset(p);
            if (sink)
                imap_parser_set_sink(p, count_sink, NULL);
            off += n; /* skip the bad chunk */
            continue;
        }
        xassert(used <= n);
        xassert(r != IMAP_FEED_MORE || used == n); /* the contract */
        if (r == IMAP_FEED_RESPONSE) {
            xassert(used > 0);
            xassert(resp != NULL);
            (void)imap_resp_dump_len(resp); /* touch every node */
            g_string_truncate(dump, 0);
            imap_resp_dump(resp, dump);
            /* the dump stays on one line whatever the literals held */
            xassert(strlen(dump->str) == dump->len);
            xassert(memchr(dump->str, '\n', dump->len) == NULL);
            xassert(memchr(dump->str, '\r', dump->len) == NULL);
            xassert(resp->kind != IMAP_RESP_TAGGED || resp->tag != NULL);
            if (!failed)
                g_string_append_printf(transcript_out, "%s\n", dump->str);
        }
        off += used;
    }
    if (!failed)
        g_string_append_printf(transcript_out, "end sunk %llu\n",
                               (unsigned long long)sunk);
    imap_parser_free(&p);
    xassert(p == NULL);
    g_string_free(dump, TRUE);
}

/* Byte 0: chunk size (see fuzz_chunk). Byte 1: bit 0 sets a literal sink,
 * bit 1 switches to tighter limits half way. The rest is the server's
 * bytes. Without the switch, the responses (and the first error) must be
 * the same whether the bytes come in chunks or all at once: no state may
 * depend on where the input was split. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GString *chunked, *whole;
    bool sink, tighten;
    size_t chunk;

    if (size < 2)
        return 0;
    chunk = fuzz_chunk(data[0], size - 2);
    sink = (data[1] & 1) != 0;
    tighten = (data[1] & 2) != 0;
    chunked = g_string_new(NULL);
    run(data + 2, size - 2, chunk, sink, tighten, chunked);
    if (!tighten && chunk < size - 2) {
        whole = g_string_new(NULL);
        run(data + 2, size - 2, size - 2, sink, false, whole);
        if (strcmp(chunked->str, whole->str) != 0)
            fprintf(stderr, "split at %zu:\n%s\nwhole:\n%s\n", chunk,
                    chunked->str, whole->str);
        xassert(strcmp(chunked->str, whole->str) == 0);
        g_string_free(whole, TRUE);
    }
    g_string_free(chunked, TRUE);
    return 0;
}
