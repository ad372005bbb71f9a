/* smtp_dot.h - the body of an SMTP DATA command (RFC 5321 §4.5.2): line ends
 * made CRLF, a leading '.' doubled, and the final CRLF "." CRLF.
 * Layer: smtp. Pure: bytes in, bytes out. Trust: the message comes from the
 * user; whatever it holds, it cannot end the DATA early. */
#ifndef POSTERN_SMTP_SMTP_DOT_H
#define POSTERN_SMTP_SMTP_DOT_H

#include <stdbool.h>
#include <stddef.h>

/* State kept between chunks. Zero-initialise it: the message starts at the
 * start of a line. */
struct smtp_dot {
    bool mid_line; /* the last byte written was not a line end */
    bool cr;       /* a CR was read and not written yet */
};

/* Room smtp_dot_stuff() may need for len input bytes. */
#define SMTP_DOT_OUT_MAX(len) (2 * (size_t)(len) + 2)

/* Room smtp_dot_finish() needs: CR LF "." CR LF. */
#define SMTP_DOT_FINISH_MAX 5u

/* Writes the stuffed form of in[0..len) to out, which must hold
 * SMTP_DOT_OUT_MAX(len) bytes, and returns the number of bytes written.
 * Every line end becomes CR LF: CR LF stays, and a bare LF or a bare CR
 * (not followed by LF) becomes CR LF too. A bare CR is not kept: a server
 * that took it for a line end could then see a "." line the client never
 * meant (SMTP smuggling, CVE-2023-51764). A '.' at the start of a line is
 * doubled (RFC 5321 §4.5.2). Other bytes, NUL and 8-bit included, pass
 * unchanged. A CR at the end of in is held in *d until the next call (or
 * smtp_dot_finish()) shows whether LF follows. */
size_t smtp_dot_stuff(struct smtp_dot *d, const unsigned char *in, size_t len,
                      unsigned char *out);

/* Ends the body: writes a CR LF if the message did not end with a line end
 * (or a held CR), then ".\r\n". out must hold SMTP_DOT_FINISH_MAX bytes.
 * Returns the number of bytes written; *d is back at its initial state. */
size_t smtp_dot_finish(struct smtp_dot *d, unsigned char *out);

#endif
