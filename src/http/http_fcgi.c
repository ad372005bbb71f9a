/* http_fcgi.c - the FastCGI front end (libfcgi), a pool of threads each
 * accepting on one socket, and plain CGI. Layer: http. */
#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>
#include <glib.h>

#include "core/cfg.h"
#include "core/log.h"
#include "http/http.h"
#include "http/http_env.h"
#include "web/app.h"

extern char **environ;

struct fcgi_worker {
    pthread_t thread;
    struct web_app *app;
    int listen_fd;
};

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

static void *
fcgi_worker_main(void *arg)
{
    struct fcgi_worker *w = arg;
    FCGX_Request r;

    if (FCGX_InitRequest(&r, w->listen_fd, 0) != 0)
        return NULL;
    while (FCGX_Accept_r(&r) >= 0) {
        struct http_env_io io = {
            .envp = r.envp,
            .read = fcgi_read,
            .read_ctx = &r,
            .write = fcgi_write,
            .write_ctx = &r,
        };

        http_env_serve(w->app, &io);
        FCGX_Finish_r(&r);
    }
    FCGX_Free(&r, 1);
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
    struct fcgi_worker *workers;
    int listen_fd = 0; /* a web server that spawns us passes it as stdin */
    sigset_t set;
    int sig;

    if (FCGX_Init() != 0) {
        err_set(err, ERR_INTERNAL, "FCGX_Init failed");
        return -1;
    }
    if (socket_spec != NULL) {
        listen_fd = FCGX_OpenSocket(socket_spec, 128);
        if (listen_fd < 0) {
            err_set(err, ERR_CONFIG, "cannot listen on FastCGI socket %s: %s",
                    socket_spec, strerror(errno));
            return -1;
        }
        /* a unix socket: the web server's group must reach it */
        if (socket_spec[0] == '/' && chmod(socket_spec, 0660) != 0)
            log_warn("chmod %s: %s", socket_spec, strerror(errno));
    }
    log_info("postern fcgi: %u workers on %s", n,
             socket_spec != NULL ? socket_spec : "the inherited socket");
    workers = g_new0(struct fcgi_worker, n);
    for (unsigned i = 0; i < n; i++) {
        workers[i].app = app;
        workers[i].listen_fd = listen_fd;
        if (pthread_create(&workers[i].thread, NULL, fcgi_worker_main,
                           &workers[i]) != 0) {
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
    /* Stop the accepts: a worker busy with a request finishes it first. */
    FCGX_ShutdownPending();
    shutdown(listen_fd, SHUT_RDWR);
    for (unsigned i = 0; i < n; i++)
        pthread_join(workers[i].thread, NULL);
    g_free(workers);
    if (socket_spec != NULL) {
        close(listen_fd);
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
