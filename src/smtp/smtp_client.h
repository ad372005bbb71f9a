/* smtp_client.h - message submission (RFC 6409) over SMTP (RFC 5321):
 * STARTTLS or implicit TLS, AUTH PLAIN/LOGIN, one message to its recipients.
 * Layer: smtp. Trust: the server is UNTRUSTED (its replies are parsed with
 * caps); addresses come from the user and are checked before any byte is
 * sent, so none can add a command. */
#ifndef POSTERN_SMTP_SMTP_CLIENT_H
#define POSTERN_SMTP_SMTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/attr.h"
#include "core/cfg.h"
#include "core/err.h"

/* Longest address, RFC 5321 §4.5.3.1.3 (the path, without '<' '>'). */
#define SMTP_ADDRESS_MAX 254u
/* Most recipients of one message; RFC 5321 §4.5.3.1.8 asks servers to take
 * at least 100. Over it: ERR_LIMIT before connecting. */
#define SMTP_RCPTS_MAX 1000u

struct net_guard;

struct smtp_opts {
    const char *host;
    unsigned port;
    /* CFG_TLS_STARTTLS (587), CFG_TLS_IMPLICIT (465), CFG_TLS_NONE (tests
     * and loopback only: a server's STARTTLS offer is then ignored) */
    enum cfg_tls tls;
    const char *ca_file;      /* NULL: the system store */
    unsigned connect_timeout; /* seconds: connect and implicit TLS */
    unsigned io_timeout;      /* seconds: each command's whole reply, each
                               * write, the STARTTLS handshake */
    const char *helo;         /* our name for EHLO, e.g. "postern.localdomain";
                               * NULL: "localhost" */
    const struct net_guard *guard; /* NULL: any address; else only those it
                                    * allows (a host a user typed) */
};

/* Produces the message bytes: fills buf with up to max bytes, returns the
 * count, 0 at the end, -1 on error. The message is RFC 5322 with CRLF line
 * ends (a bare LF or a bare CR is sent as CRLF); dot-stuffing is the
 * client's job. 8-bit content is fine: BODY=8BITMIME is declared when the
 * server offers it. */
typedef ssize_t smtp_read_fn(void *ctx, void *buf, size_t max);

/* What happened, for the user. Zero-initialise it, or reuse it after
 * smtp_result_clear(). */
struct smtp_result {
    /* "bob@x (550 5.1.1 User unknown), ..." naming every recipient the
     * server refused at RCPT, or NULL; g_malloc'd, freed by
     * smtp_result_clear(). Its text is the server's, made valid UTF-8 and
     * free of control characters: escape it like any other string. */
    char *failed_rcpts;
    /* The code of the reply that settled it: 250 after DATA, the last
     * refusing RCPT's, or the last reply read (QUIT's and RSET's aside);
     * 0 when none came. */
    int last_code;
};

/* Frees what *r holds and zeroes it. NULL-safe. */
void smtp_result_clear(struct smtp_result *r);

