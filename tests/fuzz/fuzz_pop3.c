/* fuzz_pop3.c - libFuzzer harness for the POP3 status-line parser and the
 * multi-line dot decoder, as pop3_conn uses them: a status line, then for
 * some replies a dot-stuffed body. Asserts both feed contracts, that the
 * result does not depend on where the input was split, and that decoding
 * undoes stuffing exactly. */
#include <string.h>

#include <glib.h>

#include "fuzz.h"
#include "pop3/pop3_dot.h"
#include "pop3/pop3_parser.h"

enum { MAX_LINE = 512, MAX_BODY = 4096 };

/* Decodes in[0..len) in chunks of chunk bytes into out (appended). Returns
 * the input consumed; *done_out and *failed_out tell how it ended. */
static size_t
decode_body(struct pop3_dot *d, const uint8_t *in, size_t len, size_t chunk,
            GString *out, bool *done_out, bool *failed_out)
{
    unsigned char buf[64];
    size_t off = 0;

    *done_out = false;
    *failed_out = false;
    if (chunk > sizeof(buf))
        chunk = sizeof(buf);
    while (off < len && !*done_out) {
        size_t n = len - off < chunk ? len - off : chunk;
        size_t out_len = 99999, used = 99999;
        uint64_t before = d->total;
        struct err err = {0};

        if (pop3_dot_decode(d, in + off, n, buf, &out_len, &used, done_out,
                            &err) < 0) {
            xassert(err.kind == ERR_PROTO || err.kind == ERR_LIMIT);
            *failed_out = true;
            return off;
        }
        xassert(used <= n && out_len <= used);
        xassert(*done_out || used == n);  /* short only at the end */
        xassert(d->total == before + out_len);
        xassert(d->total <= d->max);
        g_string_append_len(out, (const char *)buf, (gssize)out_len);
        off += used;
    }
    return off;
}

/* Stuffs body the way a server does (RFC 1939 §3: a '.' starting a line
 * is doubled), ends it with CRLF if needed and ".\r\n"; expect_out gets
 * what the decoder must give back. */
static void
stuff(const uint8_t *body, size_t len, GString *wire, GString *expect_out)
{
    bool bol = true;

    for (size_t i = 0; i < len; i++) {
        if (bol && body[i] == '.')
            g_string_append_c(wire, '.');
        g_string_append_c(wire, (char)body[i]);
        bol = body[i] == '\n';
    }
    g_string_append_len(expect_out, (const char *)body, (gssize)len);
    if (!bol) {
        g_string_append(wire, "\r\n");
        g_string_append(expect_out, "\r\n");
    }
    g_string_append(wire, ".\r\n");
}

/* The server's bytes in[0..len) in chunks of chunk bytes, as pop3_conn
 * reads them: a status line, and after a +OK chosen by multi (bit n for
 * reply n mod 7) a body. Until the first error, transcript_out gets each
 * line and body, then how it ended: the same whatever the chunk size. */
static void
run(uint8_t multi, const uint8_t *data, size_t size, size_t chunk,
    GString *transcript_out)
{
    static const char *const names[] = {"OK", "ERR", "CONT"};
    struct pop3_parser *p = pop3_parser_new(MAX_LINE);
    GString *body = g_string_new(NULL);
    bool failed = false;
    unsigned nreply = 0;
    size_t off = 0;

    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        size_t used = 99999;
        struct pop3_reply r;
        struct err err = {0};
        enum pop3_feed_result res;

        res = pop3_parser_feed(p, data + off, n, &used, &r, &err);
        if (res == POP3_FEED_ERROR) {
            xassert(err.kind == ERR_PROTO || err.kind == ERR_LIMIT);
            if (!failed)
                g_string_append_printf(transcript_out, "error %d\n",
                                       (int)err.kind);
            failed = true;
            pop3_parser_reset(p);
            off += n;
            continue;
        }
        xassert(used <= n);
        xassert(res != POP3_FEED_MORE || used == n);
        off += used;
        if (res != POP3_FEED_LINE)
            continue;
        xassert(used > 0);
        xassert(r.code != NULL && r.text != NULL);
        xassert(strpbrk(r.text, "\r\n") == NULL);
        xassert(strpbrk(r.code, "\r\n") == NULL);
        xassert(strlen(r.text) < MAX_LINE && strlen(r.code) < MAX_LINE);
        if (!failed)
            g_string_append_printf(transcript_out, "%s [%s] %s\n",
                                   names[r.status], r.code, r.text);
        if (r.status == POP3_STATUS_OK && (multi & (1u << (nreply % 7))) != 0) {
            struct pop3_dot d;
            bool done, bad;

            pop3_dot_init(&d, MAX_BODY);
            g_string_truncate(body, 0);
            off += decode_body(&d, data + off, size - off, chunk, body, &done,
                               &bad);
            /* after a failure what was emitted depends on the chunks
             * (the decoder's output is undefined then): only the fact */
            if (!failed && bad) {
                g_string_append(transcript_out, "body failed\n");
            } else if (!failed) {
                g_string_append_printf(transcript_out, "body %s %zu:",
                                       done ? "done" : "cut", body->len);
                g_string_append_len(transcript_out, body->str,
                                    (gssize)body->len);
                g_string_append_c(transcript_out, '\n');
            }
            if (bad)
                break; /* pop3_conn drops the connection */
        }
        nreply++;
    }
    pop3_parser_free(&p);
    xassert(p == NULL);
    g_string_free(body, TRUE);
}

/* Byte 0: chunk size. Byte 1, bit 7: round-trip mode (the rest is a body
 * to stuff, decode and compare); otherwise bits 0-6 say which replies (by
 * their number mod 7) carry a multi-line body, and the rest is the
 * server's bytes. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GString *body = g_string_new(NULL);
    size_t chunk;

    if (size < 2) {
        g_string_free(body, TRUE);
        return 0;
    }
    chunk = fuzz_chunk(data[0], size - 2);
    if ((data[1] & 0x80) != 0) {
        GString *wire = g_string_new(NULL), *want = g_string_new(NULL);
        struct pop3_dot d;
        bool done, failed;
        size_t used;

        stuff(data + 2, size - 2, wire, want);
        pop3_dot_init(&d, MAX_BODY);
        used = decode_body(&d, (const uint8_t *)wire->str, wire->len, chunk,
                           body, &done, &failed);
        if (want->len > MAX_BODY) {
            xassert(failed);
        } else {
            xassert(!failed && done && used == wire->len);
            xassert(body->len == want->len &&
                    memcmp(body->str, want->str, want->len) == 0);
        }
        g_string_free(wire, TRUE);
        g_string_free(want, TRUE);
        g_string_free(body, TRUE);
        return 0;
    }

    {
        GString *chunked = g_string_new(NULL);

        run(data[1], data + 2, size - 2, chunk, chunked);
        if (chunk < size - 2) {
            GString *whole = g_string_new(NULL);

            run(data[1], data + 2, size - 2, size - 2, whole);
            xassert(g_string_equal(chunked, whole));
            g_string_free(whole, TRUE);
        }
        g_string_free(chunked, TRUE);
    }
    g_string_free(body, TRUE);
    return 0;
}
