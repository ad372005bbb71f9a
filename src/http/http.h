/* http.h - the three front ends: embedded server, FastCGI, plain CGI.
 * Layer: http. Each fills struct request, calls web_app_handle(), writes
 * the response. They run until SIGTERM or SIGINT (blocked by the caller). */
#ifndef POSTERN_HTTP_HTTP_H
#define POSTERN_HTTP_HTTP_H

#include "core/err.h"

struct web_app;

/* postern serve: libmicrohttpd on cfg listen, one thread per connection.
 * Returns 0 after a clean shutdown, -1 with err if it cannot start. */
ATTR_NODISCARD int http_mhd_run(struct web_app *app, struct err *err);

/* postern fcgi: cfg threads workers accepting on socket_spec ("PATH" or
 * "HOST:PORT"), or on the socket a web server passed as stdin when
 * socket_spec is NULL. */
ATTR_NODISCARD int http_fcgi_run(struct web_app *app, const char *socket_spec,
                                 struct err *err);

/* True when stdin is not a FastCGI listening socket: started as CGI. */
bool http_fcgi_stdin_is_cgi(void);

/* Plain CGI: one request from the environment and stdin, answered on
 * stdout. */
ATTR_NODISCARD int http_cgi_run(struct web_app *app, struct err *err);

#endif
