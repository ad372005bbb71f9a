/* cfg.c - loads conf/postern.conf with GKeyFile and checks every key against
 * a table. Layer: core. A wrong key or value is an error naming file,
 * section and key; nothing is silently ignored. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "core/cfg.h"
#include "core/limits.h"
#include "core/log.h"

enum cfg_type {
    T_STR,
    T_UINT,
    T_SIZE,
    T_BOOL,
    T_PATH,
    T_LIST,
    T_LOGLEVEL,
    T_NETLIST
};

struct cfg_key {
    const char *name;
    enum cfg_type type;
    size_t offset;
    unsigned long long min, max; /* for T_UINT and T_SIZE */
};

#define K(name, type, field, min, max)                                       \
    {name, type, offsetof(struct cfg, field), min, max}

static const struct cfg_key postern_keys[] = {
    K("listen", T_STR, listen_host, 0, 0), /* HOST:PORT, split below */
    K("base_path", T_STR, base_path, 0, 0),
    K("data_dir", T_PATH, data_dir, 0, 0),
    K("threads", T_UINT, threads, 1, 256),
    K("max_connections", T_UINT, max_connections, 1, 100000),
    K("connect_timeout", T_UINT, connect_timeout, 1, 300),
    K("io_timeout", T_UINT, io_timeout, 1, 600),
    K("command_timeout", T_UINT, command_timeout, 1, 3600),
    K("client_timeout", T_UINT, client_timeout, 1, 3600),
    K("max_header_bytes", T_SIZE, max_header_bytes, 1024, 1024 * 1024),
    K("max_body_bytes", T_SIZE, max_body_bytes, 1024, 64ull << 20),
    K("max_upload", T_SIZE, max_upload, 1024, 2ull << 30),
    K("max_message_size", T_SIZE, max_message_size, 64 * 1024, 2ull << 30),
    K("page_size", T_UINT, page_size, 5, 200),
    K("pool_per_session", T_UINT, pool_per_session, 1, 16),
    K("pool_per_server", T_UINT, pool_per_server, 1, 100000),
    K("pool_total", T_UINT, pool_total, 1, 100000),
    K("pool_idle", T_UINT, pool_idle, 1, 86400),
    K("pop3_idle", T_UINT, pop3_idle, 1, 86400),
    K("session_idle", T_UINT, session_idle, 1, 30 * 86400),
    K("session_max", T_UINT, session_max, 1, 365 * 86400),
    K("tls_cert", T_PATH, tls_cert, 0, 0),
    K("tls_key", T_PATH, tls_key, 0, 0),
    K("redirect_listen", T_STR, redirect_host, 0, 0), /* HOST:PORT */
    K("trusted_proxies", T_NETLIST, trusted_proxies, 0, 0),
    K("compress", T_BOOL, compress, 0, 0),
    K("login_fails_per_address", T_UINT, login_fails_per_address, 1,
      1000000),
    K("login_fails_per_user", T_UINT, login_fails_per_user, 1, 1000000),
    K("login_fail_window", T_UINT, login_fail_window, 1, 7 * 86400),
    K("login_delay_max", T_UINT, login_delay_max, 1, 86400),
    K("allow_any_server", T_BOOL, allow_any_server, 0, 0),
    K("allowed_hosts", T_LIST, allowed_hosts, 0, 0),
    K("log_level", T_LOGLEVEL, log_level, 0, 0),
    K("access_log", T_BOOL, access_log, 0, 0),
};

#undef K

static const char *const server_keys[] = {
    "protocol", "host",      "port",     "tls",           "ca_file",
    "smtp_host", "smtp_port", "smtp_tls", "address_domain",
    "pop3_auth", "apop",
};

static void
cfg_defaults(struct cfg *c)
{
    c->listen_host = g_strdup("127.0.0.1");
    c->listen_port = 8080;
    c->base_path = g_strdup("/");
    c->data_dir = g_strdup(POSTERN_DATADIR);
    c->threads = 8;
    c->max_connections = 1000;
    c->connect_timeout = 10;
    c->io_timeout = 30;
    c->command_timeout = 120;
    c->client_timeout = 30;
    c->max_header_bytes = LIM_HTTP_HEADERS;
    c->max_body_bytes = LIM_FORM_URLENCODED;
    c->max_upload = 25u * 1024 * 1024;
    c->max_message_size = 64u * 1024 * 1024;
    c->page_size = 50;
    c->pool_per_session = 2;
    c->pool_per_server = 1000;
    c->pool_total = 2000;
    c->pool_idle = 300;
    c->pop3_idle = 30;
    c->session_idle = 1800;
    c->session_max = 12 * 3600;
    c->login_fails_per_address = 20;
    c->login_fails_per_user = 5;
    c->login_fail_window = 900;
    c->login_delay_max = 900;
    c->log_level = LOG_INFO;
    c->access_log = true;
    c->compress = true;
}

