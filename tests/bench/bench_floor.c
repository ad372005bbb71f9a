/* bench_floor.c - the benchmark's floor: a raw IMAP client doing, on one
 * persistent logged-in connection per thread, the IMAP commands postern needs
 * for each measured page. Prints result lines like bench_http. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"

#define PER_PAGE 50
#define MAX_SECTIONS 8

struct opts {
    int port;
    const char *user, *pass;
    const char *op;          /* login, first, message, download */
    unsigned n, conc, page, uid;
    char sections[MAX_SECTIONS][32];
    unsigned n_sections;
};

static struct opts O = {.conc = 1, .page = 1};

/* The same summary items postern fetches for a list row or a message. */
#define SUMMARY_ITEMS "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)"

struct imap {
    int fd;
    char *in;
    size_t in_len, in_cap;
    unsigned tag;
    uint32_t *sort;          /* UIDs of the last SORT reply */
    size_t n_sort, cap_sort;
    unsigned long long literal_bytes; /* of the last command */
};

static int64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static ssize_t
imap_fill(struct imap *c)
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
imap_consume(struct imap *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* One CRLF line at the head of the buffer: its length (CRLF excluded). */
static int
imap_line(struct imap *c, size_t *len_out)
{
    size_t scanned = 0;

    for (;;) {
        char *e = scanned < c->in_len
                      ? memmem(c->in + scanned, c->in_len - scanned, "\r\n", 2)
                      : NULL;

        if (e != NULL) {
            *len_out = (size_t)(e - c->in);
            return 0;
        }
        scanned = c->in_len > 0 ? c->in_len - 1 : 0;
        if (imap_fill(c) <= 0)
            return -1;
    }
}

/* Skips n literal bytes (counted, not kept). */
static int
imap_skip(struct imap *c, unsigned long long n)
{
    c->literal_bytes += n;
    while (n > 0) {
        size_t take;

        if (c->in_len == 0 && imap_fill(c) <= 0)
            return -1;
        take = c->in_len < n ? c->in_len : (size_t)n;
        imap_consume(c, take);
        n -= take;
    }
    return 0;
}

static void
imap_sort_line(struct imap *c, const char *p, const char *end)
{
    while (p < end) {
        char *e;
        unsigned long v = strtoul(p, &e, 10);

        if (e == p) {
            p++;
            continue;
        }
        if (c->n_sort == c->cap_sort) {
            c->cap_sort = c->cap_sort * 2 + 1024;
            c->sort = realloc(c->sort, c->cap_sort * sizeof(*c->sort));
            if (c->sort == NULL)
                abort();
        }
        c->sort[c->n_sort++] = (uint32_t)v;
        p = e;
    }
}

/* Reads responses until the tagged one for tag; 0 when it says OK.
 * Literals are skipped; "* SORT" numbers go to c->sort. */
static int
imap_wait(struct imap *c, const char *tag)
{
    size_t tl = strlen(tag);

    for (;;) {
        size_t len;
        bool first_seg = true, is_sort = false;

        /* a response may span segments: line {n}CRLF literal line... */
        for (;;) {
            unsigned long long lit = 0;
            char *open;

            if (imap_line(c, &len) < 0)
                return -1;
            if (first_seg) {
                if (len > tl && strncmp(c->in, tag, tl) == 0 &&
                    c->in[tl] == ' ') {
                    bool ok = len >= tl + 3 &&
                              strncmp(c->in + tl + 1, "OK", 2) == 0;

                    if (!ok)
                        fprintf(stderr, "bench_floor: %.*s\n", (int)len,
                                c->in);
                    imap_consume(c, len + 2);
                    return ok ? 0 : -1;
                }
                is_sort = len > 7 && strncmp(c->in, "* SORT ", 7) == 0;
            }
            if (is_sort)
                imap_sort_line(c, c->in + 7, c->in + len);
            first_seg = false;
            if (len > 0 && c->in[len - 1] == '}' &&
                (open = memrchr(c->in, '{', len)) != NULL) {
                lit = strtoull(open + 1, NULL, 10);
                imap_consume(c, len + 2);
                if (imap_skip(c, lit) < 0)
                    return -1;
                continue;
            }
            imap_consume(c, len + 2);
            break;
        }
    }
}

/* Sends "TAG text" and waits for its tagged OK. */
static int
imap_cmd(struct imap *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
imap_cmd(struct imap *c, const char *fmt, ...)
{
    char line[8192], tag[16];
    va_list ap;
    int n, m;

    snprintf(tag, sizeof(tag), "f%u", ++c->tag);
    n = snprintf(line, sizeof(line), "%s ", tag);
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
    va_end(ap);
    if (m < 0 || (size_t)(n + m) >= sizeof(line) - 2)
        return -1;
    n += m;
    memcpy(line + n, "\r\n", 2);
    n += 2;
    c->literal_bytes = 0;
    if (write(c->fd, line, (size_t)n) != n)
        return -1;
    return imap_wait(c, tag);
}

static void
imap_close(struct imap *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in_len = 0;
}

/* Connect, greeting, and the login postern does: AUTHENTICATE PLAIN with
 * the initial response, ENABLE CONDSTORE, NAMESPACE. */
static int
imap_login(struct imap *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)O.port)};
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char raw[512];
    char enc[700];
    size_t ul = strlen(O.user), pl = strlen(O.pass), rl, o = 0, len;
    int one = 1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        imap_close(c);
        return -1;
    }
    c->in_len = 0;
    if (imap_line(c, &len) < 0 || strncmp(c->in, "* OK", 4) != 0)
        return -1;
    imap_consume(c, len + 2);
    if (ul + pl + 2 > sizeof(raw))
        return -1;
    raw[0] = 0;
    memcpy(raw + 1, O.user, ul);
    raw[1 + ul] = 0;
    memcpy(raw + 2 + ul, O.pass, pl);
    rl = ul + pl + 2;
    for (size_t i = 0; i < rl; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 |
                     (i + 1 < rl ? (unsigned)raw[i + 1] << 8 : 0) |
                     (i + 2 < rl ? raw[i + 2] : 0);

        enc[o++] = b64[v >> 18 & 63];
        enc[o++] = b64[v >> 12 & 63];
        enc[o++] = i + 1 < rl ? b64[v >> 6 & 63] : '=';
        enc[o++] = i + 2 < rl ? b64[v & 63] : '=';
    }
    enc[o] = '\0';
    if (imap_cmd(c, "AUTHENTICATE PLAIN %s", enc) < 0 ||
        imap_cmd(c, "ENABLE CONDSTORE") < 0 || imap_cmd(c, "NAMESPACE") < 0)
        return -1;
    return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* "a:b,c" for the UIDs, as postern's sequence sets go. */