/* Sends one message, from connect to QUIT:
 *
 * 1. Checks the input before connecting. from (may be "" for the null
 *    reverse-path) and every recipient (n_rcpts >= 1) must be at most
 *    SMTP_ADDRESS_MAX bytes without '<' '>', space, or any control
 *    character (CR, LF, HT, DEL, ...); recipients must not be empty;
 *    8-bit bytes must be UTF-8. o->helo: 1-255 printable bytes, no space
 *    or '<' '>'. Any failure is ERR_INPUT naming the field (not the
 *    password) and nothing is sent: no user string can add an SMTP
 *    command. More than SMTP_RCPTS_MAX recipients: ERR_LIMIT.
 * 2. Connects (ERR_CONN/ERR_TIMEOUT from net_conn; implicit TLS is
 *    verified against o->ca_file and o->host), reads the 220 greeting
 *    (another code: ERR_REFUSED with the server's text).
 * 3. EHLO o->helo, falling back to HELO when EHLO gets a 5xx (no
 *    extensions then). With CFG_TLS_STARTTLS: STARTTLS (not offered:
 *    ERR_CONN "... does not offer STARTTLS ..."; refused: ERR_CONN with
 *    the server's reply; never a silent downgrade), bytes after its 220
 *    before the handshake: ERR_PROTO (CVE-2011-0411), the handshake
 *    verified against o->ca_file and o->host, then EHLO again and the
 *    extensions from before TLS are forgotten.
 * 4. size_hint is the message's size with CRLF line ends (RFC 1870 §4),
 *    0 when unknown. When the server announces a limit and size_hint is
 *    over it: ERR_LIMIT naming both sizes, before AUTH and MAIL.
 * 5. AUTH when password != NULL and the server offers AUTH: PLAIN (RFC
 *    4616, with an initial response unless the command would pass 512
 *    bytes), else LOGIN. 530/534/535: ERR_AUTH "the mail server refused
 *    the login for sending: <reply>"; AUTH offered with neither mechanism:
 *    ERR_UNSUPPORTED. password NULL, or no AUTH offered: no AUTH (the
 *    server decides at MAIL or RCPT). A user name and password whose
 *    base64 passes RFC 4954's 12288 bytes a line: ERR_INPUT. The
 *    password and its base64 form are wiped after use and never appear
 *    in err or anywhere else. user may be NULL when password is.
 * 6. MAIL FROM:<from>, with " SIZE=n" when the server has SIZE and
 *    size_hint > 0, " BODY=8BITMIME" when it has 8BITMIME, and
 *    " SMTPUTF8" when an address has 8-bit bytes (a server without
 *    SMTPUTF8: ERR_UNSUPPORTED before MAIL).
 * 7. RCPT TO:<r> for every recipient, even after one is refused. If any
 *    is refused (4xx or 5xx), no message is sent: RSET, QUIT, and
 *    ERR_REFUSED "the mail server refused N of M recipients: bob@x (550
 *    5.1.1 ...), ..." (err's message may be cut at its size; the full list
 *    is in result->failed_rcpts).
 * 8. DATA, then the message from read_fn(read_ctx) until it returns 0,
 *    dot-stuffed with line ends made CRLF (smtp_dot.h), a CRLF added if
 *    it does not end with one, and "." CRLF. read_fn returning -1:
 *    ERR_ABORTED, and the connection is dropped without the final "." so
 *    the server discards what it got. 250 after the final "." means the
 *    server took the message.
 * 9. QUIT; its reply is waited for at most a second and not checked.
 *
 * Errors from replies: 552 or 452 to MAIL, DATA or the final "." is
 * ERR_LIMIT with the server's text; any other unexpected 4xx or 5xx is
 * ERR_REFUSED with the command and the server's text; 421 too (the server
 * is closing: no QUIT then). Replies that break the grammar or exceed
 * SMTP_REPLY_LINE_MAX / SMTP_REPLY_LINES_MAX, and bytes the server sends
 * before it was asked anything, are ERR_PROTO / ERR_LIMIT. Network
 * failures are ERR_CONN or ERR_TIMEOUT from net_conn (each command's
 * reply must arrive within o->io_timeout). After a refusal the session is
 * ended with QUIT; after a network or protocol error it is just closed.
 *
 * result may be NULL; otherwise it is cleared first, then gets last_code
 * and, on a recipient refusal, failed_rcpts. Returns 0 when the
 * server accepted the message (250 after DATA), else -1 with err set. */
ATTR_NODISCARD int smtp_send(const struct smtp_opts *o, const char *user,
                             const char *password, const char *from,
                             const char *const *rcpts, size_t n_rcpts,
                             uint64_t size_hint, smtp_read_fn *read_fn,
                             void *read_ctx, struct smtp_result *result,
                             struct err *err);

#endif