/* "25M", "64k", "1G" or plain bytes. */
static bool
cfg_parse_size(const char *s, unsigned long long *out)
{
    char *end;
    unsigned long long v, mult = 1;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return false;
    if (*end == 'k' || *end == 'K')
        mult = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mult = 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        mult = 1024 * 1024 * 1024, end++;
    if (*end != '\0' || v > ULLONG_MAX / mult)
        return false;
    *out = v * mult;
    return true;
}

static bool
cfg_parse_uint(const char *s, unsigned long long *out)
{
    char *end;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Splits "host:port" or "[v6]:port". */
static bool
cfg_parse_hostport(const char *s, char **host_out, unsigned *port_out)
{
    const char *colon;
    unsigned long long port;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':')
            return false;
        colon = close + 1;
        if (close == s + 1)
            return false;
        if (!cfg_parse_uint(colon + 1, &port) || port == 0 || port > 65535)
            return false;
        *host_out = g_strndup(s + 1, (size_t)(close - s - 1));
        *port_out = (unsigned)port;
        return true;
    }
    colon = strrchr(s, ':');
    if (colon == NULL || colon == s || strchr(s, ':') != colon)
        return false;
    if (!cfg_parse_uint(colon + 1, &port) || port == 0 || port > 65535)
        return false;
    *host_out = g_strndup(s, (size_t)(colon - s));
    *port_out = (unsigned)port;
    return true;
}

static bool
cfg_is_hostname(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];

        if (!g_ascii_isalnum(ch) && ch != '-' && ch != '.' && ch != ':' &&
            ch != '_')
            return false;
    }
    return true;
}

/* An allowed_hosts entry: a host name, an address, or ADDR/BITS. */
static bool
cfg_is_host_or_range(const char *s)
{
    const char *slash = strchr(s, '/');
    char *host;
    bool ok;

    if (slash == NULL)
        return cfg_is_hostname(s);
    if (slash[1] == '\0' || strlen(slash + 1) > 3 ||
        strspn(slash + 1, "0123456789") != strlen(slash + 1))
        return false;
    host = g_strndup(s, (size_t)(slash - s));
    ok = cfg_is_hostname(host);
    g_free(host);
    return ok;
}

/* A relative path in the file is relative to the file's own folder, so a
 * configuration works whatever the working directory. */
static char *
cfg_resolve_path(const struct cfg *c, const char *value)
{
    char *dir, *path;

    if (g_path_is_absolute(value))
        return g_strdup(value);
    dir = g_path_get_dirname(c->path);
    path = g_build_filename(dir, value, NULL);
    g_free(dir);
    return path;
}

/* The value of [section] key, unescaped and stripped (g_free it); NULL
 * with err set when GLib cannot read it: not UTF-8, or an escape it does
 * not know ("\q"). */
static char *
cfg_get_value(const struct cfg *c, GKeyFile *kf, const char *section,
              const char *key, struct err *err)
{
    GError *gerr = NULL;
    char *value = g_key_file_get_string(kf, section, key, &gerr);

    if (value == NULL) {
        err_set(err, ERR_CONFIG, "%s: [%s] %s: %s", c->path, section, key,
                gerr != NULL ? gerr->message : "cannot be read");
        g_clear_error(&gerr);
        return NULL;
    }
    return g_strstrip(value);
}

/* trusted_proxies = 127.0.0.1; 10.0.0.0/8; ::1 */
static int
cfg_parse_netlist(struct cfg *c, GKeyFile *kf, const char *key,
                  struct err *err)
{
    char **list = g_key_file_get_string_list(kf, "postern", key, NULL, NULL);
    size_t n = list != NULL ? g_strv_length(list) : 0;
    struct netaddr *nets = g_new0(struct netaddr, n + 1);
    size_t used = 0;

