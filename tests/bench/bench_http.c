/* bench_http.c - the benchmark's load generator: C threads, each one browser
 * session on one keep-alive HTTP/1.1 connection to postern (embedded or nginx).
 * Prints one result line per measured request kind; see tests/bench/README.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"

/* A fixed login-form token: postern checks only that the cookie and the
 * field agree and have the shape of a token. */
#define LOGIN_TOKEN "benchbenchbenchbenchbenchbenchbenchbenchben"
#define MAX_IMAGES 8

struct opts {
    int port;
    const char *user, *pass;
    const char *op;          /* login, first, cached, message, download,
                                sessions */
    unsigned n;              /* measured requests in all */
    unsigned conc;           /* threads = sessions */
    unsigned page;           /* for first */
    unsigned uid;            /* for message, download */
    unsigned other_uid;      /* message: viewed, untimed, before each view,
                                so no view finds the last one remembered */
    const char *part;        /* for download */
    long long expect_bytes;  /* for download: decoded size, or -1 */
};

static struct opts O = {.port = 0, .conc = 1, .page = 1,
                        .expect_bytes = -1};

/* ---- one HTTP/1.1 connection ---- */

struct conn {
    int fd;
    char *in;                /* bytes read, not yet consumed */
    size_t in_len, in_cap;
    char cookie[256];        /* postern=... or "" */
    char csrf[128];
};

struct reply {
    int status;
    char *body;              /* kept when asked for; NUL-terminated */
    size_t body_len;         /* bytes of body received (kept or not) */
    bool keep;
};

static int
conn_open(struct conn *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)O.port)};
    int one = 1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->in_len = 0;
    return 0;
}

static void
conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in_len = 0;
}

/* Reads more bytes into c->in; 0 at EOF, -1 on error. */
static ssize_t
conn_fill(struct conn *c)
{
    ssize_t n;

    if (c->in_cap - c->in_len < 64 * 1024) {
        c->in_cap = c->in_cap * 2 + 128 * 1024;
        c->in = realloc(c->in, c->in_cap);
        if (c->in == NULL)
            abort();
    }
    do
        n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        c->in_len += (size_t)n;
    return n;
}

