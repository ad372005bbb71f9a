/* pop3_dot.c - the POP3 multi-line decoder as a pure state machine.
 * Layer: pop3; no I/O. Trust: UNTRUSTED input from the server. */
#include <inttypes.h>

#include "pop3/pop3_dot.h"

void
pop3_dot_init(struct pop3_dot *d, uint64_t max)
{
    d->st = POP3_DOT_BOL;
    d->total = 0;
    d->max = max;
}

int
pop3_dot_decode(struct pop3_dot *d, const unsigned char *in, size_t len,
                unsigned char *out, size_t *out_len, size_t *used_out,
                bool *done_out, struct err *err)
{
    size_t o = 0, i;

    *done_out = false;
    *out_len = 0;
    *used_out = 0;
    for (i = 0; i < len && !*done_out; i++) {
        unsigned char c = in[i];

        switch (d->st) {
        case POP3_DOT_BOL: /* at the start of a line */
            if (c == '.') {
                d->st = POP3_DOT_DOT;
                continue; /* stuffed or terminating dot */
            }
            break;
        case POP3_DOT_DOT:
            if (c == '\r') {
                d->st = POP3_DOT_DOT_CR;
                continue;
            }
            break; /* "..x" -> ".x": emit c below */
        case POP3_DOT_DOT_CR:
            if (c != '\n') {
                err_set(err, ERR_PROTO, "POP3 body: '.' CR not followed "
                        "by LF");
                return -1;
            }
            *done_out = true;
            d->st = POP3_DOT_BOL;
            continue;
        case POP3_DOT_MID:
            break;
        }
        /* RFC 1939 §3: a line starting "." CR is the end; any other line
         * starting with "." had one added, removed above */
        if (++d->total > d->max) {
            err_set(err, ERR_LIMIT, "POP3 body over %" PRIu64 " bytes",
                    d->max);
            return -1;
        }
        out[o++] = c;
        d->st = (c == '\n') ? POP3_DOT_BOL : POP3_DOT_MID;
    }
    *out_len = o;
    *used_out = i;
    return 0;
}