    for (size_t i = 0; i < n; i++) {
        g_strstrip(list[i]);
        if (list[i][0] == '\0')
            continue; /* "a;b;" ends with an empty item */
        if (!netaddr_parse(list[i], true, &nets[used])) {
            err_set(err, ERR_CONFIG,
                    "%s: [postern] %s: \"%s\" is not an IP address or "
                    "network (like 127.0.0.1, 10.0.0.0/8 or ::1)",
                    c->path, key, list[i]);
            g_strfreev(list);
            g_free(nets);
            return -1;
        }
        used++;
    }
    g_strfreev(list);
    g_free(c->trusted_proxies);
    c->trusted_proxies = nets;
    c->n_trusted_proxies = used;
    return 0;
}

static int
cfg_postern_key(struct cfg *c, GKeyFile *kf, const char *key,
                struct err *err)
{
    const struct cfg_key *k = NULL;
    char *value;
    void *field;
    unsigned long long n;
    int rc = -1;

    for (size_t i = 0; i < N_ELEMENTS(postern_keys); i++) {
        if (strcmp(postern_keys[i].name, key) == 0)
            k = &postern_keys[i];
    }
    if (k == NULL) {
        err_set(err, ERR_CONFIG, "%s: [postern] %s: unknown key", c->path,
                key);
        return -1;
    }
    value = cfg_get_value(c, kf, "postern", key, err);
    if (value == NULL)
        return -1;
    field = (char *)c + k->offset;

    switch (k->type) {
    case T_STR:
    case T_PATH:
        if (value[0] == '\0') {
            err_set(err, ERR_CONFIG, "%s: [postern] %s: must not be empty",
                    c->path, key);
            break;
        }
        if (strcmp(key, "listen") == 0 ||
            strcmp(key, "redirect_listen") == 0) {
            bool main_port = key[0] == 'l';
            char **host = main_port ? &c->listen_host : &c->redirect_host;

            g_free(*host);
            *host = NULL;
            if (!cfg_parse_hostport(value, host,
                                    main_port ? &c->listen_port
                                              : &c->redirect_port)) {
                err_set(err, ERR_CONFIG,
                        "%s: [postern] %s: \"%s\" is not HOST:PORT "
                        "with a port from 1 to 65535",
                        c->path, key, value);
                break;
            }
            rc = 0;
            break;
        }
        if (strcmp(key, "base_path") == 0 &&
            (value[0] != '/' || strstr(value, "..") != NULL ||
             strpbrk(value, "?#%\"'<> ") != NULL)) {
            err_set(err, ERR_CONFIG,
                    "%s: [postern] base_path: \"%s\" must be an absolute "
                    "URL path like /webmail/",
                    c->path, value);
            break;
        }
        g_free(*(char **)field);
        if (k->type == T_PATH) {
            *(char **)field = cfg_resolve_path(c, value);
        } else if (strcmp(key, "base_path") == 0 &&
            !g_str_has_suffix(value, "/")) {
            *(char **)field = g_strconcat(value, "/", NULL);
        } else {
            *(char **)field = g_strdup(value);
        }
        rc = 0;
        break;
    case T_UINT:
    case T_SIZE:
        if (!(k->type == T_SIZE ? cfg_parse_size(value, &n)
                                : cfg_parse_uint(value, &n)) ||
            n < k->min || n > k->max) {
            err_set(err, ERR_CONFIG,
                    "%s: [postern] %s: \"%s\" is not a number from %llu to "
                    "%llu%s",
                    c->path, key, value, k->min, k->max,
                    k->type == T_SIZE ? " (bytes; k, M, G suffixes allowed)"
                                      : "");
            break;
        }
        if (k->type == T_SIZE)
            *(size_t *)field = (size_t)n;
        else
            *(unsigned *)field = (unsigned)n;
        rc = 0;
        break;
    case T_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0) {
            *(bool *)field = true;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0) {
            *(bool *)field = false;
        } else {
            err_set(err, ERR_CONFIG,
                    "%s: [postern] %s: \"%s\" is not true or false", c->path,
                    key, value);
            break;
        }
        rc = 0;
        break;
    case T_LIST: {
        GError *gerr = NULL;
        char **list = g_key_file_get_string_list(kf, "postern", key, NULL,
                                                 &gerr);

        if (list == NULL) {
            /* not UTF-8, or an escape GLib does not know ("\-") */
            err_set(err, ERR_CONFIG, "%s: [postern] %s: %s", c->path, key,
                    gerr != NULL ? gerr->message : "cannot be read");
            g_clear_error(&gerr);
            break;
        }
        for (char **p = list; p != NULL && *p != NULL; p++) {
            g_strstrip(*p);
            if (!cfg_is_host_or_range(*p)) {
                err_set(err, ERR_CONFIG,
                        "%s: [postern] %s: \"%s\" is not a host name, "
                        "address or ADDRESS/BITS range",
                        c->path, key, *p);
                g_strfreev(list);
                list = NULL;
                break;
            }
        }
        if (list == NULL)
            break;
        g_strfreev(*(char ***)field);
        *(char ***)field = list;
        rc = 0;
        break;
    }
    case T_NETLIST:
        rc = cfg_parse_netlist(c, kf, key, err);
        break;
    case T_LOGLEVEL:
        *(int *)field = log_level_parse(value);
        if (*(int *)field < 0) {
            err_set(err, ERR_CONFIG,
                    "%s: [postern] log_level: \"%s\" is not debug, info, "
                    "warn or error",
                    c->path, value);
            break;
        }
        rc = 0;
        break;
    }
    g_free(value);
    return rc;
}

