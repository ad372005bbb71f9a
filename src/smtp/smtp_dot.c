/* smtp_dot.c - dot-stuffing and line-end repair for SMTP DATA.
 * Layer: smtp. Pure. Trust: UNTRUSTED message bytes; output is bounded by
 * SMTP_DOT_OUT_MAX. */
#include <string.h>

#include "smtp/smtp_dot.h"

/* Writes one byte of content (never CR or LF) at its place in a line. */
static size_t
dot_put(struct smtp_dot *d, unsigned char c, unsigned char *out)
{
    size_t o = 0;

    if (!d->mid_line && c == '.')
        out[o++] = '.'; /* RFC 5321 §4.5.2: transparency */
    out[o++] = c;
    d->mid_line = true;
    return o;
}

static size_t
dot_crlf(struct smtp_dot *d, unsigned char *out)
{
    out[0] = '\r';
    out[1] = '\n';
    d->mid_line = false;
    return 2;
}

size_t
smtp_dot_stuff(struct smtp_dot *d, const unsigned char *in, size_t len,
               unsigned char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = in[i];

        if (d->cr) {
            /* CR LF, or a bare CR: a line end either way */
            d->cr = false;
            o += dot_crlf(d, out + o);
            if (c == '\n')
                continue;
        }
        if (c == '\r')
            d->cr = true;
        else if (c == '\n')
            o += dot_crlf(d, out + o);
        else
            o += dot_put(d, c, out + o);
    }
    return o;
}

size_t
smtp_dot_finish(struct smtp_dot *d, unsigned char *out)
{
    size_t o = 0;

    if (d->cr || d->mid_line)
        o += dot_crlf(d, out);
    memcpy(out + o, ".\r\n", 3);
    o += 3;
    d->cr = false;
    d->mid_line = false;
    return o;
}
