/* pop3_conn.h - one POP3 connection: connect, TLS (implicit or STLS),
 * greeting, CAPA, login (AUTH PLAIN, APOP, USER/PASS) and the maildrop
 * commands. The only place where POP3 meets the network. Layer: pop3.
 * Trust: the server is UNTRUSTED; every reply is capped. */
#ifndef POSTERN_POP3_POP3_CONN_H
#define POSTERN_POP3_POP3_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#include "core/attr.h"
#include "core/cfg.h"
#include "core/err.h"

struct pop3_conn;

/* How pop3_conn_login() authenticates. */
enum pop3_auth {
    POP3_AUTH_AUTO = 0, /* SASL PLAIN if offered, else APOP, else USER */
    POP3_AUTH_PLAIN,    /* AUTH PLAIN even when CAPA does not list it */
    POP3_AUTH_APOP,     /* needs the greeting's timestamp */
    POP3_AUTH_USER      /* USER/PASS */
};

struct pop3_conn_opts {
    const char *host;
    unsigned port;
    enum cfg_tls tls;
    const char *ca_file;      /* NULL: the system store */
    unsigned connect_timeout; /* seconds, connect and TLS handshake */
    unsigned io_timeout;      /* seconds for each read or write */
    unsigned command_timeout; /* seconds for a command's whole reply (the
                               * greeting too; not a RETR body, which the
                               * browser paces); 0: no limit */
    bool allow_apop;          /* use APOP when the greeting allows it */
    uint64_t max_message;     /* cap on RETR and TOP bodies; 0: no cap */
    enum pop3_auth auth;      /* 0: POP3_AUTH_AUTO */
};

/* CAPA bits (RFC 2449 §6). */
enum pop3_cap {
    POP3_CAP_KNOWN = 1u << 0,       /* the server answered CAPA */
    POP3_CAP_STLS = 1u << 1,
    POP3_CAP_TOP = 1u << 2,
    POP3_CAP_UIDL = 1u << 3,
    POP3_CAP_USER = 1u << 4,
    POP3_CAP_SASL_PLAIN = 1u << 5,
    POP3_CAP_RESP_CODES = 1u << 6,
    POP3_CAP_PIPELINING = 1u << 7,
};

struct pop3_list_entry {
    unsigned msg;     /* session-local message number */
    uint64_t size;    /* octets as the server counts them */
};

struct pop3_uidl_entry {
    unsigned msg;
    char uid[71];     /* RFC 1939 §7: 1-70 chars 0x21-0x7E, NUL-ended */
};

/* Connects, does implicit TLS, reads the greeting (keeping an APOP
 * timestamp), asks CAPA (a server without it is fine: caps then lack
 * POP3_CAP_KNOWN), and for tls = starttls runs STLS, which must be
 * offered (else ERR_CONN: no silent downgrade), refusing bytes sent before
 * the handshake (ERR_PROTO), then asks CAPA again. Errors: ERR_CONN,
 * ERR_TIMEOUT, ERR_CONFIG (CA file), ERR_PROTO (not POP3), ERR_REFUSED
 * (-ERR greeting). The result is the caller's: pop3_conn_quit() or
 * pop3_conn_close(). */
struct pop3_conn *pop3_conn_open(const struct pop3_conn_opts *opts,
                                 struct err *err);

/* With POP3_AUTH_AUTO: AUTH PLAIN (RFC 5034) when CAPA lists SASL PLAIN,
 * else APOP when the greeting had a timestamp and opts.allow_apop, else
 * USER/PASS. Another opts.auth forces that way (APOP without a timestamp
 * is ERR_UNSUPPORTED; allow_apop is not needed then). -ERR is
 * ERR_AUTH, except [IN-USE] and [SYS/...] (RFC 2449 §8, RFC 3206): those
 * are ERR_REFUSED, the credentials were not the problem. The password
 * never appears in err, and its copies are wiped. user and password must
 * not hold CR, LF or NUL (ERR_INPUT). */
ATTR_NODISCARD int pop3_conn_login(struct pop3_conn *c, const char *user,
                                   const char *password, struct err *err);

