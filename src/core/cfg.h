/* cfg.h - the configuration file (a GLib key file, DESIGN §8) as a struct.
 * Layer: core. Trust: operator input; every key and value is validated. */
#ifndef POSTERN_CORE_CFG_H
#define POSTERN_CORE_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include "core/attr.h"
#include "core/err.h"
#include "core/netaddr.h"

enum cfg_protocol { CFG_PROTO_IMAP, CFG_PROTO_POP3 };
enum cfg_tls { CFG_TLS_IMPLICIT, CFG_TLS_STARTTLS, CFG_TLS_NONE };
/* How a POP3 login is made (pop3_auth): auto is SASL PLAIN when offered,
 * else APOP when allowed (apop = yes) and offered, else USER/PASS. */
enum cfg_pop3_auth {
    CFG_POP3_AUTH_AUTO,
    CFG_POP3_AUTH_PLAIN,
    CFG_POP3_AUTH_APOP,
    CFG_POP3_AUTH_USER
};

struct cfg_server {
    char *name;               /* from [server NAME] */
    enum cfg_protocol protocol;
    char *host;
    unsigned port;            /* default from protocol and tls */
    enum cfg_tls tls;
    char *ca_file;            /* NULL: the system store */
    char *smtp_host;          /* default: host */
    unsigned smtp_port;       /* default: 465 implicit, else 587 */
    enum cfg_tls smtp_tls;
    char *address_domain;     /* NULL: the login name is the address */
    enum cfg_pop3_auth pop3_auth;
    bool apop;                /* auto may use APOP (RFC 1939 §7) */
    /* A host a user typed at login (allow_any_server), not a section:
     * connections to it go through the internal-address guard, exempting
     * only allowed_hosts (borrowed from the cfg). */
    bool is_typed;
    const char *const *allowed_hosts;
};

struct cfg {
    char *path;               /* the file it was read from */

    /* [postern] */
    char *listen_host;
    unsigned listen_port;
    char *base_path;          /* starts and ends with '/' */
    char *data_dir;           /* holds templates/ and static/ */
    unsigned threads;         /* FastCGI workers */
    unsigned max_connections; /* embedded server */
    unsigned connect_timeout; /* seconds, to mail servers */
    unsigned io_timeout;      /* seconds, one read or write */
    unsigned command_timeout; /* seconds, a mail server's whole reply */
    unsigned client_timeout;  /* seconds a browser may idle mid-request */
    size_t max_header_bytes;  /* all request headers together */
    size_t max_body_bytes;    /* urlencoded request bodies */
    size_t max_upload;        /* multipart bodies */
    size_t max_message_size;  /* a message parsed for display */
    unsigned page_size;
    unsigned pool_per_session, pool_per_server, pool_total;
    unsigned pool_idle, session_idle, session_max; /* seconds */
    unsigned pop3_idle;       /* seconds a POP3 connection is kept idle:
                                 it locks the maildrop and shows a
                                 snapshot, so it goes sooner */
    char *tls_cert, *tls_key;
    char *redirect_host;      /* NULL: no plain-HTTP listener redirecting */
    unsigned redirect_port;   /* to HTTPS (redirect_listen) */
    struct netaddr *trusted_proxies; /* whose X-Forwarded-* are believed */
    size_t n_trusted_proxies;
    bool compress;            /* gzip for clients that accept it */
    unsigned login_fails_per_address; /* failed logins before waits */
    unsigned login_fails_per_user;
    unsigned login_fail_window;       /* seconds a failure is remembered */
    unsigned login_delay_max;         /* seconds: the longest wait */
    bool allow_any_server;
    char **allowed_hosts;     /* NULL-terminated; exempt from the SSRF guard */
    int log_level;            /* enum log_level */
    bool access_log;

    struct cfg_server **servers; /* NULL-terminated; the first is the default */
    size_t n_servers;
};

/* Reads and validates the file at path. NULL with err (ERR_CONFIG) whose
 * message reads "PATH: [section] key: what is wrong". */
struct cfg *cfg_load(const char *path, struct err *err);

/* The same over text already in memory; path is only for messages. */
struct cfg *cfg_load_data(const char *path, const char *data, size_t len,
                          struct err *err);

/* NULL-safe; sets *cfg to NULL. */
void cfg_free(struct cfg **cfg);

/* A server for what a user typed in the login form's server field when
 * allow_any_server is on: "host", "host:port", "[v6]" or "[v6]:port".
 * IMAP over TLS: implicit on 993 (the default), STARTTLS on 143 (no
 * other choice: a typed host never gets the password in clear); the
 * system CA store; SMTP submission on the same host, port 587 with
 * STARTTLS. The name is the text as typed. ERR_INPUT with a message for
 * the user when it is not that shape (a host name of letters, digits,
 * '-' and '.', at most 253 bytes, or an address). Free it with
 * cfg_server_free. */
struct cfg_server *cfg_server_typed(const struct cfg *cfg, const char *text,
                                    struct err *err);

/* Frees a server from cfg_server_typed; sets *s to NULL. NULL-safe. */
void cfg_server_typed_free(struct cfg_server **s);

/* The server called name, or NULL. */
const struct cfg_server *cfg_server_find(const struct cfg *cfg,
                                         const char *name);

const char *cfg_protocol_name(enum cfg_protocol p);
const char *cfg_tls_name(enum cfg_tls t);

#endif
