/* attr.h - compiler attributes and assertions used everywhere.
 * Layer: core. An xassert failure is a bug: it aborts with file and line. */
#ifndef POSTERN_CORE_ATTR_H
#define POSTERN_CORE_ATTR_H

#include <stdio.h>
#include <stdlib.h>

#define ATTR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ATTR_NODISCARD __attribute__((warn_unused_result))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_UNUSED __attribute__((unused))

#define xassert(expr)                                                        \
    do {                                                                     \
        if (!(expr)) {                                                       \
            fprintf(stderr, "%s:%d: %s: assertion failed: %s\n", __FILE__,   \
                    __LINE__, __func__, #expr);                              \
            abort();                                                         \
        }                                                                    \
    } while (0)

#define xassert_unreached()                                                  \
    do {                                                                     \
        fprintf(stderr, "%s:%d: %s: unreachable code reached\n", __FILE__,   \
                __LINE__, __func__);                                         \
        abort();                                                             \
    } while (0)

#define N_ELEMENTS(arr) (sizeof(arr) / sizeof((arr)[0]))

#endif
