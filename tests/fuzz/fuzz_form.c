/* fuzz_form.c - libFuzzer harness for application/x-www-form-urlencoded
 * parsing (query strings, POST bodies). Asserts the contract of form.h and
 * a round trip: the parsed fields, percent-encoded again, parse back to the
 * same fields. */
#include <string.h>

#include <glib.h>

#include "core/arena.h"
#include "core/limits.h"
#include "fuzz.h"
#include "web/form.h"

static void
encode(GString *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        g_string_append_printf(out, "%%%02X", (unsigned char)s[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a = arena_new(4096);
    struct kv_list kv = {0}, again = {0};
    struct err err = {0};
    GString *wire;
    char *dec;
    size_t dec_len;

    /* form_decode alone, '+' both ways */
    if (form_decode(a, (const char *)data, size, (size & 1) != 0, &dec,
                    &dec_len, &err) == 0) {
        xassert(dec_len <= size && strlen(dec) == dec_len);
    } else {
        xassert(err.kind == ERR_INPUT);
    }
    err_clear(&err);
    if (form_parse_urlencoded(a, (const char *)data, size, &kv, &err) < 0) {
        xassert(err.kind == ERR_INPUT || err.kind == ERR_LIMIT);
        arena_free(&a);
        return 0;
    }
    xassert(kv.n <= LIM_FORM_FIELDS);
    wire = g_string_new(NULL);
    for (size_t i = 0; i < kv.n; i++) {
        xassert(kv.items[i].name != NULL && kv.items[i].value != NULL);
        xassert(strlen(kv.items[i].value) == kv.items[i].value_len);
        if (i > 0)
            g_string_append_c(wire, '&');
        encode(wire, kv.items[i].name, strlen(kv.items[i].name));
        g_string_append_c(wire, '=');
        encode(wire, kv.items[i].value, kv.items[i].value_len);
    }
    xassert(form_parse_urlencoded(a, wire->str, wire->len, &again, &err) == 0);
    xassert(again.n == kv.n);
    for (size_t i = 0; i < kv.n; i++) {
        xassert(strcmp(kv.items[i].name, again.items[i].name) == 0);
        xassert(kv.items[i].value_len == again.items[i].value_len);
        xassert(memcmp(kv.items[i].value, again.items[i].value,
                       kv.items[i].value_len) == 0);
    }
    g_string_free(wire, TRUE);
    arena_free(&a);
    return 0;
}
