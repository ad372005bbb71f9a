/* http_fcgi.c - the FastCGI front end (libfcgi): a pool of threads
 * serving the connections of one socket, kept ones too; and plain CGI.
 * Layer: http. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>
#include <glib.h>

#include "core/cfg.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/http.h"
#include "http/http_env.h"
#include "web/app.h"

extern char **environ;

static ssize_t
fcgi_read(void *ctx, char *buf, size_t len)
{
    FCGX_Request *r = ctx;
    int n = FCGX_GetStr(buf, len > INT32_MAX ? INT32_MAX : (int)len, r->in);

    return n;
}

/* libfcgi's output stream holds 8 KiB (fixed in FCGX_Accept_r) and sends a
 * record with a write(2) each time it fills: 2,560 writes for a 20 MB
 * attachment, each read by the web server on its own. A write that cannot
 * fit in that buffer anyway (a page body, a streamed chunk of 64 KiB) goes
 * out here instead, after the stream has sent what it holds, as FCGI_STDOUT
 * records of up to FCGI_RECORD_MAX bytes in one writev(2), straight from
 * the caller's buffer. Small writes (the head, a short page) still collect
 * in the stream, which sends them together with the end-of-request records
 * in one write at FCGX_Finish_r. */
#define FCGI_STREAM_BUFFER 8192
#define FCGI_RECORD_MAX 0xfff8 /* FCGI_MAX_LENGTH rounded down to 8 */
#define FCGI_IOV_RECORDS 16    /* records per writev: 1 MiB */

static void
fcgi_record_header(FCGI_Header *h, int request_id, size_t len, size_t pad)
{
    h->version = FCGI_VERSION_1;
    h->type = FCGI_STDOUT;
    h->requestIdB1 = (unsigned char)((request_id >> 8) & 0xff);
    h->requestIdB0 = (unsigned char)(request_id & 0xff);
    h->contentLengthB1 = (unsigned char)((len >> 8) & 0xff);
    h->contentLengthB0 = (unsigned char)(len & 0xff);
    h->paddingLength = (unsigned char)pad;
    h->reserved = 0;
}

/* Writes every byte of iov[0..n), resuming after short writes. */
static int
fcgi_writev_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Sends buf as FCGI_STDOUT records on the request's connection; the
 * stream must be empty (flushed). Records are padded to 8 bytes as
 * libfcgi pads its own. ipcFd is below libfcgi's "don't use" line in
 * FCGX_Request, but it is the connection the stream writes to, and
 * fcgiapp.h offers no other way to send a record of our own size. */
static int
fcgi_write_records(FCGX_Request *r, const char *buf, size_t len)
{
    static const char zeros[8];
    FCGI_Header hdr[FCGI_IOV_RECORDS];
    struct iovec iov[FCGI_IOV_RECORDS * 3];

    while (len > 0) {
        int n = 0;

        for (int i = 0; i < FCGI_IOV_RECORDS && len > 0; i++) {
            size_t chunk = len > FCGI_RECORD_MAX ? FCGI_RECORD_MAX : len;
            size_t pad = (8 - chunk % 8) % 8;

            fcgi_record_header(&hdr[i], r->requestId, chunk, pad);
            iov[n++] = (struct iovec){ &hdr[i], sizeof(hdr[i]) };
            iov[n++] = (struct iovec){ (void *)buf, chunk };
            if (pad > 0)
                iov[n++] = (struct iovec){ (void *)zeros, pad };
            buf += chunk;
            len -= chunk;
        }
        if (fcgi_writev_all(r->ipcFd, iov, n) < 0)
            return -1;
    }
    return 0;
}

/* Without FCGI_END_REQUEST the web server knows the response is broken
 * (nginx: "upstream prematurely closed", and the browser's download fails)
 * where a plain end would pass a short body off as complete: shut the
 * connection, so that FCGX_Finish_r can send nothing more and closes it. */
static void
fcgi_abort(void *ctx)
{
    FCGX_Request *r = ctx;

    r->keepConnection = 0;
    shutdown(r->ipcFd, SHUT_RDWR);
}

static int
fcgi_write(void *ctx, const char *buf, size_t len)
{
    FCGX_Request *r = ctx;

    if (len > FCGI_STREAM_BUFFER) {
        if (FCGX_GetError(r->out) != 0 || FCGX_FFlush(r->out) < 0)
            return -1;
        return fcgi_write_records(r, buf, len);
    }
    return FCGX_PutStr(buf, (int)len, r->out) == (int)len ? 0 : -1;
}