/* STAT: messages and octets in the maildrop. */
ATTR_NODISCARD int pop3_conn_stat(struct pop3_conn *c, unsigned *count_out,
                                  uint64_t *size_out, struct err *err);

/* LIST: a new GArray of struct pop3_list_entry (g_array_unref it). */
ATTR_NODISCARD GArray *pop3_conn_list(struct pop3_conn *c, struct err *err);

/* UIDL: a new GArray of struct pop3_uidl_entry; a UID outside 1-70 chars
 * of 0x21-0x7E is ERR_PROTO. */
ATTR_NODISCARD GArray *pop3_conn_uidl(struct pop3_conn *c, struct err *err);

/* TOP msg 0: the header of message msg, dot-unstuffed, appended to out.
 * Past max bytes (0: opts.max_message, or no cap) the rest is read and
 * dropped and *truncated set (NULL: ERR_LIMIT instead): one message's
 * outsized header must not cost the whole list. A reply past
 * opts.max_message is ERR_LIMIT and leaves the connection broken. -ERR is
 * ERR_REFUSED. */
ATTR_NODISCARD int pop3_conn_top(struct pop3_conn *c, unsigned msg,
                                 GString *out, size_t max, bool *truncated,
                                 struct err *err);

/* RETR msg, streamed: after begin succeeds, each read returns the next
 * decoded (dot-unstuffed) bytes of the message, at most max (> 0), and 0
 * at the end; memory does not grow with the message. -ERR at begin is
 * ERR_REFUSED; past cap bytes (0: opts.max_message, which bounds what a
 * caller holds; a stream to a browser holds nothing and passes its own)
 * is ERR_LIMIT. A stream not read to its end leaves the connection
 * broken; no other command may run on c until it ends. */
ATTR_NODISCARD int pop3_conn_retr_begin(struct pop3_conn *c, unsigned msg,
                                        uint64_t cap, struct err *err);

/* The RETR just begun is read at a browser's pace (a download): each read
 * keeps its io_timeout, the body as a whole loses command_timeout. */
void pop3_conn_retr_paced(struct pop3_conn *c);

ATTR_NODISCARD ssize_t pop3_conn_retr_read(struct pop3_conn *c, void *buf,
                                           size_t max, struct err *err);

/* DELE, RSET, NOOP: 0 on +OK, -1 with ERR_REFUSED on -ERR. Deletions take
 * effect only at pop3_conn_quit(). */
ATTR_NODISCARD int pop3_conn_dele(struct pop3_conn *c, unsigned msg,
                                  struct err *err);
ATTR_NODISCARD int pop3_conn_rset(struct pop3_conn *c, struct err *err);
ATTR_NODISCARD int pop3_conn_noop(struct pop3_conn *c, struct err *err);

/* QUIT, which commits deletions (RFC 1939 §6), then frees the connection
 * and sets *c to NULL. Returns true only if the server answered +OK; false
 * with err set otherwise (the deletions may not have happened). NULL-safe
 * (returns false without touching err). */
bool pop3_conn_quit(struct pop3_conn **c, struct err *err);

/* Frees without QUIT: pending deletions are rolled back by the server.
 * NULL-safe; sets *c to NULL. */
void pop3_conn_close(struct pop3_conn **c);

/* False once the connection failed (read, write, protocol, a limit) or
 * while a RETR stream is open: no command may be sent then. */
bool pop3_conn_is_usable(const struct pop3_conn *c);

/* CAPA bits (enum pop3_cap). */
unsigned pop3_conn_caps(const struct pop3_conn *c);

/* The RFC 2449 code of the last -ERR ("IN-USE"), or "". Valid as long as
 * c. */
const char *pop3_conn_last_code(const struct pop3_conn *c);

/* Appends "VERB[ ARG]...CRLF" to out. Refuses CR, LF and NUL in verb or
 * args (ERR_INPUT) and a line over 255 bytes with CRLF (RFC 2449 §4;
 * ERR_INPUT); out is then left as it was. args may be NULL when n_args
 * is 0. Every command the connection sends is built here. */
ATTR_NODISCARD int pop3_conn_cmd_build(GString *out, const char *verb,
                                       const char *const *args, size_t n_args,
                                       struct err *err);

#endif
