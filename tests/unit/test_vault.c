/* test_vault.c - the AES-256-GCM credential vault: round trips, and every
 * kind of wrong key, tampering or moved box refused with ERR_AUTH. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "session/vault.h"

/* 31 characters and the NUL: exactly VAULT_KEY_LEN bytes. */
static const unsigned char key1[VAULT_KEY_LEN] =
    "0123456789abcdef0123456789abcde";
static const unsigned char key2[VAULT_KEY_LEN] =
    "0123456789abcdef0123456789abcdX";
static const unsigned char aad1[] = "session-hash-one";
static const unsigned char aad2[] = "session-hash-two";
static const char secret[] = "correct horse battery staple";

static void
seal(const char *s, size_t len, struct vault_box *box)
{
    struct err err = {0};

    memset(box, 0, sizeof(*box));
    assert_int_equal(vault_seal(key1, aad1, sizeof(aad1), s, len, box, &err),
                     0);
    assert_int_equal(err.kind, ERR_NONE);
    assert_true(box->is_sealed);
}

/* Opens box and expects ERR_AUTH with nothing handed out. */
static void
assert_open_refused(const unsigned char *key, const struct vault_box *box,
                    const unsigned char *aad, size_t aad_len)
{
    struct err err = {0};
    char *out = (char *)"untouched";

    assert_int_equal(vault_open(key, box, aad, aad_len, &out, &err), -1);
    assert_null(out);
    assert_int_equal(err.kind, ERR_AUTH);
}

static void
test_seal_then_open_gives_the_secret_back(void **state)
{
    struct vault_box box;
    struct err err = {0};
    char *out = NULL;

    (void)state;
    seal(secret, strlen(secret), &box);
    assert_int_equal(
        vault_open(key1, &box, aad1, sizeof(aad1), &out, &err), 0);
    assert_string_equal(out, secret);
    vault_secret_free(&out);
    assert_null(out);
    vault_secret_free(&out); /* NULL-safe */
    vault_box_wipe(&box);
    assert_false(box.is_sealed);
    assert_null(box.ct);
}

static void
test_round_trip_of_every_length_up_to_the_cap(void **state)
{
    char buf[VAULT_SECRET_MAX + 1];

    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)('a' + i % 26);
    for (size_t len = 0; len <= VAULT_SECRET_MAX;
         len += len < 200 ? 1 : 397) {
        struct vault_box box;
        struct err err = {0};
        char *out = NULL;

        seal(buf, len, &box);
        assert_int_equal(box.ct_len % VAULT_PAD, 0);
        assert_true(box.ct_len >= len + 2);
        assert_int_equal(
            vault_open(key1, &box, aad1, sizeof(aad1), &out, &err), 0);
        assert_int_equal(strlen(out), len);
        assert_memory_equal(out, buf, len);
        vault_secret_free(&out);
        vault_box_wipe(&box);
    }
}

static void
test_secret_with_nul_bytes_keeps_its_length(void **state)
{
    static const char bin[] = {'a', '\0', 'b', '\0'};
    struct vault_box box;
    struct err err = {0};
    char *out = NULL;

    (void)state;
    seal(bin, sizeof(bin), &box);
    assert_int_equal(
        vault_open(key1, &box, aad1, sizeof(aad1), &out, &err), 0);
    assert_memory_equal(out, bin, sizeof(bin));
    vault_secret_free(&out);
    vault_box_wipe(&box);
}

static void
test_secret_over_the_cap_is_refused(void **state)
{
    static char big[VAULT_SECRET_MAX + 1];
    struct vault_box box = {0};
    struct err err = {0};

    (void)state;
    memset(big, 'x', sizeof(big));
    assert_int_equal(vault_seal(key1, aad1, sizeof(aad1), big, sizeof(big),
                                &box, &err),
                     -1);
    assert_int_equal(err.kind, ERR_LIMIT);
    assert_false(box.is_sealed);
    assert_null(box.ct);
}

static void
test_wrong_key_is_refused(void **state)
{
    struct vault_box box;

    (void)state;
    seal(secret, strlen(secret), &box);
    assert_open_refused(key2, &box, aad1, sizeof(aad1));
    vault_box_wipe(&box);
}

static void
test_box_moved_to_other_associated_data_is_refused(void **state)
{
    struct vault_box box;

    (void)state;
    seal(secret, strlen(secret), &box);
    assert_open_refused(key1, &box, aad2, sizeof(aad2));
    assert_open_refused(key1, &box, aad1, sizeof(aad1) - 1);
    assert_open_refused(key1, &box, NULL, 0);
    vault_box_wipe(&box);
}

