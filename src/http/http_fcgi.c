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
#include <unistd.h>

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

static int
fcgi_write(void *ctx, const char *buf, size_t len)
{
    FCGX_Request *r = ctx;

    while (len > 0) {
        int chunk = len > INT32_MAX ? INT32_MAX : (int)len;

        if (FCGX_PutStr(buf, chunk, r->out) != chunk)
            return -1;
        buf += chunk;
        len -= (size_t)chunk;
    }
    return 0;
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