/* Connections and threads. A web server may keep a connection open for
 * its next request (FCGI_KEEP_CONN: nginx's fastcgi_keep_conn with
 * keepalive in its upstream). libfcgi alone would have the worker that
 * served a request wait on its connection for the next one, so a web
 * server holding as many idle connections as there are workers would leave
 * none to accept a new one. Here idle workers wait in one epoll set that
 * holds the listening socket and every idle connection, each armed for one
 * event (EPOLLONESHOT): the kernel wakes one worker for whichever has
 * something, that worker accepts or serves one request, and re-arms the
 * connection if the web server keeps it. An idle connection holds no
 * worker, and `threads` is what it says: requests served at once. */
struct fcgi_conn {
    FCGX_Request req;
    bool in_epoll;
    struct fcgi_conn *prev, *next; /* in fcgi_server.conns */
};

struct fcgi_server {
    struct web_app *app;
    int listen_fd;               /* non-blocking */
    int epfd;
    int stop_fd;                 /* eventfd, readable once stopping */
    const char *allowed;         /* FCGI_WEB_SERVER_ADDRS, as libfcgi */
    atomic_bool stopping;
    atomic_bool accept_failing;  /* the last accept failed (logged once) */
    pthread_mutex_t lock;        /* conns, n_conns */
    struct fcgi_conn *conns;     /* every open connection, for the end */
    unsigned n_conns;
};

/* Past this many open connections, a new one is closed after its request
 * instead of kept (the web server opens another when it needs one). */
#define FCGI_KEPT_MAX 1024u

static int
fcgi_arm(struct fcgi_server *s, int op, int fd, void *ptr)
{
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLONESHOT,
        .data.ptr = ptr,
    };

    return epoll_ctl(s->epfd, op, fd, &ev);
}

