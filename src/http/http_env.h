/* http_env.h - the CGI/FastCGI meta-variables (RFC 3875) turned into a
 * struct request, and a response turned into CGI output. Layer: http.
 * Shared by http_fcgi.c and plain CGI. Trust: UNTRUSTED, as from a browser. */
#ifndef POSTERN_HTTP_HTTP_ENV_H
#define POSTERN_HTTP_HTTP_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "web/request.h"

/* Reads up to len bytes into buf; returns the count (0 at end), -1 on error. */
typedef ssize_t http_env_read_fn(void *ctx, char *buf, size_t len);
/* Writes all len bytes; -1 on error. */
typedef int http_env_write_fn(void *ctx, const char *buf, size_t len);
/* The response cannot be completed (a streamed body failed): end it so
 * that the web server sees an error, not a short body. */
typedef void http_env_abort_fn(void *ctx);

struct http_env_io {
    char **envp;              /* NAME=value strings, NULL-terminated */
    http_env_read_fn *read;
    void *read_ctx;
    http_env_write_fn *write;
    void *write_ctx;          /* also abort's */
    http_env_abort_fn *abort; /* NULL: the transport cannot say so (CGI) */
};

/* Serves one request: fills a request from io->envp and the body, runs
 * web_app_handle(), writes the CGI response through io->write, and calls
 * web_app_request_done(). */
void http_env_serve(struct web_app *app, const struct http_env_io *io);

#endif
