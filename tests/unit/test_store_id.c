/* test_store_id.c - message ids (store.h): the shape every store's ids
 * share, and how the view writes them into JSON (number or string). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "store/store.h"
#include "view/view.h"

static void
test_ids_of_1_to_70_printable_bytes_are_valid(void **state)
{
    char id[STORE_ID_MAX + 2];

    (void)state;
    assert_true(store_id_is_valid("7"));
    assert_true(store_id_is_valid("000000c865920081"));
    assert_true(store_id_is_valid("!~&#%+"));
    memset(id, 'a', sizeof(id));
    id[STORE_ID_MAX] = '\0';
    assert_true(store_id_is_valid(id));
    id[STORE_ID_MAX] = 'a';
    id[STORE_ID_MAX + 1] = '\0';
    assert_false(store_id_is_valid(id)); /* 71: one over */
}

static void
test_empty_spaces_controls_and_8bit_are_refused(void **state)
{
    (void)state;
    assert_false(store_id_is_valid(NULL));
    assert_false(store_id_is_valid(""));
    assert_false(store_id_is_valid("a b"));
    assert_false(store_id_is_valid("a\r\nDELE 1"));
    assert_false(store_id_is_valid("a\x7f"));
    assert_false(store_id_is_valid("\xc3\xa9"));
}

static void
test_view_writes_uids_as_numbers_and_uidls_as_strings(void **state)
{
    struct json_object *o = json_object_new_object();
    struct json_object *v;

    (void)state;
    view_add_id(o, "a", "4294967295");
    view_add_id(o, "b", "4294967296");   /* over 32 bits: a string */
    view_add_id(o, "c", "0042");         /* a leading zero: a string */
    view_add_id(o, "d", "000000c865920081");
    assert_true(json_object_object_get_ex(o, "a", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int64(v), 4294967295LL);
    assert_true(json_object_object_get_ex(o, "b", &v));
    assert_string_equal(json_object_get_string(v), "4294967296");
    assert_true(json_object_is_type(v, json_type_string));
    assert_true(json_object_object_get_ex(o, "c", &v));
    assert_true(json_object_is_type(v, json_type_string));
    assert_true(json_object_object_get_ex(o, "d", &v));
    assert_string_equal(json_object_get_string(v), "000000c865920081");
    json_object_put(o);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_of_1_to_70_printable_bytes_are_valid),
        cmocka_unit_test(test_empty_spaces_controls_and_8bit_are_refused),
        cmocka_unit_test(test_view_writes_uids_as_numbers_and_uidls_as_strings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
