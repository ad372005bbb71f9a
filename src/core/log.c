/* log.c - timestamped single-write log records.
 * Layer: core. Messages may quote untrusted bytes: control bytes are escaped. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "core/log.h"

static enum log_level log_min_level = LOG_INFO;

static const char *const log_level_names[] = {
    [LOG_DEBUG] = "debug",
    [LOG_INFO] = "info",
    [LOG_WARN] = "warn",
    [LOG_ERROR] = "error",
};

void
log_set_level(enum log_level level)
{
    log_min_level = level;
}

int
log_level_parse(const char *name)
{
    for (size_t i = 0; i < N_ELEMENTS(log_level_names); i++) {
        if (strcmp(name, log_level_names[i]) == 0)
            return (int)i;
    }
    return -1;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    char raw[1024];
    GString *line;
    GDateTime *now;
    gchar *stamp;
    va_list ap;
    ssize_t n;

    if (level < log_min_level)
        return;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);

    now = g_date_time_new_now_utc();
    stamp = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
    line = g_string_sized_new(sizeof(raw) + 64);
    g_string_append_printf(line, "%.23sZ %s ", stamp, log_level_names[level]);
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++) {
        /* a log record is one line: a peer's CR or LF must not forge another */
        if (*p < 0x20 || *p == 0x7f)
            g_string_append_printf(line, "\\x%02x", *p);
        else
            g_string_append_c(line, (char)*p);
    }
    g_string_append_c(line, '\n');
    n = write(STDERR_FILENO, line->str, line->len);
    (void)n; /* nowhere left to report a failed log write */
    g_string_free(line, TRUE);
    g_free(stamp);
    g_date_time_unref(now);
}
