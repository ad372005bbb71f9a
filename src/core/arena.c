/* arena.c - bump allocator over a chain of blocks, plus deferred cleanups.
 * Layer: core. Sizes come from our own code; overflow is still checked. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "core/arena.h"

#define ARENA_ALIGN 16u
#define ARENA_DEFAULT_BLOCK (8u * 1024)

struct arena_block {
    struct arena_block *next;
    size_t size, used;
    /* data follows, aligned */
    _Alignas(16) unsigned char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    void (*fn)(void *);
    void *ptr;
};

struct arena {
    struct arena_block *head;
    struct arena_cleanup *cleanups;
    size_t block_size;
    size_t total;
};

static struct arena_block *
arena_block_new(size_t size)
{
    struct arena_block *b = g_malloc(sizeof(*b) + size);

    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

struct arena *
arena_new(size_t first_block)
{
    struct arena *a = g_new0(struct arena, 1);

    a->block_size = first_block > 0 ? first_block : ARENA_DEFAULT_BLOCK;
    a->head = arena_block_new(a->block_size);
    return a;
}

void
arena_free(struct arena **ap)
{
    struct arena *a = *ap;

    if (a == NULL)
        return;
    while (a->cleanups != NULL) {
        struct arena_cleanup *c = a->cleanups;

        a->cleanups = c->next;
        c->fn(c->ptr); /* the record itself lives in a block */
    }
    while (a->head != NULL) {
        struct arena_block *b = a->head;

        a->head = b->next;
        g_free(b);
    }
    g_free(a);
    *ap = NULL;
}

void *
arena_alloc(struct arena *a, size_t size)
{
    struct arena_block *b = a->head;
    size_t need;
    void *p;

    xassert(size <= SIZE_MAX - ARENA_ALIGN);
    need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    if (b->size - b->used < need) {
        size_t bs = a->block_size;

        /* Blocks double up to 1 MiB; an allocation bigger than that gets
         * a block of its own. */
        if (bs < 1024u * 1024)
            a->block_size = bs *= 2;
        if (bs < need)
            bs = need;
        b = arena_block_new(bs);
        b->next = a->head;
        a->head = b;
    }
    p = b->data + b->used;
    b->used += need;
    a->total += need;
    memset(p, 0, size);
    return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p;

    xassert(n < SIZE_MAX);
    p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    char *tmp, *p;

    va_start(ap, fmt);
    tmp = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    p = arena_strdup(a, tmp);
    g_free(tmp);
    return p;
}

void
arena_defer(struct arena *a, void (*fn)(void *), void *ptr)
{
    struct arena_cleanup *c = arena_alloc(a, sizeof(*c));

    c->fn = fn;
    c->ptr = ptr;
    c->next = a->cleanups;
    a->cleanups = c;
}

size_t
arena_used(const struct arena *a)
{
    return a->total;
}
