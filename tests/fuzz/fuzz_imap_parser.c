/* fuzz_imap_parser.c - libFuzzer harness for the IMAP response parser: any
 * bytes, fed in chunks the input chooses, with small limits so every cap is
 * reachable; asserts the feed contract of imap_parser.h. */
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

/* Byte 0: chunk size (see fuzz_chunk). Byte 1: bit 0 sets a literal sink,
 * bit 1 switches to the pre-login line limit half way. The rest is the
 * server's bytes. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
    struct imap_parser *p;
    GString *dump = g_string_new(NULL);
    size_t chunk, off = 2;
    bool sink;

    if (size < 2) {
        g_string_free(dump, TRUE);
        return 0;
    }
    chunk = fuzz_chunk(data[0], size - 2);
    sink = (data[1] & 1) != 0;
    p = imap_parser_new(&lim);
    if (sink)
        imap_parser_set_sink(p, count_sink, NULL);
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        size_t used = 12345;
        const struct imap_resp *resp = NULL;
        struct err err = {0};
        enum imap_feed_result r;

        if ((data[1] & 2) != 0 && off >= size / 2)
            imap_parser_set_limits(p, &tight);
        r = imap_parser_feed(p, data + off, n, &used, &resp, &err);
        if (r == IMAP_FEED_ERROR) {
            /* errors always say why, and never "internal" on fresh input */
            xassert(err.kind != ERR_NONE && err.kind != ERR_INTERNAL);
            xassert(err.msg[0] != '\0');
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
        }
        off += used;
    }
    imap_parser_free(&p);
    xassert(p == NULL);
    g_string_free(dump, TRUE);
    return 0;
}