/* Every single bit flip anywhere in the box or the aad is caught. */
static void
test_any_flipped_bit_is_refused(void **state)
{
    struct vault_box box;
    unsigned char aad[sizeof(aad1)];

    (void)state;
    seal(secret, strlen(secret), &box);
    for (size_t i = 0; i < box.ct_len * 8; i++) {
        box.ct[i / 8] ^= (unsigned char)(1u << (i % 8));
        assert_open_refused(key1, &box, aad1, sizeof(aad1));
        box.ct[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
    for (size_t i = 0; i < VAULT_TAG_LEN * 8; i++) {
        box.tag[i / 8] ^= (unsigned char)(1u << (i % 8));
        assert_open_refused(key1, &box, aad1, sizeof(aad1));
        box.tag[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
    for (size_t i = 0; i < VAULT_NONCE_LEN * 8; i++) {
        box.nonce[i / 8] ^= (unsigned char)(1u << (i % 8));
        assert_open_refused(key1, &box, aad1, sizeof(aad1));
        box.nonce[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
    memcpy(aad, aad1, sizeof(aad));
    for (size_t i = 0; i < sizeof(aad) * 8; i++) {
        aad[i / 8] ^= (unsigned char)(1u << (i % 8));
        assert_open_refused(key1, &box, aad, sizeof(aad));
        aad[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
    vault_box_wipe(&box);
}

static void
test_truncated_ciphertext_is_refused(void **state)
{
    struct vault_box box;
    size_t len;

    (void)state;
    seal(secret, strlen(secret), &box);
    len = box.ct_len;
    box.ct_len = len - 1;
    assert_open_refused(key1, &box, aad1, sizeof(aad1));
    box.ct_len = 1;
    assert_open_refused(key1, &box, aad1, sizeof(aad1));
    box.ct_len = len;
    vault_box_wipe(&box);
}

static void
test_two_seals_of_one_secret_differ(void **state)
{
    struct vault_box a, b;

    (void)state;
    seal(secret, strlen(secret), &a);
    seal(secret, strlen(secret), &b);
    assert_int_equal(a.ct_len, b.ct_len);
    assert_memory_not_equal(a.nonce, b.nonce, VAULT_NONCE_LEN);
    assert_memory_not_equal(a.ct, b.ct, a.ct_len);
    assert_memory_not_equal(a.tag, b.tag, VAULT_TAG_LEN);
    vault_box_wipe(&a);
    vault_box_wipe(&b);
}

static void
test_ciphertext_does_not_contain_the_secret(void **state)
{
    struct vault_box box;

    (void)state;
    seal(secret, strlen(secret), &box);
    assert_null(memmem(box.ct, box.ct_len, secret, 4));
    vault_box_wipe(&box);
}

static void
test_short_and_long_secrets_make_boxes_of_one_size(void **state)
{
    struct vault_box a, b;

    (void)state;
    seal("x", 1, &a);
    seal(secret, strlen(secret), &b);
    assert_int_equal(a.ct_len, b.ct_len);
    vault_box_wipe(&a);
    vault_box_wipe(&b);
}

static void
test_wiped_box_does_not_open(void **state)
{
    struct vault_box box;

    (void)state;
    seal(secret, strlen(secret), &box);
    vault_box_wipe(&box);
    assert_open_refused(key1, &box, aad1, sizeof(aad1));
    vault_box_wipe(&box); /* twice is harmless */
    vault_box_wipe(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_then_open_gives_the_secret_back),
        cmocka_unit_test(test_round_trip_of_every_length_up_to_the_cap),
        cmocka_unit_test(test_secret_with_nul_bytes_keeps_its_length),
        cmocka_unit_test(test_secret_over_the_cap_is_refused),
        cmocka_unit_test(test_wrong_key_is_refused),
        cmocka_unit_test(test_box_moved_to_other_associated_data_is_refused),
        cmocka_unit_test(test_any_flipped_bit_is_refused),
        cmocka_unit_test(test_truncated_ciphertext_is_refused),
        cmocka_unit_test(test_two_seals_of_one_secret_differ),
        cmocka_unit_test(test_ciphertext_does_not_contain_the_secret),
        cmocka_unit_test(test_short_and_long_secrets_make_boxes_of_one_size),
        cmocka_unit_test(test_wiped_box_does_not_open),
    };

    return cmocka_run_group_tests_name("vault", tests, NULL, NULL);
}