static int
cfg_parse_tls(const struct cfg *c, const char *section, const char *key,
              const char *value, enum cfg_tls *out, struct err *err)
{
    if (strcmp(value, "implicit") == 0)
        *out = CFG_TLS_IMPLICIT;
    else if (strcmp(value, "starttls") == 0)
        *out = CFG_TLS_STARTTLS;
    else if (strcmp(value, "none") == 0)
        *out = CFG_TLS_NONE;
    else {
        err_set(err, ERR_CONFIG,
                "%s: [%s] %s: \"%s\" is not implicit, starttls or none",
                c->path, section, key, value);
        return -1;
    }
    return 0;
}

static int
cfg_parse_port(const struct cfg *c, const char *section, const char *key,
               const char *value, unsigned *out, struct err *err)
{
    unsigned long long n;

    if (!cfg_parse_uint(value, &n) || n == 0 || n > 65535) {
        err_set(err, ERR_CONFIG,
                "%s: [%s] %s: \"%s\" is not a port from 1 to 65535", c->path,
                section, key, value);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

static int
cfg_server_key(struct cfg *c, struct cfg_server *s, const char *section,
               const char *key, const char *value, struct err *err)
{
    if (strcmp(key, "protocol") == 0) {
        if (strcmp(value, "imap") == 0) {
            s->protocol = CFG_PROTO_IMAP;
        } else if (strcmp(value, "pop3") == 0) {
            s->protocol = CFG_PROTO_POP3;
        } else {
            err_set(err, ERR_CONFIG, "%s: [%s] protocol: \"%s\" is not imap "
                    "or pop3", c->path, section, value);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "host") == 0 || strcmp(key, "smtp_host") == 0) {
        if (!cfg_is_hostname(value)) {
            err_set(err, ERR_CONFIG, "%s: [%s] %s: \"%s\" is not a host name "
                    "or address", c->path, section, key, value);
            return -1;
        }
        g_free(key[0] == 'h' ? s->host : s->smtp_host);
        if (key[0] == 'h')
            s->host = g_strdup(value);
        else
            s->smtp_host = g_strdup(value);
        return 0;
    }
    if (strcmp(key, "port") == 0)
        return cfg_parse_port(c, section, key, value, &s->port, err);
    if (strcmp(key, "smtp_port") == 0)
        return cfg_parse_port(c, section, key, value, &s->smtp_port, err);
    if (strcmp(key, "tls") == 0)
        return cfg_parse_tls(c, section, key, value, &s->tls, err);
    if (strcmp(key, "smtp_tls") == 0)
        return cfg_parse_tls(c, section, key, value, &s->smtp_tls, err);
    if (strcmp(key, "ca_file") == 0) {
        if (value[0] == '\0') {
            err_set(err, ERR_CONFIG, "%s: [%s] ca_file: must not be empty",
                    c->path, section);
            return -1;
        }
        g_free(s->ca_file);
        s->ca_file = cfg_resolve_path(c, value);
        return 0;
    }
    if (strcmp(key, "pop3_auth") == 0) {
        static const char *const names[] = {"auto", "plain", "apop", "user"};

        for (size_t i = 0; i < N_ELEMENTS(names); i++) {
            if (strcmp(value, names[i]) == 0) {
                s->pop3_auth = (enum cfg_pop3_auth)i;
                return 0;
            }
        }
        err_set(err, ERR_CONFIG, "%s: [%s] pop3_auth: \"%s\" is not auto, "
                "plain, apop or user", c->path, section, value);
        return -1;
    }
    if (strcmp(key, "apop") == 0) {
        if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0) {
            s->apop = true;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0) {
            s->apop = false;
        } else {
            err_set(err, ERR_CONFIG, "%s: [%s] apop: \"%s\" is not true or "
                    "false", c->path, section, value);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "address_domain") == 0) {
        if (!cfg_is_hostname(value) || strchr(value, '.') == NULL) {
            err_set(err, ERR_CONFIG, "%s: [%s] address_domain: \"%s\" is not "
                    "a domain name", c->path, section, value);
            return -1;
        }
        g_free(s->address_domain);
        s->address_domain = g_strdup(value);
        return 0;
    }
    xassert_unreached();
}

static void
cfg_server_free(struct cfg_server *s)
{
    if (s == NULL)
        return;
    g_free(s->name);
    g_free(s->host);
    g_free(s->ca_file);
    g_free(s->smtp_host);
    g_free(s->address_domain);
    g_free(s);
}

static struct cfg_server *
cfg_server_parse(struct cfg *c, GKeyFile *kf, const char *section,
                 struct err *err)
{
    struct cfg_server *s = g_new0(struct cfg_server, 1);
    char **keys = g_key_file_get_keys(kf, section, NULL, NULL);
    bool have_smtp_tls = false;
    const char *name = section + strlen("server ");

    g_strstrip((char *)name); /* lives in the caller's copy */
    s->name = g_strdup(name);
    s->tls = CFG_TLS_IMPLICIT;
    for (char **k = keys; k != NULL && *k != NULL; k++) {
        bool known = false;
        char *value;
        int rc;

        for (size_t i = 0; i < N_ELEMENTS(server_keys); i++)
            known = known || strcmp(*k, server_keys[i]) == 0;
        if (!known) {
            err_set(err, ERR_CONFIG, "%s: [%s] %s: unknown key", c->path,
                    section, *k);
            goto fail;
        }
        value = cfg_get_value(c, kf, section, *k, err);
        if (value == NULL)
            goto fail;
        rc = cfg_server_key(c, s, section, *k, value, err);
        g_free(value);
        if (rc < 0)
            goto fail;
        have_smtp_tls = have_smtp_tls || strcmp(*k, "smtp_tls") == 0;
    }
    if (s->host == NULL) {
        err_set(err, ERR_CONFIG, "%s: [%s] host: missing (the mail server's "
                "host name)", c->path, section);
        goto fail;
    }
    if (s->port == 0) {
        bool tls = s->tls == CFG_TLS_IMPLICIT;

        if (s->protocol == CFG_PROTO_IMAP)
            s->port = tls ? 993 : 143;
        else
            s->port = tls ? 995 : 110;
    }
    if (s->smtp_host == NULL)
        s->smtp_host = g_strdup(s->host);
    if (!have_smtp_tls)
        s->smtp_tls = s->smtp_port == 465 ? CFG_TLS_IMPLICIT
                                          : CFG_TLS_STARTTLS;
    if (s->smtp_port == 0)
        s->smtp_port = s->smtp_tls == CFG_TLS_IMPLICIT ? 465 : 587;
    g_strfreev(keys);
    return s;
fail:
    g_strfreev(keys);
    cfg_server_free(s);
    return NULL;
}

static int
cfg_check_server_name(const struct cfg *c, const GPtrArray *servers,
                      const char *group, struct err *err)
{
    const char *name = group + strlen("server");

    while (*name == ' ')
        name++;
    if (*name == '\0') {
        err_set(err, ERR_CONFIG, "%s: [%s]: a server section needs a name, "
                "like [server home]", c->path, group);
        return -1;
    }
    for (const char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.') {
            err_set(err, ERR_CONFIG, "%s: [%s]: server names may hold only "
                    "letters, digits, '-', '_' and '.'", c->path, group);
            return -1;
        }
    }
    for (guint i = 0; i < servers->len; i++) {
        const struct cfg_server *s = g_ptr_array_index(servers, i);

        if (strcmp(s->name, name) != 0)
            continue;
        err_set(err, ERR_CONFIG, "%s: [%s]: a server of that name is "
                "already defined", c->path, group);
        return -1;
    }
    return 0;
}

