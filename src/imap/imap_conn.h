/* imap_conn.h - one IMAP connection: connect, TLS, greeting, capabilities,
 * login, and running commands built with imap_cmd. The only place where
 * IMAP meets the network. Layer: imap. Trust: the server is UNTRUSTED. */
#ifndef POSTERN_IMAP_IMAP_CONN_H
#define POSTERN_IMAP_IMAP_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/attr.h"
#include "core/cfg.h"
#include "core/err.h"
#include "imap/imap_cmd.h"
#include "imap/imap_resp.h"

struct imap_conn;
struct net_guard;

struct imap_conn_opts {
    const char *host;
    unsigned port;
    enum cfg_tls tls;
    const char *ca_file;       /* NULL: the system store */
    unsigned connect_timeout;  /* seconds */
    unsigned io_timeout;       /* seconds for each read or write */
    unsigned command_timeout;  /* seconds for a command's whole reply, the
                                  greeting and login too, and a second
                                  more per 16 KiB it uploads (APPEND); a
                                  stream made paced is exempt once its
                                  literal flows (the browser sets the
                                  pace). 0: none */
    const struct net_guard *guard; /* NULL: any address; else only those
                                      it allows (a host a user typed) */
    const char *client_addr;   /* the browser's address, sent before login
                                  as ID x-originating-ip (RFC 2971) when
                                  the server offers ID; NULL or "": none */
};

/* What the server's last SELECT/EXAMINE said about the mailbox, and what
 * was seen of it since. */
struct imap_selected {
    char *mailbox;             /* UTF-8 name; NULL when none is selected */
    bool readonly;
    uint32_t uidvalidity, uidnext, exists;
    uint64_t highestmodseq;    /* 0 without CONDSTORE (or NOMODSEQ) */
    unsigned serial;           /* differs for every SELECT/EXAMINE made */
    /* Since that SELECT: EXISTS, EXPUNGE and VANISHED responses, untagged
     * FETCHes without MODSEQ, and commands other than NOOP, FETCH, SORT,
     * SEARCH, LIST, STATUS... (those that may change the mailbox). */
    unsigned changes;
    uint64_t modseq_seen;      /* highest MODSEQ of an untagged FETCH */
};

/* Called for each untagged response while a command runs, after the
 * connection's own bookkeeping. Return -1 with err set to fail the command;
 * the connection is then marked broken. */
typedef int imap_untagged_fn(void *ctx, const struct imap_resp *resp,
                             struct err *err);

/* Connects, does TLS (implicit, or STARTTLS that must be offered: no
 * silent downgrade), reads the greeting and the capabilities, and sends
 * ID with the client's address when the server offers ID (so Dovecot's
 * auth penalty hits that address, not postern's; a refused ID is fine). */
struct imap_conn *imap_conn_open(const struct imap_conn_opts *opts,
                                 struct err *err);

/* AUTHENTICATE PLAIN (with SASL-IR when offered) or LOGIN; honours
 * LOGINDISABLED; then ENABLEs UTF8=ACCEPT and CONDSTORE when offered.
 * ERR_AUTH when the server refused the credentials. */
ATTR_NODISCARD int imap_conn_login(struct imap_conn *c, const char *user,
                                   const char *password, struct err *err);

/* A command with the next tag and the connection's quoting flags. */
struct imap_cmd *imap_conn_cmd_new(struct imap_conn *c, const char *verb);

/* Sends cmd (waiting for continuations between literal segments), passes
 * untagged responses to fn (may be NULL) and returns at the tagged reply:
 * 0 for OK, -1 with ERR_REFUSED for NO (imap_conn_last_code() tells the
 * response code), ERR_PROTO for BAD or a broken reply, ERR_CONN/TIMEOUT
 * from the network. Frees cmd. */
ATTR_NODISCARD int imap_conn_run(struct imap_conn *c, struct imap_cmd *cmd,
                                 imap_untagged_fn *fn, void *ctx,
                                 struct err *err);

/* Streams the literals of one command's replies (BODY[...] of a FETCH):
 * sends cmd, then each imap_conn_stream_read() returns the next bytes of
 * the literal data as they arrive, at most one network read at a time, so
 * memory does not grow with the size. Returns 0 at the tagged OK; -1 with
 * err on NO/BAD or a network error. A stream not read to its end leaves
 * the connection unusable (imap_conn_stream_abort marks it so). Frees cmd.
 * No other command may run on c until the stream has ended. */
ATTR_NODISCARD int imap_conn_stream_begin(struct imap_conn *c,
                                          struct imap_cmd *cmd,
                                          struct err *err);
ATTR_NODISCARD ssize_t imap_conn_stream_read(struct imap_conn *c, void *buf,
                                             size_t max, struct err *err);
void imap_conn_stream_abort(struct imap_conn *c);
/* The stream begun goes at a browser's pace (a download): once its
 * literal flows, the reply as a whole loses command_timeout; each read
 * keeps io_timeout. Without it a stream is a command like any other. */
void imap_conn_stream_paced(struct imap_conn *c);

/* Before the first imap_conn_stream_read(): waits for the reply to begin
 * and tells the size of its first literal (the part's bytes: an HTTP
 * Content-Length), or of all the data when the reply came whole. A NO
 * (the server will not send the part) is -1 with err, like a read. A
 * hostile server may still send more or fewer bytes than it announced;
 * the reads deliver what it sends. */
ATTR_NODISCARD int imap_conn_stream_size(struct imap_conn *c,
                                         uint64_t *size_out,
                                         struct err *err);

/* SELECT (or EXAMINE when readonly) with CONDSTORE when enabled; fills the
 * selected state. A NO is ERR_REFUSED with the code kept. */
ATTR_NODISCARD int imap_conn_select(struct imap_conn *c, const char *mailbox,
                                    bool readonly, struct err *err);

const struct imap_selected *imap_conn_selected(const struct imap_conn *c);

/* Response code (upper-case) of the last tagged NO, or "" . */
const char *imap_conn_last_code(const struct imap_conn *c);

/* Arguments of that code ("3857529045 42" for APPENDUID), or "". */
const char *imap_conn_last_code_args(const struct imap_conn *c);

uint32_t imap_conn_caps(const struct imap_conn *c);
bool imap_conn_has_cap(const struct imap_conn *c, uint32_t cap);
/* True once UTF8=ACCEPT is enabled: mailbox names travel as UTF-8. */
bool imap_conn_utf8(const struct imap_conn *c);

/* False when the connection failed or the server closed it (checked
 * without a round trip when nothing is pending). */
bool imap_conn_is_usable(struct imap_conn *c);

/* LOGOUT (best effort, short deadline) and free. NULL-safe. */
void imap_conn_close(struct imap_conn **c);

/* Commands sent by every connection of the process, by verb. */
struct imap_conn_stat {
    const char *verb;
    unsigned long count;
};
/* Calls fn for each counted verb, in a fixed order. */
void imap_conn_stats_foreach(void (*fn)(void *ctx,
                                        const struct imap_conn_stat *st),
                             void *ctx);

#endif