static void
conn_consume(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

static void
reply_append(struct reply *r, const char *p, size_t n)
{
    if (r->keep) {
        r->body = realloc(r->body, r->body_len + n + 1);
        if (r->body == NULL)
            abort();
        memcpy(r->body + r->body_len, p, n);
        r->body[r->body_len + n] = '\0';
    }
    r->body_len += n;
}

/* Reads exactly len body bytes. */
static int
read_body_len(struct conn *c, struct reply *r, unsigned long long len)
{
    while (len > 0) {
        size_t take;

        if (c->in_len == 0 && conn_fill(c) <= 0)
            return -1;
        take = c->in_len < len ? c->in_len : (size_t)len;
        reply_append(r, c->in, take);
        conn_consume(c, take);
        len -= take;
    }
    return 0;
}

/* A line (CRLF-terminated) at the head of c->in, filling as needed;
 * returns its length without CRLF, and *adv the bytes to consume. */
static int
read_line(struct conn *c, size_t *len_out, size_t *adv_out)
{
    for (;;) {
        char *e = memmem(c->in, c->in_len, "\r\n", 2);

        if (e != NULL) {
            *len_out = (size_t)(e - c->in);
            *adv_out = *len_out + 2;
            return 0;
        }
        if (c->in_len > 64 * 1024 || conn_fill(c) <= 0)
            return -1;
    }
}

static int
read_body_chunked(struct conn *c, struct reply *r)
{
    for (;;) {
        size_t len, adv;
        unsigned long long sz;

        if (read_line(c, &len, &adv) < 0)
            return -1;
        sz = strtoull(c->in, NULL, 16);
        conn_consume(c, adv);
        if (sz == 0) {
            /* trailers, then the empty line */
            for (;;) {
                if (read_line(c, &len, &adv) < 0)
                    return -1;
                conn_consume(c, adv);
                if (len == 0)
                    return 0;
            }
        }
        if (read_body_len(c, r, sz) < 0 || read_line(c, &len, &adv) < 0)
            return -1;
        conn_consume(c, adv);
    }
}

static bool
header_is(const char *line, size_t len, const char *name, const char **val)
{
    size_t n = strlen(name);

    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    *val = line + n + 1;
    while (**val == ' ')
        (*val)++;
    return true;
}

/* Sends one request and reads the reply. Reconnects when the server
 * closed the connection. -1 on a transport error. */
static int
http_do(struct conn *c, const char *method, const char *path,
        const char *extra_headers, const char *body, struct reply *r)
{
    char req[4096];
    size_t blen = body != NULL ? strlen(body) : 0;
    int n, tries = 0;
    char *hend;
    unsigned long long clen = 0;
    bool chunked = false, has_len = false, close_after = false;

again:
    if (c->fd < 0 && conn_open(c) < 0)
        return -1;
    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%s"
                 "Content-Length: %zu\r\n\r\n",
                 method, path, c->cookie[0] ? "Cookie: " : "", c->cookie,
                 c->cookie[0] ? "\r\n" : "", extra_headers ? extra_headers : "",
                 blen);
    if (n < 0 || (size_t)n >= sizeof(req))
        return -1;
    if (write(c->fd, req, (size_t)n) != n ||
        (blen > 0 && write(c->fd, body, blen) != (ssize_t)blen)) {
        conn_close(c);
        if (tries++ == 0)
            goto again;
        return -1;
    }
    /* status line and headers */
    for (;;) {
        hend = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (hend != NULL)
            break;
        if (conn_fill(c) <= 0) {
            /* a kept-alive connection the server had closed */
            bool fresh = c->in_len == 0;

            conn_close(c);
            if (fresh && tries++ == 0)
                goto again;
            return -1;
        }
    }
    r->status = 0;
    r->body_len = 0;
    if (sscanf(c->in, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    {
        char *p = memchr(c->in, '\n', (size_t)(hend - c->in)) + 1;

        while (p < hend + 2) {
            char *e = memmem(p, (size_t)(hend + 2 - p), "\r\n", 2);
            size_t len = (size_t)(e - p);
            const char *v;

            if (header_is(p, len, "Content-Length", &v)) {
                clen = strtoull(v, NULL, 10);
                has_len = true;
            } else if (header_is(p, len, "Transfer-Encoding", &v)) {
                chunked = strncasecmp(v, "chunked", 7) == 0;
            } else if (header_is(p, len, "Connection", &v)) {
                close_after = strncasecmp(v, "close", 5) == 0;
            } else if (header_is(p, len, "Set-Cookie", &v) &&
                       strncmp(v, "postern=", 8) == 0) {
                size_t vl = strcspn(v, ";\r");

                if (strncmp(v, "postern=;", 9) == 0 || vl == 8)
                    c->cookie[0] = '\0';
                else if (vl < sizeof(c->cookie))
                    snprintf(c->cookie, sizeof(c->cookie), "%.*s", (int)vl,
                             v);
            }
            p = e + 2;
        }
    }
    conn_consume(c, (size_t)(hend + 4 - c->in));
    if (strcmp(method, "HEAD") == 0 || r->status == 204 ||
        r->status == 304) {
        /* no body */
    } else if (chunked) {
        if (read_body_chunked(c, r) < 0)
            return -1;
    } else if (has_len) {
        if (read_body_len(c, r, clen) < 0)
            return -1;
    } else {
        while (conn_fill(c) > 0) {
            reply_append(r, c->in, c->in_len);
            c->in_len = 0;
        }
        close_after = true;
    }
    if (close_after)
        conn_close(c);
    return 0;
}

/* ---- session steps ---- */

static int64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
do_login(struct conn *c)
{
    struct reply r = {.keep = true};
    char body[512];
    const char *p;
    int rc = -1;

    snprintf(c->cookie, sizeof(c->cookie), "postern_login=" LOGIN_TOKEN);
    snprintf(body, sizeof(body), "user=%s&password=%s&csrf=" LOGIN_TOKEN,
             O.user, O.pass);
    if (http_do(c, "POST", "/login",
                "Accept: application/json\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n",
                body, &r) < 0)
        goto out;
    if (r.status != 200 || r.body == NULL ||
        strncmp(c->cookie, "postern=", 8) != 0)
        goto out;
    p = strstr(r.body, "\"csrf\":\"");
    if (p == NULL)
        goto out;
    p += 8;
    snprintf(c->csrf, sizeof(c->csrf), "%.*s", (int)strcspn(p, "\""), p);
    rc = 0;
out:
    free(r.body);
    return rc;
}

static int
do_logout(struct conn *c)
{
    struct reply r = {.keep = false};
    char h[256];

    snprintf(h, sizeof(h), "Accept: application/json\r\nX-CSRF-Token: %s\r\n",
             c->csrf);
    if (http_do(c, "POST", "/logout", h, NULL, &r) < 0 || r.status != 200)
        return -1;
    c->cookie[0] = '\0';
    return 0;
}

static int
get_ok(struct conn *c, const char *path, struct reply *r)
{
    r->body_len = 0;
    if (http_do(c, "GET", path, NULL, NULL, r) < 0)
        return -1;
    return r->status == 200 && r->body_len > 0 ? 0 : -1;
}

/* GET of a mailbox page: 200 and at least one message row. */
static int
get_mailbox(struct conn *c, unsigned page)
{
    struct reply r = {.keep = true};
    char path[128];
    int rc;

    snprintf(path, sizeof(path), "/mailbox?f=INBOX&page=%u", page);
    rc = get_ok(c, path, &r);
    if (rc == 0 && strstr(r.body, "uid=") == NULL)
        rc = -1;
    free(r.body);
    return rc;
}

/* The document of a srcdoc attribute starting at p (after the quote),
 * its entities undone as a browser does: a new string. */
static char *
srcdoc_text(const char *p)
{
    static const struct { const char *ent; char c; } ents[] = {
        {"&quot;", '"'}, {"&#39;", '\''}, {"&lt;", '<'}, {"&gt;", '>'},
        {"&amp;", '&'},
    };
    const char *end = strchr(p, '"');
    char *out = malloc(end != NULL ? (size_t)(end - p) + 1 : 1), *o = out;

    if (out == NULL)
        abort();
    while (end != NULL && p < end) {
        size_t i;

        if (*p != '&') {
            *o++ = *p++;
            continue;
        }
        for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
            size_t n = strlen(ents[i].ent);

            if (strncmp(p, ents[i].ent, n) == 0) {
                *o++ = ents[i].c;
                p += n;
                break;
            }
        }
        if (i == sizeof(ents) / sizeof(ents[0]))
            *o++ = *p++;
    }
    *o = '\0';
    return out;
}

/* What a browser fetches to show one message: the page, its body frame
 * (carried in the page or fetched), and every image the frame's HTML
 * points at in postern (/part?...). */
static int
view_message(struct conn *c, unsigned *images_out)
{
    struct reply r = {.keep = true};
    char path[1024], parts[MAX_IMAGES][96];
    unsigned n = 0;
    const char *p;
    int rc = -1;

    snprintf(path, sizeof(path), "/message?f=INBOX&uid=%u", O.uid);
    if (get_ok(c, path, &r) < 0)
        goto out;
    /* as a browser: the frame the page carries inside (srcdoc), else the
     * frame's own URL */
    if (r.body != NULL && (p = strstr(r.body, "srcdoc=\"")) != NULL) {
        char *doc = srcdoc_text(p + 8);

        free(r.body);
        r.body = doc;
    } else {
        free(r.body);
        r.body = NULL;
        snprintf(path, sizeof(path), "/body?f=INBOX&uid=%u", O.uid);
        if (get_ok(c, path, &r) < 0)
            goto out;
    }
    for (p = r.body; (p = strstr(p, "src=\"/part?")) != NULL; p += 5) {
        const char *sec = strstr(p, "part=");
        const char *end = strchr(p + 5, '"');

        if (sec == NULL || end == NULL || sec > end || n == MAX_IMAGES)
            goto out;
        sec += 5;
        snprintf(parts[n++], sizeof(parts[0]), "%.*s", (int)(end - sec),
                 sec);
    }
    for (unsigned i = 0; i < n; i++) {
        struct reply ir = {.keep = false};

        snprintf(path, sizeof(path), "/part?f=INBOX&uid=%u&part=%s", O.uid,
                 parts[i]);
        if (get_ok(c, path, &ir) < 0)
            goto out;
    }
    *images_out = n;
    rc = 0;
out:
    free(r.body);
    return rc;
}

/* Another message's page: postern then remembers that one, not O.uid. */
static int
view_other(struct conn *c)
{
    struct reply r = {.keep = false};
    char path[128];

    snprintf(path, sizeof(path), "/message?f=INBOX&uid=%u", O.other_uid);
    return get_ok(c, path, &r);
}

static int
download(struct conn *c)
{
    struct reply r = {.keep = false};
    char path[128];

    snprintf(path, sizeof(path), "/part?f=INBOX&uid=%u&part=%s", O.uid,
             O.part);
    if (get_ok(c, path, &r) < 0)
        return -1;
    if (O.expect_bytes >= 0 && (long long)r.body_len != O.expect_bytes)
        return -1;
    return 0;
}

/* ---- threads ---- */

struct worker {
    pthread_t th;
    unsigned n;              /* iterations for this thread */
    struct stats *st[2];     /* one or two measured kinds */
    unsigned images;
    unsigned setup_fail;
};

#define TIME(st, expr)                                                       \
    do {                                                                     \
        int64_t t0_ = now_us();                                              \
        int rc_ = (expr);                                                    \
        stats_add((st), now_us() - t0_, rc_ == 0);                           \
    } while (0)

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct conn c = {.fd = -1};

    if (strcmp(O.op, "login") == 0) {
        for (unsigned i = 0; i < w->n; i++) {
            int64_t t0 = now_us();
            int rc = do_login(&c);

            stats_add(w->st[0], now_us() - t0, rc == 0);
            if (rc == 0 && do_logout(&c) < 0)
                w->setup_fail++;
        }
    } else if (strcmp(O.op, "first") == 0) {
        /* a fresh session each time: its first page finds no cache */
        for (unsigned i = 0; i < w->n; i++) {
            if (do_login(&c) < 0) {
                w->setup_fail++;
                continue;
            }
            TIME(w->st[0], get_mailbox(&c, O.page));
            if (w->st[1] != NULL)
                TIME(w->st[1], get_mailbox(&c, O.page));
            if (do_logout(&c) < 0)
                w->setup_fail++;
        }
    } else if (strcmp(O.op, "cached") == 0) {
        if (do_login(&c) < 0 || get_mailbox(&c, O.page) < 0) {
            w->setup_fail++;
        } else {
            for (unsigned i = 0; i < w->n; i++)
                TIME(w->st[0], get_mailbox(&c, O.page));
            if (do_logout(&c) < 0)
                w->setup_fail++;
        }
    } else if (strcmp(O.op, "message") == 0) {
        unsigned img = 0;

        if (do_login(&c) < 0 || view_message(&c, &img) < 0) {
            w->setup_fail++;
        } else {
            for (unsigned i = 0; i < w->n; i++) {
                if (O.other_uid != 0 && view_other(&c) < 0)
                    w->setup_fail++;
                TIME(w->st[0], view_message(&c, &img));
            }
            w->images = img;
            if (do_logout(&c) < 0)
                w->setup_fail++;
        }
    } else if (strcmp(O.op, "download") == 0) {
        if (do_login(&c) < 0) {
            w->setup_fail++;
        } else {
            for (unsigned i = 0; i < w->n; i++)
                TIME(w->st[0], download(&c));
            if (do_logout(&c) < 0)
                w->setup_fail++;
        }
    } else if (strcmp(O.op, "sessions") == 0) {
        /* logged-in sessions left idle: no logout */
        for (unsigned i = 0; i < w->n; i++) {
            int64_t t0 = now_us();
            int rc = do_login(&c);

            stats_add(w->st[0], now_us() - t0, rc == 0);
            c.cookie[0] = '\0';
        }
    }
    conn_close(&c);
    free(c.in);
    return NULL;
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: bench_http --port P --user U --pass P --op OP --n N\n"
            "         [--concurrency C] [--page P] [--uid U] [--other-uid U] [--part SEC]\n"
            "         [--expect-bytes N]\n"
            "  OP: login | first | cached | message | download | sessions\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    struct worker *w;
    struct stats *st[2] = {NULL, NULL};
    const char *names[2] = {NULL, NULL};
    unsigned setup_fail = 0, images = 0;
    int64_t t0, wall;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];

        if (strcmp(k, "--port") == 0)
            O.port = atoi(v);
        else if (strcmp(k, "--user") == 0)
            O.user = v;
        else if (strcmp(k, "--pass") == 0)
            O.pass = v;
        else if (strcmp(k, "--op") == 0)
            O.op = v;
        else if (strcmp(k, "--n") == 0)
            O.n = (unsigned)atoi(v);
        else if (strcmp(k, "--concurrency") == 0)
            O.conc = (unsigned)atoi(v);
        else if (strcmp(k, "--page") == 0)
            O.page = (unsigned)atoi(v);
        else if (strcmp(k, "--uid") == 0)
            O.uid = (unsigned)atoi(v);
        else if (strcmp(k, "--other-uid") == 0)
            O.other_uid = (unsigned)atoi(v);
        else if (strcmp(k, "--part") == 0)
            O.part = v;
        else if (strcmp(k, "--expect-bytes") == 0)
            O.expect_bytes = atoll(v);
        else
            usage();
    }
    if (O.port <= 0 || O.user == NULL || O.pass == NULL || O.op == NULL ||
        O.n == 0 || O.conc == 0 || O.conc > O.n)
        usage();
    if (strcmp(O.op, "first") == 0) {
        names[0] = O.page == 1 ? "mailbox_first" : "mailbox_page";
        if (O.page == 1)
            names[1] = "mailbox_unchanged";
    } else if (strcmp(O.op, "cached") == 0) {
        names[0] = "mailbox_cached";
    } else if (strcmp(O.op, "login") == 0 || strcmp(O.op, "sessions") == 0 ||
               strcmp(O.op, "message") == 0 ||
               strcmp(O.op, "download") == 0) {
        names[0] = O.op;
    } else {
        usage();
    }
    if ((strcmp(O.op, "message") == 0 || strcmp(O.op, "download") == 0) &&
        O.uid == 0)
        usage();
    if (strcmp(O.op, "download") == 0 && O.part == NULL)
        usage();
    for (int k = 0; k < 2; k++) {
        if (names[k] != NULL)
            st[k] = stats_new(O.n);
    }
    w = calloc(O.conc, sizeof(*w));
    t0 = now_us();
    for (unsigned i = 0; i < O.conc; i++) {
        w[i].n = O.n / O.conc + (i < O.n % O.conc ? 1 : 0);
        w[i].st[0] = st[0];
        w[i].st[1] = st[1];
        if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0)
            abort();
    }
    for (unsigned i = 0; i < O.conc; i++) {
        pthread_join(w[i].th, NULL);
        setup_fail += w[i].setup_fail;
        if (w[i].images > images)
            images = w[i].images;
    }
    wall = now_us() - t0;
    for (int k = 0; k < 2; k++) {
        if (st[k] != NULL)
            stats_print(names[k], st[k], O.conc, wall);
    }
    printf("setup_failures %u\n", setup_fail);
    if (strcmp(O.op, "message") == 0)
        printf("images %u\n", images);
    return 0;
}
