/* log.h - one-line log records to stderr (systemd/journald friendly).
 * Layer: core. Callers never pass passwords, keys or cookies here. */
#ifndef POSTERN_CORE_LOG_H
#define POSTERN_CORE_LOG_H

#include <stddef.h>
#include "core/attr.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Records below level are dropped. Default LOG_INFO. */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warn" or "error"; -1 if none of them. */
int log_level_parse(const char *name);

/* Writes "TIME LEVEL message\n" in one write(2), so records from threads
 * never interleave. Control characters in the message are escaped. */
void log_msg(enum log_level level, const char *fmt, ...) ATTR_PRINTF(2, 3);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