static void
seqset(const uint32_t *uids, size_t n, char *out, size_t outsz)
{
    uint32_t s[PER_PAGE];
    size_t o = 0;

    memcpy(s, uids, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_u32);
    out[0] = '\0';
    for (size_t i = 0; i < n;) {
        size_t j = i;

        while (j + 1 < n && s[j + 1] == s[j] + 1)
            j++;
        if (j > i)
            o += (size_t)snprintf(out + o, outsz - o, "%s%u:%u",
                                  o ? "," : "", s[i], s[j]);
        else
            o += (size_t)snprintf(out + o, outsz - o, "%s%u", o ? "," : "",
                                  s[i]);
        i = j + 1;
    }
}

/* A mailbox page seen for the first time: LIST (the "move to" folders,
 * names only), SELECT, SORT of the whole folder, FETCH of one page's
 * summaries. */
static int
op_first(struct imap *c)
{
    size_t first = (size_t)(O.page - 1) * PER_PAGE, cnt;
    char set[1024];

    c->n_sort = 0;
    if (imap_cmd(c, "LIST \"\" \"*\" RETURN (SUBSCRIBED SPECIAL-USE)") < 0 ||
        imap_cmd(c, "SELECT INBOX (CONDSTORE)") < 0 ||
        imap_cmd(c, "UID SORT (REVERSE DATE) UTF-8 ALL") < 0)
        return -1;
    if (first >= c->n_sort)
        return -1;
    cnt = c->n_sort - first < PER_PAGE ? c->n_sort - first : PER_PAGE;
    seqset(c->sort + first, cnt, set, sizeof(set));
    return imap_cmd(c, "UID FETCH %s " SUMMARY_ITEMS, set);
}

/* A message as the browser shows it: its structure, the body part, each
 * inline image, each fetched once. */
static int
op_message(struct imap *c)
{
    if (imap_cmd(c, "UID FETCH %u " SUMMARY_ITEMS, O.uid) < 0)
        return -1;
    /* as postern: the HTML and the small images as they are (postern
     * decodes the images itself and writes them into the body frame) */
    for (unsigned i = 0; i < O.n_sections; i++) {
        if (imap_cmd(c, "UID FETCH %u (BODY.PEEK[%s])", O.uid,
                     O.sections[i]) < 0 ||
            c->literal_bytes == 0)
            return -1;
    }
    return 0;
}

static int
op_download(struct imap *c)
{
    if (imap_cmd(c, "UID FETCH %u " SUMMARY_ITEMS, O.uid) < 0 ||
        imap_cmd(c, "UID FETCH %u (BINARY.PEEK[%s])", O.uid,
                 O.sections[0]) < 0)
        return -1;
    return c->literal_bytes > 0 ? 0 : -1;
}

