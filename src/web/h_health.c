/* h_health.c - GET /healthz (liveness) and GET /metrics (Prometheus text).
 * Layer: web. Neither touches a mail server. */
#include <glib.h>

#include "imap/imap_conn.h"
#include "session/pool.h"
#include "session/session.h"
#include "web/app.h"
#include "web/handlers.h"

int
h_healthz(struct request *req, struct response *resp, struct err *err)
{
    (void)err;
    response_set_header(resp, req->arena, "Content-Type",
                        "text/plain; charset=utf-8");
    g_string_append(resp->body, "ok\n");
    return 0;
}

static void
metrics_imap(void *ctx, const struct imap_conn_stat *st)
{
    g_string_append_printf(ctx, "postern_imap_commands_total{command=\"%s\"} "
                                "%lu\n",
                           st->verb, st->count);
}

int
h_metrics(struct request *req, struct response *resp, struct err *err)
{
    struct web_app *app = (struct web_app *)req->app;
    GString *b = resp->body;

    (void)err;
    response_set_header(resp, req->arena, "Content-Type",
                        "text/plain; version=0.0.4; charset=utf-8");
    g_string_append(b, "# HELP postern_requests_total HTTP requests "
                       "answered.\n# TYPE postern_requests_total counter\n");
    g_string_append_printf(b, "postern_requests_total %d\n",
                           g_atomic_int_get(&app->requests_total));
    g_string_append(b, "# HELP postern_responses_total HTTP responses by "
                       "status class.\n"
                       "# TYPE postern_responses_total counter\n");
    for (int cls = 1; cls <= 5; cls++)
        g_string_append_printf(
            b, "postern_responses_total{class=\"%dxx\"} %d\n", cls,
            g_atomic_int_get(&app->responses_by_class[cls]));
    g_string_append(b, "# HELP postern_imap_commands_total IMAP commands "
                       "sent, by command.\n"
                       "# TYPE postern_imap_commands_total counter\n");
    imap_conn_stats_foreach(metrics_imap, b);
    g_string_append_printf(b, "# HELP postern_sessions Live sessions.\n"
                              "# TYPE postern_sessions gauge\n"
                              "postern_sessions %zu\n",
                           session_table_count(app->sessions));
    g_string_append_printf(b, "# HELP postern_pool_connections Open mail "
                              "server connections.\n"
                              "# TYPE postern_pool_connections gauge\n"
                              "postern_pool_connections %zu\n",
                           pool_open_count(app->pool));
    g_string_append(b, "# HELP postern_start_time_seconds Start time.\n"
                       "# TYPE postern_start_time_seconds gauge\n");
    g_string_append_printf(b, "postern_start_time_seconds %lld\n",
                           app->started_us / G_USEC_PER_SEC);
    return 0;
}
