/* arena.h - region allocator for request lifetime: many allocations, one free.
 * Layer: core. Never store an arena pointer in anything that outlives it. */
#ifndef POSTERN_CORE_ARENA_H
#define POSTERN_CORE_ARENA_H

#include <stddef.h>
#include "core/attr.h"

struct arena;

/* A new arena whose first block holds at least first_block bytes (0 for a
 * default). Aborts on out-of-memory, like GLib's g_malloc. */
struct arena *arena_new(size_t first_block);

/* Runs the deferred cleanups last-in first-out, frees every block and sets
 * *a to NULL. NULL-safe. */
void arena_free(struct arena **a);

/* size bytes, zeroed, aligned for any type; valid until arena_free(). */
void *arena_alloc(struct arena *a, size_t size);

/* Copies of strings, NUL-terminated, owned by the arena. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) ATTR_PRINTF(2, 3);

/* Runs fn(ptr) at arena_free(). Ties refcounted json-c, GMime and GLib
 * objects to the request so every exit path releases them. */
void arena_defer(struct arena *a, void (*fn)(void *), void *ptr);

/* Bytes handed out so far (for metrics and tests). */
size_t arena_used(const struct arena *a);

#endif