struct worker {
    pthread_t th;
    unsigned n;
    struct stats *st;
    unsigned setup_fail;
    unsigned long long bytes;
};

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct imap c = {.fd = -1};

    if (strcmp(O.op, "login") == 0) {
        for (unsigned i = 0; i < w->n; i++) {
            int64_t t0 = now_us();
            int rc = imap_login(&c);

            stats_add(w->st, now_us() - t0, rc == 0);
            if (rc == 0 && imap_cmd(&c, "LOGOUT") < 0)
                w->setup_fail++;
            imap_close(&c);
        }
        goto out;
    }
    if (strcmp(O.op, "first-fresh") == 0) {
        /* what postern's first page after a login meets: a server process
         * that has just logged in, its caches cold; the login is not
         * timed */
        for (unsigned i = 0; i < w->n; i++) {
            int64_t t0;
            int rc;

            if (imap_login(&c) < 0) {
                w->setup_fail++;
                imap_close(&c);
                continue;
            }
            t0 = now_us();
            rc = op_first(&c);
            stats_add(w->st, now_us() - t0, rc == 0);
            if (imap_cmd(&c, "LOGOUT") < 0)
                w->setup_fail++;
            imap_close(&c);
        }
        goto out;
    }
    if (imap_login(&c) < 0 ||
        (strcmp(O.op, "first") != 0 &&
         imap_cmd(&c, "SELECT INBOX (CONDSTORE)") < 0)) {
        w->setup_fail++;
        goto out;
    }
    for (unsigned i = 0; i < w->n; i++) {
        int64_t t0 = now_us();
        int rc;

        if (strcmp(O.op, "first") == 0)
            rc = op_first(&c);
        else if (strcmp(O.op, "message") == 0)
            rc = op_message(&c);
        else
            rc = op_download(&c);
        stats_add(w->st, now_us() - t0, rc == 0);
        w->bytes = c.literal_bytes;
    }
    if (imap_cmd(&c, "LOGOUT") < 0)
        w->setup_fail++;
out:
    imap_close(&c);
    free(c.in);
    free(c.sort);
    return NULL;
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: bench_floor --port P --user U --pass P --op OP --n N\n"
            "         [--concurrency C] [--page P] [--uid U]\n"
            "         [--sections 2.1,2.2]\n"
            "  OP: login | first | first-fresh | message | download\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    struct worker *w;
    struct stats *st;
    const char *name;
    unsigned setup_fail = 0;
    unsigned long long bytes = 0;
    int64_t t0, wall;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];

        if (strcmp(k, "--port") == 0) {
            O.port = atoi(v);
        } else if (strcmp(k, "--user") == 0) {
            O.user = v;
        } else if (strcmp(k, "--pass") == 0) {
            O.pass = v;
        } else if (strcmp(k, "--op") == 0) {
            O.op = v;
        } else if (strcmp(k, "--n") == 0) {
            O.n = (unsigned)atoi(v);
        } else if (strcmp(k, "--concurrency") == 0) {
            O.conc = (unsigned)atoi(v);
        } else if (strcmp(k, "--page") == 0) {
            O.page = (unsigned)atoi(v);
        } else if (strcmp(k, "--uid") == 0) {
            O.uid = (unsigned)atoi(v);
        } else if (strcmp(k, "--sections") == 0) {
            const char *p = v;

            while (*p != '\0' && O.n_sections < MAX_SECTIONS) {
                size_t l = strcspn(p, ",");

                if (l == 0 || l >= sizeof(O.sections[0]))
                    usage();
                memcpy(O.sections[O.n_sections], p, l);
                O.sections[O.n_sections++][l] = '\0';
                p += l;
                if (*p == ',')
                    p++;
            }
        } else {
            usage();
        }
    }
    if (O.port <= 0 || O.user == NULL || O.pass == NULL || O.op == NULL ||
        O.n == 0 || O.conc == 0 || O.conc > O.n || O.page == 0)
        usage();
    if (strcmp(O.op, "first") == 0)
        name = O.page == 1 ? "mailbox_first" : "mailbox_page";
    else if (strcmp(O.op, "first-fresh") == 0)
        name = "mailbox_first_fresh";
    else if (strcmp(O.op, "login") == 0 || strcmp(O.op, "message") == 0 ||
             strcmp(O.op, "download") == 0)
        name = O.op;
    else
        usage();
    if ((strcmp(O.op, "message") == 0 || strcmp(O.op, "download") == 0) &&
        (O.uid == 0 || O.n_sections == 0))
        usage();
    st = stats_new(O.n);
    w = calloc(O.conc, sizeof(*w));
    t0 = now_us();
    for (unsigned i = 0; i < O.conc; i++) {
        w[i].n = O.n / O.conc + (i < O.n % O.conc ? 1 : 0);
        w[i].st = st;
        if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0)
            abort();
    }
    for (unsigned i = 0; i < O.conc; i++) {
        pthread_join(w[i].th, NULL);
        setup_fail += w[i].setup_fail;
        bytes = w[i].bytes;
    }
    wall = now_us() - t0;
    stats_print(name, st, O.conc, wall);
    printf("setup_failures %u\n", setup_fail);
    if (strcmp(O.op, "download") == 0)
        printf("literal_bytes %llu\n", bytes);
    return 0;
}