/* GKeyFile merges a repeated [section] silently; a repeated server section
 * is almost always a copy-paste mistake, so look at the raw lines. */
static int
cfg_check_repeated_sections(const char *path, const char *data, size_t len,
                            struct err *err)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                             NULL);
    const char *p = data, *end = data + len;
    int rc = 0;

    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl != NULL ? nl : end;
        char *line = g_strstrip(g_strndup(p, (size_t)(line_end - p)));
        size_t n = strlen(line);

        if (n > 2 && line[0] == '[' && line[n - 1] == ']') {
            if (g_hash_table_contains(seen, line)) {
                err_set(err, ERR_CONFIG, "%s: %s: section appears twice",
                        path, line);
                rc = -1;
            }
            g_hash_table_add(seen, line);
        } else {
            g_free(line);
        }
        p = line_end + 1;
    }
    g_hash_table_destroy(seen);
    return rc;
}

struct cfg *
cfg_load_data(const char *path, const char *data, size_t len,
              struct err *err)
{
    struct cfg *c = g_new0(struct cfg, 1);
    GKeyFile *kf = g_key_file_new();
    GError *gerr = NULL;
    GPtrArray *servers = g_ptr_array_new();
    char **groups = NULL;

    c->path = g_strdup(path);
    cfg_defaults(c);
    if (len > LIM_CONFIG_FILE) {
        err_set(err, ERR_CONFIG, "%s: larger than %u bytes", path,
                LIM_CONFIG_FILE);
        goto fail;
    }
    if (cfg_check_repeated_sections(path, data, len, err) < 0)
        goto fail;
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &gerr)) {
        err_set(err, ERR_CONFIG, "%s: %s", path, gerr->message);
        g_error_free(gerr);
        goto fail;
    }
    groups = g_key_file_get_groups(kf, NULL);
    for (char **g = groups; *g != NULL; g++) {
        if (strcmp(*g, "postern") == 0) {
            char **keys = g_key_file_get_keys(kf, *g, NULL, NULL);
            int rc = 0;

            for (char **k = keys; rc == 0 && k != NULL && *k != NULL; k++)
                rc = cfg_postern_key(c, kf, *k, err);
            g_strfreev(keys);
            if (rc < 0)
                goto fail;
        } else if (g_str_has_prefix(*g, "server ") ||
                   strcmp(*g, "server") == 0) {
            struct cfg_server *s;

            if (servers->len >= LIM_CONFIG_SERVERS) {
                err_set(err, ERR_CONFIG, "%s: [%s]: more than %u servers",
                        path, *g, LIM_CONFIG_SERVERS);
                goto fail;
            }
            if (cfg_check_server_name(c, servers, *g, err) < 0)
                goto fail;
            s = cfg_server_parse(c, kf, *g, err);
            if (s == NULL)
                goto fail;
            g_ptr_array_add(servers, s);
        } else {
            err_set(err, ERR_CONFIG, "%s: [%s]: unknown section (expected "
                    "[postern] or [server NAME])", path, *g);
            goto fail;
        }
    }
    if (servers->len == 0) {
        err_set(err, ERR_CONFIG, "%s: no [server NAME] section: postern "
                "needs at least one mail server", path);
        goto fail;
    }
    if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
        err_set(err, ERR_CONFIG, "%s: [postern] %s: tls_cert and tls_key go "
                "together", path, c->tls_cert ? "tls_key" : "tls_cert");
        goto fail;
    }
    if (c->redirect_host != NULL && c->tls_cert == NULL) {
        err_set(err, ERR_CONFIG, "%s: [postern] redirect_listen: redirects "
                "to HTTPS, so it needs tls_cert and tls_key", path);
        goto fail;
    }
    c->n_servers = servers->len;
    g_ptr_array_add(servers, NULL);
    c->servers = (struct cfg_server **)g_ptr_array_free(servers, FALSE);
    g_strfreev(groups);
    g_key_file_free(kf);
    return c;
