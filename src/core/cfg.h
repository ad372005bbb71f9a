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

/* The server called name, or NULL. */
const struct cfg_server *cfg_server_find(const struct cfg *cfg,
                                         const char *name);

const char *cfg_protocol_name(enum cfg_protocol p);
const char *cfg_tls_name(enum cfg_tls t);

#endif
