/* test_arena.c - the request arena: alignment, zeroing, large blocks,
 * string helpers and deferred cleanups run last-in first-out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"

static void
test_allocations_are_zeroed_aligned_and_distinct(void **state)
{
    struct arena *a = arena_new(64);
    unsigned char *prev = NULL;

    (void)state;
    for (size_t size = 0; size < 300; size += 7) {
        unsigned char *p = arena_alloc(a, size);

        assert_int_equal((uintptr_t)p % 16, 0);
        for (size_t i = 0; i < size; i++)
            assert_int_equal(p[i], 0);
        memset(p, 0xAB, size);
        assert_ptr_not_equal(p, prev);
        prev = p;
    }
    arena_free(&a);
    assert_null(a);
    arena_free(&a); /* NULL-safe */
}

static void
test_allocation_larger_than_any_block_works(void **state)
{
    struct arena *a = arena_new(0);
    size_t big = 5u * 1024 * 1024;
    unsigned char *p = arena_alloc(a, big);

    (void)state;
    p[0] = 1;
    p[big - 1] = 2;
    assert_true(arena_used(a) >= big);
    arena_free(&a);
}

static void
test_string_helpers_copy(void **state)
{
    struct arena *a = arena_new(0);
    char src[] = "hello world";
    char *d = arena_strdup(a, src);
    char *n = arena_strndup(a, src, 5);
    char *p = arena_printf(a, "%s-%d-%s", "x", 42, src);

    (void)state;
    src[0] = 'J';
    assert_string_equal(d, "hello world");
    assert_string_equal(n, "hello");
    assert_string_equal(p, "x-42-hello world");
    arena_free(&a);
}

static int order[4];
static int order_n;

static void
record(void *p)
{
    order[order_n++] = *(int *)p;
}

static void
test_deferred_cleanups_run_in_reverse_order(void **state)
{
    struct arena *a = arena_new(0);
    static int one = 1, two = 2, three = 3;

    (void)state;
    order_n = 0;
    arena_defer(a, record, &one);
    arena_defer(a, record, &two);
    arena_defer(a, record, &three);
    assert_int_equal(order_n, 0);
    arena_free(&a);
    assert_int_equal(order_n, 3);
    assert_int_equal(order[0], 3);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocations_are_zeroed_aligned_and_distinct),
        cmocka_unit_test(test_allocation_larger_than_any_block_works),
        cmocka_unit_test(test_string_helpers_copy),
        cmocka_unit_test(test_deferred_cleanups_run_in_reverse_order),
    };

    return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