fail:
    xassert(err == NULL || err->kind != ERR_NONE);
    g_ptr_array_add(servers, NULL);
    c->servers = (struct cfg_server **)g_ptr_array_free(servers, FALSE);
    g_strfreev(groups);
    g_key_file_free(kf);
    cfg_free(&c);
    return NULL;
}

struct cfg *
cfg_load(const char *path, struct err *err)
{
    gchar *data = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    struct cfg *c;

    if (!g_file_get_contents(path, &data, &len, &gerr)) {
        err_set(err, ERR_CONFIG, "%s: cannot read: %s", path, gerr->message);
        g_error_free(gerr);
        return NULL;
    }
    c = cfg_load_data(path, data, len, err);
    g_free(data);
    return c;
}

void
cfg_free(struct cfg **cp)
{
    struct cfg *c = *cp;

    if (c == NULL)
        return;
    for (size_t i = 0; c->servers != NULL && c->servers[i] != NULL; i++)
        cfg_server_free(c->servers[i]);
    g_free(c->servers);
    g_free(c->path);
    g_free(c->listen_host);
    g_free(c->base_path);
    g_free(c->data_dir);
    g_free(c->tls_cert);
    g_free(c->tls_key);
    g_free(c->redirect_host);
    g_free(c->trusted_proxies);
    g_strfreev(c->allowed_hosts);
    g_free(c);
    *cp = NULL;
}