static void
fcgi_conn_close(struct fcgi_server *s, struct fcgi_conn *c)
{
    pthread_mutex_lock(&s->lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->n_conns--;
    pthread_mutex_unlock(&s->lock);
    FCGX_Free(&c->req, 1); /* closing the socket drops it from the set */
    g_free(c);
}

/* libfcgi's checks on a new connection (OS_Accept): Nagle off on TCP, and
 * only the addresses in FCGI_WEB_SERVER_ADDRS when that is set. */
static bool
fcgi_peer_ok(const struct fcgi_server *s, int fd,
             const struct sockaddr_storage *sa)
{
    int one = 1;
    bool ok = false;
    char **list;

    if (sa->ss_family != AF_INET)
        return true;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (s->allowed == NULL || s->allowed[0] == '\0')
        return true;
    list = g_strsplit(s->allowed, ",", 0);
    for (char **a = list; *a != NULL && !ok; a++) {
        struct in_addr in;

        ok = inet_pton(AF_INET, g_strstrip(*a), &in) == 1 &&
             in.s_addr == ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
    }
    g_strfreev(list);
    return ok;
}

/* Accepts one connection (NULL if there was none or it was refused) and
 * re-arms the listening socket, so another worker can take the next. */
static struct fcgi_conn *
fcgi_accept(struct fcgi_server *s)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    struct fcgi_conn *c;
    int fd;

    do {
        fd = accept4(s->listen_fd, (struct sockaddr *)&sa, &len,
                     SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
        errno != ECONNABORTED && !atomic_load(&s->stopping)) {
        /* out of descriptors or memory: the connection stays queued and
         * the socket readable; say so once, and retry at a walk */
        if (!atomic_exchange(&s->accept_failing, true))
            log_warn("FastCGI accept: %s", strerror(errno));
        g_usleep(10 * 1000);
    } else if (fd >= 0) {
        atomic_store(&s->accept_failing, false);
    }
    if (!atomic_load(&s->stopping) &&
        fcgi_arm(s, EPOLL_CTL_MOD, s->listen_fd, &s->listen_fd) != 0)
        log_error("FastCGI: cannot watch the socket: %s", strerror(errno));
    if (fd < 0)
        return NULL;
    if (!fcgi_peer_ok(s, fd, &sa)) {
        close(fd);
        return NULL;
    }
    c = g_new0(struct fcgi_conn, 1);
    /* No listening socket of its own: when the web server closes the
     * connection, FCGX_Accept_r fails instead of accepting. ipcFd and
     * keepConnection are below libfcgi's "don't use" line in FCGX_Request,
     * but a request with ipcFd set is what FCGX_Accept_r reads the next
     * request from, and it first finishes the request before, closing the
     * connection unless it is marked kept (FCGI_BEGIN_REQUEST then says
     * whether it is). */
    FCGX_InitRequest(&c->req, -1, 0);
    c->req.ipcFd = fd;
    c->req.keepConnection = 1;
    pthread_mutex_lock(&s->lock);
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    pthread_mutex_unlock(&s->lock);
    return c;
}

/* Reads the rest of the request's body, so that none of it is left on the
 * connection: not for the next request on a kept one, and not to make a
 * close send a reset that could cost the web server the answer. nginx has
 * the whole body already (fastcgi_request_buffering); past
 * LIM_HTTP_DISCARD, or on an error, false. */
static bool
fcgi_drain(FCGX_Request *r)
{
    char buf[16 * 1024];
    size_t dropped = 0;

    while (FCGX_HasSeenEOF(r->in) != EOF) {
        int n = FCGX_GetStr(buf, sizeof(buf), r->in);

        if (FCGX_GetError(r->in) != 0 ||
            (n == 0 && FCGX_HasSeenEOF(r->in) != EOF))
            return false;
        dropped += (size_t)n;
        if (dropped > LIM_HTTP_DISCARD)
            return false;
    }
    return true;
}

/* Serves the request waiting on c; then keeps c in the set for the next
 * one, or closes it. */
static void
fcgi_serve(struct fcgi_server *s, struct fcgi_conn *c)
{
    bool keep, drained;

    /* reads the request; fails when the web server has closed the
     * connection */
    if (FCGX_Accept_r(&c->req) < 0) {
        fcgi_conn_close(s, c);
        return;
    }
    {
        struct http_env_io io = {
            .envp = c->req.envp,
            .read = fcgi_read,
            .read_ctx = &c->req,
            .write = fcgi_write,
            .write_ctx = &c->req,
            .abort = fcgi_abort,
        };

        http_env_serve(s->app, &io);
    }
    pthread_mutex_lock(&s->lock);
    keep = s->n_conns <= FCGI_KEPT_MAX;
    pthread_mutex_unlock(&s->lock);
    /* keepConnection: the web server's wish (FCGI_KEEP_CONN), cleared by
     * fcgi_abort; below libfcgi's "don't use" line too */
    keep = keep && c->req.keepConnection && !atomic_load(&s->stopping);
    drained = fcgi_drain(&c->req);
    if (!drained) {
        /* libfcgi's close: shut, then wait for the web server's */
        c->req.keepConnection = 0;
        FCGX_Finish_r(&c->req);
        fcgi_conn_close(s, c);
        return;
    }
    /* Finish_r sends the end and closes only if that fails */
    c->req.keepConnection = 1;
    FCGX_Finish_r(&c->req);
    if (c->req.ipcFd < 0) {
        fcgi_conn_close(s, c);
        return;
    }
    if (keep) {
        int op = c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

        /* once armed, c is another worker's */
        c->in_epoll = true;
        if (fcgi_arm(s, op, c->req.ipcFd, c) == 0)
            return;
    }
    /* Nothing unread on it, so a plain close ends it cleanly: libfcgi
     * would shut it and wait for the web server to close first, a wake-up
     * of this worker per request for nothing. */
    close(c->req.ipcFd);
    c->req.ipcFd = -1;
    fcgi_conn_close(s, c);
}

static void *
fcgi_worker_main(void *arg)
{
    struct fcgi_server *s = arg;

    for (;;) {
        struct epoll_event ev;
        struct fcgi_conn *c;
        int n = epoll_wait(s->epfd, &ev, 1, -1);

        if (n < 0 && errno != EINTR) {
            log_error("FastCGI: epoll_wait: %s", strerror(errno));
            break;
        }
        if (n <= 0)
            continue;
        if (ev.data.ptr == &s->stop_fd) {
            uint64_t one = 1;

            /* never read, so it stays readable; the write wakes the next
             * worker still waiting */
            if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
                log_error("FastCGI: cannot stop the workers: %s",
                          strerror(errno));
            break;
        }
        if (ev.data.ptr == &s->listen_fd)
            c = fcgi_accept(s);
        else
            c = ev.data.ptr;
        if (c != NULL)
            fcgi_serve(s, c);
    }
    return NULL;
}

bool
http_fcgi_stdin_is_cgi(void)
{
    return FCGX_IsCGI() != 0;
}

int
http_fcgi_run(struct web_app *app, const char *socket_spec, struct err *err)
{
    unsigned n = app->cfg->threads;
    struct fcgi_server s = {
        .app = app,
        .listen_fd = 0, /* a web server that spawns us passes it as stdin */
        .epfd = -1,
        .stop_fd = -1,
        .allowed = getenv("FCGI_WEB_SERVER_ADDRS"),
    };
    struct epoll_event stop_ev = { .events = EPOLLIN };
    pthread_t *workers;
    uint64_t one = 1;
    int flags;
    sigset_t set;
    int sig;

    if (FCGX_Init() != 0) {
        err_set(err, ERR_INTERNAL, "FCGX_Init failed");
        return -1;
    }
    if (socket_spec != NULL) {
        s.listen_fd = FCGX_OpenSocket(socket_spec, 128);
        if (s.listen_fd < 0) {
            err_set(err, ERR_CONFIG, "cannot listen on FastCGI socket %s: %s",
                    socket_spec, strerror(errno));
            return -1;
        }
        /* a unix socket: the web server's group must reach it */
        if (socket_spec[0] == '/' && chmod(socket_spec, 0660) != 0)
            log_warn("chmod %s: %s", socket_spec, strerror(errno));
    }
    atomic_init(&s.stopping, false);
    atomic_init(&s.accept_failing, false);
    stop_ev.data.ptr = &s.stop_fd;
    flags = fcntl(s.listen_fd, F_GETFL);
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    s.stop_fd = eventfd(0, EFD_CLOEXEC);
    if (flags < 0 || fcntl(s.listen_fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        s.epfd < 0 || s.stop_fd < 0 ||
        epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.stop_fd, &stop_ev) != 0 ||
        fcgi_arm(&s, EPOLL_CTL_ADD, s.listen_fd, &s.listen_fd) != 0) {
        err_set(err, ERR_INTERNAL, "FastCGI socket setup: %s",
                strerror(errno));
        if (s.epfd >= 0)
            close(s.epfd);
        if (s.stop_fd >= 0)
            close(s.stop_fd);
        if (socket_spec != NULL)
            close(s.listen_fd);
        return -1;
    }
    pthread_mutex_init(&s.lock, NULL);
    log_info("postern fcgi: %u workers on %s", n,
             socket_spec != NULL ? socket_spec : "the inherited socket");
    workers = g_new0(pthread_t, n);
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&workers[i], NULL, fcgi_worker_main, &s) != 0) {
            err_set(err, ERR_INTERNAL, "cannot start worker thread");
            n = i;
            break;
        }
    }
    if (err->kind == ERR_NONE) {
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigwait(&set, &sig);
        log_info("signal %d: finishing requests in flight", sig);
    }
    /* Stop the accepts; a worker busy with a request finishes it first
     * (and closes its connection), idle workers end now. */
    atomic_store(&s.stopping, true);
    shutdown(s.listen_fd, SHUT_RDWR);
    if (write(s.stop_fd, &one, sizeof(one)) != sizeof(one))
        log_error("FastCGI: cannot stop the workers: %s", strerror(errno));
    for (unsigned i = 0; i < n; i++)
        pthread_join(workers[i], NULL);
    g_free(workers);
    /* the idle connections the web server kept */
    while (s.conns != NULL)
        fcgi_conn_close(&s, s.conns);
    close(s.epfd);
    close(s.stop_fd);
    pthread_mutex_destroy(&s.lock);
    if (socket_spec != NULL) {
        close(s.listen_fd);
        if (socket_spec[0] == '/')
            unlink(socket_spec);
    }
    return err->kind == ERR_NONE ? 0 : -1;
}

static ssize_t
cgi_read(void *ctx, char *buf, size_t len)
{
    size_t n = fread(buf, 1, len, ctx);

    return n == 0 && ferror((FILE *)ctx) ? -1 : (ssize_t)n;
}

static int
cgi_write(void *ctx, const char *buf, size_t len)
{
    return fwrite(buf, 1, len, ctx) == len ? 0 : -1;
}

int
http_cgi_run(struct web_app *app, struct err *err)
{
    struct http_env_io io = {
        .envp = environ,
        .read = cgi_read,
        .read_ctx = stdin,
        .write = cgi_write,
        .write_ctx = stdout,
    };

    http_env_serve(app, &io);
    if (fflush(stdout) != 0) {
        err_set(err, ERR_CONN, "writing the CGI response: %s",
                strerror(errno));
        return -1;
    }
    return 0;
}