/* A host name as RFC 1123 spells one, or something inet_pton or
 * inet_aton may read (the guard judges the address it becomes). */
static bool
cfg_typed_host_ok(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];

        if (!g_ascii_isalnum(ch) && ch != '-' && ch != '.')
            return false;
    }
    return h[0] != '-' && h[0] != '.';
}

static bool
cfg_typed_v6_ok(const char *h, size_t n)
{
    if (n == 0 || n > 45)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];

        if (!g_ascii_isxdigit(ch) && ch != ':' && ch != '.')
            return false;
    }
    return true;
}

struct cfg_server *
cfg_server_typed(const struct cfg *cfg, const char *text, struct err *err)
{
    const char *host = text, *port_s = NULL, *end;
    size_t host_len;
    unsigned long long port = 993;
    struct cfg_server *s;

    if (text[0] == '[') {
        end = strchr(text, ']');
        if (end == NULL || !cfg_typed_v6_ok(text + 1,
                                            (size_t)(end - text - 1)))
            goto bad;
        host = text + 1;
        host_len = (size_t)(end - host);
        if (end[1] == ':')
            port_s = end + 2;
        else if (end[1] != '\0')
            goto bad;
    } else {
        end = strchr(text, ':');
        host_len = end != NULL ? (size_t)(end - text) : strlen(text);
        if (end != NULL)
            port_s = end + 1;
        if (!cfg_typed_host_ok(text, host_len))
            goto bad;
    }
    if (port_s != NULL &&
        (!cfg_parse_uint(port_s, &port) || port == 0 || port > 65535))
        goto bad;

    s = g_new0(struct cfg_server, 1);
    s->name = g_strdup(text);
    s->protocol = CFG_PROTO_IMAP;
    s->host = g_strndup(host, host_len);
    s->port = (unsigned)port;
    s->tls = port == 143 ? CFG_TLS_STARTTLS : CFG_TLS_IMPLICIT;
    s->smtp_host = g_strdup(s->host);
    s->smtp_port = 587;
    s->smtp_tls = CFG_TLS_STARTTLS;
    s->is_typed = true;
    s->allowed_hosts = (const char *const *)cfg->allowed_hosts;
    return s;
bad:
    err_set(err, ERR_INPUT, "\"%.100s\" is not a mail server: type a "
            "host name, or host:port (993 for IMAPS, 143 for STARTTLS)",
            text);
    return NULL;
}

void
cfg_server_typed_free(struct cfg_server **sp)
{
    struct cfg_server *s = *sp;

    if (s == NULL)
        return;
    xassert(s->is_typed);
    cfg_server_free(s);
    *sp = NULL;
}

const struct cfg_server *
cfg_server_find(const struct cfg *c, const char *name)
{
    for (size_t i = 0; c->servers != NULL && c->servers[i] != NULL; i++) {
        if (strcmp(c->servers[i]->name, name) == 0)
            return c->servers[i];
    }
    return NULL;
}

const char *
cfg_protocol_name(enum cfg_protocol p)
{
    return p == CFG_PROTO_IMAP ? "imap" : "pop3";
}

const char *
cfg_tls_name(enum cfg_tls t)
{
    switch (t) {
    case CFG_TLS_IMPLICIT:
        return "implicit";
    case CFG_TLS_STARTTLS:
        return "starttls";
    case CFG_TLS_NONE:
        return "none";
    }
    xassert_unreached();
}
